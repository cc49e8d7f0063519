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

/// A client order id for a Binance order placed without one (Binance always gives one): 22
/// letters and digits, unique in practice. Not a secret, and not the simulation's choice either:
/// it only names the order, so it comes from the thread's generator, seeded by the system.
pub fn client_order_id() -> Option<engine::ClientOrderId> {
    use rand::Rng;
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let text: String = (0..22)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    engine::ClientOrderId::new(&text)
}
