//! OHLCV candles from trades, at 1m, 5m, 15m, 1h and 1d, with bounded history: the data behind
//! `GET /api/v1/candles` and the CANDLES channel.
//!
//! A candle covers `[open_ns, open_ns + interval)` in trade time (UTC, aligned to the Unix epoch).
//! An interval without trades has no candle, as on most exchanges. A candle closes when a trade
//! lands past its end or [`Candles::on_time`] passes its end, whichever comes first.

use std::collections::{BTreeMap, VecDeque};

use engine::{Price, Qty, SymbolId, Trade};
use serde::{Deserialize, Serialize};

/// A candle length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Interval {
    /// One minute, `1m`.
    #[serde(rename = "1m")]
    M1,
    /// Five minutes, `5m`.
    #[serde(rename = "5m")]
    M5,
    /// Fifteen minutes, `15m`.
    #[serde(rename = "15m")]
    M15,
    /// One hour, `1h`.
    #[serde(rename = "1h")]
    H1,
    /// One day, `1d`.
    #[serde(rename = "1d")]
    D1,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 5] = [
        Interval::M1,
        Interval::M5,
        Interval::M15,
        Interval::H1,
        Interval::D1,
    ];

    /// The wire name (`1m`, `5m`, `15m`, `1h`, `1d`).
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::M1 => "1m",
            Interval::M5 => "5m",
            Interval::M15 => "15m",
            Interval::H1 => "1h",
            Interval::D1 => "1d",
        }
    }

    /// An interval from its wire name.
    pub fn parse(name: &str) -> Option<Interval> {
        Interval::ALL.into_iter().find(|i| i.as_str() == name)
    }

    /// The length in nanoseconds.
    pub fn duration_ns(self) -> u64 {
        const MINUTE_NS: u64 = 60_000_000_000;
        match self {
            Interval::M1 => MINUTE_NS,
            Interval::M5 => 5 * MINUTE_NS,
            Interval::M15 => 15 * MINUTE_NS,
            Interval::H1 => 60 * MINUTE_NS,
            Interval::D1 => 1_440 * MINUTE_NS,
        }
    }

    /// The start of the interval containing `ts_ns`.
    pub fn start_of(self, ts_ns: u64) -> u64 {
        ts_ns - ts_ns % self.duration_ns()
    }
}

/// One candle: open, high, low and close prices in ticks, traded volume in lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candle {
    /// The symbol traded.
    pub symbol: SymbolId,
    /// The candle's length.
    pub interval: Interval,
    /// The start of the interval (inclusive).
    pub open_ns: u64,
    /// The first trade's price.
    pub open: Price,
    /// The highest trade price.
    pub high: Price,
    /// The lowest trade price.
    pub low: Price,
    /// The last trade's price.
    pub close: Price,
    /// The sum of traded quantities (saturating).
    pub volume: Qty,
    /// How many trades.
    pub trades: u64,
}

impl Candle {
    /// The end of the interval (exclusive).
    pub fn close_ns(&self) -> u64 {
        self.open_ns.saturating_add(self.interval.duration_ns())
    }

    fn first(trade: &Trade, interval: Interval) -> Candle {
        Candle {
            symbol: trade.symbol,
            interval,
            open_ns: interval.start_of(trade.ts_ns),
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: trade.qty,
            trades: 1,
        }
    }

    fn add(&mut self, trade: &Trade) {
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        self.volume = Qty(self.volume.0.saturating_add(trade.qty.0));
        self.trades += 1;
    }
}

/// A change to publish on the CANDLES channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CandleUpdate {
    /// The candle as it now stands.
    pub candle: Candle,
    /// The candle is final; otherwise it is the open candle as it stands.
    pub closed: bool,
}

#[derive(Default)]
struct Series {
    open: Option<Candle>,
    closed: VecDeque<Candle>,
}

/// Candles of every symbol at every interval.
pub struct Candles {
    history_limit: usize,
    series: BTreeMap<(SymbolId, Interval), Series>,
}

impl Candles {
    /// Keeps at most `history_limit` closed candles per symbol and interval (at least one).
    pub fn new(history_limit: usize) -> Candles {
        Candles {
            history_limit: history_limit.max(1),
            series: BTreeMap::new(),
        }
    }

    /// Adds a trade to the open candle of each interval: for each, first the candle it closed
    /// (if the trade is past its end), then the open candle as updated. A trade stamped before
    /// the open candle (clocks are not expected to go back) counts in the open candle.
    pub fn on_trade(&mut self, trade: &Trade) -> Vec<CandleUpdate> {
        let mut out = Vec::with_capacity(Interval::ALL.len());
        for interval in Interval::ALL {
            let history_limit = self.history_limit;
            let series = self.series.entry((trade.symbol, interval)).or_default();
            let candle = match &mut series.open {
                Some(open) if trade.ts_ns < open.close_ns() => {
                    open.add(trade);
                    *open
                }
                slot => {
                    if let Some(done) = slot.take() {
                        out.push(CandleUpdate {
                            candle: done,
                            closed: true,
                        });
                        push_bounded(&mut series.closed, done, history_limit);
                    }
                    let fresh = Candle::first(trade, interval);
                    series.open = Some(fresh);
                    fresh
                }
            };
            out.push(CandleUpdate {
                candle,
                closed: false,
            });
        }
        out
    }

    /// Closes every open candle whose interval ended at or before `now_ns`.
    pub fn on_time(&mut self, now_ns: u64) -> Vec<CandleUpdate> {
        let mut out = Vec::new();
        for series in self.series.values_mut() {
            if let Some(done) = series.open.filter(|c| c.close_ns() <= now_ns) {
                series.open = None;
                out.push(CandleUpdate {
                    candle: done,
                    closed: true,
                });
                push_bounded(&mut series.closed, done, self.history_limit);
            }
        }
        out
    }

    /// The most recent `limit` candles of a symbol and interval, oldest first, the open one (if
    /// any) last.
    pub fn candles(&self, symbol: SymbolId, interval: Interval, limit: usize) -> Vec<Candle> {
        let Some(series) = self.series.get(&(symbol, interval)) else {
            return Vec::new();
        };
        let all = series.closed.iter().chain(series.open.iter());
        let count = series.closed.len() + usize::from(series.open.is_some());
        all.skip(count.saturating_sub(limit)).copied().collect()
    }
}

fn push_bounded(history: &mut VecDeque<Candle>, candle: Candle, limit: usize) {
    if history.len() >= limit {
        history.pop_front();
    }
    history.push_back(candle);
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{AccountId, OrderId, Side, TradeId};

    const MIN: u64 = 60_000_000_000;

    fn trade(symbol: u32, ts_ns: u64, price: i64, qty: i64) -> Trade {
        Trade {
            symbol: SymbolId(symbol),
            trade_id: TradeId(1),
            price: Price(price),
            qty: Qty(qty),
            taker_side: Side::Buy,
            maker_order_id: OrderId(1),
            taker_order_id: OrderId(2),
            maker_account: AccountId(0),
            taker_account: AccountId(1),
            ts_ns,
        }
    }

    fn minute(updates: &[CandleUpdate]) -> Vec<CandleUpdate> {
        updates
            .iter()
            .filter(|u| u.candle.interval == Interval::M1)
            .copied()
            .collect()
    }

    #[test]
    fn ohlcv_within_one_minute() {
        let mut candles = Candles::new(10);
        let t0 = 1_700_000_040 * 1_000_000_000; // 40 s past a minute boundary
        for (dt, price, qty) in [(0, 100, 1), (1, 105, 2), (2, 95, 3), (3, 101, 4)] {
            let updates = candles.on_trade(&trade(0, t0 + dt * 1_000_000_000, price, qty));
            assert_eq!(updates.len(), 5, "one open candle per interval");
            assert!(updates.iter().all(|u| !u.closed));
        }
        let got = candles.candles(SymbolId(0), Interval::M1, 10);
        assert_eq!(got.len(), 1);
        let c = got[0];
        assert_eq!(c.open_ns, Interval::M1.start_of(t0));
        assert_eq!(c.open_ns % MIN, 0);
        assert_eq!(
            (c.open, c.high, c.low, c.close, c.volume, c.trades),
            (Price(100), Price(105), Price(95), Price(101), Qty(10), 4)
        );
        let day = candles.candles(SymbolId(0), Interval::D1, 10);
        assert_eq!(day[0].open_ns % (1_440 * MIN), 0);
        assert_eq!(day[0].volume, Qty(10));
    }

    #[test]
    fn a_trade_past_the_boundary_closes_the_candle() {
        let mut candles = Candles::new(10);
        candles.on_trade(&trade(0, MIN - 1, 100, 1));
        let updates = minute(&candles.on_trade(&trade(0, MIN, 110, 2)));
        assert_eq!(updates.len(), 2);
        assert!(updates[0].closed);
        assert_eq!(
            (updates[0].candle.open_ns, updates[0].candle.close),
            (0, Price(100))
        );
        assert!(!updates[1].closed);
        assert_eq!(
            (updates[1].candle.open_ns, updates[1].candle.open),
            (MIN, Price(110))
        );
        // The 5-minute candle holds both.
        let five = candles.candles(SymbolId(0), Interval::M5, 10);
        assert_eq!(
            (five.len(), five[0].volume, five[0].high),
            (1, Qty(3), Price(110))
        );
    }

    #[test]
    fn time_closes_candles_without_trades() {
        let mut candles = Candles::new(10);
        candles.on_trade(&trade(0, 30 * 1_000_000_000, 100, 1));
        assert!(candles.on_time(MIN - 1).is_empty());
        let closed = candles.on_time(MIN);
        assert_eq!(closed.len(), 1);
        assert!(closed[0].closed && closed[0].candle.interval == Interval::M1);
        assert!(candles.on_time(2 * MIN).is_empty(), "closed once");
        assert_eq!(candles.on_time(1_440 * MIN).len(), 4, "5m, 15m, 1h, 1d");
        // A gap leaves no candle; the next trade opens a fresh one.
        let updates = minute(&candles.on_trade(&trade(0, 10 * MIN + 5, 120, 1)));
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].candle.open_ns, 10 * MIN);
        let history = candles.candles(SymbolId(0), Interval::M1, 10);
        let opens: Vec<u64> = history.iter().map(|c| c.open_ns).collect();
        assert_eq!(opens, [0, 10 * MIN]);
    }

    #[test]
    fn history_is_bounded_and_limited() {
        let mut candles = Candles::new(3);
        for m in 0..10 {
            candles.on_trade(&trade(0, m * MIN, 100 + m as i64, 1));
        }
        let all = candles.candles(SymbolId(0), Interval::M1, 100);
        let closes: Vec<i64> = all.iter().map(|c| c.close.0).collect();
        assert_eq!(closes, [106, 107, 108, 109], "3 closed plus the open one");
        let last_two = candles.candles(SymbolId(0), Interval::M1, 2);
        assert_eq!(
            last_two.iter().map(|c| c.close.0).collect::<Vec<_>>(),
            [108, 109]
        );
        assert!(candles.candles(SymbolId(0), Interval::M1, 0).is_empty());
        assert!(candles.candles(SymbolId(1), Interval::M1, 5).is_empty());
    }

    #[test]
    fn symbols_are_separate_and_late_trades_join_the_open_candle() {
        let mut candles = Candles::new(10);
        candles.on_trade(&trade(0, 2 * MIN, 100, 1));
        candles.on_trade(&trade(1, 2 * MIN, 7, 1));
        candles.on_trade(&trade(0, 2 * MIN - 1, 90, 1));
        let btc = candles.candles(SymbolId(0), Interval::M1, 10);
        assert_eq!((btc.len(), btc[0].low, btc[0].trades), (1, Price(90), 2));
        assert_eq!(
            candles.candles(SymbolId(1), Interval::M1, 10)[0].close,
            Price(7)
        );
    }

    #[test]
    fn interval_names() {
        for interval in Interval::ALL {
            assert_eq!(Interval::parse(interval.as_str()), Some(interval));
            let json = serde_json::to_string(&interval).unwrap();
            assert_eq!(json, format!("\"{}\"", interval.as_str()));
        }
        assert_eq!(Interval::parse("2m"), None);
    }
}
