//! `reorder_messages`: a frame is held back until 1..`window_size` later frames have gone ahead of
//! it (or `max_hold_ms` passed), so it never moves further than the window.

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::{between, Stream};
use crate::{Direction, FaultConfigError};

/// Parameters of `reorder_messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReorderParams {
    /// `probability` (default 0.1): the fraction of matching frames held back.
    pub probability: f64,
    /// `window_size` (default 5, 2..=1000): a held frame is overtaken by at most `window_size - 1`.
    pub window_size: u64,
    /// `max_hold_ms` (default 100): a held frame is released after this long even if too few
    /// frames came to overtake it.
    pub max_hold_ms: u64,
}

impl ModeParams for ReorderParams {
    const MODE: Mode = Mode::ReorderMessages;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            probability: reader.probability_or("probability", 0.1)?,
            window_size: reader.integer_in("window_size", 2, 1000)?.unwrap_or(5),
            max_hold_ms: reader.integer_in("max_hold_ms", 0, 60_000)?.unwrap_or(100),
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        map.insert("window_size".into(), Value::from(self.window_size));
        map.insert("max_hold_ms".into(), Value::from(self.max_hold_ms));
    }
}

/// How many later frames must overtake frame `seq` (`None`: not reordered).
pub(crate) fn decide(
    params: &ReorderParams,
    stream: &Stream,
    direction: Direction,
    seq: u64,
) -> Option<u64> {
    if stream.uniform(Mode::ReorderMessages, Some(direction), seq, 0) < params.probability {
        Some(between(
            stream.draw(Mode::ReorderMessages, Some(direction), seq, 1),
            1,
            params.window_size.saturating_sub(1).max(1),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::assert_rate;

    #[test]
    fn reorder_rate_and_distance_within_window() {
        let params = ReorderParams {
            probability: 0.25,
            window_size: 4,
            max_hold_ms: 100,
        };
        let stream = Stream::new(11, "carol", 0);
        let n = 40_000;
        let decisions: Vec<u64> = (1..=n)
            .filter_map(|seq| decide(&params, &stream, Direction::Inbound, seq))
            .collect();
        assert_rate(decisions.len() as u64, n, 0.25, 1.0);
        assert!(decisions.iter().all(|distance| (1..=3).contains(distance)));
    }
}
