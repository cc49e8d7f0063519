//! `duplicate_messages`: a frame is delivered more than once, every copy with the same `seq`.
//! Copies are extra frames released right after the original; they never replace a frame.

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::{between, Stream};
use crate::{Direction, FaultConfigError};

/// Parameters of `duplicate_messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateParams {
    /// `probability` (default 0.1): the fraction of matching frames duplicated.
    pub probability: f64,
    /// `max_duplicates` (default 1, at most 100): each duplicated frame gets 1..=this many copies.
    pub max_duplicates: u64,
}

impl ModeParams for DuplicateParams {
    const MODE: Mode = Mode::DuplicateMessages;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            probability: reader.probability_or("probability", 0.1)?,
            max_duplicates: reader.integer_in("max_duplicates", 1, 100)?.unwrap_or(1),
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        map.insert("max_duplicates".into(), Value::from(self.max_duplicates));
    }
}

/// How many extra copies of frame `seq` to deliver (0: none).
pub(crate) fn decide(
    params: &DuplicateParams,
    stream: &Stream,
    direction: Direction,
    seq: u64,
) -> u64 {
    if stream.uniform(Mode::DuplicateMessages, Some(direction), seq, 0) < params.probability {
        between(
            stream.draw(Mode::DuplicateMessages, Some(direction), seq, 1),
            1,
            params.max_duplicates,
        )
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::assert_rate;

    #[test]
    fn duplicate_rate_and_copy_count() {
        let params = DuplicateParams {
            probability: 0.2,
            max_duplicates: 3,
        };
        let stream = Stream::new(3, "bob", 0);
        let n = 50_000;
        let copies: Vec<u64> = (1..=n)
            .map(|seq| decide(&params, &stream, Direction::Outbound, seq))
            .collect();
        let duplicated = copies.iter().filter(|count| **count > 0).count() as u64;
        assert_rate(duplicated, n, 0.2, 1.0);
        assert!(copies.iter().all(|count| *count <= 3));
        for wanted in 1..=3 {
            let seen = copies.iter().filter(|count| **count == wanted).count() as u64;
            assert_rate(seen, duplicated, 1.0 / 3.0, 1.0);
        }
    }
}
