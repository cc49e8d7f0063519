//! `sequence_gap`: book updates are skipped, leaving a gap in the book sequence. Triggered on an
//! ORDERBOOK_UPDATE, that update and the next `gap_size - 1` are skipped; triggered on an
//! ORDERBOOK_SNAPSHOT, the snapshot is sent and the next `gap_size` updates are skipped, so the
//! snapshot is older than the deltas that follow it. Silent by default; with `announce` the
//! last skipped update says so, and the server restarts the stream with STREAM_RESET and a fresh
//! snapshot, as it does for a slow consumer.

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::Stream;
use crate::FaultConfigError;

/// Parameters of `sequence_gap`.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceGapParams {
    /// `probability` (default 0.01): the chance that a book frame opens a gap.
    pub probability: f64,
    /// `gap_size` (default 1, 1..=1000): how many updates each gap skips.
    pub gap_size: u64,
    /// `announce` (default false): end each gap with STREAM_RESET and a fresh snapshot.
    pub announce: bool,
}

impl ModeParams for SequenceGapParams {
    const MODE: Mode = Mode::SequenceGap;
    const DEFAULT_TYPES: &'static [&'static str] = &["ORDERBOOK_UPDATE", "ORDERBOOK_SNAPSHOT"];

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            probability: reader.probability_or("probability", 0.01)?,
            gap_size: reader.integer_in("gap_size", 1, 1000)?.unwrap_or(1),
            announce: reader.bool_or("announce", false)?,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        map.insert("gap_size".into(), Value::from(self.gap_size));
        map.insert("announce".into(), Value::from(self.announce));
    }
}

/// Whether the book frame numbered `ordinal` opens a gap.
pub(crate) fn decide(params: &SequenceGapParams, stream: &Stream, ordinal: u64) -> bool {
    stream.uniform(Mode::SequenceGap, None, ordinal, 0) < params.probability
}
