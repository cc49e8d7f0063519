//! When a connection-level fault fires: at a mean rate (exponential gaps, `mean_interval_s`) or at
//! listed times after server start (`at_s`). Shared by `disconnect`, `silent_connection`,
//! `slow_consumer` and `phantom_fills`.

use rand_distr::{Distribution as _, Exp};
use serde_json::{Map, Value};

use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::Stream;
use crate::FaultConfigError;

/// The longest interval or time any trigger may name: one week, in seconds.
const TRIGGER_S_MAX: f64 = 604_800.0;

/// When a connection-level fault fires.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// `mean_interval_s`: exponential gaps with this mean, per connection, from its opening.
    MeanInterval(f64),
    /// `at_s`: at these times after server start (each connection open at that time).
    At(Vec<f64>),
}

impl Trigger {
    /// Reads `mean_interval_s` or `at_s` (one of them; `default_mean_s` when neither is given).
    pub(crate) fn read(
        reader: &mut ObjectReader<'_>,
        default_mean_s: f64,
    ) -> Result<Self, FaultConfigError> {
        let mean = reader.number_in("mean_interval_s", 0.001, TRIGGER_S_MAX)?;
        let at = reader.number_list("at_s", 0.0, TRIGGER_S_MAX)?;
        match (mean, at) {
            (Some(_), Some(_)) => {
                Err(reader.error("at_s", "give either mean_interval_s or at_s, not both"))
            }
            (_, Some(times)) => Ok(Trigger::At(times)),
            (mean, None) => Ok(Trigger::MeanInterval(mean.unwrap_or(default_mean_s))),
        }
    }

    /// Writes `mean_interval_s` or `at_s`.
    pub(crate) fn write(&self, map: &mut Map<String, Value>) {
        match self {
            Trigger::MeanInterval(mean) => map.insert("mean_interval_s".into(), Value::from(*mean)),
            Trigger::At(times) => map.insert("at_s".into(), Value::from(times.clone())),
        };
    }
}

/// One connection's progress through a trigger.
#[derive(Debug, Clone)]
pub(crate) struct TriggerState {
    /// The connection's opening, then the last firing time.
    base_ms: u64,
    /// Whether `base_ms` was a firing (a listed time equal to it is then spent).
    fired: bool,
    /// How many exponential gaps have been drawn.
    draws: u64,
    /// The next firing time, once computed.
    next_ms: Option<u64>,
}

impl TriggerState {
    /// A trigger starting at `from_ms` (the connection's opening or the latest config change).
    pub(crate) fn new(from_ms: u64) -> Self {
        Self {
            base_ms: from_ms,
            fired: false,
            draws: 0,
            next_ms: None,
        }
    }

    /// The next firing time, or `None` when no listed time remains.
    pub(crate) fn next_ms(
        &mut self,
        trigger: &Trigger,
        stream: &Stream,
        mode: Mode,
    ) -> Option<u64> {
        if self.next_ms.is_none() {
            self.next_ms = match trigger {
                Trigger::MeanInterval(mean_s) => {
                    let mut rng = stream.rng(mode, None, self.draws, 2);
                    self.draws += 1;
                    let gap_s = Exp::new(1.0 / mean_s)
                        .map(|exp| exp.sample(&mut rng))
                        .unwrap_or(*mean_s);
                    Some(
                        self.base_ms
                            .saturating_add(((gap_s * 1000.0).round() as u64).max(1)),
                    )
                }
                Trigger::At(times_s) => times_s
                    .iter()
                    .map(|time_s| (time_s * 1000.0).round() as u64)
                    .filter(|time_ms| {
                        *time_ms > self.base_ms || (!self.fired && *time_ms == self.base_ms)
                    })
                    .min(),
            };
        }
        self.next_ms
    }

    /// Marks the pending firing as done.
    pub(crate) fn fire(&mut self) {
        if let Some(time_ms) = self.next_ms.take() {
            self.base_ms = time_ms;
            self.fired = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_gaps_have_the_configured_mean() {
        let trigger = Trigger::MeanInterval(2.0);
        let stream = Stream::new(1, "alice", 0);
        let mut state = TriggerState::new(0);
        let n = 20_000;
        let mut last = 0;
        for _ in 0..n {
            last = state.next_ms(&trigger, &stream, Mode::Disconnect).unwrap();
            state.fire();
        }
        let mean_s = last as f64 / n as f64 / 1000.0;
        // The mean of n exponential gaps has a standard error of mean / sqrt(n) ~ 0.014 s.
        assert!((mean_s - 2.0).abs() < 0.07, "mean gap {mean_s}");
    }

    #[test]
    fn listed_times_fire_once_each_from_the_opening() {
        let trigger = Trigger::At(vec![5.0, 1.0, 3.0]);
        let stream = Stream::new(1, "alice", 0);
        let mut state = TriggerState::new(2_000);
        let mut fired = Vec::new();
        while let Some(time_ms) = state.next_ms(&trigger, &stream, Mode::Disconnect) {
            fired.push(time_ms);
            state.fire();
        }
        assert_eq!(fired, vec![3_000, 5_000]);
    }
}
