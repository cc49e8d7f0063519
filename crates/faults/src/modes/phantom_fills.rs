//! `phantom_fills`: at a mean rate or listed times, the server sends an ORDER_FILL for one of the
//! client's resting orders that did not trade. This crate decides when; the server fabricates the
//! fill from an open order (and sends nothing if there is none). The exchange's truth is unchanged.

use serde_json::{Map, Value};

use super::trigger::Trigger;
use super::{ModeParams, Scope};
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// Parameters of `phantom_fills`.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomFillsParams {
    /// `mean_interval_s` (default 30) or `at_s`: when phantom fills are sent.
    pub trigger: Trigger,
}

impl ModeParams for PhantomFillsParams {
    const MODE: Mode = Mode::PhantomFills;
    const SCOPE: Scope = Scope::Connection;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            trigger: Trigger::read(reader, 30.0)?,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        self.trigger.write(map);
    }
}
