//! The wire: JSON text frames between the exchange and its clients.
//!
//! Requests are parsed in one pass into typed [`Request`]s, with a stable [`ErrorCode`] and a
//! readable message for anything malformed. Server messages are written straight into a byte
//! buffer by [`messages`]; a market-data message is written once and the per-connection `seq` is
//! spliced in front of it by [`splice_seq`] (or by [`stamp_seq`], in place, into a body only one
//! connection gets).

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
    out.push_str(itoa::Buffer::new().format(seq));
    match body.get(1..) {
        Some(rest) if !rest.is_empty() && !rest.starts_with('}') => {
            out.push(',');
            out.push_str(rest);
        }
        _ => out.push('}'),
    }
}

/// Puts `"seq":N` first in a message body (a JSON object, `{...}`) in place: the frame a
/// connection sends, made without a second buffer when the body is the connection's own. A body
/// rendered with [`SEQ_ROOM`] bytes of spare capacity (the private events) is never reallocated;
/// others may be, once.
pub fn stamp_seq(seq: u64, body: &mut String) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(seq);
    match body.get(1..) {
        Some(rest) if body.starts_with('{') && !rest.is_empty() && !rest.starts_with('}') => {
            let mut field = [0u8; 32];
            let prefix = b"\"seq\":";
            let len = prefix.len() + digits.len() + 1;
            if let Some(slot) = field.get_mut(..len) {
                let (head, tail) = slot.split_at_mut(prefix.len());
                head.copy_from_slice(prefix);
                let (number, comma) = tail.split_at_mut(digits.len());
                number.copy_from_slice(digits.as_bytes());
                comma.copy_from_slice(b",");
            }
            // Only ASCII was written.
            body.insert_str(
                1,
                std::str::from_utf8(field.get(..len).unwrap_or_default()).unwrap_or_default(),
            );
        }
        _ => {
            body.clear();
            body.push_str("{\"seq\":");
            body.push_str(digits);
            body.push('}');
        }
    }
}

/// Spare capacity a renderer leaves after a body for [`stamp_seq`]: `"seq":` and 20 digits and
/// a comma.
pub const SEQ_ROOM: usize = 28;

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

    #[test]
    fn stamp_in_place_equals_splice() {
        for body in [r#"{"type":"TRADE","x":1}"#, "{}", "{\"a\":1}", ""] {
            for seq in [0, 7, u64::MAX] {
                let mut spliced = String::new();
                splice_seq(seq, body, &mut spliced);
                let mut stamped = String::with_capacity(body.len() + SEQ_ROOM);
                stamped.push_str(body);
                let before = stamped.capacity();
                stamp_seq(seq, &mut stamped);
                assert_eq!(stamped, spliced, "body {body:?} seq {seq}");
                assert_eq!(stamped.capacity(), before, "no reallocation for {body:?}");
            }
        }
    }
}
