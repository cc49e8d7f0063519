//! The engine: symbols, books, accounts and history, driven by [`Command`]s.

use thiserror::Error;

use crate::decimal::ParseError;
use crate::error::Reject;
use crate::event::{Event, Fill, Trade};
use crate::symbol::{AssetSpec, Symbol, SymbolSpec};
use crate::types::*;

/// How the engine is set up. Every limit is a number here, not an accident of memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub symbols: Vec<SymbolSpec>,
    pub maker_fee: FeeRate,
    pub taker_fee: FeeRate,
    /// Self-trade prevention for orders that name none.
    pub default_stp: StpMode,
    /// Closed orders kept per account for queries (oldest forgotten first).
    pub closed_orders_per_account: usize,
    /// Fills kept per account for queries (oldest forgotten first).
    pub fills_per_account: usize,
    /// Trades kept per symbol for queries (oldest forgotten first).
    pub trades_per_symbol: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            symbols: Vec::new(),
            maker_fee: FeeRate(0),
            taker_fee: FeeRate(0),
            default_stp: StpMode::ExpireTaker,
            closed_orders_per_account: 1_000,
            fills_per_account: 10_000,
            trades_per_symbol: 1_000,
        }
    }
}

/// Why an [`EngineConfig`] cannot make an engine.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("symbol {0} is defined twice")]
    DuplicateSymbol(String),
    #[error("symbol {0}: base and quote are the same asset")]
    SameAsset(String),
    #[error("symbol {0}: {1}")]
    InvalidSymbol(String, &'static str),
    #[error("fee rate must be between 0 and 1")]
    InvalidFee,
}

/// The exchange's state: books, accounts, orders and recent history, changed only by commands.
pub struct Engine {
    _private: (),
}

impl Engine {
    /// Registers the symbols (and their assets, with the precision they need) and starts empty.
    pub fn new(config: EngineConfig) -> Result<Engine, ConfigError> {
        todo!("{config:?}")
    }

    /// Carries out one command at time `ts_ns`, appending its events to `out` in order. A refused
    /// command appends nothing and changes nothing.
    pub fn execute(
        &mut self,
        cmd: &Command,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        todo!("{cmd:?}{ts_ns}{}", out.len())
    }

    /// Opens a new account with no funds.
    pub fn create_account(&mut self) -> AccountId {
        todo!()
    }

    /// How many accounts exist (ids are `0..count`).
    pub fn account_count(&self) -> usize {
        todo!()
    }

    /// Every asset, indexed by [`AssetId`].
    pub fn assets(&self) -> &[AssetSpec] {
        todo!()
    }

    /// An asset by name.
    pub fn asset_id(&self, name: &str) -> Option<AssetId> {
        todo!("{name}")
    }

    /// Parses a non-negative decimal amount of an asset (e.g. a configured balance).
    pub fn parse_amount(&self, asset: AssetId, s: &str) -> Result<Amount, ParseError> {
        todo!("{asset}{s}")
    }

    /// Appends an amount's canonical text with the asset's decimals (negative amounts get `-`).
    pub fn write_amount(&self, asset: AssetId, amount: Amount, out: &mut String) {
        todo!("{asset}{amount:?}{out}")
    }

    /// An amount's canonical text.
    pub fn format_amount(&self, asset: AssetId, amount: Amount) -> String {
        let mut out = String::new();
        self.write_amount(asset, amount, &mut out);
        out
    }

    /// Every symbol, indexed by [`SymbolId`].
    pub fn symbols(&self) -> &[Symbol] {
        todo!()
    }

    /// A symbol by id.
    pub fn symbol(&self, id: SymbolId) -> Option<&Symbol> {
        todo!("{id}")
    }

    /// A symbol by wire name (`"BTC/USD"`).
    pub fn symbol_id(&self, name: &str) -> Option<SymbolId> {
        todo!("{name}")
    }

    /// An order of the account, open or still in its closed history; `None` for other accounts'.
    pub fn order(&self, account: AccountId, target: OrderRef) -> Option<&Order> {
        todo!("{account}{target:?}")
    }

    /// The account's open orders, optionally on one symbol, oldest first.
    pub fn open_orders(&self, account: AccountId, symbol: Option<SymbolId>) -> Vec<Order> {
        todo!("{account}{symbol:?}")
    }

    /// The account's recently closed orders, oldest first (bounded by the config).
    pub fn closed_orders(&self, account: AccountId) -> Vec<Order> {
        todo!("{account}")
    }

    /// The account's recent fills, oldest first (bounded by the config).
    pub fn fills(&self, account: AccountId) -> Vec<Fill> {
        todo!("{account}")
    }

    /// The symbol's most recent trades, oldest first, at most `limit`.
    pub fn recent_trades(&self, symbol: SymbolId, limit: usize) -> Vec<Trade> {
        todo!("{symbol}{limit}")
    }

    /// Every asset balance of the account, indexed by [`AssetId`] (empty for an unknown account).
    pub fn balances(&self, account: AccountId) -> &[Balance] {
        todo!("{account}")
    }

    /// The account's position in a symbol (all zero when it never traded it).
    pub fn position(&self, account: AccountId, symbol: SymbolId) -> Position {
        todo!("{account}{symbol}")
    }

    /// Unrealized PnL of the account's position against the symbol's last trade price, in the
    /// quote asset's smallest unit; `None` before the symbol's first trade.
    pub fn unrealized_pnl(&self, account: AccountId, symbol: SymbolId) -> Option<Amount> {
        todo!("{account}{symbol}")
    }

    /// The top `levels` price levels of each side.
    pub fn depth(&self, symbol: SymbolId, levels: usize) -> Depth {
        todo!("{symbol}{levels}")
    }

    /// The best bid and best ask.
    pub fn best_bid_ask(&self, symbol: SymbolId) -> (Option<Level>, Option<Level>) {
        todo!("{symbol}")
    }

    /// The price of the symbol's last trade.
    pub fn last_price(&self, symbol: SymbolId) -> Option<Price> {
        todo!("{symbol}")
    }

    /// The symbol's book sequence: how many book level changes so far.
    pub fn book_seq(&self, symbol: SymbolId) -> u64 {
        todo!("{symbol}")
    }

    /// The symbol's last trade id (0 before the first trade).
    pub fn last_trade_id(&self, symbol: SymbolId) -> TradeId {
        todo!("{symbol}")
    }

    /// The account's last private event sequence (0 before the first).
    pub fn account_seq(&self, account: AccountId) -> u64 {
        todo!("{account}")
    }

    /// Fees collected so far in an asset.
    pub fn fees_collected(&self, asset: AssetId) -> Amount {
        todo!("{asset}")
    }

    /// Checks every invariant (funds conserved, locks equal open holds, book not crossed, ...) and
    /// says which one is broken. Costly: for tests and debug builds.
    pub fn check_invariants(&self) -> Result<(), String> {
        todo!()
    }
}
