//! The matching engine: a pure, single-threaded, deterministic core.
//!
//! Commands go in ([`Command`]), events come out ([`Event`]), in order. There is no I/O, no clock,
//! no thread and no global state here: time comes in as an argument (`ts_ns`) and ids are counters,
//! so the same commands in the same order always give the same events.
//!
//! Money is integers: prices are [`Price`] ticks and quantities [`Qty`] lots of their symbol
//! (`i64`), balances and fees are [`Amount`]s in the smallest unit of their asset (`i128`).

#![forbid(unsafe_code)]

mod book;
pub mod decimal;
pub mod engine;
pub mod error;
pub mod event;
#[cfg(feature = "flow")]
pub mod flow;
mod history;
mod ladder;
pub mod symbol;
pub mod types;

pub use decimal::{Decimal, Increment, ParseError};
pub use engine::{Engine, EngineConfig};
pub use error::Reject;
pub use event::{
    BalanceChanged, BookLevelChanged, Event, Fill, OrderAccepted, OrderAmended, OrderClosed,
    PositionChanged, Trade,
};
pub use symbol::{AssetSpec, SymbolSpec};
pub use types::*;
