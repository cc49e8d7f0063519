//! The exchange server: WebSocket (native protocol) and REST on one port, in front of one engine
//! thread.
//!
//! - [`core`] owns the engine on its own thread: it takes requests from a bounded channel, runs
//!   them, and routes every event to the connections of the owning account and to the channel
//!   subscribers (a market-data message is written once and shared).
//! - [`connection`] is one WebSocket: it parses requests, enforces limits, and writes frames,
//!   stamping each with the connection's `seq`.
//! - [`sessions`] keeps the resume buffers and tokens that let a client reconnect and continue.
//! - [`rest`] answers the REST ground truth through the same engine thread.
//! - [`link_faults`] is the fault layer's state in a connection; [`admin`] controls the fault
//!   layer and lists the connections ([`registry`]) over HTTP.

pub mod admin;
pub mod config;
pub mod connection;
pub mod core;
pub mod link_faults;
pub mod listener;
pub mod outbound;
pub mod registry;
pub mod rest;
mod server;
pub mod sessions;
mod ticker;

pub use config::{Config, ConfigError};
pub use faults::FaultInjector;
pub use server::{derive_seed, ExchangeServer, ServerError};
