//! The server's clock as the Binance listener shows it: `clock_skew` puts it off by a set
//! amount, drifting from the moment the mode began to apply (see `activation.rs`). The server
//! adds the skew to its clock where Binance shows or checks time: `serverTime`, and the
//! `timestamp` of signed requests against `recvWindow` (-1021).

use crate::mode::Mode;
use crate::modes::clock_skew;
use crate::shared::lock;
use crate::stats::FaultLogEntry;
use crate::FaultInjector;

impl FaultInjector {
    /// How far the server's clock is off at `now_ms`, in milliseconds (positive: ahead): the
    /// `clock_skew` mode's `offset_ms`, plus `drift_ms_per_minute` for every minute since its
    /// current settings began to apply; 0 when the mode does not apply or the layer is off.
    /// Counted and logged once each time new settings begin to apply, not per call.
    pub fn clock_skew_ms(&self, now_ms: u64) -> i64 {
        if !self.is_enabled() {
            return 0;
        }
        let (generation, config) = self.shared.config();
        let active =
            lock(&self.shared.clock).update(generation, &config, now_ms, |modes| &modes.clock_skew);
        let Some(active) = active else {
            return 0;
        };
        let Some(mode) = &config.modes_at(now_ms).clock_skew else {
            return 0;
        };
        let params = &mode.params;
        if active.fresh {
            self.shared.record(FaultLogEntry {
                conn_id: 0,
                connection_key: String::new(),
                connection_ordinal: 0,
                mode: Mode::ClockSkew,
                direction: None,
                seq: None,
                message_type: None,
                time_ms: now_ms,
                detail: Some(format!(
                    "offset_ms={} drift_ms_per_minute={} since_ms={}",
                    params.offset_ms, params.drift_ms_per_minute, active.since_ms
                )),
            });
        }
        clock_skew::skew_ms(params, active.since_ms, now_ms)
    }
}
