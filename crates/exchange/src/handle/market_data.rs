//! Subscribing, unsubscribing, and what is published on each topic: trades and the candles they
//! update, the book after every command that changed it, the ticker every interval.

use std::collections::BTreeMap;

use engine::{Level, Qty, Side, SymbolId, Trade};

use crate::checksum::{depth_checksum, CHECKSUM_LEVELS};
use crate::core::Core;
use crate::effect::Effect;
use crate::message::{BookDelta, BookSnapshot, BookTicker, Failure, Message, StreamCut, Ticker};
use crate::request::{Channel, RequestId, Topic, BOOK_TOP_LEVELS};
use crate::ConnId;

impl Core {
    /// Appends a publication on `topic`, if anyone subscribes to it.
    fn publish(&mut self, topic: Topic, message: Message) {
        self.market_data.published = true;
        self.emit(Effect::Publish { topic, message });
    }

    pub(crate) fn subscribe(&mut self, conn: ConnId, rid: Option<RequestId>, topic: Topic) {
        let Some(c) = self.connections.get_mut(conn) else {
            return;
        };
        if !c.topics.contains(&topic) {
            c.topics.push(topic);
            self.market_data.add_subscriber(topic, conn);
        }
        self.answer(conn, Message::Subscribed { rid, topic });
        self.start_stream(conn, topic);
    }

    /// Ends every subscription of `channel` on `symbol` (every interval, for candles).
    pub(crate) fn unsubscribe(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        channel: Channel,
        symbol: Option<SymbolId>,
    ) {
        let Some(c) = self.connections.get_mut(conn) else {
            return;
        };
        let matches = |t: &Topic| t.channel() == channel && t.symbol() == symbol;
        let ended: Vec<Topic> = c.topics.iter().copied().filter(matches).collect();
        if ended.is_empty() {
            return self.fail(conn, rid, Failure::NotSubscribed(channel));
        }
        c.topics.retain(|t| !matches(t));
        for topic in ended {
            self.market_data.remove_subscriber(topic, conn);
        }
        self.answer(
            conn,
            Message::Unsubscribed {
                rid,
                channel,
                symbol,
            },
        );
    }

    /// Ends the subscription to exactly `topic` (a candle interval, a book depth).
    pub(crate) fn unsubscribe_topic(&mut self, conn: ConnId, rid: Option<RequestId>, topic: Topic) {
        let Some(c) = self.connections.get_mut(conn) else {
            return;
        };
        let Some(at) = c.topics.iter().position(|t| *t == topic) else {
            return self.fail(conn, rid, Failure::NotSubscribed(topic.channel()));
        };
        c.topics.remove(at);
        self.market_data.remove_subscriber(topic, conn);
        let message = Message::Unsubscribed {
            rid,
            channel: topic.channel(),
            symbol: topic.symbol(),
        };
        self.answer(conn, message);
    }

    /// The first message of a stream: the L2 snapshot, the book picture, the current best bid
    /// and ask, the current ticker (trades and candles start with the next one).
    fn start_stream(&mut self, conn: ConnId, topic: Topic) {
        let message = match topic {
            Topic::BookL2(symbol) => Message::Book {
                rid: None,
                book: self.book_snapshot(symbol, usize::MAX),
                stream: true,
            },
            Topic::BookTop(symbol, levels) => {
                Message::BookPicture(self.book_snapshot(symbol, levels.into()))
            }
            Topic::BookTicker(symbol) => Message::BookTicker(self.book_ticker(symbol)),
            Topic::Ticker(symbol) | Topic::MiniTicker(symbol) => {
                Message::Ticker(self.ticker(symbol, false))
            }
            Topic::AllTickers | Topic::AllMiniTickers => Message::Tickers(self.all_tickers()),
            Topic::Trades(_) | Topic::AggTrades(_) | Topic::Candles(..) | Topic::Heartbeat => {
                return
            }
        };
        let first = Box::new(message);
        self.answer(conn, Message::StreamStart { topic, first });
    }

    /// [`crate::Input::RestartStream`]: STREAM_RESET, then the fresh start of every stream of
    /// the channel and symbol the connection still subscribes to.
    pub(crate) fn restart_stream_if_subscribed(
        &mut self,
        conn: ConnId,
        channel: Channel,
        symbol: SymbolId,
        cause: StreamCut,
    ) {
        let Some(topics) = self.connections.get(conn).map(|c| {
            c.topics
                .iter()
                .copied()
                .filter(|t| t.channel() == channel && t.symbol() == Some(symbol))
                .collect::<Vec<_>>()
        }) else {
            return;
        };
        if topics.is_empty() {
            return;
        }
        let reset = Message::StreamReset {
            channel,
            symbol,
            cause,
        };
        self.answer(conn, reset);
        for topic in topics {
            self.start_stream(conn, topic);
        }
    }

    fn book_ticker(&self, symbol: SymbolId) -> BookTicker {
        let (bid, ask) = self.engine.best_bid_ask(symbol);
        BookTicker {
            symbol,
            bid,
            ask,
            book_seq: self.engine.book_seq(symbol),
            at_ns: self.now_ns,
        }
    }

    fn all_tickers(&mut self) -> Vec<Ticker> {
        (0..self.catalog.symbols().len())
            .map(|i| self.ticker(SymbolId(i as u32), false))
            .collect()
    }

    /// The book ticker, if the best bid or ask (price or quantity) changed since the last one.
    fn publish_book_ticker(&mut self, symbol: SymbolId) {
        let topic = Topic::BookTicker(symbol);
        let (bid, ask) = self.engine.best_bid_ask(symbol);
        let Some(streams) = self.market_data.symbols.get_mut(symbol.0 as usize) else {
            return;
        };
        if streams.book_ticker == (bid, ask) {
            return;
        }
        streams.book_ticker = (bid, ask);
        if self.market_data.has_subscribers(topic) {
            let top = self.book_ticker(symbol);
            self.publish(topic, Message::BookTicker(top));
        }
    }

    /// The checksum of the book's top levels.
    fn book_checksum(&self, symbol: SymbolId) -> u32 {
        let depth = self.engine.depth(symbol, CHECKSUM_LEVELS);
        self.catalog
            .symbol(symbol)
            .map_or(0, |s| depth_checksum(s, &depth))
    }

    /// The book's top `levels` (at least the checksum's) with its checksum.
    pub(crate) fn book_snapshot(&self, symbol: SymbolId, levels: usize) -> BookSnapshot {
        let mut depth = self.engine.depth(symbol, levels.max(CHECKSUM_LEVELS));
        let checksum = self
            .catalog
            .symbol(symbol)
            .map_or(0, |s| depth_checksum(s, &depth));
        depth.bids.truncate(levels);
        depth.asks.truncate(levels);
        BookSnapshot {
            symbol,
            depth,
            checksum,
            at_ns: self.now_ns,
        }
    }

    /// The symbol's ticker now; `advance` counts a publication on the channel.
    pub(crate) fn ticker(&mut self, symbol: SymbolId, advance: bool) -> Ticker {
        let (bid, ask) = self.engine.best_bid_ask(symbol);
        let last = self.engine.last_price(symbol);
        let now = self.now_ns;
        let (window, sequence_id) = match self.market_data.symbols.get_mut(symbol.0 as usize) {
            Some(s) => {
                if advance {
                    s.ticker_seq += 1;
                }
                (s.stats.summary(now), s.ticker_seq)
            }
            None => (Default::default(), 0),
        };
        Ticker {
            symbol,
            last,
            bid,
            ask,
            volume_lots: window.volume_lots,
            high: window.high,
            low: window.low,
            sequence_id,
            at_ns: now,
        }
    }

    /// Publishes every symbol's ticker (each ticker interval), and all of them at once.
    pub(crate) fn publish_tickers(&mut self) {
        for i in 0..self.catalog.symbols().len() {
            let symbol = SymbolId(i as u32);
            let full = self.market_data.has_subscribers(Topic::Ticker(symbol));
            let mini = self.market_data.has_subscribers(Topic::MiniTicker(symbol));
            if full || mini {
                let ticker = self.ticker(symbol, true);
                if full {
                    self.publish(Topic::Ticker(symbol), Message::Ticker(ticker));
                }
                if mini {
                    self.publish(Topic::MiniTicker(symbol), Message::Ticker(ticker));
                }
            }
        }
        for topic in [Topic::AllTickers, Topic::AllMiniTickers] {
            if self.market_data.has_subscribers(topic) {
                let tickers = self.all_tickers();
                self.publish(topic, Message::Tickers(tickers));
            }
        }
    }

    /// A trade: the 24-hour statistics, the TRADES stream and the candles it updates.
    pub(crate) fn on_trade(&mut self, trade: &Trade) {
        if let Some(s) = self.market_data.symbols.get_mut(trade.symbol.0 as usize) {
            s.stats.on_trade(trade.ts_ns, trade.price, trade.qty.0);
        }
        for topic in [Topic::Trades(trade.symbol), Topic::AggTrades(trade.symbol)] {
            if self.market_data.has_subscribers(topic) {
                self.publish(topic, Message::Trade(*trade));
            }
        }
        let updates = self.market_data.candles.on_trade(trade);
        self.publish_candles(&updates);
    }

    /// Candle updates, to their interval's subscribers.
    pub(crate) fn publish_candles(&mut self, updates: &[market::CandleUpdate]) {
        for update in updates {
            let topic = Topic::Candles(update.candle.symbol, update.candle.interval);
            if self.market_data.has_subscribers(topic) {
                let message = Message::Candle {
                    candle: update.candle,
                    closed: update.closed,
                };
                self.publish(topic, message);
            }
        }
    }

    /// After a command: the L2 delta, the book pictures and the book ticker of every book it
    /// changed.
    pub(crate) fn publish_books(&mut self) {
        for i in 0..self.market_data.symbols.len() {
            let touched = self
                .market_data
                .symbols
                .get_mut(i)
                .is_some_and(|s| std::mem::take(&mut s.touched));
            if touched {
                self.publish_book(SymbolId(i as u32));
            }
        }
    }

    fn publish_book(&mut self, symbol: SymbolId) {
        self.publish_book_ticker(symbol);
        for levels in BOOK_TOP_LEVELS {
            let topic = Topic::BookTop(symbol, levels);
            if self.market_data.has_subscribers(topic) {
                let picture = self.book_snapshot(symbol, levels.into());
                self.publish(topic, Message::BookPicture(picture));
            }
        }
        let l2 = self.market_data.has_subscribers(Topic::BookL2(symbol));
        let Some(streams) = self.market_data.symbols.get_mut(symbol.0 as usize) else {
            return;
        };
        if !l2 {
            // Nobody to tell: the buffer is kept for the next command.
            streams.pending_levels.clear();
            return;
        }
        let levels = std::mem::take(&mut streams.pending_levels);
        let (Some(first), Some(last)) = (levels.first(), levels.last()) else {
            return;
        };
        let (first_seq, last_seq) = (first.book_seq, last.book_seq);
        let checksum = self.book_checksum(symbol);
        // The latest total of each changed level, bids highest first, asks lowest first.
        let mut bids: BTreeMap<engine::Price, Qty> = BTreeMap::new();
        let mut asks: BTreeMap<engine::Price, Qty> = BTreeMap::new();
        for l in &levels {
            match l.side {
                Side::Buy => bids.insert(l.price, l.qty),
                Side::Sell => asks.insert(l.price, l.qty),
            };
        }
        let to_levels = |m: BTreeMap<engine::Price, Qty>| -> Vec<Level> {
            m.into_iter()
                .map(|(price, qty)| Level {
                    price,
                    qty,
                    order_count: 0,
                })
                .collect()
        };
        let mut bids = to_levels(bids);
        bids.reverse();
        let delta = BookDelta {
            symbol,
            bids,
            asks: to_levels(asks),
            first_seq,
            last_seq,
            checksum,
            at_ns: self.now_ns,
        };
        self.publish(Topic::BookL2(symbol), Message::BookDelta(delta));
        if let Some(streams) = self.market_data.symbols.get_mut(symbol.0 as usize) {
            let mut levels = levels;
            levels.clear();
            streams.pending_levels = levels;
        }
    }
}
