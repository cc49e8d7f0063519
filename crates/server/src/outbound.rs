//! What the engine thread and the reader hand to a connection's writer.

use std::sync::Arc;

use protocol::Channel;

/// A message for one connection: a JSON object body without `seq`, and what the writer and the
/// fault layer need to know about it.
#[derive(Clone, Debug)]
pub struct Frame {
    pub body: FrameBody,
    pub meta: FrameMeta,
}

/// A frame's JSON text, without `seq`.
///
/// Owned when one connection gets it: the writer then stamps `seq` into it in place and hands
/// the same allocation to the socket. Shared when several connections (market data) or the
/// resume buffer hold it: each writer stamps a copy.
#[derive(Clone, Debug)]
pub enum FrameBody {
    Owned(String),
    Shared(Arc<str>),
}

impl FrameBody {
    /// The text, shared: an owned body moves into a new shared allocation.
    pub fn into_shared(self) -> Arc<str> {
        match self {
            FrameBody::Owned(text) => text.into(),
            FrameBody::Shared(text) => text,
        }
    }
}

impl std::ops::Deref for FrameBody {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            FrameBody::Owned(text) => text,
            FrameBody::Shared(text) => text,
        }
    }
}

impl From<String> for FrameBody {
    fn from(text: String) -> Self {
        FrameBody::Owned(text)
    }
}

impl From<Arc<str>> for FrameBody {
    fn from(text: Arc<str>) -> Self {
        FrameBody::Shared(text)
    }
}

/// The frame's type and stream, so that faults and slow-consumer handling can aim at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    /// The message `type` (`"ORDER_FILL"`).
    pub msg_type: &'static str,
    /// The channel for market data; `None` for answers and private events.
    pub channel: Option<Channel>,
}

impl Frame {
    /// A frame for a direct answer or private event.
    pub fn private(msg_type: &'static str, body: impl Into<FrameBody>) -> Frame {
        Frame {
            body: body.into(),
            meta: FrameMeta {
                msg_type,
                channel: None,
            },
        }
    }

    /// A market-data frame of a channel.
    pub fn market(msg_type: &'static str, channel: Channel, body: impl Into<FrameBody>) -> Frame {
        Frame {
            body: body.into(),
            meta: FrameMeta {
                msg_type,
                channel: Some(channel),
            },
        }
    }
}

/// An instruction to a connection's writer.
#[derive(Debug)]
pub enum Outbound {
    /// Send this frame.
    Frame(Frame),
    /// Send a close frame with this code and reason, then end the connection.
    Close { code: u16, reason: &'static str },
    /// Send these frames in order (a RESUME replay): one queue slot, however many events.
    Replay(Vec<Frame>),
    /// The connection is now bound to an account, whose latest `account_seq` this counter holds
    /// (for HEARTBEAT frames).
    Bound(Arc<std::sync::atomic::AtomicU64>),
    /// The connection is now bound to the account `name`; `configured` when it is a configured
    /// account (LOGIN), false for an anonymous one. Faults and the admin API aim at it.
    Account { name: Arc<str>, configured: bool },
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

pub use tokio::sync::mpsc::error::{SendError, TryRecvError, TrySendError};

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
    /// Queues `item` unless the queue is full (the connection is a slow consumer) or gone.
    pub fn try_send(&self, item: Outbound) -> Result<(), TrySendError<Outbound>> {
        let was_empty = {
            let mut state = self.0.lock();
            if !state.receiver_alive {
                return Err(TrySendError::Closed(item));
            }
            if state.items.len() >= self.0.capacity {
                return Err(TrySendError::Full(item));
            }
            state.items.push_back(item);
            state.items.len() == 1
        };
        if was_empty {
            self.0.ready.notify_one();
        }
        Ok(())
    }

    /// Queues `item` even when the queue is full: for the few control messages (a close) that
    /// must get through to a slow consumer.
    pub async fn send(&self, item: Outbound) -> Result<(), SendError<Outbound>> {
        {
            let mut state = self.0.lock();
            if !state.receiver_alive {
                return Err(SendError(item));
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
        Outbound::Frame(Frame::private("T", format!("{{\"n\":{n}}}")))
    }

    #[tokio::test]
    async fn delivers_in_order_and_reports_full_and_closed() {
        let (tx, mut rx) = channel(2);
        tx.try_send(frame(1)).unwrap();
        tx.try_send(frame(2)).unwrap();
        assert!(matches!(tx.try_send(frame(3)), Err(TrySendError::Full(_))));
        assert_eq!(tx.capacity(), 0);
        // A control message gets through a full queue.
        tx.send(Outbound::Close {
            code: 1008,
            reason: "x",
        })
        .await
        .unwrap();
        let mut batch = std::collections::VecDeque::new();
        rx.drain_into(&mut batch, 2);
        assert_eq!(batch.len(), 2);
        assert!(matches!(
            rx.recv().await,
            Some(Outbound::Close { code: 1008, .. })
        ));
        let body = |o: Option<Outbound>| match o {
            Some(Outbound::Frame(f)) => f.body.to_string(),
            _ => String::new(),
        };
        assert_eq!(body(batch.pop_front()), "{\"n\":1}");
        let tx2 = tx.clone();
        drop(tx);
        tx2.try_send(frame(4)).unwrap();
        drop(tx2);
        assert_eq!(body(rx.recv().await), "{\"n\":4}");
        assert!(rx.recv().await.is_none(), "every sender gone");
        let (tx, rx) = channel(1);
        drop(rx);
        assert!(matches!(
            tx.try_send(frame(5)),
            Err(TrySendError::Closed(_))
        ));
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
