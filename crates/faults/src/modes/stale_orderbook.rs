//! `stale_orderbook`: the book stream freezes for `duration_ms`. The withheld updates are then
//! delivered late, in order (`resume: deliver`), or skipped, leaving a gap in the book sequence
//! (`resume: skip`).

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::Stream;
use crate::FaultConfigError;

/// What happens to the updates withheld during a freeze.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleResume {
    /// Delivered late, in their order, when the freeze ends (default).
    Deliver,
    /// Never delivered: the stream resumes with a gap.
    Skip,
}

/// Parameters of `stale_orderbook`.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleOrderbookParams {
    /// `probability` (default 0.01): the chance that a book update starts a freeze.
    pub probability: f64,
    /// `duration_ms` (default 2000): how long a freeze lasts.
    pub duration_ms: u64,
    /// `resume`: deliver (default) or skip.
    pub resume: StaleResume,
}

impl ModeParams for StaleOrderbookParams {
    const MODE: Mode = Mode::StaleOrderbook;
    const DEFAULT_TYPES: &'static [&'static str] = &["ORDERBOOK_UPDATE"];

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            probability: reader.probability_or("probability", 0.01)?,
            duration_ms: reader
                .integer_in("duration_ms", 1, 3_600_000)?
                .unwrap_or(2000),
            resume: match reader.choice_or("resume", &["deliver", "skip"], "deliver")? {
                "skip" => StaleResume::Skip,
                _ => StaleResume::Deliver,
            },
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        map.insert("duration_ms".into(), Value::from(self.duration_ms));
        let resume = match self.resume {
            StaleResume::Deliver => "deliver",
            StaleResume::Skip => "skip",
        };
        map.insert("resume".into(), Value::from(resume));
    }
}

/// Whether the book update numbered `ordinal` starts a freeze.
pub(crate) fn decide(params: &StaleOrderbookParams, stream: &Stream, ordinal: u64) -> bool {
    stream.uniform(Mode::StaleOrderbook, None, ordinal, 0) < params.probability
}
