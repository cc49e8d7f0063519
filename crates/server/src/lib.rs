//! The exchange server: the deterministic core ([`exchange::Core`]) on one engine thread, and the
//! I/O around it: WebSocket and REST listeners, connection tasks, one timer task, the admin API.
//!
//! - [`engine_thread`] runs the core: it stamps each input with the time it is taken from the
//!   queue, applies it, and carries out the effects: messages through [`delivery`] into the
//!   connections' queues, wake-ups to the timer task, answers to whoever asked.
//! - [`connection`] is one WebSocket's task; its protocol ([`link`]: parsing, `seq`, the fault
//!   layer's stages, in the connection's [`dialect`]) is sans-IO, so the simulator runs it too.
//! - [`rest`] answers the REST ground truth through the engine thread; [`admin`] controls the
//!   fault layer and lists the connections ([`registry`]) over HTTP.

#![forbid(unsafe_code)]

mod admin;
mod binance_http;
mod binance_limits;
pub mod config;
mod connection;
pub mod delivery;
pub mod dialect;
mod engine_thread;
pub mod fence;
mod landing;
pub mod link;
mod link_binance;
mod link_faults;
mod listener;
mod metrics;
mod original;
pub mod outbound;
mod price_history;
mod queue_outlet;
mod registry;
mod rest;
mod secrets;
mod server;
mod startup;

pub use config::{Config, ConfigError};
pub use faults::FaultInjector;
pub use server::{derive_seed, ExchangeServer, ServerError};
