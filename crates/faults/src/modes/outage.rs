//! `outage`: while the mode is on and inside its window (`start_s`..`end_s`), every request is
//! rejected with EXCHANGE_UNAVAILABLE and/or new connections are refused.

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// Parameters of `outage`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutageParams {
    /// `reject_requests` (default true): answer every request with EXCHANGE_UNAVAILABLE.
    pub reject_requests: bool,
    /// `refuse_connections` (default true): refuse new WebSocket connections.
    pub refuse_connections: bool,
}

impl ModeParams for OutageParams {
    const MODE: Mode = Mode::Outage;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            reject_requests: reader.bool_or("reject_requests", true)?,
            refuse_connections: reader.bool_or("refuse_connections", true)?,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("reject_requests".into(), Value::Bool(self.reject_requests));
        map.insert(
            "refuse_connections".into(),
            Value::Bool(self.refuse_connections),
        );
    }
}
