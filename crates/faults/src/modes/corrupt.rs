//! `corrupt_messages`: a frame's content is damaged but it is still delivered as a valid UTF-8
//! text frame: characters replaced (`bytes`), the tail cut off (`truncate`), or JSON field values
//! swapped for values of the wrong kind (`json_field`).

use rand::seq::index::sample;
use rand::Rng;
use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::Stream;
use crate::{Direction, FaultConfigError};

/// How a frame is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptMethod {
    /// Replace a fraction of the characters with random printable ASCII.
    Bytes,
    /// Cut off a fraction of the frame's tail.
    Truncate,
    /// Replace a fraction of the JSON object's top-level values with wrong-kind values
    /// (falls back to `bytes` when the frame is not a JSON object).
    JsonField,
}

/// Parameters of `corrupt_messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct CorruptParams {
    /// `probability` (default 0.05): the fraction of matching frames corrupted.
    pub probability: f64,
    /// `corruption_level` (default 0.1, above 0 up to 1): the fraction of the frame changed.
    pub corruption_level: f64,
    /// `method`: bytes (default), truncate or json_field.
    pub method: CorruptMethod,
}

impl ModeParams for CorruptParams {
    const MODE: Mode = Mode::CorruptMessages;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let probability = reader.probability_or("probability", 0.05)?;
        let corruption_level = reader.probability_or("corruption_level", 0.1)?;
        if corruption_level <= 0.0 {
            return Err(reader.error("corruption_level", "must be greater than 0"));
        }
        let method =
            match reader.choice_or("method", &["bytes", "truncate", "json_field"], "bytes")? {
                "truncate" => CorruptMethod::Truncate,
                "json_field" => CorruptMethod::JsonField,
                _ => CorruptMethod::Bytes,
            };
        Ok(Self {
            probability,
            corruption_level,
            method,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        map.insert(
            "corruption_level".into(),
            Value::from(self.corruption_level),
        );
        let method = match self.method {
            CorruptMethod::Bytes => "bytes",
            CorruptMethod::Truncate => "truncate",
            CorruptMethod::JsonField => "json_field",
        };
        map.insert("method".into(), Value::from(method));
    }
}

/// The corrupted text of frame `seq`, or `None` when it is left intact.
pub(crate) fn decide(
    params: &CorruptParams,
    stream: &Stream,
    direction: Direction,
    seq: u64,
    bytes: &[u8],
) -> Option<String> {
    if stream.uniform(Mode::CorruptMessages, Some(direction), seq, 0) >= params.probability {
        return None;
    }
    let mut rng = stream.rng(Mode::CorruptMessages, Some(direction), seq, 1);
    let text = String::from_utf8_lossy(bytes);
    Some(match params.method {
        CorruptMethod::Bytes => replace_chars(&text, params.corruption_level, &mut rng),
        CorruptMethod::Truncate => truncate(&text, params.corruption_level),
        CorruptMethod::JsonField => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) if !map.is_empty() => {
                corrupt_fields(map, params.corruption_level, &mut rng)
            }
            _ => replace_chars(&text, params.corruption_level, &mut rng),
        },
    })
}

/// How many of `total` items a `level` fraction changes: at least one when there is any.
fn changed_count(total: usize, level: f64) -> usize {
    ((total as f64 * level).ceil() as usize).clamp(usize::from(total > 0), total)
}

/// Replaces a `level` fraction of the characters with different printable ASCII characters.
fn replace_chars(text: &str, level: f64, rng: &mut impl Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let count = changed_count(chars.len(), level);
    for position in sample(rng, chars.len(), count) {
        if let Some(slot) = chars.get_mut(position) {
            let original = *slot;
            // Printable ASCII is 0x20..=0x7E; skip the original so the character really changes.
            let mut replacement = char::from(rng.gen_range(0x20_u8..=0x7E));
            if replacement == original {
                replacement = if original == '#' { '@' } else { '#' };
            }
            *slot = replacement;
        }
    }
    chars.into_iter().collect()
}

/// Cuts a `level` fraction of the characters off the end.
fn truncate(text: &str, level: f64) -> String {
    let total = text.chars().count();
    let keep = total - changed_count(total, level);
    text.chars().take(keep).collect()
}

/// Replaces a `level` fraction of the top-level values with values of another kind.
fn corrupt_fields(mut map: Map<String, Value>, level: f64, rng: &mut impl Rng) -> String {
    let keys: Vec<String> = map.keys().cloned().collect();
    let count = changed_count(keys.len(), level);
    for position in sample(rng, keys.len(), count) {
        let Some(value) = keys.get(position).and_then(|key| map.get_mut(key)) else {
            continue;
        };
        *value = match value {
            Value::String(_) => Value::from(rng.gen_range(-1_000_000_i64..1_000_000)),
            Value::Number(_) => Value::from("NaN"),
            Value::Null => Value::Bool(true),
            _ => Value::Null,
        };
    }
    Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::assert_rate;

    const FRAME: &str = r#"{"type":"ORDER_FILL","seq":7,"order_id":"42","price":"100.5","quantity":"0.25","note":"héllo ✓"}"#;

    fn params(method: CorruptMethod, corruption_level: f64) -> CorruptParams {
        CorruptParams {
            probability: 1.0,
            corruption_level,
            method,
        }
    }

    #[test]
    fn rate_within_binomial_bounds() {
        let params = CorruptParams {
            probability: 0.1,
            ..params(CorruptMethod::Bytes, 0.1)
        };
        let stream = Stream::new(1, "alice", 0);
        let n = 30_000;
        let corrupted = (1..=n)
            .filter(|seq| {
                decide(
                    &params,
                    &stream,
                    Direction::Outbound,
                    *seq,
                    FRAME.as_bytes(),
                )
                .is_some()
            })
            .count();
        assert_rate(corrupted as u64, n, 0.1, 1.0);
    }

    #[test]
    fn bytes_changes_the_configured_fraction_and_stays_utf8() {
        let stream = Stream::new(1, "alice", 0);
        let total = FRAME.chars().count();
        for seq in 1..200 {
            let out = decide(
                &params(CorruptMethod::Bytes, 0.2),
                &stream,
                Direction::Outbound,
                seq,
                FRAME.as_bytes(),
            )
            .unwrap();
            assert_eq!(out.chars().count(), total);
            let changed = out
                .chars()
                .zip(FRAME.chars())
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(changed, changed_count(total, 0.2));
        }
    }

    #[test]
    fn truncate_cuts_the_tail() {
        let stream = Stream::new(1, "alice", 0);
        let out = decide(
            &params(CorruptMethod::Truncate, 0.5),
            &stream,
            Direction::Outbound,
            1,
            FRAME.as_bytes(),
        )
        .unwrap();
        assert!(FRAME.starts_with(&out));
        assert_eq!(
            out.chars().count(),
            FRAME.chars().count() - changed_count(FRAME.chars().count(), 0.5)
        );
    }

    #[test]
    fn json_field_keeps_valid_json_with_changed_values() {
        let stream = Stream::new(1, "alice", 0);
        let original: Value = serde_json::from_str(FRAME).unwrap();
        for seq in 1..50 {
            let out = decide(
                &params(CorruptMethod::JsonField, 0.3),
                &stream,
                Direction::Outbound,
                seq,
                FRAME.as_bytes(),
            )
            .unwrap();
            let parsed: Value = serde_json::from_str(&out).unwrap();
            let (Value::Object(before), Value::Object(after)) = (&original, &parsed) else {
                panic!("not objects");
            };
            let changed = before
                .iter()
                .filter(|(key, value)| after.get(*key) != Some(value))
                .count();
            assert_eq!(changed, changed_count(before.len(), 0.3));
        }
        let not_json = decide(
            &params(CorruptMethod::JsonField, 0.3),
            &stream,
            Direction::Outbound,
            1,
            b"plain text",
        );
        assert_eq!(not_json.unwrap().chars().count(), 10);
    }

    #[test]
    fn invalid_utf8_input_still_yields_text() {
        let stream = Stream::new(1, "alice", 0);
        let out = decide(
            &params(CorruptMethod::Bytes, 0.5),
            &stream,
            Direction::Inbound,
            1,
            &[0xff, 0xfe, b'a', b'b'],
        );
        assert!(out.is_some());
    }
}
