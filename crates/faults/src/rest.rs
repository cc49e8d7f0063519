//! The original simulator's REST faults (its later version): a log-normal latency on every REST
//! request and response (`failures.latency`), and a per-session rate limit with escalating bans
//! (`failures.modes.rate_limit`, see [`crate::modes::rate_limit`]). REST is otherwise never
//! touched by the fault layer; these two apply only when a configuration names them.
//!
//! Sessions are the original's: the `X-Session-ID` header, `rest-session` without one. Decisions
//! are pure like every other: the time comes in as `now_ms`, and the latency is drawn from the
//! seed, keyed on the session and the ordinal of its request.

use std::collections::{HashMap, VecDeque};

use rand_distr::{Distribution as _, LogNormal};
use serde_json::{Map, Value};

use crate::modes::rate_limit::RateLimitParams;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// The most REST sessions remembered at once; beyond it the one heard from longest ago is
/// forgotten (with its bans).
pub const REST_SESSIONS_MAX: usize = 10_000;

/// The longest REST latency drawn, in milliseconds: a minute.
pub const REST_LATENCY_MS_MAX: u64 = 60_000;

/// The original's latency profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyMode {
    /// (mu, sigma) = (3.8, 0.2): about 45 ms median.
    Stable,
    /// (mu, sigma) = (5.0, 0.3): about 150 ms median.
    Typical,
}

impl LatencyMode {
    fn name(self) -> &'static str {
        match self {
            LatencyMode::Stable => "stable",
            LatencyMode::Typical => "typical",
        }
    }

    /// The profile's (mu, sigma): of the normal under the log-normal, in milliseconds' log.
    fn parameters(self) -> (f64, f64) {
        match self {
            LatencyMode::Stable => (3.8, 0.2),
            LatencyMode::Typical => (5.0, 0.3),
        }
    }
}

/// `failures.latency`: `{"mode": "stable" | "typical"}`, optionally with its own `mu` and
/// `sigma`. REST requests and responses each wait a draw of it; WebSocket frames get it through
/// `delay_messages` (see [`Latency::delay_messages`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `mode` (default `stable`).
    pub mode: LatencyMode,
    /// `mu` (default the mode's): the mean of the delay's natural log, in ms.
    pub mu: f64,
    /// `sigma` (default the mode's): its standard deviation.
    pub sigma: f64,
}

impl Latency {
    /// Reads the object at `failures.latency`.
    pub(crate) fn read(value: &Value) -> Result<Self, FaultConfigError> {
        let mut reader = ObjectReader::new("failures.latency", value)?;
        let enabled = reader.bool_or("enabled", true)?;
        let mode = match reader.choice_or("mode", &["stable", "typical"], "stable")? {
            "typical" => LatencyMode::Typical,
            _ => LatencyMode::Stable,
        };
        let (mu, sigma) = mode.parameters();
        let mu = reader.number_in("mu", 0.0, 11.0)?.unwrap_or(mu);
        let sigma = reader.number_in("sigma", 0.0, 3.0)?.unwrap_or(sigma);
        reader.finish()?;
        Ok(Self {
            enabled,
            mode,
            mu,
            sigma,
        })
    }

    /// The object as JSON, every default written out.
    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("enabled".into(), Value::Bool(self.enabled));
        map.insert("mode".into(), Value::from(self.mode.name()));
        map.insert("mu".into(), Value::from(self.mu));
        map.insert("sigma".into(), Value::from(self.sigma));
        Value::Object(map)
    }

    /// The median delay in milliseconds: `e^mu`.
    pub fn median_ms(&self) -> f64 {
        self.mu.exp()
    }

    /// The `delay_messages` mode this latency maps onto for WebSocket frames (both directions,
    /// every frame): a log-normal with the same median and sigma.
    pub fn delay_messages(&self) -> Value {
        let mut map = Map::new();
        map.insert("distribution".into(), Value::from("lognormal"));
        // A tenth of a millisecond is as fine as the delays go.
        map.insert(
            "median_ms".into(),
            Value::from((self.median_ms() * 10.0).round() / 10.0),
        );
        map.insert("sigma".into(), Value::from(self.sigma));
        map.insert("max_ms".into(), Value::from(REST_LATENCY_MS_MAX));
        Value::Object(map)
    }

    /// One delay in milliseconds, drawn from `rng`.
    pub(crate) fn draw(&self, rng: &mut impl rand::Rng) -> u64 {
        let sample = LogNormal::new(self.mu, self.sigma)
            .map(|d| d.sample(rng))
            .unwrap_or_else(|_| self.median_ms());
        (sample.round().max(0.0) as u64).min(REST_LATENCY_MS_MAX)
    }
}

/// What happens to one REST request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestVerdict {
    /// Refused with 429, when the session is over its limit or banned.
    pub refusal: Option<RestRefusal>,
    /// Wait this long before handling the request.
    pub request_delay_ms: u64,
    /// Wait this long before sending the response.
    pub response_delay_ms: u64,
}

/// A 429 refusal of the rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRefusal {
    /// Why, in the original's words.
    pub message: &'static str,
    /// The `Retry-After` seconds; `None` for a permanent ban.
    pub retry_after_s: Option<u64>,
    /// The session's violations within the window.
    pub violation_count: u64,
}

/// One session's rate-limit state.
#[derive(Debug, Default)]
struct Session {
    /// Times of the requests let through in the last second.
    recent_ms: VecDeque<u64>,
    /// Times of the violations within the window.
    violations_ms: VecDeque<u64>,
    /// Blocked until then.
    blocked_until_ms: u64,
    /// Banned for good.
    banned: bool,
    /// Requests seen (the key of its latency draws).
    requests: u64,
    /// When it was last heard from.
    last_seen_ms: u64,
}

/// Every REST session the layer remembers.
#[derive(Debug, Default)]
pub(crate) struct RestSessions {
    sessions: HashMap<String, Session>,
}

impl RestSessions {
    /// The session's state, made on first use (forgetting the stalest session when full).
    fn session(&mut self, name: &str, now_ms: u64) -> &mut Session {
        if !self.sessions.contains_key(name) && self.sessions.len() >= REST_SESSIONS_MAX {
            let stalest = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.last_seen_ms)
                .map(|(k, _)| k.clone());
            if let Some(stalest) = stalest {
                self.sessions.remove(&stalest);
            }
        }
        let session = self.sessions.entry(name.to_owned()).or_default();
        session.last_seen_ms = now_ms;
        session
    }

    /// Counts a request of `name` and returns its ordinal (from 1).
    pub(crate) fn next_request(&mut self, name: &str, now_ms: u64) -> u64 {
        let session = self.session(name, now_ms);
        session.requests += 1;
        session.requests
    }

    /// The rate limit's decision on a request of `name` at `now_ms`.
    pub(crate) fn check(
        &mut self,
        params: &RateLimitParams,
        name: &str,
        now_ms: u64,
    ) -> Option<RestRefusal> {
        let session = self.session(name, now_ms);
        let window_ms = params.violation_window_seconds.saturating_mul(1_000);
        while session
            .violations_ms
            .front()
            .is_some_and(|&t| now_ms.saturating_sub(t) >= window_ms)
        {
            session.violations_ms.pop_front();
        }
        let violation_count = session.violations_ms.len() as u64;
        if session.banned {
            return Some(RestRefusal {
                message: "Account permanently banned due to repeated rate limit violations",
                retry_after_s: None,
                violation_count,
            });
        }
        if session.blocked_until_ms > now_ms {
            let left_ms = session.blocked_until_ms - now_ms;
            return Some(RestRefusal {
                message: "Rate limit exceeded. Account temporarily banned",
                retry_after_s: Some(left_ms.div_ceil(1_000)),
                violation_count,
            });
        }
        while session
            .recent_ms
            .front()
            .is_some_and(|&t| now_ms.saturating_sub(t) >= 1_000)
        {
            session.recent_ms.pop_front();
        }
        if (session.recent_ms.len() as u64) < params.baseline_rps {
            session.recent_ms.push_back(now_ms);
            return None;
        }
        session.violations_ms.push_back(now_ms);
        let violation_count = session.violations_ms.len() as u64;
        let (message, wait_s) = match violation_count {
            1 => ("Rate limit exceeded", Some(params.wait_period_seconds)),
            2 => (
                "Rate limit exceeded. Account temporarily banned",
                Some(params.second_violation_ban_seconds),
            ),
            _ => (
                "Account permanently banned due to repeated rate limit violations",
                None,
            ),
        };
        match wait_s {
            Some(wait_s) => {
                session.blocked_until_ms = now_ms.saturating_add(wait_s.saturating_mul(1_000));
            }
            None => session.banned = true,
        }
        Some(RestRefusal {
            message,
            retry_after_s: wait_s,
            violation_count,
        })
    }
}

/// The connection key REST decisions are logged and keyed under: `rest:<session>`.
pub fn rest_key(session: &str) -> String {
    format!("rest:{session}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(rps: u64, wait_s: u64, ban_s: u64, window_s: u64) -> RateLimitParams {
        RateLimitParams {
            baseline_rps: rps,
            wait_period_seconds: wait_s,
            second_violation_ban_seconds: ban_s,
            violation_window_seconds: window_s,
        }
    }

    #[test]
    fn violations_escalate_from_a_wait_to_a_ban_to_a_permanent_ban() {
        let mut sessions = RestSessions::default();
        let p = params(2, 1, 2, 60);
        assert_eq!(sessions.check(&p, "s", 0), None);
        assert_eq!(sessions.check(&p, "s", 100), None);
        let first = sessions.check(&p, "s", 200).expect("over the limit");
        assert_eq!((first.retry_after_s, first.violation_count), (Some(1), 1));
        assert_eq!(first.message, "Rate limit exceeded");
        // Still blocked: the remaining wait, rounded up.
        let blocked = sessions.check(&p, "s", 700).expect("blocked");
        assert_eq!(blocked.retry_after_s, Some(1));
        // Another session is not affected.
        assert_eq!(sessions.check(&p, "other", 700), None);
        // After the wait, over the limit again: the longer ban.
        assert_eq!(sessions.check(&p, "s", 1_300), None);
        assert_eq!(sessions.check(&p, "s", 1_400), None);
        let second = sessions.check(&p, "s", 1_500).expect("second violation");
        assert_eq!((second.retry_after_s, second.violation_count), (Some(2), 2));
        // A third within the window: banned for good, without a Retry-After.
        assert_eq!(sessions.check(&p, "s", 3_600), None);
        assert_eq!(sessions.check(&p, "s", 3_700), None);
        let third = sessions.check(&p, "s", 3_800).expect("third violation");
        assert_eq!((third.retry_after_s, third.violation_count), (None, 3));
        assert!(sessions.check(&p, "s", 10_000_000).is_some(), "for good");
    }

    #[test]
    fn violations_older_than_the_window_are_forgotten() {
        let mut sessions = RestSessions::default();
        let p = params(1, 1, 1, 5);
        for round in 0..4u64 {
            let t = round * 10_000;
            assert_eq!(sessions.check(&p, "s", t), None);
            let refusal = sessions.check(&p, "s", t + 1).expect("over the limit");
            assert_eq!(refusal.violation_count, 1, "round {round}");
        }
    }

    #[test]
    fn sessions_are_bounded() {
        let mut sessions = RestSessions::default();
        for i in 0..(REST_SESSIONS_MAX as u64 + 10) {
            sessions.next_request(&format!("s{i}"), i);
        }
        assert_eq!(sessions.sessions.len(), REST_SESSIONS_MAX);
        assert!(!sessions.sessions.contains_key("s0"), "the stalest went");
    }

    #[test]
    fn latency_profiles_have_the_original_medians() {
        let stable = Latency::read(&serde_json::json!({"mode": "stable"})).unwrap();
        assert!((stable.median_ms() - 44.7).abs() < 0.1);
        let typical = Latency::read(&serde_json::json!({"mode": "typical"})).unwrap();
        assert!((typical.median_ms() - 148.4).abs() < 0.1);
        assert_eq!(typical.delay_messages()["median_ms"], 148.4);
        let err = Latency::read(&serde_json::json!({"mode": "fast"})).unwrap_err();
        assert_eq!(err.path, "failures.latency.mode");
    }
}
