//! `drop_messages`: a frame is lost on the wire. Independent losses (Bernoulli), or bursts
//! (Gilbert-Elliott) when `mean_burst_length` is given: the stationary loss rate is still
//! `probability`, and a lost frame is followed by another loss with probability `1 - 1/length`.

use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::Stream;
use crate::{Direction, FaultConfigError};

/// Parameters of `drop_messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropParams {
    /// `probability` (default 0.1): the long-run fraction of matching frames lost.
    pub probability: f64,
    /// `mean_burst_length` (optional, at least 1): the mean number of consecutive losses.
    pub mean_burst_length: Option<f64>,
    /// `hold_ms` (default 30000; Binance REST only): how long the server holds a lost request's
    /// connection open before closing it without an answer, as a request lost on the way leaves
    /// the client waiting for its own timeout.
    pub hold_ms: u64,
}

impl ModeParams for DropParams {
    const MODE: Mode = Mode::DropMessages;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let probability = reader.probability_or("probability", 0.1)?;
        let mean_burst_length = reader.number_in("mean_burst_length", 1.0, 1_000_000.0)?;
        if let Some(length) = mean_burst_length {
            if probability >= 1.0 || good_to_bad(probability, length) > 1.0 {
                return Err(reader.error(
                    "probability",
                    "too high for mean_burst_length: needs probability / (mean_burst_length * (1 - probability)) <= 1",
                ));
            }
        }
        let hold_ms = reader
            .integer_in("hold_ms", 0, super::delay::DELAY_MS_MAX)?
            .unwrap_or(30_000);
        Ok(Self {
            probability,
            mean_burst_length,
            hold_ms,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        if let Some(length) = self.mean_burst_length {
            map.insert("mean_burst_length".into(), Value::from(length));
        }
        map.insert("hold_ms".into(), Value::from(self.hold_ms));
    }
}

/// The Gilbert-Elliott chance of entering a loss burst, so that the stationary loss rate is `rate`.
fn good_to_bad(rate: f64, mean_burst_length: f64) -> f64 {
    rate / (mean_burst_length * (1.0 - rate))
}

/// Whether the frame `seq` is lost. `in_burst` is the per-direction Gilbert-Elliott state.
pub(crate) fn decide(
    params: &DropParams,
    stream: &Stream,
    direction: Direction,
    seq: u64,
    in_burst: &mut bool,
) -> bool {
    let draw = stream.uniform(Mode::DropMessages, Some(direction), seq, 0);
    match params.mean_burst_length {
        None => draw < params.probability,
        Some(length) => {
            let switch = if *in_burst {
                1.0 / length
            } else {
                good_to_bad(params.probability, length)
            };
            if draw < switch {
                *in_burst = !*in_burst;
            }
            *in_burst
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::assert_rate;

    fn params(probability: f64, mean_burst_length: Option<f64>) -> DropParams {
        DropParams {
            probability,
            mean_burst_length,
            hold_ms: 30_000,
        }
    }

    #[test]
    fn bernoulli_rate_within_binomial_bounds() {
        for probability in [0.01, 0.1, 0.5, 0.9] {
            let stream = Stream::new(42, "alice", 0);
            let mut state = false;
            let n = 50_000;
            let lost = (1..=n)
                .filter(|seq| {
                    decide(
                        &params(probability, None),
                        &stream,
                        Direction::Outbound,
                        *seq,
                        &mut state,
                    )
                })
                .count();
            assert_rate(lost as u64, n, probability, 1.0);
        }
    }

    #[test]
    fn bursts_have_the_configured_rate_and_length() {
        let p = params(0.1, Some(5.0));
        let stream = Stream::new(9, "anon-3", 0);
        let mut state = false;
        let n = 200_000;
        let mut lost = 0u64;
        let mut bursts = 0u64;
        let mut previous = false;
        for seq in 1..=n {
            let now = decide(&p, &stream, Direction::Inbound, seq, &mut state);
            if now {
                lost += 1;
                if !previous {
                    bursts += 1;
                }
            }
            previous = now;
        }
        // Correlated losses inflate the variance by (1 + r) / (1 - r), r = 1 - p_gb - p_bg.
        let r = 1.0 - good_to_bad(0.1, 5.0) - 0.2;
        assert_rate(lost, n, 0.1, (1.0 + r) / (1.0 - r));
        let mean_length = lost as f64 / bursts as f64;
        assert!(
            (mean_length - 5.0).abs() < 0.35,
            "mean burst length {mean_length}"
        );
    }
}
