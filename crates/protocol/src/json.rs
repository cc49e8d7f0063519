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
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_escaped(value, self.out);
        self
    }

    /// A string field whose value the closure writes (it must not need escaping: digits, dots,
    /// upper-case names).
    pub fn str_with(&mut self, key: &str, write: impl FnOnce(&mut String)) -> &mut Self {
        self.key(key);
        self.out.push('"');
        write(self.out);
        self.out.push('"');
        self
    }

    /// An optional string field: `null` when absent.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// An unsigned integer field.
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        self.out
            .push_str(crate::itoa_buf::Buffer::new().format(value));
        self
    }

    /// An unsigned integer field written as a string (ids: `"order_id":"42"`).
    pub fn u64_str(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        self.out.push('"');
        self.out
            .push_str(crate::itoa_buf::Buffer::new().format(value));
        self.out.push('"');
        self
    }

    /// A signed integer field.
    pub fn i64(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        if value < 0 {
            self.out.push('-');
        }
        self.out
            .push_str(crate::itoa_buf::Buffer::new().format(value.unsigned_abs()));
        self
    }

    /// A boolean field.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// A field whose value is already JSON text.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(json);
        self
    }

    /// A field whose JSON value the closure writes.
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
pub fn write_escaped(s: &str, out: &mut String) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
