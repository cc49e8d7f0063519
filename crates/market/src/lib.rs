//! The simulated market: price models, synthetic liquidity and candles.
//!
//! Everything here is pure and deterministic: the server passes the time (`now_ns`) and the
//! engine's events in, and executes the [`engine::Command`]s that come out. Randomness comes from
//! ChaCha streams derived from one seed, so the same seed and the same events replay exactly.
//!
//! - [`PriceModel`]: one step of a stochastic price process; six built-in models, one per file in
//!   `models/`, and [`PriceTrack`] rounding a model's output to the symbol's tick.
//! - [`MarketMaker`]: one account's ladder of quotes on one symbol, re-quoted on a cadence.
//! - [`TakerFlow`]: Poisson arrivals of MARKET and IOC orders on one symbol.
//! - [`Market`]: all of the above for every symbol, stepped by the server.
//! - [`Candles`]: OHLCV candles built from trades.
//! - [`MarketConfig`]: the `exchange.pricing_model`, `exchange.market_makers`,
//!   `exchange.taker_flow` and `exchange.candles` keys, and [`MarketConfig::build`].
//!
//! How the server drives it is in `docs/MARKET.md` and on [`Market`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod candles;
mod config;
mod error;
mod maker;
mod market;
pub mod models;
mod taker;

pub use candles::{Candle, CandleUpdate, Candles, Interval};
pub use config::{
    CandleConfig, MakerAccounts, MarketConfig, MarketMakerConfig, MarketSymbol, ModelConfig,
    PricingModels, TakerFlowConfig, MAX_CANDLE_HISTORY, MAX_LEVELS, MAX_MAKER_ACCOUNTS,
};
pub use error::ConfigError;
pub use maker::{MakerParams, MakerStats, MarketMaker, QuoteGrid, REGRID_FRACTION};
pub use market::{stream, Market, SymbolSetup, SystemAccounts, SYSTEM_FUNDING};
pub use models::{round_to_tick, tick_size, PriceModel, PriceTrack};
pub use taker::{SizeDistribution, TakerFlow, TakerParams, TakerStats};
