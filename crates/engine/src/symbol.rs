//! Symbols and assets: what trades, in which increments, and how amounts are scaled.

use crate::decimal::{Increment, ParseError};
use crate::types::{Amount, AssetId, Price, Qty};

/// An asset as the engine holds it: balances are integers in units of `10^-decimals`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetSpec {
    pub name: String,
    /// Chosen by the engine: the finest precision any symbol needs (at least 2).
    pub decimals: u32,
}

/// A tradable pair and its rules, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolSpec {
    /// The wire name, e.g. `"BTC/USD"`.
    pub name: String,
    /// The asset bought and sold, e.g. `"BTC"`.
    pub base: String,
    /// The asset prices are in, e.g. `"USD"`.
    pub quote: String,
    pub tick: Increment,
    pub lot: Increment,
    /// The smallest order quantity, in lots (at least 1).
    pub min_qty: Qty,
    /// The largest order quantity, in lots.
    pub max_qty: Qty,
    /// The smallest price times quantity, in units of the quote asset's smallest unit, checked for
    /// limit orders at their price.
    pub min_notional: Amount,
}

/// A registered symbol: its spec plus the resolved asset ids and scale factors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub spec: SymbolSpec,
    pub base: AssetId,
    pub quote: AssetId,
    /// Quote smallest units per (tick x lot): `notional = price_ticks * qty_lots * this`.
    pub quote_units_per_tick_lot: i128,
    /// Base smallest units per lot.
    pub base_units_per_lot: i128,
}

impl Symbol {
    /// Parses a price string into ticks (must be positive).
    pub fn parse_price(&self, s: &str) -> Result<Price, ParseError> {
        self.spec.tick.parse(s, false).map(Price)
    }

    /// Parses a quantity string into lots (must be positive).
    pub fn parse_qty(&self, s: &str) -> Result<Qty, ParseError> {
        self.spec.lot.parse(s, false).map(Qty)
    }

    /// Appends the canonical price text.
    pub fn write_price(&self, price: Price, out: &mut String) {
        self.spec.tick.write(price.0, out)
    }

    /// Appends the canonical quantity text.
    pub fn write_qty(&self, qty: Qty, out: &mut String) {
        self.spec.lot.write(qty.0, out)
    }

    /// The canonical price text.
    pub fn format_price(&self, price: Price) -> String {
        self.spec.tick.format(price.0)
    }

    /// The canonical quantity text.
    pub fn format_qty(&self, qty: Qty) -> String {
        self.spec.lot.format(qty.0)
    }

    /// Price times quantity in the quote asset's smallest unit; `None` on overflow.
    pub fn notional(&self, price: Price, qty: Qty) -> Option<Amount> {
        (price.0 as i128)
            .checked_mul(qty.0 as i128)?
            .checked_mul(self.quote_units_per_tick_lot)
            .map(Amount)
    }

    /// A quantity in the base asset's smallest unit.
    pub fn base_amount(&self, qty: Qty) -> Amount {
        Amount(qty.0 as i128 * self.base_units_per_lot)
    }
}

/// The decimals each asset gets, by name: the finest precision any symbol needs (a base needs its
/// lot's decimals; a quote needs tick plus lot decimals), at least 2 and at most 18.
pub fn asset_decimals(symbols: &[SymbolSpec]) -> std::collections::BTreeMap<String, u32> {
    let mut decimals = std::collections::BTreeMap::new();
    for s in symbols {
        let base = decimals.entry(s.base.clone()).or_insert(2u32);
        *base = (*base).max(s.lot.scale).min(18);
        let quote = decimals.entry(s.quote.clone()).or_insert(2u32);
        *quote = (*quote).max(s.tick.scale + s.lot.scale).min(18);
    }
    decimals
}
