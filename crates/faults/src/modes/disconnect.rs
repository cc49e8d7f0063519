//! `disconnect`: the server closes the connection, cleanly (a close frame with `close_code`) or
//! abruptly (a TCP reset, no close frame), at a mean rate or at listed times.

use serde_json::{Map, Value};

use super::trigger::Trigger;
use super::{ModeParams, Scope};
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// Parameters of `disconnect`.
#[derive(Debug, Clone, PartialEq)]
pub struct DisconnectParams {
    /// `mean_interval_s` (default 60) or `at_s`: when connections are closed.
    pub trigger: Trigger,
    /// `clean` (default true): send a close frame; false resets the TCP connection.
    pub clean: bool,
    /// `close_code` (default 1001, 1000..=4999): the close frame's code when clean.
    pub close_code: u16,
}

impl ModeParams for DisconnectParams {
    const MODE: Mode = Mode::Disconnect;
    const SCOPE: Scope = Scope::Connection;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let trigger = Trigger::read(reader, 60.0)?;
        let clean = reader.bool_or("clean", true)?;
        let close_code = reader.integer_in("close_code", 1000, 4999)?.unwrap_or(1001);
        if [1004, 1005, 1006, 1015].contains(&close_code) {
            return Err(reader.error(
                "close_code",
                "1004, 1005, 1006 and 1015 may not be sent in a close frame",
            ));
        }
        Ok(Self {
            trigger,
            clean,
            close_code: u16::try_from(close_code).unwrap_or(1001),
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        self.trigger.write(map);
        map.insert("clean".into(), Value::Bool(self.clean));
        map.insert("close_code".into(), Value::from(self.close_code));
    }
}
