//! Why the core could not be built.

/// Why the core could not be built: the path of the setting at fault, and why.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CoreError {
    pub path: String,
    pub reason: String,
}

impl CoreError {
    pub(crate) fn new(path: impl Into<String>, reason: impl Into<String>) -> CoreError {
        CoreError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
