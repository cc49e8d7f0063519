//! Checks on what the core emits, before any fault touches it: each connection's private events
//! carry gap-free `account_seq`s, and every ORDERBOOK_L2 delta, applied to the snapshot before
//! it, gives exactly the engine's book. A perfect reader of the effects, so that a bug in the core
//! shows even where a careful client would have recovered from it.

use std::collections::BTreeMap;

use engine::{Price, Qty, SymbolId};
use exchange::{ConnId, Core, Effect, Message, Topic, PHANTOM_FILL_ID_BASE};

/// A book kept from the core's own publications.
#[derive(Debug, Default)]
struct ShadowBook {
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
    seq: u64,
}

/// The oracle's memory.
#[derive(Debug, Default)]
pub struct Oracle {
    /// Per connection bound to an account: the last `account_seq` it was sent.
    last_seq: BTreeMap<ConnId, u64>,
    /// Per symbol, the book from the snapshot and deltas the core published (while someone
    /// subscribed).
    books: BTreeMap<SymbolId, ShadowBook>,
}

impl Oracle {
    /// Checks the effects of one input; `core` is the state after it.
    pub fn check(&mut self, effects: &[Effect], core: &Core) -> Result<(), String> {
        for effect in effects {
            match effect {
                Effect::Bind { conn, account } => match account {
                    Some(account) => {
                        self.last_seq.insert(*conn, account.account_seq);
                    }
                    None => {
                        self.last_seq.remove(conn);
                    }
                },
                Effect::Close { conn, .. } => {
                    self.last_seq.remove(conn);
                }
                Effect::Send { conn, message } => {
                    self.private_event(*conn, message)?;
                    if let Message::StreamStart { first, .. } = message {
                        if let Message::Book {
                            book, stream: true, ..
                        } = first.as_ref()
                        {
                            self.snapshot(book)?;
                        }
                    }
                }
                Effect::Publish {
                    topic: Topic::BookL2(_),
                    message: Message::BookDelta(delta),
                } => self.delta(delta)?,
                _ => {}
            }
        }
        self.compare_books(core)
    }

    /// A connection forgot its account: it closed, or the core closed it.
    pub fn closed(&mut self, conn: ConnId) {
        self.last_seq.remove(&conn);
    }

    /// A private event must be the next of its connection's account; an answer that reports the
    /// account's sequence must report the latest.
    fn private_event(&mut self, conn: ConnId, message: &Message) -> Result<(), String> {
        let Some(seq) = message.account_seq() else {
            return Ok(());
        };
        let event = match message {
            Message::OrderFilled(fill) => fill.fill_id.0 < PHANTOM_FILL_ID_BASE,
            Message::OrderAccepted { .. }
            | Message::OrderClosed { .. }
            | Message::OrderAmended { .. }
            | Message::BalanceChanged { .. } => true,
            // A position is an event after fills, or an answer (the latest) to GET_POSITION.
            Message::Position { .. } => self.last_seq.get(&conn).is_some_and(|l| seq == l + 1),
            _ => false,
        };
        let Some(last) = self.last_seq.get_mut(&conn) else {
            // Answers to a connection without an account binding carry no account stream.
            return Ok(());
        };
        if event {
            if seq != *last + 1 {
                return Err(format!(
                    "connection {conn} was sent account_seq {seq} after {last}: {message:?}"
                ));
            }
            *last = seq;
        } else if seq > *last {
            return Err(format!(
                "connection {conn} was told account_seq {seq} before the events up to it ({last})"
            ));
        }
        Ok(())
    }

    fn snapshot(&mut self, book: &exchange::message::BookSnapshot) -> Result<(), String> {
        let shadow = ShadowBook {
            bids: book.depth.bids.iter().map(|l| (l.price, l.qty)).collect(),
            asks: book.depth.asks.iter().map(|l| (l.price, l.qty)).collect(),
            seq: book.depth.book_seq,
        };
        if let Some(known) = self.books.get(&book.symbol) {
            if known.seq == shadow.seq && (known.bids != shadow.bids || known.asks != shadow.asks) {
                return Err(format!(
                    "a snapshot at book sequence {} differs from the deltas before it",
                    shadow.seq
                ));
            }
        }
        self.books.insert(book.symbol, shadow);
        Ok(())
    }

    fn delta(&mut self, delta: &exchange::message::BookDelta) -> Result<(), String> {
        let Some(shadow) = self.books.get_mut(&delta.symbol) else {
            return Ok(());
        };
        if delta.first_seq != shadow.seq + 1 {
            // Nobody subscribed for a while: the book is known again at the next snapshot.
            self.books.remove(&delta.symbol);
            return Ok(());
        }
        if delta.last_seq < delta.first_seq {
            return Err(format!(
                "a delta covers sequences {}..={}",
                delta.first_seq, delta.last_seq
            ));
        }
        for (side, levels) in [
            (&mut shadow.bids, &delta.bids),
            (&mut shadow.asks, &delta.asks),
        ] {
            for level in levels {
                if level.qty.0 == 0 {
                    side.remove(&level.price);
                } else {
                    side.insert(level.price, level.qty);
                }
            }
        }
        shadow.seq = delta.last_seq;
        Ok(())
    }

    /// Every book the oracle follows equals the engine's, where someone still subscribes.
    fn compare_books(&mut self, core: &Core) -> Result<(), String> {
        let symbols: Vec<SymbolId> = self.books.keys().copied().collect();
        for symbol in symbols {
            if core.subscribers(Topic::BookL2(symbol)).is_empty() {
                self.books.remove(&symbol);
                continue;
            }
            let Some(shadow) = self.books.get(&symbol) else {
                continue;
            };
            let depth = core.engine().depth(symbol, usize::MAX);
            if depth.book_seq != shadow.seq {
                return Err(format!(
                    "the book is at sequence {} but its deltas reached {}",
                    depth.book_seq, shadow.seq
                ));
            }
            let bids: BTreeMap<Price, Qty> = depth.bids.iter().map(|l| (l.price, l.qty)).collect();
            let asks: BTreeMap<Price, Qty> = depth.asks.iter().map(|l| (l.price, l.qty)).collect();
            if bids != shadow.bids || asks != shadow.asks {
                return Err(format!(
                    "the book at sequence {} differs from its snapshot and deltas",
                    depth.book_seq
                ));
            }
        }
        Ok(())
    }
}
