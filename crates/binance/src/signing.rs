//! Signed requests: an HMAC-SHA256 of the parameters under the account's API secret, and a
//! timestamp inside the receive window, checked as Binance checks them.
//!
//! - REST signs the query string followed by the body, with nothing between them, and without
//!   the `signature` parameter itself (wherever it is).
//! - The WebSocket API signs its `params` sorted by name as `name=value` pairs joined by `&`,
//!   without `signature`, values as sent (no URL encoding).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;
use crate::params::Params;

/// The receive window when a request names none (ms).
pub const DEFAULT_RECV_WINDOW_MS: u64 = 5_000;
/// The largest receive window accepted (ms).
pub const MAX_RECV_WINDOW_MS: u64 = 60_000;
/// How far ahead of the server's clock a timestamp may be (ms).
const MAX_AHEAD_MS: u64 = 1_000;

/// Checks `timestamp` and `recvWindow` against the server's clock (`now_ms`).
pub fn check_timestamp(params: &Params<'_>, now_ms: u64) -> Result<(), ApiError> {
    let timestamp = params
        .u64("timestamp")?
        .ok_or_else(|| ApiError::missing("timestamp"))?;
    let window = match params.get("recvWindow") {
        None => DEFAULT_RECV_WINDOW_MS,
        // Binance takes microsecond precision (`5000.5`); the whole milliseconds are enough here.
        Some(text) => text
            .split('.')
            .next()
            .and_then(|ms| ms.parse::<u64>().ok())
            .ok_or_else(|| ApiError::illegal_chars("recvWindow"))?,
    };
    if window > MAX_RECV_WINDOW_MS {
        return Err(ApiError::bad_recv_window());
    }
    if timestamp > now_ms.saturating_add(MAX_AHEAD_MS) {
        return Err(ApiError::timestamp_ahead());
    }
    if now_ms.saturating_sub(timestamp) > window {
        return Err(ApiError::timestamp_outside_window());
    }
    Ok(())
}

/// Verifies a REST request's signature over `query` then `body`, each without `signature`.
pub fn verify_rest(secret: &str, query: &str, body: &str, signature: &str) -> Result<(), ApiError> {
    let mut mac = new_mac(secret)?;
    let (query, body) = (without_signature(query), without_signature(body));
    mac.update(query.as_bytes());
    mac.update(body.as_bytes());
    check(mac, signature)
}

/// Verifies a WebSocket API request's signature over its sorted parameters.
pub fn verify_ws_api(secret: &str, params: &Params<'_>, signature: &str) -> Result<(), ApiError> {
    let mut pairs: Vec<(&str, &str)> = params
        .pairs()
        .iter()
        .filter(|(name, _)| name != "signature")
        .map(|(n, v)| (n.as_ref(), v.as_ref()))
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut mac = new_mac(secret)?;
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            mac.update(b"&");
        }
        mac.update(name.as_bytes());
        mac.update(b"=");
        mac.update(value.as_bytes());
    }
    check(mac, signature)
}

/// The hex HMAC-SHA256 of `payload` (what a client sends; for tests and the load generator).
pub fn sign(secret: &str, payload: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(payload.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(64);
    for b in bytes {
        hex.push(HEX[usize::from(b >> 4)] as char);
        hex.push(HEX[usize::from(b & 0xf)] as char);
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn new_mac(secret: &str) -> Result<Hmac<Sha256>, ApiError> {
    // HMAC takes keys of any length; the error cannot happen, but is an answer if it did.
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| ApiError::bad_signature())
}

/// Compares in constant time, so that the time taken says nothing about the right signature.
fn check(mac: Hmac<Sha256>, signature: &str) -> Result<(), ApiError> {
    let bytes = decode_hex(signature).ok_or_else(ApiError::bad_signature)?;
    mac.verify_slice(&bytes)
        .map_err(|_| ApiError::bad_signature())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let raw = text.as_bytes();
    if raw.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    raw.chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

/// `text` without its `signature=...` pair.
fn without_signature(text: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = find_pair(text, "signature") else {
        return text.into();
    };
    let end = text[start..].find('&').map_or(text.len(), |i| start + i);
    let mut out = String::with_capacity(text.len());
    if end < text.len() {
        // `signature=..&rest`: drop the pair and its `&`.
        out.push_str(&text[..start]);
        out.push_str(&text[end + 1..]);
    } else {
        // `..&signature=..` at the end: drop the `&` before it too.
        out.push_str(text[..start].strip_suffix('&').unwrap_or(&text[..start]));
    }
    out.into()
}

/// Where the pair named `name` starts in a query string.
fn find_pair(text: &str, name: &str) -> Option<usize> {
    let mut at = 0;
    for pair in text.split('&') {
        if pair.split('=').next() == Some(name) {
            return Some(at);
        }
        at += pair.len() + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binance's documented example (rest-api.md, "SIGNED endpoint examples").
    const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const QUERY: &str = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    const SIGNATURE: &str = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";

    #[test]
    fn binances_example_signs_and_verifies() {
        assert_eq!(sign(SECRET, QUERY), SIGNATURE);
        let with = format!("{QUERY}&signature={SIGNATURE}");
        assert_eq!(verify_rest(SECRET, &with, "", SIGNATURE), Ok(()));
        // The same parameters split between the query string and the body.
        let (q, b) = QUERY.split_at(QUERY.find("&quantity").unwrap_or(0));
        let b = format!("{b}&signature={SIGNATURE}");
        assert_eq!(verify_rest(SECRET, q, &b, SIGNATURE), Ok(()));
        // Nothing is put between the two parts.
        let b = b.trim_start_matches('&');
        assert_eq!(
            verify_rest(SECRET, q, b, SIGNATURE).map_err(|e| e.code),
            Err(-1022)
        );
    }

    #[test]
    fn a_wrong_or_malformed_signature_is_refused() {
        let bad = SIGNATURE.replace('c', "d");
        assert_eq!(
            verify_rest(SECRET, QUERY, "", &bad).map_err(|e| e.code),
            Err(-1022)
        );
        assert_eq!(
            verify_rest(SECRET, QUERY, "", "xyz").map_err(|e| e.code),
            Err(-1022)
        );
        assert_eq!(
            verify_rest("other", QUERY, "", SIGNATURE).map_err(|e| e.code),
            Err(-1022)
        );
    }

    #[test]
    fn the_signature_pair_is_dropped_wherever_it_is() {
        assert_eq!(without_signature("signature=ab&a=1"), "a=1");
        assert_eq!(without_signature("a=1&signature=ab"), "a=1");
        assert_eq!(without_signature("a=1&signature=ab&b=2"), "a=1&b=2");
        assert_eq!(without_signature("a=1&xsignature=ab"), "a=1&xsignature=ab");
    }

    #[test]
    fn the_receive_window_is_binances() {
        let at = |q: &'static str| Params::parse(q, "").expect("parses");
        let now = 1_000_000;
        assert_eq!(check_timestamp(&at("timestamp=1000000"), now), Ok(()));
        assert_eq!(check_timestamp(&at("timestamp=995000"), now), Ok(()));
        let old = check_timestamp(&at("timestamp=994999"), now);
        assert_eq!(old.map_err(|e| e.code), Err(-1021));
        assert_eq!(
            check_timestamp(&at("timestamp=990000&recvWindow=10000"), now),
            Ok(())
        );
        let ahead = check_timestamp(&at("timestamp=1001001"), now);
        assert_eq!(ahead.map_err(|e| e.code), Err(-1021));
        let wide = check_timestamp(&at("timestamp=1000000&recvWindow=60001"), now);
        assert_eq!(wide.map_err(|e| e.code), Err(-1131));
        let none = check_timestamp(&at("recvWindow=5000"), now);
        assert_eq!(none.map_err(|e| e.code), Err(-1102));
    }

    #[test]
    fn the_websocket_api_signs_sorted_parameters() {
        let pairs = vec![
            ("timestamp".into(), "1".into()),
            ("apiKey".into(), "k".into()),
            ("signature".into(), "ignored".into()),
        ];
        let params = Params::from_pairs(pairs);
        let signature = sign("s", "apiKey=k&timestamp=1");
        assert_eq!(verify_ws_api("s", &params, &signature), Ok(()));
    }
}
