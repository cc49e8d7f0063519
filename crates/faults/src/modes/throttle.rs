//! `throttle_messages`: a rate limit (generic cell rate algorithm). Over any interval of `t`
//! seconds at most `burst + rate * t` frames pass; the rest are queued until their turn (`delay`),
//! dropped (`drop`), or refused so that the server answers RATE_LIMITED (`reject`, inbound).

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// What happens to a frame over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleAction {
    /// Queue it until the limit allows it (default).
    Delay,
    /// Lose it.
    Drop,
    /// Refuse it: the server answers RATE_LIMITED (for outbound frames this is a drop).
    Reject,
}

/// Parameters of `throttle_messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleParams {
    /// `max_messages_per_second` (default 10, above 0): the sustained rate.
    pub max_messages_per_second: f64,
    /// `burst` (default: one second's worth, at least 1): frames allowed back to back.
    pub burst: u64,
    /// `action`: delay (default), drop or reject.
    pub action: ThrottleAction,
}

impl ModeParams for ThrottleParams {
    const MODE: Mode = Mode::ThrottleMessages;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let rate_per_s = reader
            .number_in("max_messages_per_second", 0.0, 1_000_000.0)?
            .unwrap_or(10.0);
        if rate_per_s <= 0.0 {
            return Err(reader.error("max_messages_per_second", "must be greater than 0"));
        }
        let burst = reader
            .integer_in("burst", 1, 1_000_000)?
            .unwrap_or((rate_per_s.ceil() as u64).max(1));
        let action = match reader.choice_or("action", &["delay", "drop", "reject"], "delay")? {
            "drop" => ThrottleAction::Drop,
            "reject" => ThrottleAction::Reject,
            _ => ThrottleAction::Delay,
        };
        Ok(Self {
            max_messages_per_second: rate_per_s,
            burst,
            action,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert(
            "max_messages_per_second".into(),
            Value::from(self.max_messages_per_second),
        );
        map.insert("burst".into(), Value::from(self.burst));
        let action = match self.action {
            ThrottleAction::Delay => "delay",
            ThrottleAction::Drop => "drop",
            ThrottleAction::Reject => "reject",
        };
        map.insert("action".into(), Value::from(action));
    }
}

/// The verdict of the rate limit on one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Within the limit: goes at once.
    Now,
    /// Over the limit, queued: goes at this time (ms).
    At(u64),
    /// Over the limit, dropped or rejected (see the action).
    Refused,
}

/// The per-direction state of the rate limit: the theoretical arrival time, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ThrottleState {
    tat_us: u64,
}

/// Applies the limit to a frame arriving at `now_ms`.
pub(crate) fn decide(params: &ThrottleParams, state: &mut ThrottleState, now_ms: u64) -> Admission {
    let interval_us = ((1_000_000.0 / params.max_messages_per_second).round() as u64).max(1);
    let tolerance_us = interval_us.saturating_mul(params.burst.saturating_sub(1));
    let now_us = now_ms.saturating_mul(1000);
    let tat_us = state.tat_us.max(now_us);
    let earliest_us = tat_us.saturating_sub(tolerance_us);
    if earliest_us <= now_us {
        state.tat_us = tat_us.saturating_add(interval_us);
        return Admission::Now;
    }
    match params.action {
        ThrottleAction::Delay => {
            state.tat_us = tat_us.saturating_add(interval_us);
            Admission::At(earliest_us.div_ceil(1000))
        }
        ThrottleAction::Drop | ThrottleAction::Reject => Admission::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(rate_per_s: f64, burst: u64, action: ThrottleAction) -> ThrottleParams {
        ThrottleParams {
            max_messages_per_second: rate_per_s,
            burst,
            action,
        }
    }

    /// The largest number of times in any window of `window_ms`.
    fn max_in_window(times_ms: &[u64], window_ms: u64) -> usize {
        let mut best = 0;
        let mut start = 0;
        for (end, time) in times_ms.iter().enumerate() {
            while times_ms
                .get(start)
                .is_some_and(|first| *first + window_ms <= *time)
            {
                start += 1;
            }
            best = best.max(end + 1 - start);
        }
        best
    }

    #[test]
    fn delay_action_enforces_the_rate() {
        let params = params(20.0, 5, ThrottleAction::Delay);
        let mut state = ThrottleState::default();
        // 2000 frames arriving 1 ms apart: far above 20 per second.
        let mut releases: Vec<u64> = (0..2000)
            .map(|now_ms| match decide(&params, &mut state, now_ms) {
                Admission::Now => now_ms,
                Admission::At(at_ms) => at_ms,
                Admission::Refused => panic!("delay never refuses"),
            })
            .collect();
        assert!(releases.windows(2).all(|pair| pair[0] <= pair[1]));
        releases.sort_unstable();
        for window_ms in [1000, 5000, 20_000] {
            let allowed = 5 + (20 * window_ms / 1000) as usize;
            assert!(max_in_window(&releases, window_ms) <= allowed);
        }
        // The queue drains at the rate: the last frame goes after about (2000 - 5) / 20 seconds.
        let last = *releases.last().unwrap();
        assert!((99_000..=100_000).contains(&last), "last release {last}");
    }

    #[test]
    fn drop_action_passes_the_rate_and_refuses_the_rest() {
        let params = params(50.0, 1, ThrottleAction::Drop);
        let mut state = ThrottleState::default();
        let passed: Vec<u64> = (0..10_000)
            .filter(|now_ms| decide(&params, &mut state, *now_ms) == Admission::Now)
            .collect();
        // 10 seconds at 50 per second.
        assert!(
            (500..=501).contains(&passed.len()),
            "passed {}",
            passed.len()
        );
        assert!(max_in_window(&passed, 1000) <= 51);
    }

    #[test]
    fn under_the_limit_nothing_is_touched() {
        let params = params(10.0, 10, ThrottleAction::Reject);
        let mut state = ThrottleState::default();
        assert!((0..100).all(|i| decide(&params, &mut state, i * 200) == Admission::Now));
    }
}
