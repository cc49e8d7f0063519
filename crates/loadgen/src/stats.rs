//! Latency percentiles from an HDR histogram recorded in nanoseconds, reported in microseconds.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency percentiles of a run, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencyFigures {
    /// Number of latencies recorded.
    pub latency_samples: u64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p99_9_us: f64,
    /// Largest latency recorded.
    pub max_us: f64,
    /// Mean.
    pub mean_us: f64,
}

impl LatencyFigures {
    /// The percentiles of a histogram of nanoseconds (all zero when it is empty).
    pub(crate) fn from_ns(hist: &Histogram<u64>) -> Self {
        if hist.is_empty() {
            return LatencyFigures::default();
        }
        let us = |ns: u64| round3(ns as f64 / 1000.0);
        LatencyFigures {
            latency_samples: hist.len(),
            p50_us: us(hist.value_at_quantile(0.50)),
            p90_us: us(hist.value_at_quantile(0.90)),
            p99_us: us(hist.value_at_quantile(0.99)),
            p99_9_us: us(hist.value_at_quantile(0.999)),
            max_us: us(hist.max()),
            mean_us: round3(hist.mean() / 1000.0),
        }
    }
}

/// Seconds since `start` (never zero), for rates.
pub(crate) fn seconds_since(start: tokio::time::Instant) -> f64 {
    start.elapsed().as_secs_f64().max(1e-9)
}

/// Rounds to three decimals, for readable JSON.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{new_histogram, record_latency};
    use std::time::Duration;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut hist = new_histogram();
        // 1..=1000 µs, once each, plus one 50 ms outlier.
        for us in 1..=1000 {
            record_latency(&mut hist, Duration::from_micros(us));
        }
        record_latency(&mut hist, Duration::from_millis(50));
        let figures = LatencyFigures::from_ns(&hist);
        assert_eq!(figures.latency_samples, 1001);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(figures.p50_us, 501.0), "{figures:?}");
        assert!(close(figures.p90_us, 901.0), "{figures:?}");
        assert!(close(figures.p99_us, 991.0), "{figures:?}");
        assert!(close(figures.p99_9_us, 1000.0), "{figures:?}");
        assert!(close(figures.max_us, 50_000.0), "{figures:?}");
        assert!(figures.p50_us <= figures.p99_us && figures.p99_us <= figures.max_us);
    }

    #[test]
    fn an_empty_histogram_reports_zeros() {
        assert_eq!(
            LatencyFigures::from_ns(&new_histogram()),
            LatencyFigures::default()
        );
    }
}
