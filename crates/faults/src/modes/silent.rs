//! `silent_connection`: the connection stays open but nothing flows in the filtered direction(s)
//! for `duration_ms` (a half-open link): frames in that time are lost without a trace.

use serde_json::{Map, Value};

use super::trigger::Trigger;
use super::{ModeParams, Scope};
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// Parameters of `silent_connection`.
#[derive(Debug, Clone, PartialEq)]
pub struct SilentParams {
    /// `mean_interval_s` (default 60) or `at_s`: when silences start.
    pub trigger: Trigger,
    /// `duration_ms` (default 5000): how long each silence lasts.
    pub duration_ms: u64,
}

impl ModeParams for SilentParams {
    const MODE: Mode = Mode::SilentConnection;
    const SCOPE: Scope = Scope::ConnectionDirections;

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
