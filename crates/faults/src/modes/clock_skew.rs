//! `clock_skew`: the server's clock is off by `offset_ms`, and drifts by `drift_ms_per_minute`
//! from the moment the mode began to apply. The Binance listener checks request timestamps
//! against its skewed clock and reports it as `serverTime`, so a bot that never syncs its clock
//! gets -1021 while one that syncs with `/api/v3/time` keeps trading.

use serde_json::{Map, Value};

use super::{ModeParams, Scope};
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// The largest offset: a day either way.
pub const CLOCK_OFFSET_MS_MAX: i64 = 86_400_000;

/// The fastest drift: a minute per minute either way (the clock stands still or runs double).
pub const CLOCK_DRIFT_MS_PER_MINUTE_MAX: i64 = 60_000;

/// Parameters of `clock_skew`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockSkewParams {
    /// `offset_ms` (required): how far the clock is off when the mode begins to apply; positive
    /// is ahead.
    pub offset_ms: i64,
    /// `drift_ms_per_minute` (default 0): how much further off it gets each minute after that.
    pub drift_ms_per_minute: i64,
}

impl ModeParams for ClockSkewParams {
    const MODE: Mode = Mode::ClockSkew;
    const SCOPE: Scope = Scope::Clock;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let offset_ms = reader
            .signed_in("offset_ms", -CLOCK_OFFSET_MS_MAX, CLOCK_OFFSET_MS_MAX)?
            .ok_or_else(|| reader.error("offset_ms", "is required (0 for a drift alone)"))?;
        let drift_ms_per_minute = reader
            .signed_in(
                "drift_ms_per_minute",
                -CLOCK_DRIFT_MS_PER_MINUTE_MAX,
                CLOCK_DRIFT_MS_PER_MINUTE_MAX,
            )?
            .unwrap_or(0);
        Ok(Self {
            offset_ms,
            drift_ms_per_minute,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("offset_ms".into(), Value::from(self.offset_ms));
        map.insert(
            "drift_ms_per_minute".into(),
            Value::from(self.drift_ms_per_minute),
        );
    }
}

/// How far the clock is off at `now_ms` for a mode that began to apply at `since_ms`.
pub(crate) fn skew_ms(params: &ClockSkewParams, since_ms: u64, now_ms: u64) -> i64 {
    let elapsed_ms = i128::from(now_ms.saturating_sub(since_ms));
    let drift = i128::from(params.drift_ms_per_minute) * elapsed_ms / 60_000;
    let skew = i128::from(params.offset_ms) + drift;
    i64::try_from(skew).unwrap_or(if skew < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::read_params;

    #[test]
    fn the_clock_starts_at_the_offset_and_drifts_from_there() {
        let params: ClockSkewParams =
            read_params(serde_json::json!({"offset_ms": -2000, "drift_ms_per_minute": 600}));
        assert_eq!(skew_ms(&params, 10_000, 10_000), -2_000);
        assert_eq!(skew_ms(&params, 10_000, 40_000), -1_700);
        assert_eq!(skew_ms(&params, 10_000, 310_000), 1_000);
        // Before it began (a call racing the start) counts as at the start.
        assert_eq!(skew_ms(&params, 10_000, 5_000), -2_000);
        let far = ClockSkewParams {
            offset_ms: CLOCK_OFFSET_MS_MAX,
            drift_ms_per_minute: CLOCK_DRIFT_MS_PER_MINUTE_MAX,
        };
        assert!(skew_ms(&far, 0, u64::MAX) > 0, "no overflow");
    }

    #[test]
    fn bad_skews_are_refused() {
        for (json, path) in [
            (serde_json::json!({}), "test.offset_ms"),
            (serde_json::json!({"offset_ms": 1.5}), "test.offset_ms"),
            (
                serde_json::json!({"offset_ms": 86_400_001}),
                "test.offset_ms",
            ),
            (
                serde_json::json!({"offset_ms": 0, "drift_ms_per_minute": -60_001}),
                "test.drift_ms_per_minute",
            ),
            (
                serde_json::json!({"offset_ms": 0, "accounts": ["alice"]}),
                "test.accounts",
            ),
            (
                serde_json::json!({"offset_ms": 0, "message_types": ["/api/v3/order"]}),
                "test.message_types",
            ),
            (
                serde_json::json!({"offset_ms": 0, "direction": "inbound"}),
                "test.direction",
            ),
        ] {
            let error = crate::modes::ModeConfig::<ClockSkewParams>::read("test", &json)
                .expect_err("refused");
            assert_eq!(error.path, path, "{json}");
        }
    }
}
