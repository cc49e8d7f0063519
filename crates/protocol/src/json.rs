//! A minimal JSON object writer for server messages: no intermediate values, no allocation beyond
//! the output buffer.

use std::fmt::Write;

/// Writes one JSON object field by field into a `String`.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Starts an object (`{`) at the end of `out`.
    pub fn new(out: &'a mut String) -> ObjectWriter<'a> {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    // Every field of every message passes through these small methods: they are always inlined,
    // so that a constant key or value is copied with a few moves instead of a `memcpy` call.
    #[inline(always)]
    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    /// A string field (escaped).
    #[inline(always)]
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_escaped(value, self.out);
        self
    }

    /// A string field whose value the closure writes (it must not need escaping: digits, dots,
    /// upper-case names).
    #[inline(always)]
    pub fn str_with(&mut self, key: &str, write: impl FnOnce(&mut String)) -> &mut Self {
        self.key(key);
        self.out.push('"');
        write(self.out);
        self.out.push('"');
        self
    }

    /// An optional string field: `null` when absent.
    #[inline(always)]
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// An unsigned integer field.
    #[inline(always)]
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        self.out.push_str(itoa::Buffer::new().format(value));
        self
    }

    /// An unsigned integer field written as a string (ids: `"order_id":"42"`).
    #[inline(always)]
    pub fn u64_str(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        self.out.push('"');
        self.out.push_str(itoa::Buffer::new().format(value));
        self.out.push('"');
        self
    }

    /// A signed integer field.
    #[inline(always)]
    pub fn i64(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        if value < 0 {
            self.out.push('-');
        }
        self.out
            .push_str(itoa::Buffer::new().format(value.unsigned_abs()));
        self
    }

    /// A boolean field.
    #[inline(always)]
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// A field whose value is already JSON text.
    #[inline(always)]
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(json);
        self
    }

    /// A field whose JSON value the closure writes.
    #[inline(always)]
    pub fn with(&mut self, key: &str, write: impl FnOnce(&mut String)) -> &mut Self {
        self.key(key);
        write(self.out);
        self
    }

    /// Closes the object.
    pub fn end(&mut self) {
        self.out.push('}');
    }
}

/// Appends `s` as a JSON string literal.
#[inline(always)]
pub fn write_escaped(s: &str, out: &mut String) {
    if needs_escape(s.as_bytes()) {
        write_escaped_slowly(s, out);
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// [`write_escaped`] for a string that has something to escape.
#[cold]
fn write_escaped_slowly(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether any byte of `bytes` is a quote, a backslash or a control character, eight bytes at a
/// time (the bit tricks of "Bit Twiddling Hacks", *determine if a word has a byte less than n*):
/// nearly every string the server writes needs no escaping, and this runs for each of them.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // A byte of `word` below `n` (n <= 0x80) sets that byte's high bit; bytes >= 0x80 never do.
    let below = |word: u64, n: u64| word.wrapping_sub(n * ONES) & !word & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if below(word, 0x20)
            | below(word ^ (u64::from(b'"') * ONES), 1)
            | below(word ^ (u64::from(b'\\') * ONES), 1)
            != 0
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_escape_agrees_with_a_byte_by_byte_check_at_every_offset() {
        let plain = "ORDER_ACK BTC/USD 50000.00 é€ \u{7f}~";
        let simple = |b: &[u8]| b.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for special in ["", "\"", "\\", "\n", "\u{0}", "\u{1f}"] {
            for at in 0..=plain.len() {
                if !plain.is_char_boundary(at) {
                    continue;
                }
                let text = format!("{}{special}{}", &plain[..at], &plain[at..]);
                for start in 0..text.len() {
                    let bytes = &text.as_bytes()[start..];
                    assert_eq!(needs_escape(bytes), simple(bytes), "{text:?} from {start}");
                }
            }
        }
    }

    #[test]
    fn writes_valid_json() {
        let mut s = String::new();
        ObjectWriter::new(&mut s)
            .str("a", "x\"y\\z\n\u{1}")
            .u64("n", 5)
            .i64("m", -3)
            .bool("b", true)
            .opt_str("o", None)
            .with("arr", |o| o.push_str("[1,2]"))
            .end();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["a"], "x\"y\\z\n\u{1}");
        assert_eq!(v["n"], 5);
        assert_eq!(v["m"], -3);
        assert_eq!(v["b"], true);
        assert!(v["o"].is_null());
        assert_eq!(v["arr"][1], 2);
    }
}
