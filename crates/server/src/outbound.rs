//! What the engine thread and the reader hand to a connection's writer.

use std::sync::Arc;

use protocol::Channel;

/// A message for one connection: a JSON object body without `seq` (shared between subscribers
/// for market data), and what the writer and the fault layer need to know about it.
#[derive(Clone, Debug)]
pub struct Frame {
    pub body: Arc<str>,
    pub meta: FrameMeta,
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
    pub fn private(msg_type: &'static str, body: impl Into<Arc<str>>) -> Frame {
        Frame {
            body: body.into(),
            meta: FrameMeta {
                msg_type,
                channel: None,
            },
        }
    }

    /// A market-data frame of a channel.
    pub fn market(msg_type: &'static str, channel: Channel, body: Arc<str>) -> Frame {
        Frame {
            body,
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
