//! Delivery: the core's effects into each connection's bounded queue, and the slow-consumer
//! policy. It lives beside the core, on the engine thread, because how full a queue is is a fact
//! of the I/O (how fast a peer reads), not of the exchange: the core stays a function of its
//! inputs, and what delivery decides reaches the core as inputs of its own (a connection closed
//! as a slow consumer ends and is reported closed; a stream cut here is restarted by an
//! [`Input::RestartStream`]).
//!
//! Nothing here blocks on a connection: a connection whose queue is full is a slow consumer,
//! disconnected (close 1008), or, with `slow_consumer: drop_market_data`, its market data is
//! dropped while answers and private events keep the last quarter of the queue, and each stream
//! that lost a message is restarted (STREAM_RESET and a fresh snapshot) once the queue has room
//! again. Private events are never dropped: a connection that cannot take them is disconnected,
//! and its client resumes.
//!
//! Generic over the [`Outlet`] a connection's queue is reached through, so that the simulator
//! runs this very code against its simulated connections.

use std::sync::Arc;

use binance::Venue;
use engine::SymbolId;
use exchange::message::StreamCut;
use exchange::{Channel, ConnId, Core, Effect, Input, Message, Topic};
use rustc_hash::FxHashMap;

use crate::config::SlowConsumerAction;
use crate::dialect::Dialect;
pub use crate::outbound::Refused;
use crate::outbound::{FrameMeta, Outbound, SharedFrame};

/// A connection's queue as delivery reaches it.
pub trait Outlet {
    /// Queues `item` unless the queue is full or the connection is gone.
    fn try_push(&mut self, item: Outbound) -> Result<(), Refused>;
    /// Queues `item` even when the queue is full: for the few control items that must get
    /// through (a binding, a close).
    fn force_push(&mut self, item: Outbound) -> Result<(), Refused>;
    /// Free slots, and all slots.
    fn room(&self) -> (usize, usize);
    /// Closes the connection at once with `code`, dropping what is queued (a slow consumer).
    fn kill(&mut self, code: u16, reason: &'static str);
    /// Closes the connection with `code` if its queued close is not written within a bound (a
    /// peer that stopped reading would keep it waiting forever).
    fn kill_unless_closed_soon(&mut self, code: u16, reason: &'static str);
}

/// Slots kept for answers and private events when market data is dropped: a quarter.
fn private_reserve(max_frames: usize) -> usize {
    max_frames / 4
}

/// Whether a starved connection's queue has room for its stream restarts again: at least half of
/// it free, and at least a STREAM_RESET and its snapshot.
fn has_room((free, max): (usize, usize)) -> bool {
    free >= 2 && free * 2 >= max
}

/// A stream that lost messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Starved {
    channel: Channel,
    symbol: SymbolId,
    /// Its restart was asked of the core; its messages stay dropped until the restart passes.
    restart_asked: bool,
}

/// One connection as delivery knows it.
struct Route<O> {
    outlet: O,
    dialect: Dialect,
    /// Closing: nothing more is queued.
    closing: bool,
    starved: Vec<Starved>,
}

/// The routes of every connection, and the policy.
pub struct Delivery<O> {
    routes: FxHashMap<ConnId, Route<O>>,
    policy: SlowConsumerAction,
    venue: Arc<Venue>,
    /// Connections with starved streams.
    starved: Vec<ConnId>,
    /// Inputs delivery has for the core: stream restarts, slow consumers closed.
    feedback: Vec<Input>,
    /// Connections closed as slow consumers, for the metrics.
    slow_consumers: u64,
}

impl<O: Outlet> Delivery<O> {
    pub fn new(policy: SlowConsumerAction, venue: Arc<Venue>) -> Delivery<O> {
        Delivery {
            routes: FxHashMap::default(),
            policy,
            venue,
            starved: Vec::new(),
            feedback: Vec::new(),
            slow_consumers: 0,
        }
    }

    /// A connection opened.
    pub fn open(&mut self, conn: ConnId, outlet: O, dialect: Dialect) {
        let route = Route {
            outlet,
            dialect,
            closing: false,
            starved: Vec::new(),
        };
        self.routes.insert(conn, route);
    }

    /// A connection is gone.
    pub fn remove(&mut self, conn: ConnId) {
        self.routes.remove(&conn);
    }

    /// How many connections were closed as slow consumers.
    pub fn slow_consumers(&self) -> u64 {
        self.slow_consumers
    }

    /// The inputs delivery has for the core since the last call.
    pub fn take_feedback(&mut self) -> Vec<Input> {
        std::mem::take(&mut self.feedback)
    }

    /// Carries out one effect of the core; `core` tells who subscribes to a topic. Effects that
    /// are not about connections (schedules, replies) are the caller's.
    pub fn deliver(&mut self, effect: Effect, core: &Core) {
        match effect {
            Effect::Send { conn, message } => self.send(conn, message),
            Effect::Publish { topic, message } => self.publish(topic, &message, core),
            Effect::Replay { conn, messages } => {
                self.push_private(conn, Outbound::Replay(messages))
            }
            Effect::Bind { conn, account } => {
                if let Some(route) = self.live(conn) {
                    if route.outlet.force_push(Outbound::Bound(account)).is_err() {
                        route.closing = true;
                    }
                }
            }
            Effect::Close { conn, code, reason } => self.close(conn, code, reason),
            Effect::Fence { conn, token } => self.push_private(conn, Outbound::Fence(token)),
            Effect::Schedule { .. } | Effect::Reply { .. } => {}
        }
    }

    /// A route still taking messages.
    fn live(&mut self, conn: ConnId) -> Option<&mut Route<O>> {
        self.routes.get_mut(&conn).filter(|r| !r.closing)
    }

    fn send(&mut self, conn: ConnId, message: Message) {
        match (message.channel(), message.symbol()) {
            (Some(channel), Some(symbol)) => {
                // A stream's fresh start (its snapshot, or a STREAM_RESET) ends its starvation.
                if let Some(route) = self.live(conn) {
                    route
                        .starved
                        .retain(|s| (s.channel, s.symbol) != (channel, symbol));
                }
                self.push_market(conn, Outbound::Message(message), channel, Some(symbol));
            }
            _ => self.push_private(conn, Outbound::Message(message)),
        }
    }

    fn publish(&mut self, topic: Topic, message: &Message, core: &Core) {
        let (channel, symbol) = (topic.channel(), topic.symbol());
        // Rendered once per dialect, on first need (`Some(None)`: the dialect shows nothing).
        let mut rendered: [Option<Option<SharedFrame>>; Dialect::COUNT] = Default::default();
        for &conn in core.subscribers(topic) {
            let Some(route) = self.routes.get_mut(&conn).filter(|r| !r.closing) else {
                continue;
            };
            if let Some(s) = route
                .starved
                .iter_mut()
                .find(|s| Some((s.channel, s.symbol)) == symbol.map(|sym| (channel, sym)))
            {
                let Some(symbol) = symbol else { continue };
                // Covered by the restart to come: ask for it once there is room.
                if !s.restart_asked && has_room(route.outlet.room()) {
                    s.restart_asked = true;
                    self.feedback.push(Input::RestartStream {
                        conn,
                        channel,
                        symbol,
                        cause: StreamCut::SlowConsumer,
                    });
                }
                continue;
            }
            let dialect = route.dialect;
            let Some(slot) = rendered.get_mut(dialect.index()) else {
                continue;
            };
            let frame =
                slot.get_or_insert_with(|| shared_frame(dialect, topic, message, &self.venue));
            if let Some(frame) = frame.clone() {
                self.push_market(conn, Outbound::Shared(frame), channel, symbol);
            }
        }
    }

    /// Queues a market-data item; a full queue starves the stream (an all-market stream just
    /// loses the item: the next one replaces it whole) or makes a slow consumer.
    fn push_market(
        &mut self,
        conn: ConnId,
        item: Outbound,
        channel: Channel,
        symbol: Option<SymbolId>,
    ) {
        let drops_market = self.policy == SlowConsumerAction::DropMarketData;
        let Some(route) = self.live(conn) else {
            return;
        };
        let (free, max) = route.outlet.room();
        if drops_market && free <= private_reserve(max) {
            if let Some(symbol) = symbol {
                self.starve(conn, channel, symbol);
            }
            return;
        }
        match route.outlet.try_push(item) {
            Ok(()) => {}
            Err(Refused::Gone) => route.closing = true,
            Err(Refused::Full) if drops_market => {
                if let Some(symbol) = symbol {
                    self.starve(conn, channel, symbol);
                }
            }
            Err(Refused::Full) => self.slow_consumer(conn),
        }
    }

    /// Queues an answer or a private event; a full queue makes a slow consumer.
    fn push_private(&mut self, conn: ConnId, item: Outbound) {
        let Some(route) = self.live(conn) else {
            return;
        };
        match route.outlet.try_push(item) {
            Ok(()) => {}
            Err(Refused::Gone) => route.closing = true,
            Err(Refused::Full) => self.slow_consumer(conn),
        }
    }

    /// Drops a market message of a slow consumer and remembers its stream needs a restart.
    fn starve(&mut self, conn: ConnId, channel: Channel, symbol: SymbolId) {
        let Some(route) = self.routes.get_mut(&conn).filter(|r| !r.closing) else {
            return;
        };
        if route.starved.is_empty() {
            self.starved.push(conn);
        }
        if !route
            .starved
            .iter()
            .any(|s| (s.channel, s.symbol) == (channel, symbol))
        {
            route.starved.push(Starved {
                channel,
                symbol,
                restart_asked: false,
            });
        }
    }

    /// Closes a connection that cannot keep up, at once (1008). The core forgets it now (its
    /// orders are cancelled now if it asked for that), not when its close frame is out, which
    /// can take a while for a peer that does not read.
    fn slow_consumer(&mut self, conn: ConnId) {
        if let Some(route) = self.live(conn) {
            route.closing = true;
            route
                .outlet
                .kill(exchange::close_code::POLICY, "slow consumer");
            self.slow_consumers += 1;
            self.feedback.push(Input::Close { conn });
        }
    }

    /// The core closes a connection: the close frame goes after what is queued, unless the
    /// queue is full (then at once).
    fn close(&mut self, conn: ConnId, code: u16, reason: &'static str) {
        let Some(route) = self.live(conn) else {
            return;
        };
        route.closing = true;
        match route.outlet.try_push(Outbound::Close { code, reason }) {
            Ok(()) => route.outlet.kill_unless_closed_soon(code, reason),
            Err(_) => route.outlet.kill(code, reason),
        }
    }

    /// Asks for the restart of every starved stream whose connection has room again (for
    /// streams that went quiet: a busy stream asks on its next message).
    pub fn poll_starved(&mut self) {
        if self.starved.is_empty() {
            return;
        }
        let mut starved = std::mem::take(&mut self.starved);
        starved.sort_unstable();
        starved.dedup();
        for conn in starved {
            let Some(route) = self.routes.get_mut(&conn).filter(|r| !r.closing) else {
                continue;
            };
            let room = has_room(route.outlet.room());
            for s in route.starved.iter_mut().filter(|s| !s.restart_asked) {
                if room {
                    s.restart_asked = true;
                    self.feedback.push(Input::RestartStream {
                        conn,
                        channel: s.channel,
                        symbol: s.symbol,
                        cause: StreamCut::SlowConsumer,
                    });
                }
            }
            if route.starved.iter().any(|s| !s.restart_asked) {
                self.starved.push(conn);
            }
        }
    }
}

/// A publication rendered once for every subscriber of a dialect; `None` when the dialect shows
/// nothing for it.
fn shared_frame(
    dialect: Dialect,
    topic: Topic,
    message: &Message,
    venue: &Venue,
) -> Option<SharedFrame> {
    let mut body = String::new();
    if !dialect.publication(topic, message, venue, &mut body) {
        return None;
    }
    Some(SharedFrame {
        body: body.into(),
        meta: FrameMeta {
            msg_type: dialect.type_name(message),
            channel: message.channel(),
            symbol: message.symbol(),
            topic: Some(topic),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_starved_queue_needs_half_its_slots_free() {
        assert!(has_room((16, 16)));
        assert!(has_room((8, 16)));
        assert!(!has_room((7, 16)));
        assert!(!has_room((1, 2)));
        assert_eq!(private_reserve(16), 4);
    }
}
