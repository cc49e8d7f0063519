//! `delay_messages`: a frame waits before delivery. Each frame keeps its own delay; without
//! `reorder_messages` a frame still never overtakes an earlier one (it waits behind it).

use rand_distr::{Distribution as _, LogNormal};
use serde_json::{Map, Value};

use super::ModeParams;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::{between, Stream};
use crate::{Direction, FaultConfigError};

/// The longest delay any configuration may ask for: one hour.
pub const DELAY_MS_MAX: u64 = 3_600_000;

/// How delays are distributed.
#[derive(Debug, Clone, PartialEq)]
pub enum DelayDistribution {
    /// Every delayed frame waits exactly `min_ms`.
    Fixed,
    /// Uniform over `min_ms..=max_ms` (the original behaviour).
    Uniform,
    /// Log-normal with median `median_ms` and shape `sigma`, clamped to `min_ms..=max_ms`.
    LogNormal {
        /// `median_ms`: half the delays are shorter.
        median_ms: f64,
        /// `sigma`: the standard deviation of the delay's logarithm.
        sigma: f64,
    },
}

/// Parameters of `delay_messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct DelayParams {
    /// `probability` (default 1): the fraction of matching frames delayed.
    pub probability: f64,
    /// `distribution`: fixed, uniform (default) or lognormal.
    pub distribution: DelayDistribution,
    /// `min_ms` (default 100; 0 for lognormal): the shortest delay.
    pub min_ms: u64,
    /// `max_ms` (default 500; one hour for lognormal): the longest delay.
    pub max_ms: u64,
}

impl ModeParams for DelayParams {
    const MODE: Mode = Mode::DelayMessages;

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let probability = reader.probability_or("probability", 1.0)?;
        let kind = reader.choice_or(
            "distribution",
            &["fixed", "uniform", "lognormal"],
            "uniform",
        )?;
        let median_ms = reader.number_in("median_ms", 0.001, DELAY_MS_MAX as f64)?;
        let sigma = reader.number_in("sigma", 0.0, 10.0)?;
        let distribution = match kind {
            "fixed" => DelayDistribution::Fixed,
            "uniform" => DelayDistribution::Uniform,
            _ => DelayDistribution::LogNormal {
                median_ms: median_ms.unwrap_or(100.0),
                sigma: sigma.unwrap_or(0.5),
            },
        };
        if !matches!(distribution, DelayDistribution::LogNormal { .. }) {
            if median_ms.is_some() {
                return Err(reader.error("median_ms", "only applies to distribution lognormal"));
            }
            if sigma.is_some() {
                return Err(reader.error("sigma", "only applies to distribution lognormal"));
            }
        }
        let lognormal = matches!(distribution, DelayDistribution::LogNormal { .. });
        let min_ms = reader
            .integer_in("min_ms", 0, DELAY_MS_MAX)?
            .unwrap_or(if lognormal { 0 } else { 100 });
        let max_ms = reader
            .integer_in("max_ms", 0, DELAY_MS_MAX)?
            .unwrap_or(if lognormal {
                DELAY_MS_MAX
            } else {
                500.max(min_ms)
            });
        if max_ms < min_ms {
            return Err(reader.error("max_ms", "must be at least min_ms"));
        }
        Ok(Self {
            probability,
            distribution,
            min_ms,
            max_ms,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        let name = match &self.distribution {
            DelayDistribution::Fixed => "fixed",
            DelayDistribution::Uniform => "uniform",
            DelayDistribution::LogNormal { median_ms, sigma } => {
                map.insert("median_ms".into(), Value::from(*median_ms));
                map.insert("sigma".into(), Value::from(*sigma));
                "lognormal"
            }
        };
        map.insert("distribution".into(), Value::from(name));
        map.insert("min_ms".into(), Value::from(self.min_ms));
        map.insert("max_ms".into(), Value::from(self.max_ms));
    }
}

/// The delay of frame `seq` in milliseconds, or `None` when it is not delayed.
pub(crate) fn decide(
    params: &DelayParams,
    stream: &Stream,
    direction: Direction,
    seq: u64,
) -> Option<u64> {
    if stream.uniform(Mode::DelayMessages, Some(direction), seq, 0) >= params.probability {
        return None;
    }
    let delay_ms = match &params.distribution {
        DelayDistribution::Fixed => params.min_ms,
        DelayDistribution::Uniform => between(
            stream.draw(Mode::DelayMessages, Some(direction), seq, 1),
            params.min_ms,
            params.max_ms,
        ),
        DelayDistribution::LogNormal { median_ms, sigma } => {
            let sample = LogNormal::new(median_ms.ln(), *sigma)
                .map(|distribution| {
                    distribution.sample(&mut stream.rng(
                        Mode::DelayMessages,
                        Some(direction),
                        seq,
                        1,
                    ))
                })
                .unwrap_or(*median_ms);
            (sample.round() as u64).clamp(params.min_ms, params.max_ms)
        }
    };
    Some(delay_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_rate, read_params};

    fn delays(params: &DelayParams, n: u64) -> Vec<u64> {
        let stream = Stream::new(5, "alice", 0);
        let mut delays: Vec<u64> = (1..=n)
            .filter_map(|seq| decide(params, &stream, Direction::Outbound, seq))
            .collect();
        delays.sort_unstable();
        delays
    }

    fn percentile(sorted: &[u64], fraction: f64) -> f64 {
        let position = ((sorted.len() - 1) as f64 * fraction).round() as usize;
        sorted.get(position).copied().unwrap_or_default() as f64
    }

    #[test]
    fn uniform_delays_cover_the_range_evenly() {
        let params: DelayParams = read_params(serde_json::json!({"min_ms": 100, "max_ms": 500}));
        let sorted = delays(&params, 20_000);
        assert_eq!(sorted.len(), 20_000);
        assert!(*sorted.first().unwrap() >= 100 && *sorted.last().unwrap() <= 500);
        // Quantiles of U(100, 500): 200, 300, 400; the sampling error at n = 20000 is about 1.4.
        for (fraction, expected) in [(0.25, 200.0), (0.5, 300.0), (0.75, 400.0)] {
            let observed = percentile(&sorted, fraction);
            assert!((observed - expected).abs() < 8.0, "p{fraction}: {observed}");
        }
    }

    #[test]
    fn lognormal_delays_follow_median_and_sigma() {
        let params: DelayParams = read_params(
            serde_json::json!({"distribution": "lognormal", "median_ms": 200, "sigma": 0.5}),
        );
        let sorted = delays(&params, 20_000);
        let median = percentile(&sorted, 0.5);
        assert!((median - 200.0).abs() < 200.0 * 0.04, "median {median}");
        // The 90th percentile of a log-normal is median * exp(1.2816 * sigma).
        let p90 = percentile(&sorted, 0.9);
        let expected = 200.0 * (1.2816_f64 * 0.5).exp();
        assert!(
            (p90 - expected).abs() < expected * 0.05,
            "p90 {p90} vs {expected}"
        );
    }

    #[test]
    fn fixed_delay_and_probability() {
        let params: DelayParams = read_params(
            serde_json::json!({"distribution": "fixed", "min_ms": 250, "probability": 0.3}),
        );
        let sorted = delays(&params, 20_000);
        assert!(sorted.iter().all(|delay| *delay == 250));
        assert_rate(sorted.len() as u64, 20_000, 0.3, 1.0);
    }
}
