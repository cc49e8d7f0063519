//! `late_cancel_ack`: an ORDER_CANCEL is withheld for `min_ms..=max_ms`, so fills and other updates
//! sent after it overtake it. The order is cancelled in the exchange at once.

use serde_json::{Map, Value};

use super::duplicate_fills::read_wait;
use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::{between, Stream};
use crate::FaultConfigError;

/// Parameters of `late_cancel_ack`.
#[derive(Debug, Clone, PartialEq)]
pub struct LateCancelAckParams {
    /// `probability` (default 1): the fraction of cancel confirmations withheld.
    pub probability: f64,
    /// `min_ms` (default 500): the shortest hold.
    pub min_ms: u64,
    /// `max_ms` (default 2000): the longest hold.
    pub max_ms: u64,
}

impl ModeParams for LateCancelAckParams {
    const MODE: Mode = Mode::LateCancelAck;
    const DEFAULT_TYPES: &'static [&'static str] = &["ORDER_CANCEL"];

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let probability = reader.probability_or("probability", 1.0)?;
        let (min_ms, max_ms) = read_wait(reader, 500, 2000)?;
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

/// How long the confirmation numbered `ordinal` is withheld (`None`: sent at once).
pub(crate) fn decide(params: &LateCancelAckParams, stream: &Stream, ordinal: u64) -> Option<u64> {
    (stream.uniform(Mode::LateCancelAck, None, ordinal, 0) < params.probability).then(|| {
        between(
            stream.draw(Mode::LateCancelAck, None, ordinal, 1),
            params.min_ms,
            params.max_ms,
        )
    })
}
