//! `unknown_outcome`: the order reaches the engine and executes, but instead of its ORDER_ACK the
//! client gets ERROR UNKNOWN_OUTCOME, and must reconcile by client_order_id.

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::Stream;
use crate::FaultConfigError;

/// Parameters of `unknown_outcome`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownOutcomeParams {
    /// `probability` (default 0.1): the fraction of acks replaced.
    pub probability: f64,
}

impl ModeParams for UnknownOutcomeParams {
    const MODE: Mode = Mode::UnknownOutcome;
    const DEFAULT_TYPES: &'static [&'static str] = &["ORDER_ACK"];

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            probability: reader.probability_or("probability", 0.1)?,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
    }
}

/// Whether the ack numbered `ordinal` is replaced.
pub(crate) fn decide(params: &UnknownOutcomeParams, stream: &Stream, ordinal: u64) -> bool {
    stream.uniform(Mode::UnknownOutcome, None, ordinal, 0) < params.probability
}
