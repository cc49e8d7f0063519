//! The engine thread: the only place the core runs. It takes what the connections, REST and the
//! timer send, stamps each input with the time it is taken from the queue, applies it to the
//! core, and carries out the effects: messages into the connections' queues (through
//! [`Delivery`]), wake-ups to the timer task, answers to whoever asked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use exchange::{Answer, ConnId, Core, Effect, Input, Query, ReplyId, Timer};
use rustc_hash::FxHashMap;
use tokio::sync::{mpsc, oneshot};

use crate::delivery::Delivery;
use crate::dialect::Dialect;
use crate::queue_outlet::QueueOutlet;

/// Nanoseconds since the Unix epoch: the time inputs are stamped with.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// What the engine thread is sent.
pub enum Envelope {
    /// A connection opened: its queue for delivery, its dialect; the core hears of it as
    /// [`Input::Open`].
    Open {
        conn: ConnId,
        outlet: QueueOutlet,
        dialect: Dialect,
    },
    /// An input for the core.
    Input(Input),
    /// A question whose answer goes back on `reply`.
    Ask {
        query: Query,
        reply: oneshot::Sender<Answer>,
    },
    /// A command on behalf of an account (REST order placement) whose answer goes back on
    /// `reply`.
    Call {
        call: exchange::Call,
        reply: oneshot::Sender<Answer>,
    },
    /// Advance the market, then answer on `reply`.
    AdvanceMarket {
        ticks: u64,
        reply: oneshot::Sender<Answer>,
    },
    /// Stop the thread.
    Shutdown,
}

/// Sequence counters the engine thread publishes for HEARTBEAT frames.
pub struct SharedSeqs {
    /// Per symbol: the latest book sequence.
    pub book: Vec<AtomicU64>,
    /// Per symbol: the latest trade id.
    pub trade: Vec<AtomicU64>,
}

impl SharedSeqs {
    /// Counters for `symbols` symbols, all zero.
    pub fn new(symbols: usize) -> SharedSeqs {
        SharedSeqs {
            book: (0..symbols).map(|_| AtomicU64::new(0)).collect(),
            trade: (0..symbols).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The latest (book sequence, trade id) of the symbol at `index`.
    pub fn latest(&self, index: usize) -> (u64, u64) {
        let load = |v: &[AtomicU64]| v.get(index).map_or(0, |a| a.load(Ordering::Relaxed));
        (load(&self.book), load(&self.trade))
    }
}

/// The engine thread's state.
pub struct EngineThread {
    core: Core,
    delivery: Delivery<QueueOutlet>,
    timers: mpsc::UnboundedSender<(u64, Timer)>,
    replies: FxHashMap<ReplyId, oneshot::Sender<Answer>>,
    last_reply: ReplyId,
    seqs: Arc<SharedSeqs>,
    effects: Vec<Effect>,
}

impl EngineThread {
    pub fn new(
        core: Core,
        delivery: Delivery<QueueOutlet>,
        timers: mpsc::UnboundedSender<(u64, Timer)>,
        seqs: Arc<SharedSeqs>,
    ) -> EngineThread {
        EngineThread {
            core,
            delivery,
            timers,
            replies: FxHashMap::default(),
            last_reply: 0,
            seqs,
            effects: Vec::with_capacity(256),
        }
    }

    /// Runs until [`Envelope::Shutdown`] or until every sender is gone.
    ///
    /// When the queue runs dry the thread polls it a little longer before it sleeps: under load
    /// the next input is usually microseconds away, and a futex sleep and wake-up would cost more
    /// than the wait.
    pub fn run(mut self, mut envelopes: mpsc::Receiver<Envelope>) {
        self.apply(Input::Start);
        loop {
            let envelope = match poll_briefly(&mut envelopes) {
                Some(envelope) => envelope,
                None => match envelopes.blocking_recv() {
                    Some(envelope) => envelope,
                    None => break,
                },
            };
            let input = match envelope {
                Envelope::Open {
                    conn,
                    outlet,
                    dialect,
                } => {
                    self.delivery.open(conn, outlet, dialect);
                    Input::Open { conn }
                }
                Envelope::Input(input) => input,
                Envelope::Ask { query, reply } => {
                    let reply = self.reply_id(reply);
                    Input::Query { reply, query }
                }
                Envelope::Call { call, reply } => {
                    let reply = self.reply_id(reply);
                    Input::Call { reply, call }
                }
                Envelope::AdvanceMarket { ticks, reply } => {
                    let reply = self.reply_id(reply);
                    Input::AdvanceMarket { ticks, reply }
                }
                Envelope::Shutdown => break,
            };
            let closed = match &input {
                Input::Close { conn } => Some(*conn),
                _ => None,
            };
            self.apply(input);
            if let Some(conn) = closed {
                self.delivery.remove(conn);
            }
            self.delivery.poll_starved();
            for input in self.delivery.take_feedback() {
                self.apply(input);
            }
        }
    }

    fn reply_id(&mut self, reply: oneshot::Sender<Answer>) -> ReplyId {
        self.last_reply += 1;
        self.replies.insert(self.last_reply, reply);
        self.last_reply
    }

    /// Stamps and applies one input, then carries out its effects.
    fn apply(&mut self, input: Input) {
        let mut effects = std::mem::take(&mut self.effects);
        let (kind, began) = (crate::metrics::InputKind::of(&input), Instant::now());
        self.core.apply(now_ns(), input, &mut effects);
        crate::metrics::applied(kind, began.elapsed(), &effects);
        // Debug builds (the tests) check every invariant after every input; releases do not pay.
        #[cfg(debug_assertions)]
        if let Err(broken) = self.core.check_invariants() {
            panic!("the core broke an invariant: {broken}");
        }
        for effect in effects.drain(..) {
            match effect {
                Effect::Schedule { at_ns, timer } => {
                    // The timer task ends only with the runtime: then nothing is due any more.
                    let _ = self.timers.send((at_ns, timer));
                }
                Effect::Reply { to, answer } => {
                    if let Some(reply) = self.replies.remove(&to) {
                        // The asker may have given up; its answer has nowhere to go.
                        let _ = reply.send(answer);
                    }
                }
                effect => self.delivery.deliver(effect, &self.core),
            }
        }
        self.effects = effects;
        self.publish_seqs();
    }

    /// Publishes each symbol's latest book sequence and trade id for HEARTBEAT frames.
    fn publish_seqs(&self) {
        let engine = self.core.engine();
        for i in 0..self.seqs.book.len() {
            let symbol = engine::SymbolId(i as u32);
            if let (Some(book), Some(trade)) = (self.seqs.book.get(i), self.seqs.trade.get(i)) {
                book.store(engine.book_seq(symbol), Ordering::Relaxed);
                trade.store(engine.last_trade_id(symbol).0, Ordering::Relaxed);
            }
        }
    }
}

/// The next envelope if one arrives within a short spin.
fn poll_briefly(envelopes: &mut mpsc::Receiver<Envelope>) -> Option<Envelope> {
    const SPINS: u32 = 2_000;
    for _ in 0..SPINS {
        match envelopes.try_recv() {
            Ok(envelope) => return Some(envelope),
            Err(mpsc::error::TryRecvError::Empty) => std::hint::spin_loop(),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
        }
    }
    None
}

/// The timer task: wakes the core when it asked to be woken. One pending wake per timer: a later
/// schedule of the same timer replaces it. Ends when the engine thread is gone.
pub async fn serve_timers(
    mut schedules: mpsc::UnboundedReceiver<(u64, Timer)>,
    engine: mpsc::Sender<Envelope>,
) {
    let mut due: std::collections::BTreeSet<(u64, Timer)> = std::collections::BTreeSet::new();
    let mut pending: FxHashMap<Timer, u64> = FxHashMap::default();
    loop {
        let next = due.first().copied();
        let sleep = async {
            match next {
                Some((at_ns, _)) => {
                    let wait = at_ns.saturating_sub(now_ns());
                    tokio::time::sleep(std::time::Duration::from_nanos(wait)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            schedule = schedules.recv() => {
                let Some((at_ns, timer)) = schedule else {
                    return;
                };
                if let Some(old) = pending.insert(timer, at_ns) {
                    due.remove(&(old, timer));
                }
                due.insert((at_ns, timer));
            }
            () = sleep => {
                while let Some(&(at_ns, timer)) = due.first() {
                    if at_ns > now_ns() {
                        break;
                    }
                    due.pop_first();
                    pending.remove(&timer);
                    if engine.send(Envelope::Input(Input::Wake(timer))).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
