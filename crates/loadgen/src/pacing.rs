//! Intended send times for open-loop load.
//!
//! An open loop decides *when* each request should go before the run starts; latency is then
//! measured from that intended time, not from when the request actually left. A stalled server
//! therefore shows up as latency for every request that should have been sent during the stall
//! (no coordinated omission), instead of silently lowering the offered rate.

use std::time::Duration;

use tokio::time::Instant;

/// The send schedule of one connection: the total rate is spread evenly over the connections,
/// each one offset so that together they send at evenly spaced instants.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    start: Instant,
    offset_s: f64,
    period_s: f64,
}

impl Pacer {
    /// The schedule of connection `index` of `connections` sharing `rate_per_s` from `start`.
    pub(crate) fn new(start: Instant, rate_per_s: f64, connections: usize, index: usize) -> Self {
        Pacer {
            start,
            offset_s: index as f64 / rate_per_s,
            period_s: connections as f64 / rate_per_s,
        }
    }

    /// When this connection's `k`-th request (from 0) is meant to be sent.
    pub(crate) fn intended(&self, k: u64) -> Instant {
        self.start + Duration::from_secs_f64(self.offset_s + k as f64 * self.period_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_connection_sends_at_the_rate() {
        let start = Instant::now();
        let pacer = Pacer::new(start, 1000.0, 1, 0);
        assert_eq!(pacer.intended(0), start);
        assert_eq!(pacer.intended(1) - start, Duration::from_millis(1));
        assert_eq!(pacer.intended(1000) - start, Duration::from_secs(1));
    }

    #[test]
    fn connections_interleave_evenly() {
        let start = Instant::now();
        let rate_per_s = 400.0;
        let pacers: Vec<Pacer> = (0..4)
            .map(|i| Pacer::new(start, rate_per_s, 4, i))
            .collect();
        // Every intended time over one second, from all connections, in order.
        let mut times: Vec<Duration> = pacers
            .iter()
            .flat_map(|p| (0..100).map(move |k| p.intended(k) - start))
            .collect();
        times.sort();
        assert_eq!(times.len(), 400);
        for (i, t) in times.iter().enumerate() {
            let expected = Duration::from_secs_f64(i as f64 / rate_per_s);
            let diff = t.abs_diff(expected);
            assert!(
                diff < Duration::from_micros(1),
                "request {i}: {t:?} vs {expected:?}"
            );
        }
        // Connection 1's second request is one full round of connections after its first.
        assert_eq!(
            pacers[1].intended(1) - pacers[1].intended(0),
            Duration::from_millis(10)
        );
    }
}
