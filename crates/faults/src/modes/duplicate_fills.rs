//! `duplicate_fills`: an ORDER_FILL is delivered as usual and, `min_ms..=max_ms` later, the same
//! fill (same fill_id) is delivered again as a new frame with its own `seq`.

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::{between, Stream};
use crate::FaultConfigError;

/// Parameters of `duplicate_fills`.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateFillsParams {
    /// `probability` (default 0.1): the fraction of fills repeated.
    pub probability: f64,
    /// `min_ms` (default 100): the shortest wait before the repeat.
    pub min_ms: u64,
    /// `max_ms` (default 1000): the longest wait before the repeat.
    pub max_ms: u64,
}

impl ModeParams for DuplicateFillsParams {
    const MODE: Mode = Mode::DuplicateFills;
    const DEFAULT_TYPES: &'static [&'static str] = &["ORDER_FILL"];

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let probability = reader.probability_or("probability", 0.1)?;
        let (min_ms, max_ms) = read_wait(reader, 100, 1000)?;
        Ok(Self {
            probability,
            min_ms,
            max_ms,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        map.insert("min_ms".into(), Value::from(self.min_ms));
        map.insert("max_ms".into(), Value::from(self.max_ms));
    }
}

/// Reads a `min_ms`/`max_ms` pair with defaults, checking their order.
pub(crate) fn read_wait(
    reader: &mut ObjectReader<'_>,
    default_min_ms: u64,
    default_max_ms: u64,
) -> Result<(u64, u64), FaultConfigError> {
    let min_ms = reader
        .integer_in("min_ms", 0, 3_600_000)?
        .unwrap_or(default_min_ms);
    let max_ms = reader
        .integer_in("max_ms", 0, 3_600_000)?
        .unwrap_or(default_max_ms.max(min_ms));
    if max_ms < min_ms {
        return Err(reader.error("max_ms", "must be at least min_ms"));
    }
    Ok((min_ms, max_ms))
}

/// How long after the fill numbered `ordinal` its repeat is sent (`None`: not repeated).
pub(crate) fn decide(params: &DuplicateFillsParams, stream: &Stream, ordinal: u64) -> Option<u64> {
    (stream.uniform(Mode::DuplicateFills, None, ordinal, 0) < params.probability).then(|| {
        between(
            stream.draw(Mode::DuplicateFills, None, ordinal, 1),
            params.min_ms,
            params.max_ms,
        )
    })
}
