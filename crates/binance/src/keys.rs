//! API keys and their secrets: who a signed request acts for.

use std::borrow::Cow;

use exchange::Caller;

use crate::error::ApiError;

/// The server's book of API keys.
pub trait Keys: Send + Sync {
    /// The secret `api_key` signs with, and the caller it acts as; `None` for a key nobody has.
    fn lookup(&self, api_key: &str) -> Option<(Cow<'_, str>, Caller)>;
}

/// No keys at all (a server without the Binance listener, the simulator).
pub struct NoKeys;

impl Keys for NoKeys {
    fn lookup(&self, _: &str) -> Option<(Cow<'_, str>, Caller)> {
        None
    }
}

/// The longest API key accepted (Binance's are 64 characters).
pub const MAX_API_KEY_LEN: usize = 128;

/// Checks a key's form (`-2014`) and finds its secret (`-2015`).
pub fn find<'k>(
    keys: &'k dyn Keys,
    api_key: Option<&str>,
) -> Result<(Cow<'k, str>, Caller), ApiError> {
    let key = api_key.ok_or_else(ApiError::bad_api_key_format)?;
    let well_formed = !key.is_empty()
        && key.len() <= MAX_API_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if !well_formed {
        return Err(ApiError::bad_api_key_format());
    }
    keys.lookup(key).ok_or_else(ApiError::rejected_api_key)
}
