//! `rate_limit_storm`: for a while every Binance REST request is refused with 429 and a
//! `Retry-After`, as when an exchange sheds load or a shared IP is over its weight. A client that
//! keeps going (more than `ban_after_requests` requests after its first 429 in one storm) is
//! banned: 418 with `Retry-After` for `ban_ms`, past the storm's end, as Binance bans IPs that
//! ignore 429s. Clients are told apart by their client key (API key or IP).

use serde_json::{Map, Value};

use super::{ModeParams, Scope};
use crate::filter::DirectionFilter;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// The longest period, storm or ban: three days, Binance's longest ban.
pub const STORM_MS_MAX: u64 = 259_200_000;

/// `Retry-After` for a storm without an end: a minute, Binance's request-weight window.
pub const OPEN_STORM_RETRY_AFTER_S: u64 = 60;

/// Parameters of `rate_limit_storm`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitStormParams {
    /// `every_ms` (optional): storms recur with this period from the mode's start; needs
    /// `duration_ms`.
    pub every_ms: Option<u64>,
    /// `duration_ms` (optional): each storm's length. Without either key the storm lasts as long
    /// as the mode applies (its window or scenario step).
    pub duration_ms: Option<u64>,
    /// `ban_after_requests` (default 5): requests a client may still send after its first 429 in
    /// a storm; the next one is banned.
    pub ban_after_requests: u64,
    /// `ban_ms` (default 120000, Binance's shortest ban): how long a ban lasts.
    pub ban_ms: u64,
}

impl ModeParams for RateLimitStormParams {
    const MODE: Mode = Mode::RateLimitStorm;
    const DEFAULT_DIRECTION: DirectionFilter = DirectionFilter::Inbound;
    const SCOPE: Scope = Scope::Http { outbound: false };

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let every_ms = reader.integer_in("every_ms", 1, STORM_MS_MAX)?;
        let duration_ms = reader.integer_in("duration_ms", 1, STORM_MS_MAX)?;
        match (every_ms, duration_ms) {
            (Some(_), None) => {
                return Err(reader.error("every_ms", "needs duration_ms: how long each storm lasts"))
            }
            (Some(every), Some(duration)) if duration > every => {
                return Err(reader.error("duration_ms", "must be at most every_ms"))
            }
            _ => {}
        }
        Ok(Self {
            every_ms,
            duration_ms,
            ban_after_requests: reader
                .integer_in("ban_after_requests", 0, 1_000_000)?
                .unwrap_or(5),
            ban_ms: reader
                .integer_in("ban_ms", 1, STORM_MS_MAX)?
                .unwrap_or(120_000),
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        if let Some(every) = self.every_ms {
            map.insert("every_ms".into(), Value::from(every));
        }
        if let Some(duration) = self.duration_ms {
            map.insert("duration_ms".into(), Value::from(duration));
        }
        map.insert(
            "ban_after_requests".into(),
            Value::from(self.ban_after_requests),
        );
        map.insert("ban_ms".into(), Value::from(self.ban_ms));
    }
}

/// One storm: from `start_ms` until `end_ms` (`None`: as long as the mode applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Storm {
    pub start_ms: u64,
    pub end_ms: Option<u64>,
}

/// The storm raging at `now_ms`, if any, for a mode that applies from `since_ms` until
/// `until_ms`.
pub(crate) fn storm_at(
    params: &RateLimitStormParams,
    since_ms: u64,
    until_ms: Option<u64>,
    now_ms: u64,
) -> Option<Storm> {
    let elapsed_ms = now_ms.checked_sub(since_ms)?;
    let (start_ms, end_ms) = match (params.every_ms, params.duration_ms) {
        (Some(every_ms), Some(duration_ms)) => {
            let period = elapsed_ms.checked_div(every_ms).unwrap_or(0);
            let start_ms = since_ms.saturating_add(period.saturating_mul(every_ms));
            (start_ms, Some(start_ms.saturating_add(duration_ms)))
        }
        (_, Some(duration_ms)) => (since_ms, Some(since_ms.saturating_add(duration_ms))),
        _ => (since_ms, None),
    };
    let end_ms = match (end_ms, until_ms) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if end_ms.is_some_and(|end_ms| now_ms >= end_ms) {
        return None;
    }
    Some(Storm { start_ms, end_ms })
}

/// One client's standing with the storms.
#[derive(Debug, Clone, Default)]
pub(crate) struct StormClient {
    /// The storm `refused` counts in.
    storm_start_ms: Option<u64>,
    /// Requests refused in that storm.
    refused: u64,
    /// Banned until then.
    banned_until_ms: u64,
    /// The configuration generation the ban was given under: a change lifts it.
    ban_generation: u64,
}

/// A refusal of the storm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StormRefusal {
    /// 429 with `Retry-After`.
    TooManyRequests { retry_after_s: u64 },
    /// 418 with `Retry-After`: banned until `until_ms`.
    Banned { until_ms: u64, retry_after_s: u64 },
}

/// Whole seconds until `until_ms`, rounded up, at least 1.
fn seconds_until(until_ms: u64, now_ms: u64) -> u64 {
    until_ms.saturating_sub(now_ms).div_ceil(1_000).max(1)
}

/// The ban `client` is under at `now_ms`, if any (configuration `generation` in force).
pub(crate) fn banned(client: &StormClient, generation: u64, now_ms: u64) -> Option<StormRefusal> {
    (client.ban_generation == generation && client.banned_until_ms > now_ms).then(|| {
        StormRefusal::Banned {
            until_ms: client.banned_until_ms,
            retry_after_s: seconds_until(client.banned_until_ms, now_ms),
        }
    })
}

/// Refuses a request of `client` during `storm`: 429, or 418 and a ban for one request too many.
pub(crate) fn decide(
    params: &RateLimitStormParams,
    storm: Storm,
    client: &mut StormClient,
    generation: u64,
    now_ms: u64,
) -> StormRefusal {
    if client.storm_start_ms != Some(storm.start_ms) {
        client.storm_start_ms = Some(storm.start_ms);
        client.refused = 0;
    }
    client.refused = client.refused.saturating_add(1);
    // The first refusal is the first 429; the ones after it count towards the ban.
    if client.refused.saturating_sub(1) > params.ban_after_requests {
        client.banned_until_ms = now_ms.saturating_add(params.ban_ms);
        client.ban_generation = generation;
        client.refused = 0;
        return StormRefusal::Banned {
            until_ms: client.banned_until_ms,
            retry_after_s: seconds_until(client.banned_until_ms, now_ms),
        };
    }
    StormRefusal::TooManyRequests {
        retry_after_s: storm.end_ms.map_or(OPEN_STORM_RETRY_AFTER_S, |end_ms| {
            seconds_until(end_ms, now_ms)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::read_params;

    #[test]
    fn storms_recur_from_the_start_and_end_with_the_mode() {
        let params: RateLimitStormParams =
            read_params(serde_json::json!({"every_ms": 10_000, "duration_ms": 3_000}));
        let storm = |now_ms| storm_at(&params, 5_000, Some(40_000), now_ms);
        assert_eq!(storm(4_999), None);
        assert_eq!(
            storm(5_000),
            Some(Storm {
                start_ms: 5_000,
                end_ms: Some(8_000)
            })
        );
        assert_eq!(storm(8_000), None);
        assert_eq!(storm(16_000).map(|s| s.start_ms), Some(15_000));
        // The last storm is cut short by the mode's end.
        assert_eq!(
            storm(35_500),
            Some(Storm {
                start_ms: 35_000,
                end_ms: Some(38_000)
            })
        );
        assert_eq!(storm_at(&params, 35_000, Some(36_000), 36_000), None);
        let open: RateLimitStormParams = read_params(serde_json::json!({}));
        assert_eq!(
            storm_at(&open, 0, None, 1_000_000),
            Some(Storm {
                start_ms: 0,
                end_ms: None
            })
        );
    }

    #[test]
    fn a_client_that_keeps_going_after_its_first_429_is_banned() {
        let params: RateLimitStormParams =
            read_params(serde_json::json!({"ban_after_requests": 2, "ban_ms": 60_000}));
        let storm = Storm {
            start_ms: 0,
            end_ms: Some(9_500),
        };
        let mut client = StormClient::default();
        let mut answers = Vec::new();
        for now_ms in [1_000, 1_100, 1_200, 1_300] {
            answers.push(decide(&params, storm, &mut client, 0, now_ms));
        }
        assert_eq!(
            answers,
            vec![
                StormRefusal::TooManyRequests { retry_after_s: 9 },
                StormRefusal::TooManyRequests { retry_after_s: 9 },
                StormRefusal::TooManyRequests { retry_after_s: 9 },
                StormRefusal::Banned {
                    until_ms: 61_300,
                    retry_after_s: 60
                },
            ]
        );
        assert_eq!(
            banned(&client, 0, 31_000),
            Some(StormRefusal::Banned {
                until_ms: 61_300,
                retry_after_s: 31
            })
        );
        assert_eq!(banned(&client, 0, 61_300), None, "the ban ends");
        assert_eq!(banned(&client, 1, 31_000), None, "a new config lifts it");
        // A new storm starts a new count.
        let next = Storm {
            start_ms: 70_000,
            end_ms: None,
        };
        assert_eq!(
            decide(&params, next, &mut client, 0, 70_000),
            StormRefusal::TooManyRequests {
                retry_after_s: OPEN_STORM_RETRY_AFTER_S
            }
        );
    }

    #[test]
    fn bad_storms_are_refused() {
        for (json, path) in [
            (serde_json::json!({"every_ms": 1000}), "test.every_ms"),
            (
                serde_json::json!({"every_ms": 1000, "duration_ms": 2000}),
                "test.duration_ms",
            ),
            (serde_json::json!({"ban_ms": 0}), "test.ban_ms"),
            (
                serde_json::json!({"direction": "outbound"}),
                "test.direction",
            ),
            (serde_json::json!({"channels": ["TRADES"]}), "test.channels"),
        ] {
            let error = crate::modes::ModeConfig::<RateLimitStormParams>::read("test", &json)
                .expect_err("refused");
            assert_eq!(error.path, path, "{json}");
        }
    }
}
