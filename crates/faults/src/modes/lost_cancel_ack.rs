//! `lost_cancel_ack`: an ORDER_CANCEL is never sent. The order is cancelled in the exchange; the
//! client must find out by querying.

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::Stream;
use crate::FaultConfigError;

/// Parameters of `lost_cancel_ack`.
#[derive(Debug, Clone, PartialEq)]
pub struct LostCancelAckParams {
    /// `probability` (default 0.1): the fraction of cancel confirmations lost.
    pub probability: f64,
}

impl ModeParams for LostCancelAckParams {
    const MODE: Mode = Mode::LostCancelAck;
    const DEFAULT_TYPES: &'static [&'static str] = &["ORDER_CANCEL"];

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            probability: reader.probability_or("probability", 0.1)?,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
    }
}

/// Whether the confirmation numbered `ordinal` is lost.
pub(crate) fn decide(params: &LostCancelAckParams, stream: &Stream, ordinal: u64) -> bool {
    stream.uniform(Mode::LostCancelAck, None, ordinal, 0) < params.probability
}
