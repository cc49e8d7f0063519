//! What the dialect knows of the exchange beyond one request: its symbols and assets under
//! Binance's names, its fees and its published rate limits.

use std::sync::Arc;

use engine::{FeeRate, SymbolId};
use exchange::Catalog;

use crate::symbols::Symbols;

/// Rate limits as `exchangeInfo` publishes them and the server enforces them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Request weight per minute, per client address.
    pub request_weight_per_minute: u32,
    /// New orders per 10 seconds, per account.
    pub orders_per_10s: u32,
    /// New orders per day, per account.
    pub orders_per_day: u32,
}

impl Default for RateLimits {
    /// Binance's published Spot limits.
    fn default() -> RateLimits {
        RateLimits {
            request_weight_per_minute: 6_000,
            orders_per_10s: 100,
            orders_per_day: 200_000,
        }
    }
}

/// The exchange as the dialect renders it.
#[derive(Debug)]
pub struct Venue {
    pub catalog: Arc<Catalog>,
    pub symbols: Symbols,
    pub maker_fee: FeeRate,
    pub taker_fee: FeeRate,
    pub limits: RateLimits,
}

impl Venue {
    pub fn new(
        catalog: Arc<Catalog>,
        maker_fee: FeeRate,
        taker_fee: FeeRate,
        limits: RateLimits,
    ) -> Venue {
        Venue {
            symbols: Symbols::new(&catalog),
            catalog,
            maker_fee,
            taker_fee,
            limits,
        }
    }

    /// A symbol's engine spec.
    pub fn symbol(&self, id: SymbolId) -> Option<&engine::symbol::Symbol> {
        self.catalog.symbol(id)
    }
}

/// Milliseconds from nanoseconds, as every Binance time is.
pub fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}
