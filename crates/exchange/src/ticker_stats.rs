//! Rolling 24-hour statistics for the ticker, kept in one-minute buckets so that memory
//! is bounded whatever the trade rate.

use std::collections::VecDeque;

use engine::Price;

const WINDOW_MINUTES: u64 = 24 * 60;
const NS_PER_MINUTE: u64 = 60_000_000_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    minute: u64,
    high: Price,
    low: Price,
    volume_lots: i128,
}

/// High, low and volume over the last 24 hours.
#[derive(Clone, Debug, Default)]
pub struct RollingStats {
    buckets: VecDeque<Bucket>,
}

/// A summary of the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowSummary {
    pub high: Option<Price>,
    pub low: Option<Price>,
    pub volume_lots: i128,
}

impl RollingStats {
    /// Records a trade at `ts_ns`.
    pub fn on_trade(&mut self, ts_ns: u64, price: Price, qty_lots: i64) {
        let minute = ts_ns / NS_PER_MINUTE;
        match self.buckets.back_mut() {
            Some(b) if b.minute == minute => {
                b.high = b.high.max(price);
                b.low = b.low.min(price);
                b.volume_lots += qty_lots as i128;
            }
            // A trade stamped earlier than the newest bucket (clock step back) joins that bucket.
            Some(b) if b.minute > minute => {
                b.high = b.high.max(price);
                b.low = b.low.min(price);
                b.volume_lots += qty_lots as i128;
            }
            _ => self.buckets.push_back(Bucket {
                minute,
                high: price,
                low: price,
                volume_lots: qty_lots as i128,
            }),
        }
        self.expire(minute);
    }

    fn expire(&mut self, now_minute: u64) {
        while let Some(front) = self.buckets.front() {
            if front.minute + WINDOW_MINUTES <= now_minute {
                self.buckets.pop_front();
            } else {
                break;
            }
        }
    }

    /// The window ending at `now_ns`.
    pub fn summary(&mut self, now_ns: u64) -> WindowSummary {
        self.expire(now_ns / NS_PER_MINUTE);
        let mut s = WindowSummary {
            high: None,
            low: None,
            volume_lots: 0,
        };
        for b in &self.buckets {
            s.high = Some(s.high.map_or(b.high, |h| h.max(b.high)));
            s.low = Some(s.low.map_or(b.low, |l| l.min(b.low)));
            s.volume_lots += b.volume_lots;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rolls_after_a_day() {
        let mut r = RollingStats::default();
        r.on_trade(0, Price(100), 5);
        r.on_trade(NS_PER_MINUTE * 10, Price(120), 1);
        r.on_trade(NS_PER_MINUTE * 10 + 1, Price(90), 2);
        let s = r.summary(NS_PER_MINUTE * 11);
        assert_eq!(
            (s.high, s.low, s.volume_lots),
            (Some(Price(120)), Some(Price(90)), 8)
        );
        let s = r.summary(NS_PER_MINUTE * (WINDOW_MINUTES + 1));
        assert_eq!(
            (s.high, s.low, s.volume_lots),
            (Some(Price(120)), Some(Price(90)), 3)
        );
        let s = r.summary(NS_PER_MINUTE * (WINDOW_MINUTES + 11));
        assert_eq!((s.high, s.low, s.volume_lots), (None, None, 0));
    }
}
