//! What the engine thread hands to a connection, and the bounded queue it goes through.

use std::sync::Arc;

use engine::SymbolId;
use exchange::{BoundAccount, Channel, Message};

/// What the fault layer and the slow-consumer policy need to know about a frame, so that nothing
/// ever parses JSON the server wrote itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    /// The message's type in the connection's dialect (`"ORDER_FILL"`).
    pub msg_type: &'static str,
    /// The channel, for market data.
    pub channel: Option<Channel>,
    /// The symbol it is about, if one.
    pub symbol: Option<SymbolId>,
    /// The topic of a publication or a stream's first message (a combined Binance stream names
    /// it in its wrapper).
    pub topic: Option<exchange::Topic>,
}

/// A publication rendered once for every subscriber of one dialect: the body without `seq`,
/// which each connection splices in.
#[derive(Clone, Debug)]
pub struct SharedFrame {
    pub body: Arc<str>,
    pub meta: FrameMeta,
}

/// Why an item could not be queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full: the connection is a slow consumer.
    Full,
    /// The connection is gone.
    Gone,
}

/// An instruction to a connection.
#[derive(Debug)]
pub enum Outbound {
    /// A message for this connection alone, rendered by the connection in its dialect.
    Message(Message),
    /// A publication, already rendered.
    Shared(SharedFrame),
    /// A RESUME replay: these messages in order, in one queue slot however many they are.
    Replay(Vec<Message>),
    /// The connection's account changed (`None`: logged out).
    Bound(Option<BoundAccount>),
    /// Send a close frame with this code and reason, then end the connection.
    Close { code: u16, reason: &'static str },
    /// The connection's fence came back through the core (`exchange::Input::Fence`): the
    /// answers its link held behind it may leave now.
    Fence(u64),
}

/// A connection's bounded outbound queue: the engine thread pushes, the connection drains.
///
/// Cheaper than a general channel for this one-producer-at-a-time, one-consumer shape, which the
/// market-data fan-out hits thousands of times per message: a push is an uncontended lock and a
/// `VecDeque` push, and only a push into an empty queue wakes the connection, which then takes
/// everything queued in one go and writes it with one flush.
pub fn channel(capacity: usize) -> (OutboundSender, OutboundReceiver) {
    let shared = Arc::new(Shared {
        state: std::sync::Mutex::new(State {
            items: std::collections::VecDeque::new(),
            senders: 1,
            receiver_alive: true,
        }),
        ready: tokio::sync::Notify::new(),
        capacity,
    });
    (OutboundSender(shared.clone()), OutboundReceiver(shared))
}

struct Shared {
    state: std::sync::Mutex<State>,
    ready: tokio::sync::Notify,
    capacity: usize,
}

struct State {
    items: std::collections::VecDeque<Outbound>,
    senders: usize,
    receiver_alive: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves a consistent queue: keep using it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub use tokio::sync::mpsc::error::TryRecvError;

/// A look at how many items wait in a connection's queue, without sending or receiving (for
/// the metrics; it keeps neither side alive).
#[derive(Clone)]
pub struct QueueProbe(Arc<Shared>);

impl QueueProbe {
    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.0.lock().items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for QueueProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueueProbe")
    }
}

/// The sending side of a connection's queue (the engine thread and the connection itself).
pub struct OutboundSender(Arc<Shared>);

impl Clone for OutboundSender {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        OutboundSender(self.0.clone())
    }
}

impl Drop for OutboundSender {
    fn drop(&mut self) {
        let last = {
            let mut state = self.0.lock();
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.0.ready.notify_one();
        }
    }
}

impl std::fmt::Debug for OutboundSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboundSender")
    }
}

impl OutboundSender {
    /// Queues `item` unless the queue is full (the connection is a slow consumer) or gone; the
    /// item is dropped then.
    pub fn try_send(&self, item: Outbound) -> Result<(), Refused> {
        let was_empty = {
            let mut state = self.0.lock();
            if !state.receiver_alive {
                return Err(Refused::Gone);
            }
            if state.items.len() >= self.0.capacity {
                return Err(Refused::Full);
            }
            state.items.push_back(item);
            state.items.len() == 1
        };
        if was_empty {
            self.0.ready.notify_one();
        }
        Ok(())
    }

    /// Queues `item` even when the queue is full: for the few control messages (a binding, a
    /// close) that must get through.
    pub fn force_send(&self, item: Outbound) -> Result<(), Refused> {
        {
            let mut state = self.0.lock();
            if !state.receiver_alive {
                return Err(Refused::Gone);
            }
            state.items.push_back(item);
        }
        self.0.ready.notify_one();
        Ok(())
    }

    /// The most frames the queue holds.
    pub fn max_capacity(&self) -> usize {
        self.0.capacity
    }

    /// Room left before the queue is full.
    pub fn capacity(&self) -> usize {
        self.0.capacity.saturating_sub(self.0.lock().items.len())
    }
}

/// The receiving side: the connection's writer.
pub struct OutboundReceiver(Arc<Shared>);

impl Drop for OutboundReceiver {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.receiver_alive = false;
        state.items.clear();
    }
}

impl OutboundReceiver {
    /// A probe of this queue's length.
    pub fn probe(&self) -> QueueProbe {
        QueueProbe(self.0.clone())
    }

    /// The next item; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Outbound> {
        loop {
            match self.try_recv() {
                Ok(item) => return Some(item),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => self.0.ready.notified().await,
            }
        }
    }

    /// The next item if one is queued.
    pub fn try_recv(&mut self) -> Result<Outbound, TryRecvError> {
        let mut state = self.0.lock();
        match state.items.pop_front() {
            Some(item) => Ok(item),
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Moves up to `limit` queued items into `batch` under one lock.
    pub fn drain_into(&mut self, batch: &mut std::collections::VecDeque<Outbound>, limit: usize) {
        let mut state = self.0.lock();
        let n = state.items.len().min(limit);
        batch.extend(state.items.drain(..n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Outbound {
        Outbound::Message(Message::CancelOnDisconnectSet {
            rid: Some(exchange::RequestId::from_json(&n.to_string())),
            on: true,
        })
    }

    #[tokio::test]
    async fn delivers_in_order_and_reports_full_and_closed() {
        let (tx, mut rx) = channel(2);
        tx.try_send(frame(1)).unwrap();
        tx.try_send(frame(2)).unwrap();
        assert_eq!(tx.try_send(frame(3)), Err(Refused::Full));
        assert_eq!(tx.capacity(), 0);
        // A control message gets through a full queue.
        tx.force_send(Outbound::Close {
            code: 1008,
            reason: "x",
        })
        .unwrap();
        let mut batch = std::collections::VecDeque::new();
        rx.drain_into(&mut batch, 2);
        assert_eq!(batch.len(), 2);
        assert!(matches!(
            rx.recv().await,
            Some(Outbound::Close { code: 1008, .. })
        ));
        let body = |o: Option<Outbound>| match o {
            Some(Outbound::Message(m)) => m.rid().map(|r| r.as_json().to_owned()),
            _ => None,
        };
        assert_eq!(body(batch.pop_front()).as_deref(), Some("1"));
        let tx2 = tx.clone();
        drop(tx);
        tx2.try_send(frame(4)).unwrap();
        drop(tx2);
        assert_eq!(body(rx.recv().await).as_deref(), Some("4"));
        assert!(rx.recv().await.is_none(), "every sender gone");
        let (tx, rx) = channel(1);
        drop(rx);
        assert_eq!(tx.try_send(frame(5)), Err(Refused::Gone));
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_a_push_from_another_thread() {
        let (tx, mut rx) = channel(8);
        let pusher = std::thread::spawn(move || {
            for n in 0..100 {
                while tx.try_send(frame(n)).is_err() {
                    std::thread::yield_now();
                }
            }
        });
        let mut got = 0;
        while rx.recv().await.is_some() {
            got += 1;
        }
        pusher.join().unwrap();
        assert_eq!(got, 100);
    }
}

/// The engine thread's order to close a connection at once, even while its writer is blocked on
/// a peer that stopped reading (the outbound queue cannot carry it then: it is full).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseNow {
    /// The WebSocket close code (1008 for a slow consumer).
    pub code: u16,
    /// The close reason.
    pub reason: &'static str,
}
