//! The exchange as a deterministic state machine.
//!
//! [`Core::apply`] takes one [`Input`] stamped with a time and appends the [`Effect`]s it causes:
//! messages for connections and topics, closes, answers to outside callers, and wake-ups it wants
//! ("wake me at t with this timer"). There is no async runtime, channel, clock, thread or
//! randomness of its own in here: the server stamps each input with the time it is taken from the
//! engine thread's queue, serves the wake-ups with one timer task and does the I/O; the simulator
//! and the journal's replay feed the same core from a simulated clock. The same inputs at the same
//! times give the same effects, byte for byte.
//!
//! Everything that crosses the boundary is typed and dialect-neutral: [`Request`]s parsed by a
//! wire dialect on a connection task, [`Query`]s from REST, [`Message`]s a dialect renders. The
//! core never reads or writes JSON.
//!
//! Each duty owns its state:
//! - [`accounts`]: the account registry (configured, anonymous, system), bindings of connections
//!   to accounts, dead man's switches and the retirement of anonymous accounts;
//! - [`connections`]: the connection table, what each connection subscribed to, its age;
//! - [`sessions`]: resume tokens, and per account the recent private events a RESUME replays;
//! - [`market_data`]: subscriptions per topic and what is published on them (book deltas and
//!   pictures, trades, ticker, candles);
//! - [`orders`]: running engine commands and routing their events to the accounts' connections;
//! - [`queries`]: every read (orders, fills, balances, book, trades, candles, ticker), written once
//!   for the WebSocket requests and the REST routes;
//! - [`timers`]: dead man's switch, connection age, housekeeping;
//! - [`market_step`]: the synthetic market's clock and steps.

#![forbid(unsafe_code)]

mod accounts;
pub mod call;
pub mod catalog;
pub mod checksum;
pub mod config;
mod connections;
mod core;
mod effect;
mod error;
mod handle;
mod invariants;
mod market_clock;
mod market_data;
pub mod message;
pub mod query;
pub mod request;
mod sessions;
mod ticker_stats;
pub mod timers;

#[cfg(test)]
mod tests;

pub use crate::core::{Core, Input};
pub use call::{Call, CallAction, Caller};
pub use catalog::Catalog;
pub use config::{AccountSetup, CoreConfig, HistoryLimits};
pub use effect::{BoundAccount, Effect, ReplyId};
pub use error::CoreError;
pub use handle::PHANTOM_FILL_ID_BASE;
pub use market_data::ORDERBOOK_PICTURE_LEVELS;
pub use message::{Answer, Failure, Message};
pub use query::{Query, RestAuth};
pub use request::{
    Channel, Command, Credentials, Request, RequestId, StatusFilter, Topic, BOOK_TOP_LEVELS,
};
pub use timers::Timer;

/// A connection's id: the server's counter, from 1.
pub type ConnId = u64;

/// WebSocket close codes the exchange itself chooses.
pub mod close_code {
    /// A normal close (the admin API's default).
    pub const NORMAL: u16 = 1000;
    /// The server is going away: shutdown, or a client that stopped answering pings.
    pub const GOING_AWAY: u16 = 1001;
    /// A protocol violation by the client.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Text that is not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A policy was broken: the client is a slow consumer.
    pub const POLICY: u16 = 1008;
    /// A frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The exchange stopped while the connection was open.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The exchange restarts: reconnect shortly.
    pub const SERVICE_RESTART: u16 = 1012;
    /// The connection reached `server.limits.max_connection_age_s` (an application code: not a
    /// fault, not a shutdown).
    pub const CONNECTION_AGE: u16 = 4000;
}
