//! Market data: who subscribes to which topic, and what is published on each. A message for a
//! topic is one [`Effect::Publish`]; the edge renders it once per wire dialect and hands it to
//! every subscriber.
//!
//! - Trades as they happen, and the candles they update.
//! - The book after every command that changed it: one ORDERBOOK_L2 delta with every level the
//!   command changed (its latest total) and the book sequences it covers, and the ORDERBOOK
//!   picture of the top levels; both with the checksum of the top 10 levels.
//! - The best bid and ask whenever either changes, and the top 5, 10 or 20 levels as pictures.
//! - The ticker every ticker interval, with 24-hour statistics, per symbol and for all at once.
//! - Trades again on the aggregated-trades topic, for a dialect that shows them so.
//!
//! Every new subscription to a book or ticker starts with a fresh snapshot, so subscribing again
//! is also how a client resynchronises; a stream cut by the edge restarts the same way after a
//! STREAM_RESET.

use engine::{BookLevelChanged, Level};
use market::Candles;
use rustc_hash::FxHashMap;

use crate::request::Topic;
use crate::ticker_stats::RollingStats;
use crate::ConnId;

/// Levels of each side in the ORDERBOOK picture.
pub const ORDERBOOK_PICTURE_LEVELS: u8 = 10;

/// What is kept per symbol for its streams.
#[derive(Debug, Default)]
pub(crate) struct SymbolStreams {
    pub stats: RollingStats,
    pub ticker_seq: u64,
    /// Book level changes of the current command, for its delta.
    pub pending_levels: Vec<BookLevelChanged>,
    /// The current command changed the book.
    pub touched: bool,
    /// The best bid and ask last published on the book ticker.
    pub book_ticker: (Option<Level>, Option<Level>),
}

/// Subscriptions and the state of every stream.
pub(crate) struct MarketData {
    subscribers: FxHashMap<Topic, Vec<ConnId>>,
    pub symbols: Vec<SymbolStreams>,
    pub candles: Candles,
    /// Something was published during the current input: subscriptions must not change after
    /// that in the same input, since a publication reaches the subscribers of the moment the
    /// edge handles it.
    pub published: bool,
}

impl MarketData {
    pub fn new(symbols: usize, candle_history: usize) -> MarketData {
        MarketData {
            subscribers: FxHashMap::default(),
            symbols: (0..symbols).map(|_| SymbolStreams::default()).collect(),
            candles: Candles::new(candle_history),
            published: false,
        }
    }

    /// A new input begins.
    pub fn begin_input(&mut self) {
        self.published = false;
    }

    pub fn subscribers(&self, topic: Topic) -> &[ConnId] {
        self.subscribers.get(&topic).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn has_subscribers(&self, topic: Topic) -> bool {
        !self.subscribers(topic).is_empty()
    }

    pub(crate) fn add_subscriber(&mut self, topic: Topic, conn: ConnId) {
        debug_assert!(!self.published, "subscription changed after a publication");
        let list = self.subscribers.entry(topic).or_default();
        if !list.contains(&conn) {
            list.push(conn);
        }
    }

    pub fn remove_subscriber(&mut self, topic: Topic, conn: ConnId) {
        debug_assert!(!self.published, "subscription changed after a publication");
        if let Some(list) = self.subscribers.get_mut(&topic) {
            list.retain(|&c| c != conn);
            if list.is_empty() {
                self.subscribers.remove(&topic);
            }
        }
    }

    /// Every topic with its subscribers (for the invariant check).
    pub fn topics(&self) -> impl Iterator<Item = (Topic, &[ConnId])> {
        self.subscribers.iter().map(|(t, l)| (*t, l.as_slice()))
    }

    /// A book level changed during the current command.
    pub fn on_level(&mut self, level: BookLevelChanged) {
        if let Some(s) = self.symbols.get_mut(level.symbol.0 as usize) {
            s.pending_levels.push(level);
            s.touched = true;
        }
    }
}
