//! Why a market configuration cannot be used: the key path and the reason, ready for the user.

use thiserror::Error;

/// A configuration value that cannot be used, named by its key path
/// (`exchange.pricing_model.BTC/USD.volatility`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    /// Where the value is, as dotted keys from the top of the config file.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// An error at `path` (a base path) joined with `key`.
    pub(crate) fn at(path: &str, key: &str, reason: impl Into<String>) -> ConfigError {
        let path = if key.is_empty() {
            path.to_string()
        } else if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        ConfigError {
            path,
            reason: reason.into(),
        }
    }
}

/// Checks that a number is finite and within `[min, max]`.
pub(crate) fn check_range(
    path: &str,
    key: &str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<(), ConfigError> {
    if value.is_finite() && value >= min && value <= max {
        Ok(())
    } else {
        Err(ConfigError::at(
            path,
            key,
            format!("must be between {min} and {max}, got {value}"),
        ))
    }
}
