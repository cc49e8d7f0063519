//! The wire: JSON text frames between the exchange and its clients.
//!
//! Requests are parsed in one pass into typed [`Request`]s, with a stable [`ErrorCode`] and a
//! readable message for anything malformed. Server messages are written straight into a byte
//! buffer by [`messages`]; a market-data message is written once and the per-connection `seq` is
//! spliced in front of it by [`splice_seq`].

pub mod catalog;
pub mod checksum;
pub mod codes;
pub mod json;
pub mod messages;
pub mod request;
pub mod time;

pub use catalog::Catalog;
pub use codes::ErrorCode;
pub use request::{Channel, ParseFailure, Request, RequestId, RequestKind};

/// Appends a message body (a JSON object, `{...}`) prefixed with `"seq":N`: the frame a
/// connection sends. The body is shared by every subscriber; only this prefix is per connection.
pub fn splice_seq(seq: u64, body: &str, out: &mut String) {
    out.reserve(body.len() + 24);
    out.push_str("{\"seq\":");
    out.push_str(itoa_buf::Buffer::new().format(seq));
    match body.get(1..) {
        Some(rest) if !rest.is_empty() && !rest.starts_with('}') => {
            out.push(',');
            out.push_str(rest);
        }
        _ => out.push('}'),
    }
}

/// A tiny integer formatter, so hot paths never go through `fmt`.
pub mod itoa_buf {
    /// A reusable buffer for formatting one integer.
    pub struct Buffer {
        bytes: [u8; 40],
    }

    impl Default for Buffer {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Buffer {
        /// An empty buffer.
        pub fn new() -> Buffer {
            Buffer { bytes: [0; 40] }
        }

        /// The decimal text of `n`.
        pub fn format(&mut self, n: u64) -> &str {
            let mut i = self.bytes.len();
            let mut n = n;
            loop {
                i -= 1;
                self.bytes[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            std::str::from_utf8(&self.bytes[i..]).unwrap_or("0")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_puts_seq_first() {
        let mut out = String::new();
        splice_seq(42, r#"{"type":"TRADE","x":1}"#, &mut out);
        assert_eq!(out, r#"{"seq":42,"type":"TRADE","x":1}"#);
        out.clear();
        splice_seq(0, "{}", &mut out);
        assert_eq!(out, r#"{"seq":0}"#);
        out.clear();
        splice_seq(u64::MAX, "{\"a\":1}", &mut out);
        assert_eq!(out, r#"{"seq":18446744073709551615,"a":1}"#);
    }
}
