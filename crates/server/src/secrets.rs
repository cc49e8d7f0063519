//! Secrets come from the operating system's randomness, never from the seed: the seed is printed
//! and shared on purpose so that runs repeat, and anyone who knows it could otherwise compute
//! every token.

use exchange::request::SessionSecret;
use rand::RngCore;

/// A fresh 128-bit secret for a resume token.
pub fn session_secret() -> SessionSecret {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SessionSecret(bytes)
}
