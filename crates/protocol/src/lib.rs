//! The native dialect: the exchange's own JSON protocol, on WebSocket and REST. This crate owns
//! all of its JSON.
//!
//! Requests are parsed in one pass into the core's typed [`exchange::Request`]s, with a stable
//! [`ErrorCode`] and a readable message for anything malformed ([`request`]). The core's
//! [`exchange::Message`]s are written straight into a buffer ([`messages`]): a frame for one
//! connection with its `seq` first, or a body shared by many subscribers, each of which splices
//! its own `seq` in with [`splice_seq`]. REST bodies are in [`rest`].

#![forbid(unsafe_code)]

pub mod codes;
pub mod json;
pub mod messages;
pub mod request;
pub mod rest;
pub mod time;

pub use codes::ErrorCode;
pub use request::{parse_request, request_type, ParseFailure};

/// Appends a message body (a JSON object, `{...}`) prefixed with `"seq":N`: the frame a
/// connection sends. The body is shared by every subscriber; only this prefix is per connection.
pub fn splice_seq(seq: u64, body: &str, out: &mut String) {
    out.reserve(body.len() + 24);
    out.push_str("{\"seq\":");
    out.push_str(itoa::Buffer::new().format(seq));
    match body.get(1..) {
        Some(rest) if !rest.is_empty() && !rest.starts_with('}') => {
            out.push(',');
            out.push_str(rest);
        }
        _ => out.push('}'),
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
