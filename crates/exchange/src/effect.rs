//! What the core asks the world to do: the only way anything leaves it.

use serde::Serialize;
use std::sync::Arc;

use crate::message::Answer;
use crate::message::Message;
use crate::request::Topic;
use crate::timers::Timer;
use crate::ConnId;

/// Names an outside caller waiting for an [`Answer`] (a REST request, the embedding program):
/// the edge's own counter, passed through unchanged.
pub type ReplyId = u64;

/// The account a connection is bound to, as the connection itself needs it: fault filters aim at
/// the account, the admin API lists it, heartbeats report its latest `account_seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BoundAccount {
    pub name: Arc<str>,
    /// A configured account (LOGIN), not an anonymous one.
    pub configured: bool,
    /// The account's latest `account_seq` when it was bound.
    pub account_seq: u64,
}

/// One thing the core wants done, in the order it must happen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// A message for one connection.
    Send {
        conn: crate::ConnId,
        message: Message,
    },
    /// A message for every connection subscribed to `topic` at this moment
    /// ([`crate::Core::subscribers`]): rendered once per dialect, not once per subscriber.
    Publish { topic: Topic, message: Message },
    /// A RESUME's replay: these private events in order, as one unit (a replay may hold more
    /// events than a connection's queue has slots).
    Replay {
        conn: ConnId,
        messages: Vec<Message>,
    },
    /// The connection's account changed (`None`: it logged out).
    Bind {
        conn: ConnId,
        account: Option<BoundAccount>,
    },
    /// Close the connection with `code` and `reason`, after what is already queued for it. The
    /// core has forgotten it already.
    Close {
        conn: ConnId,
        code: u16,
        reason: &'static str,
    },
    /// Wake the core with `timer` at `at_ns` ([`crate::Input::Wake`]). A later schedule of the
    /// same timer replaces an earlier one; a wake that comes early is scheduled again.
    Schedule { at_ns: u64, timer: Timer },
    /// The answer to an outside caller.
    Reply { to: ReplyId, answer: Answer },
    /// [`crate::Input::Fence`] echoed to its connection, after every effect of the
    /// connection's earlier inputs.
    Fence { conn: ConnId, token: u64 },
}
