//! `reject_orders`: a PLACE_ORDER is refused with EXCHANGE_BUSY before it reaches the engine (a
//! transient refusal: retrying is correct).

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::Stream;
use crate::FaultConfigError;

/// Parameters of `reject_orders`.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectOrdersParams {
    /// `probability` (default 0.1): the fraction of orders refused.
    pub probability: f64,
}

impl ModeParams for RejectOrdersParams {
    const MODE: Mode = Mode::RejectOrders;
    const DEFAULT_TYPES: &'static [&'static str] = &["PLACE_ORDER"];

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            probability: reader.probability_or("probability", 0.1)?,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
    }
}

/// Whether the request numbered `ordinal` is refused.
pub(crate) fn decide(params: &RejectOrdersParams, stream: &Stream, ordinal: u64) -> bool {
    stream.uniform(Mode::RejectOrders, None, ordinal, 0) < params.probability
}
