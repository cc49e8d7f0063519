//! The Binance Spot dialect: what ccxt, python-binance, freqtrade and Hummingbot send to Binance,
//! parsed into the core's typed requests, and the core's answers and messages written back as
//! Binance writes them. A parser and a renderer beside the native one; the core does not know
//! which dialect a client speaks.
//!
//! - REST under `/api/v3` ([`rest`]): public market data, and signed trading and account
//!   endpoints ([`signing`]), with Binance's errors ([`error`]).
//! - Market streams ([`streams`]): `/ws`, `/ws/<stream>`, `/stream?streams=a/b`, and live
//!   SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS.
//! - The WebSocket API at `/ws-api/v3` ([`ws_api`]), with the user data stream
//!   ([`user_data`]).

#![forbid(unsafe_code)]

pub mod account;
pub mod context;
pub mod error;
pub mod keys;
pub mod market;
pub mod orders;
pub mod params;
pub mod rest;
pub mod signing;
pub mod streams;
pub mod symbols;
pub mod tickers;
pub mod user_data;
pub mod venue;
pub mod ws_api;

pub use context::Context;
pub use error::ApiError;
pub use keys::Keys;
pub use venue::{RateLimits, Venue};

/// A venue of BTC/USD and ETH/USD with the default engine settings, for unit tests.
#[cfg(test)]
pub(crate) fn test_venue() -> Venue {
    let spec = |name: &str, base: &str| engine::SymbolSpec {
        name: name.into(),
        base: base.into(),
        quote: "USD".into(),
        tick: engine::Increment::from_str_positive("0.01").expect("tick"),
        lot: engine::Increment::from_str_positive("0.00001").expect("lot"),
        min_qty: engine::Qty(1),
        max_qty: engine::Qty(1 << 40),
        min_notional: engine::Amount(0),
    };
    let config = engine::EngineConfig {
        symbols: vec![spec("BTC/USD", "BTC"), spec("ETH/USD", "ETH")],
        ..engine::EngineConfig::default()
    };
    let engine = engine::Engine::new(config).expect("engine");
    let catalog = std::sync::Arc::new(exchange::Catalog::from_engine(&engine));
    let zero = engine::FeeRate(0);
    Venue::new(catalog, zero, zero, RateLimits::default())
}
