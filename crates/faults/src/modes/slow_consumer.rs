//! `slow_consumer`: the server stops reading the client's socket for `duration_ms`, so the
//! client's writes back up (back-pressure) while the connection looks alive.

use serde_json::{Map, Value};

use super::trigger::Trigger;
use super::{ModeParams, Scope};
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// Parameters of `slow_consumer`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowConsumerParams {
    /// `mean_interval_s` (default 60) or `at_s`: when the pauses start.
    pub trigger: Trigger,
    /// `duration_ms` (default 5000): how long the server stops reading.
    pub duration_ms: u64,
}

impl ModeParams for SlowConsumerParams {
    const MODE: Mode = Mode::SlowConsumer;
    const SCOPE: Scope = Scope::Connection;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            trigger: Trigger::read(reader, 60.0)?,
            duration_ms: reader
                .integer_in("duration_ms", 1, 3_600_000)?
                .unwrap_or(5000),
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        self.trigger.write(map);
        map.insert("duration_ms".into(), Value::from(self.duration_ms));
    }
}
