//! A strict reader of JSON objects: every value is checked, every unknown key is an error, and every
//! error names the key's full path (`failures.modes.drop_messages.probability`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::FaultConfigError;

/// Reads the keys of one JSON object, remembering which were consumed.
pub struct ObjectReader<'a> {
    path: String,
    map: &'a Map<String, Value>,
    used: BTreeSet<&'a str>,
    /// Every key asked for, present or not: the keys this object may have.
    known: Vec<String>,
}

impl<'a> ObjectReader<'a> {
    /// A reader of `value`, which must be an object, found at `path`.
    pub(crate) fn new(path: &str, value: &'a Value) -> Result<Self, FaultConfigError> {
        match value {
            Value::Object(map) => Ok(Self {
                path: path.to_owned(),
                map,
                used: BTreeSet::new(),
                known: Vec::new(),
            }),
            _ => Err(FaultConfigError::new(path, "must be an object")),
        }
    }

    /// The path of a key of this object.
    pub(crate) fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An error about `key`.
    pub(crate) fn error(&self, key: &str, message: impl Into<String>) -> FaultConfigError {
        FaultConfigError::new(&self.key_path(key), message)
    }

    /// The raw value of `key`, marking it consumed; `null` counts as absent.
    pub(crate) fn take(&mut self, key: &str) -> Option<&'a Value> {
        if !self.known.iter().any(|k| k == key) {
            self.known.push(key.to_owned());
        }
        let (stored_key, value) = self.map.get_key_value(key)?;
        self.used.insert(stored_key.as_str());
        if value.is_null() {
            None
        } else {
            Some(value)
        }
    }

    /// An optional boolean.
    pub(crate) fn bool_or(&mut self, key: &str, default: bool) -> Result<bool, FaultConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(self.error(key, "must be true or false")),
        }
    }

    /// An optional number within `[low, high]`.
    pub(crate) fn number_in(
        &mut self,
        key: &str,
        low: f64,
        high: f64,
    ) -> Result<Option<f64>, FaultConfigError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        let number = value
            .as_f64()
            .ok_or_else(|| self.error(key, "must be a number"))?;
        if !(low..=high).contains(&number) {
            return Err(self.error(key, range_message(low, high)));
        }
        Ok(Some(number))
    }

    /// A probability in `[0, 1]`, with a default.
    pub(crate) fn probability_or(
        &mut self,
        key: &str,
        default: f64,
    ) -> Result<f64, FaultConfigError> {
        Ok(self.number_in(key, 0.0, 1.0)?.unwrap_or(default))
    }

    /// An optional non-negative integer within `[low, high]`.
    pub(crate) fn integer_in(
        &mut self,
        key: &str,
        low: u64,
        high: u64,
    ) -> Result<Option<u64>, FaultConfigError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        let integer = value
            .as_u64()
            .or_else(|| {
                // Accept 100.0 as 100, never 100.5.
                value
                    .as_f64()
                    .filter(|number| {
                        number.fract() == 0.0 && *number >= 0.0 && *number <= u64::MAX as f64
                    })
                    .map(|number| number as u64)
            })
            .ok_or_else(|| self.error(key, "must be a non-negative integer"))?;
        if !(low..=high).contains(&integer) {
            return Err(self.error(key, format!("must be between {low} and {high}")));
        }
        Ok(Some(integer))
    }

    /// An optional integer, possibly negative, within `[low, high]`.
    pub(crate) fn signed_in(
        &mut self,
        key: &str,
        low: i64,
        high: i64,
    ) -> Result<Option<i64>, FaultConfigError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        let integer = value
            .as_i64()
            .or_else(|| {
                // Accept -100.0 as -100, never -100.5.
                value
                    .as_f64()
                    .filter(|number| {
                        number.fract() == 0.0
                            && *number >= i64::MIN as f64
                            && *number <= i64::MAX as f64
                    })
                    .map(|number| number as i64)
            })
            .ok_or_else(|| self.error(key, "must be an integer"))?;
        if !(low..=high).contains(&integer) {
            return Err(self.error(key, format!("must be between {low} and {high}")));
        }
        Ok(Some(integer))
    }

    /// One string out of `choices`, with a default.
    pub(crate) fn choice_or(
        &mut self,
        key: &str,
        choices: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, FaultConfigError> {
        let Some(value) = self.take(key) else {
            return Ok(default);
        };
        let text = value.as_str().unwrap_or_default();
        choices
            .iter()
            .copied()
            .find(|choice| *choice == text)
            .ok_or_else(|| self.error(key, format!("must be one of {}", choices.join(", "))))
    }

    /// An optional list of non-empty strings.
    pub(crate) fn string_list(
        &mut self,
        key: &str,
    ) -> Result<Option<Vec<String>>, FaultConfigError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| self.error(key, "must be a list of strings"))?;
        let mut list = Vec::with_capacity(items.len());
        for (position, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(text) if !text.is_empty() => list.push(text.to_owned()),
                _ => {
                    return Err(FaultConfigError::new(
                        &format!("{}[{position}]", self.key_path(key)),
                        "must be a non-empty string",
                    ))
                }
            }
        }
        Ok(Some(list))
    }

    /// An optional list of numbers within `[low, high]`.
    pub(crate) fn number_list(
        &mut self,
        key: &str,
        low: f64,
        high: f64,
    ) -> Result<Option<Vec<f64>>, FaultConfigError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| self.error(key, "must be a list of numbers"))?;
        let mut list = Vec::with_capacity(items.len());
        for (position, item) in items.iter().enumerate() {
            match item.as_f64() {
                Some(number) if (low..=high).contains(&number) => list.push(number),
                _ => {
                    return Err(FaultConfigError::new(
                        &format!("{}[{position}]", self.key_path(key)),
                        range_message(low, high),
                    ))
                }
            }
        }
        Ok(Some(list))
    }

    /// Fails on the first key that was never consumed, naming the keys the object may have
    /// and the nearest one.
    pub(crate) fn finish(self) -> Result<(), FaultConfigError> {
        match self
            .map
            .keys()
            .find(|key| !self.used.contains(key.as_str()))
        {
            Some(key) => Err(self.error(key, unknown_message("key", key, &self.known))),
            None => Ok(()),
        }
    }
}

/// "unknown key (did you mean `probability`?); valid keys: ..." for `word` among `valid`.
pub(crate) fn unknown_message<S: AsRef<str>>(what: &str, word: &str, valid: &[S]) -> String {
    let mut sorted: Vec<&str> = valid.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    let list = sorted.join(", ");
    match did_you_mean(word, &sorted) {
        Some(near) => format!("unknown {what} (did you mean `{near}`?); valid {what}s: {list}"),
        None => format!("unknown {what}; valid {what}s: {list}"),
    }
}

/// The candidate nearest to `word` (by edit distance, ignoring case), if it is near enough to
/// be a slip of the keyboard: at most a third of the word's length, and at least one edit.
pub fn did_you_mean<'a, S: AsRef<str>>(word: &str, candidates: &'a [S]) -> Option<&'a str> {
    let word = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&word, &c.as_ref().to_lowercase()), c.as_ref()))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance between two strings, by characters: insertions, deletions, substitutions and
/// swaps of two neighbours (`prot` is one edit from `port`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: the distance between a[..i] and b[..j]; every index below stays within the
    // table built for these two lengths.
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        if let Some(first) = row.first_mut() {
            *first = i;
        }
    }
    if let Some(first) = rows.first_mut() {
        for (j, cell) in first.iter_mut().enumerate() {
            *cell = j;
        }
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// The message for a number outside `[low, high]`.
fn range_message(low: f64, high: f64) -> String {
    if high == f64::MAX {
        format!("must be a number of at least {low}")
    } else {
        format!("must be between {low} and {high}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_name_is_suggested_and_far_ones_are_not() {
        let keys = ["probability", "mean_burst_length", "enabled"];
        assert_eq!(did_you_mean("probabilty", &keys), Some("probability"));
        assert_eq!(did_you_mean("Probability", &keys), Some("probability"));
        assert_eq!(did_you_mean("enable", &keys), Some("enabled"));
        assert_eq!(did_you_mean("speed", &keys), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("prot", "port"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        let message = unknown_message("key", "probabilty", &keys);
        assert_eq!(
            message,
            "unknown key (did you mean `probability`?); valid keys: enabled, mean_burst_length, \
             probability"
        );
    }
}
