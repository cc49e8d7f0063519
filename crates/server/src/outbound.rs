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
    /// The connection is now bound to an account, whose latest `account_seq` this counter holds
    /// (for HEARTBEAT frames).
    Bound(Arc<std::sync::atomic::AtomicU64>),
    /// The connection is now bound to the account `name`; `configured` when it is a configured
    /// account (LOGIN), false for an anonymous one. Faults and the admin API aim at it.
    Account { name: Arc<str>, configured: bool },
}
