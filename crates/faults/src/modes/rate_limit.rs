//! `rate_limit`: the original simulator's REST rate limit (its later version's
//! `failures.modes.rate_limit`). Each REST session (`X-Session-ID`, `rest-session` without one)
//! may make `baseline_rps` requests in any second; the first request over it blocks the session
//! for `wait_period_seconds`, a second violation within `violation_window_seconds` for
//! `second_violation_ban_seconds`, a third bans it for good. Refusals are HTTP 429 with
//! `Retry-After` (none for the permanent ban). The decisions are made in `crate::rest`.

use serde_json::{Map, Value};

use super::{ModeParams, Scope};
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// The longest wait, ban or window: a day.
const SECONDS_MAX: u64 = 86_400;

/// Parameters of `rate_limit`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitParams {
    /// `baseline_rps` (default 10): requests per second per session.
    pub baseline_rps: u64,
    /// `wait_period_seconds` (default 10): the block after a first violation.
    pub wait_period_seconds: u64,
    /// `second_violation_ban_seconds` (default 60): the ban after a second violation.
    pub second_violation_ban_seconds: u64,
    /// `violation_window_seconds` (default 60): how long a violation counts towards the next.
    pub violation_window_seconds: u64,
}

impl ModeParams for RateLimitParams {
    const MODE: Mode = Mode::RateLimit;
    const SCOPE: Scope = Scope::Rest;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        Ok(Self {
            baseline_rps: reader
                .integer_in("baseline_rps", 1, 1_000_000)?
                .unwrap_or(10),
            wait_period_seconds: reader
                .integer_in("wait_period_seconds", 0, SECONDS_MAX)?
                .unwrap_or(10),
            second_violation_ban_seconds: reader
                .integer_in("second_violation_ban_seconds", 0, SECONDS_MAX)?
                .unwrap_or(60),
            violation_window_seconds: reader
                .integer_in("violation_window_seconds", 1, SECONDS_MAX)?
                .unwrap_or(60),
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("baseline_rps".into(), Value::from(self.baseline_rps));
        map.insert(
            "wait_period_seconds".into(),
            Value::from(self.wait_period_seconds),
        );
        map.insert(
            "second_violation_ban_seconds".into(),
            Value::from(self.second_violation_ban_seconds),
        );
        map.insert(
            "violation_window_seconds".into(),
            Value::from(self.violation_window_seconds),
        );
    }
}
