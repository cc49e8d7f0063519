//! The price history behind the original simulator's `GET /api/v1/prices`: every ticker interval
//! the REST edge asks the core for every symbol's ticker and keeps (time, price, bid, ask), at
//! most [`PRICES_PER_SYMBOL`] per symbol. The price is the last trade's, or the middle of the
//! book before the first trade. It lives at the edge: the core keeps no such series, and one
//! question per interval costs it nothing measurable.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use engine::{Price, SymbolId};
use exchange::message::Ticker;
use exchange::{Answer, Query};
use tokio::sync::{mpsc, oneshot};

use crate::engine_thread::Envelope;

/// The most samples kept per symbol (at the default 1 s ticker interval: close to three hours).
pub const PRICES_PER_SYMBOL: usize = 10_000;

/// The shortest time between two samples, whatever the ticker interval.
const SAMPLE_INTERVAL_MIN: Duration = Duration::from_millis(100);

/// One sample of a symbol's prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceSample {
    pub at_ns: u64,
    pub price: Option<Price>,
    pub bid: Option<Price>,
    pub ask: Option<Price>,
}

/// Every symbol's recent samples, oldest first.
#[derive(Debug, Default)]
pub struct PriceHistory {
    by_symbol: Mutex<Vec<VecDeque<PriceSample>>>,
}

impl PriceHistory {
    /// Records one ticker.
    fn record(&self, ticker: &Ticker) {
        let mid = match (ticker.bid, ticker.ask) {
            (Some(bid), Some(ask)) => Some(Price((bid.price.0 + ask.price.0) / 2)),
            (Some(one), None) | (None, Some(one)) => Some(one.price),
            (None, None) => None,
        };
        let sample = PriceSample {
            at_ns: ticker.at_ns,
            price: ticker.last.or(mid),
            bid: ticker.bid.map(|l| l.price),
            ask: ticker.ask.map(|l| l.price),
        };
        let mut by_symbol = self
            .by_symbol
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let index = ticker.symbol.0 as usize;
        if by_symbol.len() <= index {
            by_symbol.resize_with(index + 1, VecDeque::new);
        }
        if let Some(samples) = by_symbol.get_mut(index) {
            if samples.len() >= PRICES_PER_SYMBOL {
                samples.pop_front();
            }
            samples.push_back(sample);
        }
    }

    /// The latest `limit` samples of `symbol` within `from_ns..=to_ns`, oldest first.
    pub fn samples(
        &self,
        symbol: SymbolId,
        from_ns: u64,
        to_ns: u64,
        limit: usize,
    ) -> Vec<PriceSample> {
        let by_symbol = self
            .by_symbol
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(samples) = by_symbol.get(symbol.0 as usize) else {
            return Vec::new();
        };
        let mut kept: Vec<PriceSample> = samples
            .iter()
            .rev()
            .filter(|s| (from_ns..=to_ns).contains(&s.at_ns))
            .take(limit)
            .copied()
            .collect();
        kept.reverse();
        kept
    }
}

/// Asks the core for every ticker each `interval` and records them, until the engine is gone.
pub async fn record(
    engine: mpsc::Sender<Envelope>,
    history: Arc<PriceHistory>,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval.max(SAMPLE_INTERVAL_MIN));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (reply, answer) = oneshot::channel();
        let query = Query::Ticker { symbol: None };
        if engine.send(Envelope::Ask { query, reply }).await.is_err() {
            return;
        }
        match answer.await {
            Ok(Answer::Tickers(tickers)) => {
                for ticker in &tickers {
                    history.record(ticker);
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{Level, Qty};

    fn ticker(at_ns: u64, last: Option<i64>, bid: i64, ask: i64) -> Ticker {
        Ticker {
            symbol: SymbolId(1),
            last: last.map(Price),
            bid: Some(Level {
                price: Price(bid),
                qty: Qty(1),
                order_count: 1,
            }),
            ask: Some(Level {
                price: Price(ask),
                qty: Qty(1),
                order_count: 1,
            }),
            volume_lots: 0,
            high: None,
            low: None,
            sequence_id: 0,
            at_ns,
        }
    }

    #[test]
    fn samples_are_kept_bounded_and_filtered_by_time() {
        let history = PriceHistory::default();
        history.record(&ticker(1, None, 100, 110));
        history.record(&ticker(2, Some(104), 100, 110));
        history.record(&ticker(3, Some(106), 101, 111));
        let all = history.samples(SymbolId(1), 0, u64::MAX, 10);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].price, Some(Price(105)), "the mid before any trade");
        assert_eq!(all[1].price, Some(Price(104)));
        assert_eq!(history.samples(SymbolId(1), 2, 2, 10).len(), 1);
        let latest = history.samples(SymbolId(1), 0, u64::MAX, 2);
        assert_eq!(latest.iter().map(|s| s.at_ns).collect::<Vec<_>>(), [2, 3]);
        assert!(history.samples(SymbolId(0), 0, u64::MAX, 10).is_empty());
        for t in 0..(PRICES_PER_SYMBOL as u64 + 5) {
            history.record(&ticker(10 + t, Some(1), 1, 2));
        }
        assert_eq!(
            history.samples(SymbolId(1), 0, u64::MAX, usize::MAX).len(),
            PRICES_PER_SYMBOL
        );
    }
}
