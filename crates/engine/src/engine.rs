//! The engine: symbols, books, accounts and history, driven by [`Command`]s.
//!
//! # Event order
//! A place emits, in order:
//! 1. `Accepted`, with status OPEN when the order will rest at once without meeting the opposite
//!    side (a GTC limit that does not cross), PENDING otherwise (it is about to match or expire).
//! 2. For each match: maker `Fill`, taker `Fill`, `Trade`, `BookLevel` (the maker level's new
//!    total), then `Balance` for every (account, asset) that changed (maker base, maker quote,
//!    taker base, taker quote; once per pair), then `Position` of the maker and of the taker (once
//!    when they are the same account). A resting order removed by self-trade prevention emits
//!    `Closed`, `BookLevel`, `Balance` at the point it is met.
//! 3. For the remainder: `BookLevel` when it rests, `Closed` when it expires (then the taker's
//!    last `Fill` carries `remaining_qty` 0: nothing of it stays open).
//! 4. `Balance` of the asset the order locks, when it differs from what was last reported (the
//!    lock of a resting order, the release of an expired remainder).
//!
//! Cancel and cancel-all emit `Closed`, `BookLevel`, `Balance` per order (oldest first); amend
//! emits `Amended`, `BookLevel`, `Balance`; deposit emits `Balance` (a negative amount is refused
//! as INVALID_QUANTITY, zero succeeds with no event). A refused command creates no order, so the
//! REJECTED status is never assigned: the refusal is the command's `Err`.
//!
//! # Funds
//! A limit buy locks `notional(limit, qty)` of quote, a sell (limit or market) locks its base. A
//! buy filled at `p <= limit` unlocks `notional(limit, q)`, pays `notional(p, q)` and gets the
//! difference back. A market buy locks nothing: it pays each fill from the available quote, takes
//! only what that can pay for, and expires with INSUFFICIENT_FUNDS when it can pay for no more.
//! Fees are charged in the asset received, `received * rate / FeeRate::SCALE` rounded down (the
//! account keeps the fraction), maker rate for the resting side, taker rate for the arriving one.
//!
//! # Self-trade prevention and FOK
//! The arriving order's mode decides (its own, else the configured default). FOK checks first,
//! without side effects, that it can fill completely: it walks the opposite book in priority order
//! at acceptable prices, skipping its own orders under EXPIRE_MAKER, giving up at its first own
//! order under EXPIRE_TAKER or EXPIRE_BOTH (matching would stop there), and, for a market buy,
//! within the quote it can pay. If not, it expires with FOK_UNFILLED and nothing else changes.
//!
//! # Positions
//! Average cost in the quote asset's smallest unit. Adding to a position adds the trade notional to
//! the cost basis; reducing it takes out `cost * closed / |net|` (rounded toward zero, so the
//! rounding stays in the basis of what remains and a full round trip realizes exactly) and
//! realizes the difference with the trade notional of the closed quantity; crossing zero opens the
//! rest at the trade price. Position quantities and PnL saturate rather than overflow.

use std::ops::ControlFlow;

use rustc_hash::FxHashMap;
use thiserror::Error;

use crate::book::{Book, Slab, NIL};
use crate::decimal::{parse_scaled, pow10, write_scaled, ParseError, MAX_SCALE};
use crate::error::Reject;
use crate::event::{
    BalanceChanged, BookLevelChanged, Event, Fill, OrderAccepted, OrderAmended, OrderClosed,
    PositionChanged, Trade,
};
use crate::history::Ring;
use crate::symbol::{asset_decimals, AssetSpec, Symbol, SymbolSpec};
use crate::types::*;
use funds::{div_nonneg, FillTerms};
use positions::apply_to_position;

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

/// One account: balances per asset, positions per symbol, open orders and recent history.
#[derive(Clone, Debug)]
struct Account {
    balances: Vec<Balance>,
    positions: Vec<Position>,
    seq: u64,
    /// Oldest and newest open order (slab nodes), linked through `acct_prev`/`acct_next`.
    open_head: u32,
    open_tail: u32,
    /// client_order_id of each open order that has one.
    client_ids: FxHashMap<ClientOrderId, OrderId>,
    /// Client ids of the orders in `closed`: a retry with the id of an order that already
    /// closed is refused too, so a client id is an idempotency key for as long as the order is
    /// remembered.
    closed_client_ids: FxHashMap<ClientOrderId, OrderId>,
    closed: Ring<Order>,
    fills: Ring<Fill>,
    /// Retired: its funds left the exchange and commands naming it are refused.
    retired: bool,
}

/// One symbol's book and counters.
#[derive(Clone, Debug)]
struct Market {
    book: Book,
    book_seq: u64,
    trade_seq: u64,
    last_price: Option<Price>,
    trades: Ring<Trade>,
}

/// An order the command names: open (slab node) or closed (still in the history).
enum Found {
    Open(u32),
    Closed(OrderStatus),
}

/// The exchange's state: books, accounts, orders and recent history, changed only by commands.
/// Cloning takes a full snapshot (for benchmarks, tests and what-if runs).
#[derive(Clone)]
pub struct Engine {
    config: EngineConfig,
    assets: Vec<AssetSpec>,
    symbols: Vec<Symbol>,
    markets: Vec<Market>,
    accounts: Vec<Account>,
    slab: Slab,
    /// Last ids handed out (0: none yet).
    last_order_id: u64,
    last_fill_id: u64,
    fees: Vec<Amount>,
    deposits: Vec<Amount>,
    /// Funds of retired accounts, per asset: they left the exchange.
    withdrawn: Vec<Amount>,
    /// During a place: the taker's locked asset and its balance as last reported in an event.
    reported: Option<(AccountId, AssetId, Balance)>,
}

/// Sets an order's status, asserting the transition is legal.
pub(crate) fn set_status(order: &mut Order, next: OrderStatus) {
    debug_assert!(
        order.status.can_become(next),
        "illegal transition {:?} -> {:?} for order {}",
        order.status,
        next,
        order.id
    );
    order.status = next;
}

/// Whether a resting price is acceptable to a taker on `side` with an optional limit.
fn acceptable(side: Side, limit: Option<Price>, resting: Price) -> bool {
    match (side, limit) {
        (_, None) => true,
        (Side::Buy, Some(l)) => resting <= l,
        (Side::Sell, Some(l)) => resting >= l,
    }
}

impl Engine {
    /// Registers the symbols (and their assets, with the precision they need) and starts empty.
    pub fn new(config: EngineConfig) -> Result<Engine, ConfigError> {
        let fee_ok = |r: FeeRate| (0..=FeeRate::SCALE).contains(&i128::from(r.0));
        if !fee_ok(config.maker_fee) || !fee_ok(config.taker_fee) {
            return Err(ConfigError::InvalidFee);
        }
        let mut assets: Vec<AssetSpec> = Vec::new();
        // One rule for every crate: `asset_decimals`, applied in order of first appearance.
        let decimals = asset_decimals(&config.symbols);
        let asset_of = |name: &str, assets: &mut Vec<AssetSpec>| -> usize {
            match assets.iter().position(|a| a.name == name) {
                Some(i) => i,
                None => {
                    assets.push(AssetSpec {
                        name: name.to_string(),
                        decimals: decimals.get(name).copied().unwrap_or(2),
                    });
                    assets.len() - 1
                }
            }
        };
        let mut pairs = Vec::with_capacity(config.symbols.len());
        for (i, spec) in config.symbols.iter().enumerate() {
            let bad = |why: &'static str| ConfigError::InvalidSymbol(spec.name.clone(), why);
            if config.symbols[..i].iter().any(|s| s.name == spec.name) {
                return Err(ConfigError::DuplicateSymbol(spec.name.clone()));
            }
            if spec.base == spec.quote {
                return Err(ConfigError::SameAsset(spec.name.clone()));
            }
            if spec.tick.units <= 0 || spec.lot.units <= 0 {
                return Err(bad("tick and lot must be positive"));
            }
            if spec.tick.scale + spec.lot.scale > MAX_SCALE {
                // The quote asset would need more than 18 decimals.
                return Err(bad("tick and lot have at most 18 decimals together"));
            }
            if spec.min_qty.0 < 1 || spec.max_qty < spec.min_qty {
                return Err(bad("need 1 <= min_qty <= max_qty"));
            }
            if spec.min_notional.0 < 0 {
                return Err(bad("min_notional must not be negative"));
            }
            let base = asset_of(&spec.base, &mut assets);
            let quote = asset_of(&spec.quote, &mut assets);
            pairs.push((base, quote));
        }
        let mut symbols = Vec::with_capacity(pairs.len());
        for (spec, (base, quote)) in config.symbols.iter().zip(pairs) {
            let bad = |why: &'static str| ConfigError::InvalidSymbol(spec.name.clone(), why);
            let dec = |i: usize| assets.get(i).map_or(2, |a| a.decimals);
            let (base_dec, quote_dec) = (dec(base), dec(quote));
            // The exponents are never negative: each asset has the decimals its symbols need.
            let quote_exp = quote_dec.checked_sub(spec.tick.scale + spec.lot.scale);
            let quote_units_per_tick_lot = i128::from(spec.tick.units)
                .checked_mul(i128::from(spec.lot.units))
                .and_then(|v| v.checked_mul(pow10(quote_exp?)?))
                .ok_or_else(|| bad("increments too large"))?;
            let base_units_per_lot = base_dec
                .checked_sub(spec.lot.scale)
                .and_then(pow10)
                .and_then(|p| p.checked_mul(i128::from(spec.lot.units)))
                .ok_or_else(|| bad("increments too large"))?;
            symbols.push(Symbol {
                spec: spec.clone(),
                base: AssetId(base as u32),
                quote: AssetId(quote as u32),
                quote_units_per_tick_lot,
                base_units_per_lot,
            });
        }
        let markets = symbols
            .iter()
            .map(|_| Market {
                book: Book::new(),
                book_seq: 0,
                trade_seq: 0,
                last_price: None,
                trades: Ring::new(config.trades_per_symbol),
            })
            .collect();
        let n_assets = assets.len();
        Ok(Engine {
            config,
            assets,
            symbols,
            markets,
            accounts: Vec::new(),
            slab: Slab::default(),
            last_order_id: 0,
            last_fill_id: 0,
            fees: vec![Amount(0); n_assets],
            deposits: vec![Amount(0); n_assets],
            withdrawn: vec![Amount(0); n_assets],
            reported: None,
        })
    }

    /// Carries out one command at time `ts_ns`, appending its events to `out` in order. A refused
    /// command appends nothing and changes nothing.
    pub fn execute(
        &mut self,
        cmd: &Command,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        match cmd {
            Command::Place(order) => self.place(order, ts_ns, out),
            Command::Cancel { account, target } => {
                self.account_ref(*account)?;
                match self.find(*account, target) {
                    Some(Found::Open(idx)) => {
                        self.close_resting(idx, CloseReason::UserCancel, ts_ns, out);
                        Ok(())
                    }
                    Some(Found::Closed(status)) => Err(Reject::OrderClosed(status)),
                    None => Err(Reject::OrderNotFound),
                }
            }
            Command::CancelAll {
                account,
                symbol,
                reason,
            } => self.cancel_all(*account, *symbol, *reason, ts_ns, out),
            Command::Amend {
                account,
                target,
                new_qty,
            } => self.amend(*account, target, *new_qty, ts_ns, out),
            Command::Deposit {
                account,
                asset,
                amount,
            } => self.deposit(*account, *asset, *amount, out),
        }
    }

    /// Opens a new account with no funds.
    pub fn create_account(&mut self) -> AccountId {
        let id = AccountId(self.accounts.len() as u32);
        self.accounts.push(Account {
            balances: vec![Balance::default(); self.assets.len()],
            positions: vec![Position::default(); self.symbols.len()],
            seq: 0,
            open_head: NIL,
            open_tail: NIL,
            client_ids: FxHashMap::default(),
            closed_client_ids: FxHashMap::default(),
            closed: Ring::new(self.config.closed_orders_per_account),
            fills: Ring::new(self.config.fills_per_account),
            retired: false,
        });
        id
    }

    /// Retires an account that holds no open order: its funds leave the exchange (counted as
    /// withdrawn, so conservation still holds), its histories, positions and client ids are
    /// freed, and every later command naming it is refused with UNKNOWN_ACCOUNT. Its id is never
    /// reused. For accounts nobody can reach any more (an anonymous one whose connection is gone).
    pub fn retire_account(&mut self, account: AccountId) -> Result<(), Reject> {
        let acct = self.account_ref(account)?;
        if acct.open_head != NIL {
            return Err(Reject::AccountBusy);
        }
        let balances = acct.balances.clone();
        for (asset, balance) in balances.iter().enumerate() {
            debug_assert_eq!(balance.locked.0, 0, "no open order yet funds locked");
            if let Some(w) = self.withdrawn.get_mut(asset) {
                w.0 += balance.total().0;
            }
        }
        if let Some(acct) = self.accounts.get_mut(account.0 as usize) {
            *acct = Account {
                balances: Vec::new(),
                positions: Vec::new(),
                seq: acct.seq,
                open_head: NIL,
                open_tail: NIL,
                client_ids: FxHashMap::default(),
                closed_client_ids: FxHashMap::default(),
                closed: Ring::new(0),
                fills: Ring::new(0),
                retired: true,
            };
        }
        Ok(())
    }

    /// Whether the account exists and is not retired.
    pub fn is_active(&self, account: AccountId) -> bool {
        self.accounts
            .get(account.0 as usize)
            .is_some_and(|a| !a.retired)
    }

    /// Whether the account has an order resting on a book.
    pub fn has_open_orders(&self, account: AccountId) -> bool {
        self.accounts
            .get(account.0 as usize)
            .is_some_and(|a| a.open_head != NIL)
    }

    /// How many accounts exist (ids are `0..count`).
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Every asset, indexed by [`AssetId`].
    pub fn assets(&self) -> &[AssetSpec] {
        &self.assets
    }

    /// An asset by name.
    pub fn asset_id(&self, name: &str) -> Option<AssetId> {
        self.assets
            .iter()
            .position(|a| a.name == name)
            .map(|i| AssetId(i as u32))
    }

    /// Parses a non-negative decimal amount of an asset (e.g. a configured balance).
    pub fn parse_amount(&self, asset: AssetId, s: &str) -> Result<Amount, ParseError> {
        let decimals = self.assets.get(asset.0 as usize).map_or(0, |a| a.decimals);
        parse_scaled(s, decimals).map(Amount)
    }

    /// Appends an amount's canonical text with the asset's decimals (negative amounts get `-`).
    pub fn write_amount(&self, asset: AssetId, amount: Amount, out: &mut String) {
        let decimals = self.assets.get(asset.0 as usize).map_or(0, |a| a.decimals);
        write_scaled(amount.0 < 0, amount.0.unsigned_abs(), decimals, out)
    }

    /// An amount's canonical text.
    pub fn format_amount(&self, asset: AssetId, amount: Amount) -> String {
        let mut out = String::new();
        self.write_amount(asset, amount, &mut out);
        out
    }

    /// Every symbol, indexed by [`SymbolId`].
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// A symbol by id.
    pub fn symbol(&self, id: SymbolId) -> Option<&Symbol> {
        self.symbols.get(id.0 as usize)
    }

    /// A symbol by wire name (`"BTC/USD"`).
    pub fn symbol_id(&self, name: &str) -> Option<SymbolId> {
        self.symbols
            .iter()
            .position(|s| s.spec.name == name)
            .map(|i| SymbolId(i as u32))
    }

    /// An order of the account, open or still in its closed history; `None` for other accounts'.
    /// By client id: the open order with that id, else the most recently closed one.
    pub fn order(&self, account: AccountId, target: OrderRef) -> Option<&Order> {
        let acct = self.accounts.get(account.0 as usize)?;
        let open_idx = match target {
            OrderRef::Id(id) => self.slab.find(id),
            OrderRef::Client(c) => acct.client_ids.get(&c).and_then(|id| self.slab.find(*id)),
        };
        if let Some(node) = open_idx.and_then(|i| self.slab.get(i)) {
            if node.order.account == account {
                return Some(&node.order);
            }
        }
        acct.closed.iter().rev().find(|o| match target {
            OrderRef::Id(id) => o.id == id,
            OrderRef::Client(c) => o.client_order_id == Some(c),
        })
    }

    /// The account's open orders, optionally on one symbol, oldest first.
    pub fn open_orders(&self, account: AccountId, symbol: Option<SymbolId>) -> Vec<Order> {
        let mut orders = Vec::new();
        let mut idx = self
            .accounts
            .get(account.0 as usize)
            .map_or(NIL, |a| a.open_head);
        while let Some(node) = self.slab.get(idx) {
            if symbol.is_none_or(|s| s == node.order.symbol) {
                orders.push(node.order);
            }
            idx = node.acct_next;
        }
        orders
    }

    /// The account's recently closed orders, oldest first (bounded by the config).
    pub fn closed_orders(&self, account: AccountId) -> Vec<Order> {
        self.accounts
            .get(account.0 as usize)
            .map_or_else(Vec::new, |a| a.closed.iter().copied().collect())
    }

    /// The account's recent fills, oldest first (bounded by the config).
    pub fn fills(&self, account: AccountId) -> Vec<Fill> {
        self.accounts
            .get(account.0 as usize)
            .map_or_else(Vec::new, |a| a.fills.iter().copied().collect())
    }

    /// The symbol's most recent trades, oldest first, at most `limit`.
    pub fn recent_trades(&self, symbol: SymbolId, limit: usize) -> Vec<Trade> {
        self.markets
            .get(symbol.0 as usize)
            .map_or_else(Vec::new, |m| {
                let skip = m.trades.len().saturating_sub(limit);
                m.trades.iter().skip(skip).copied().collect()
            })
    }

    /// Every asset balance of the account, indexed by [`AssetId`] (empty for an unknown account).
    pub fn balances(&self, account: AccountId) -> &[Balance] {
        self.accounts
            .get(account.0 as usize)
            .map_or(&[], |a| &a.balances)
    }

    /// The account's position in a symbol (all zero when it never traded it).
    pub fn position(&self, account: AccountId, symbol: SymbolId) -> Position {
        self.accounts
            .get(account.0 as usize)
            .and_then(|a| a.positions.get(symbol.0 as usize))
            .copied()
            .unwrap_or_default()
    }

    /// Unrealized PnL of the account's position against the symbol's last trade price, in the
    /// quote asset's smallest unit; `None` before the symbol's first trade.
    pub fn unrealized_pnl(&self, account: AccountId, symbol: SymbolId) -> Option<Amount> {
        let last = self.last_price(symbol)?;
        let sym = self.symbol(symbol)?;
        let pos = self.position(account, symbol);
        let value = i128::from(last.0)
            .saturating_mul(sym.quote_units_per_tick_lot)
            .saturating_mul(i128::from(pos.net_qty.0).abs());
        Some(Amount(if pos.net_qty.0 >= 0 {
            value.saturating_sub(pos.cost_basis.0)
        } else {
            pos.cost_basis.0.saturating_sub(value)
        }))
    }

    /// The top `levels` price levels of each side.
    pub fn depth(&self, symbol: SymbolId, levels: usize) -> Depth {
        match self.markets.get(symbol.0 as usize) {
            Some(m) => Depth {
                bids: m.book.top(Side::Buy, levels),
                asks: m.book.top(Side::Sell, levels),
                book_seq: m.book_seq,
            },
            None => Depth::default(),
        }
    }

    /// The best bid and best ask.
    pub fn best_bid_ask(&self, symbol: SymbolId) -> (Option<Level>, Option<Level>) {
        match self.markets.get(symbol.0 as usize) {
            Some(m) => (m.book.best_level(Side::Buy), m.book.best_level(Side::Sell)),
            None => (None, None),
        }
    }

    /// The price of the symbol's last trade.
    pub fn last_price(&self, symbol: SymbolId) -> Option<Price> {
        self.markets.get(symbol.0 as usize)?.last_price
    }

    /// The symbol's book sequence: how many book level changes so far.
    pub fn book_seq(&self, symbol: SymbolId) -> u64 {
        self.markets
            .get(symbol.0 as usize)
            .map_or(0, |m| m.book_seq)
    }

    /// The symbol's last trade id (0 before the first trade).
    pub fn last_trade_id(&self, symbol: SymbolId) -> TradeId {
        TradeId(
            self.markets
                .get(symbol.0 as usize)
                .map_or(0, |m| m.trade_seq),
        )
    }

    /// The account's last private event sequence (0 before the first).
    pub fn account_seq(&self, account: AccountId) -> u64 {
        self.accounts.get(account.0 as usize).map_or(0, |a| a.seq)
    }

    /// Fees collected so far in an asset.
    pub fn fees_collected(&self, asset: AssetId) -> Amount {
        self.fees.get(asset.0 as usize).copied().unwrap_or_default()
    }

    /// How many orders rest on all books.
    pub fn open_order_count(&self) -> usize {
        self.slab.len()
    }

    /// Whether an order (of any account) rests on a book now: one hash lookup.
    pub fn is_open(&self, id: OrderId) -> bool {
        self.slab.find(id).is_some()
    }

    /// The last order id handed out (0 before the first order); the next one is this plus one.
    pub fn last_order_id(&self) -> OrderId {
        OrderId(self.last_order_id)
    }

    /// Checks every invariant (funds conserved, locks equal open holds, book not crossed, ...) and
    /// says which one is broken. Costly: for tests and debug builds.
    pub fn check_invariants(&self) -> Result<(), String> {
        // Funds: conserved per asset, never negative, locks equal to what open orders hold.
        let mut holds = vec![vec![0i128; self.assets.len()]; self.accounts.len()];
        for idx in self.slab.indices() {
            let node = self.slab.get(idx).ok_or("index points at no node")?;
            let o = &node.order;
            if o.filled_qty > o.qty || o.filled_qty.0 < 0 || o.remaining_qty().0 <= 0 {
                return Err(format!(
                    "open order {} filled {:?} of {:?}",
                    o.id, o.filled_qty, o.qty
                ));
            }
            if !matches!(o.status, OrderStatus::Open | OrderStatus::PartiallyFilled) {
                return Err(format!("open order {} has status {:?}", o.id, o.status));
            }
            let (asset, amount) = self.hold(o);
            if let Some(h) = holds
                .get_mut(o.account.0 as usize)
                .and_then(|a| a.get_mut(asset.0 as usize))
            {
                *h += amount.0;
            }
        }
        for (asset, deposited) in self.deposits.iter().enumerate() {
            let mut total = self.fees.get(asset).map_or(0, |f| f.0)
                + self.withdrawn.get(asset).map_or(0, |w| w.0);
            for (a, acct) in self.accounts.iter().enumerate() {
                let b = acct.balances.get(asset).copied().unwrap_or_default();
                if b.available.0 < 0 || b.locked.0 < 0 {
                    return Err(format!("account {a} asset {asset}: negative balance {b:?}"));
                }
                let held = holds
                    .get(a)
                    .and_then(|h| h.get(asset))
                    .copied()
                    .unwrap_or(0);
                if b.locked.0 != held {
                    return Err(format!(
                        "account {a} asset {asset}: locked {} but open orders hold {held}",
                        b.locked.0
                    ));
                }
                total += b.total().0;
            }
            if total != deposited.0 {
                return Err(format!(
                    "asset {asset}: balances plus fees plus withdrawn {total} != deposits {}",
                    deposited.0
                ));
            }
        }
        // Books: uncrossed, levels agree with their orders, FIFO links consistent.
        let mut linked = 0usize;
        for (s, m) in self.markets.iter().enumerate() {
            if !m.book.is_uncrossed() {
                return Err(format!("symbol {s}: book crossed"));
            }
            for side in [Side::Buy, Side::Sell] {
                let mut levels = Vec::new();
                m.book.for_each_level(side, |price, level_idx| {
                    levels.push((price, level_idx));
                    ControlFlow::Continue(())
                });
                if levels.len() != m.book.level_count(side) {
                    return Err(format!("symbol {s} {side:?}: level count is wrong"));
                }
                let best_first = levels.windows(2).all(|w| match side {
                    Side::Buy => w[0].0 > w[1].0,
                    Side::Sell => w[0].0 < w[1].0,
                });
                if !best_first || m.book.best(side) != levels.first().copied() {
                    return Err(format!("symbol {s} {side:?}: levels out of order"));
                }
                for (price, level_idx) in &levels {
                    let price = *price;
                    let level = m.book.level(*level_idx).ok_or("price maps to no level")?;
                    if level.price != price {
                        return Err(format!(
                            "symbol {s}: level at {price:?} says {:?}",
                            level.price
                        ));
                    }
                    let (mut qty, mut count, mut prev) = (0i128, 0u32, NIL);
                    let mut idx = level.head;
                    while let Some(node) = self.slab.get(idx) {
                        let o = &node.order;
                        if o.symbol.0 as usize != s || o.side != side || o.price != Some(price) {
                            return Err(format!("order {} sits on the wrong level", o.id));
                        }
                        if node.prev != prev {
                            return Err(format!("order {}: broken level links", o.id));
                        }
                        qty += i128::from(o.remaining_qty().0);
                        count += 1;
                        prev = idx;
                        idx = node.next;
                    }
                    if prev != level.tail || qty != level.qty || count != level.count || count == 0
                    {
                        return Err(format!(
                            "symbol {s} {side:?} {price:?}: level says {} in {}, orders {qty} in {count}",
                            level.qty, level.count
                        ));
                    }
                    linked += count as usize;
                }
            }
        }
        if linked != self.slab.len() {
            return Err(format!(
                "{} open orders but {linked} on books",
                self.slab.len()
            ));
        }
        // Accounts: open lists and client ids agree with the open orders.
        let mut listed = 0usize;
        for (a, acct) in self.accounts.iter().enumerate() {
            let (mut idx, mut prev, mut last_id) = (acct.open_head, NIL, OrderId(0));
            while let Some(node) = self.slab.get(idx) {
                if node.order.account.0 as usize != a || node.acct_prev != prev {
                    return Err(format!("account {a}: broken open order list"));
                }
                if node.order.id <= last_id {
                    return Err(format!("account {a}: open orders out of age order"));
                }
                last_id = node.order.id;
                listed += 1;
                prev = idx;
                idx = node.acct_next;
            }
            if prev != acct.open_tail {
                return Err(format!("account {a}: open list tail is wrong"));
            }
            for (c, id) in &acct.client_ids {
                let ok = self
                    .slab
                    .find(*id)
                    .and_then(|i| self.slab.get(i))
                    .is_some_and(|n| {
                        n.order.account.0 as usize == a && n.order.client_order_id == Some(*c)
                    });
                if !ok {
                    return Err(format!("account {a}: client id {c} maps to no open order"));
                }
            }
            for o in acct.closed.iter() {
                if o.filled_qty > o.qty || !o.status.is_terminal() {
                    return Err(format!(
                        "closed order {} is {:?} with {:?} of {:?}",
                        o.id, o.status, o.filled_qty, o.qty
                    ));
                }
            }
        }
        if listed != self.slab.len() {
            return Err(format!(
                "{} open orders but {listed} in account lists",
                self.slab.len()
            ));
        }
        Ok(())
    }

    // ----- commands -----

    fn account_ref(&self, account: AccountId) -> Result<&Account, Reject> {
        self.accounts
            .get(account.0 as usize)
            .filter(|a| !a.retired)
            .ok_or(Reject::UnknownAccount)
    }

    fn balance_mut(&mut self, account: AccountId, asset: AssetId) -> Option<&mut Balance> {
        self.accounts
            .get_mut(account.0 as usize)?
            .balances
            .get_mut(asset.0 as usize)
    }

    fn balance(&self, account: AccountId, asset: AssetId) -> Balance {
        self.balances(account)
            .get(asset.0 as usize)
            .copied()
            .unwrap_or_default()
    }

    fn next_seq(&mut self, account: AccountId) -> u64 {
        match self.accounts.get_mut(account.0 as usize) {
            Some(a) => {
                a.seq += 1;
                a.seq
            }
            None => 0,
        }
    }

    fn next_book_seq(&mut self, symbol: SymbolId) -> u64 {
        match self.markets.get_mut(symbol.0 as usize) {
            Some(m) => {
                m.book_seq += 1;
                m.book_seq
            }
            None => 0,
        }
    }

    fn emit_balance(&mut self, account: AccountId, asset: AssetId, out: &mut Vec<Event>) {
        let balance = self.balance(account, asset);
        if let Some((a, s, b)) = &mut self.reported {
            if *a == account && *s == asset {
                *b = balance;
            }
        }
        let account_seq = self.next_seq(account);
        out.push(Event::Balance(BalanceChanged {
            account,
            asset,
            balance,
            account_seq,
        }));
    }

    fn emit_level(
        &mut self,
        symbol: SymbolId,
        side: Side,
        price: Price,
        qty: i64,
        out: &mut Vec<Event>,
    ) {
        let book_seq = self.next_book_seq(symbol);
        out.push(Event::BookLevel(BookLevelChanged {
            symbol,
            side,
            price,
            qty: Qty(qty),
            book_seq,
        }));
    }

    fn emit_closed(&mut self, order: &Order, reason: CloseReason, out: &mut Vec<Event>) {
        let account_seq = self.next_seq(order.account);
        out.push(Event::Closed(OrderClosed {
            account: order.account,
            order_id: order.id,
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: order.side,
            status: order.status,
            reason,
            filled_qty: order.filled_qty,
            remaining_qty: order.remaining_qty(),
            account_seq,
            terms: order.terms(),
        }));
    }

    fn remember_closed(&mut self, order: Order) {
        if let Some(acct) = self.accounts.get_mut(order.account.0 as usize) {
            if let Some(c) = order.client_order_id {
                acct.closed_client_ids.insert(c, order.id);
            }
            let forgotten = acct.closed.push(order);
            if let Some(c) = forgotten.and_then(|f| f.client_order_id.map(|c| (c, f.id))) {
                if acct.closed_client_ids.get(&c.0) == Some(&c.1) {
                    acct.closed_client_ids.remove(&c.0);
                }
            }
        }
    }

    fn find(&self, account: AccountId, target: &OrderRef) -> Option<Found> {
        let acct = self.accounts.get(account.0 as usize)?;
        let open = match target {
            OrderRef::Id(id) => self.slab.find(*id),
            OrderRef::Client(c) => acct.client_ids.get(c).and_then(|id| self.slab.find(*id)),
        };
        if let Some(idx) = open {
            if self
                .slab
                .get(idx)
                .is_some_and(|n| n.order.account == account)
            {
                return Some(Found::Open(idx));
            }
        }
        self.order(account, *target)
            .map(|o| Found::Closed(o.status))
    }

    /// Takes a resting order off its level, its account's list and the id index; returns it with
    /// its level's new total.
    fn detach(&mut self, idx: u32) -> Option<(Order, i64)> {
        let node = *self.slab.get(idx)?;
        let order = node.order;
        let level_qty = match self.markets.get_mut(order.symbol.0 as usize) {
            Some(m) => m.book.unlink(&mut self.slab, idx),
            None => 0,
        };
        if let Some(p) = self.slab.get_mut(node.acct_prev) {
            p.acct_next = node.acct_next;
        } else if let Some(a) = self.accounts.get_mut(order.account.0 as usize) {
            a.open_head = node.acct_next;
        }
        if let Some(n) = self.slab.get_mut(node.acct_next) {
            n.acct_prev = node.acct_prev;
        } else if let Some(a) = self.accounts.get_mut(order.account.0 as usize) {
            a.open_tail = node.acct_prev;
        }
        if let (Some(c), Some(a)) = (
            order.client_order_id,
            self.accounts.get_mut(order.account.0 as usize),
        ) {
            if a.client_ids.get(&c) == Some(&order.id) {
                a.client_ids.remove(&c);
            }
        }
        self.slab.remove(idx).map(|o| (o, level_qty))
    }

    /// Puts an order on its book (at the tail of its level) and its account's open list; returns
    /// the level's new total.
    fn rest(&mut self, order: Order) -> i64 {
        let idx = self.slab.insert(order);
        let price = order.price.unwrap_or_default();
        let level_qty = match self.markets.get_mut(order.symbol.0 as usize) {
            Some(m) => m.book.push(&mut self.slab, idx, order.side, price),
            None => 0,
        };
        if let Some(a) = self.accounts.get_mut(order.account.0 as usize) {
            let tail = a.open_tail;
            a.open_tail = idx;
            if tail == NIL {
                a.open_head = idx;
            }
            if let Some(c) = order.client_order_id {
                a.client_ids.insert(c, order.id);
            }
            if let Some(t) = self.slab.get_mut(tail) {
                t.acct_next = idx;
            }
            if let Some(n) = self.slab.get_mut(idx) {
                n.acct_prev = tail;
            }
        }
        level_qty
    }

    /// Closes a resting order: `Closed`, `BookLevel`, `Balance` of what it released.
    fn close_resting(&mut self, idx: u32, reason: CloseReason, ts_ns: u64, out: &mut Vec<Event>) {
        let Some((mut order, level_qty)) = self.detach(idx) else {
            return;
        };
        let asset = self.release(&order);
        set_status(&mut order, reason.status());
        order.close_reason = Some(reason);
        order.updated_ns = ts_ns;
        self.emit_closed(&order, reason, out);
        let price = order.price.unwrap_or_default();
        self.emit_level(order.symbol, order.side, price, level_qty, out);
        self.emit_balance(order.account, asset, out);
        self.remember_closed(order);
    }

    fn cancel_all(
        &mut self,
        account: AccountId,
        symbol: Option<SymbolId>,
        reason: CloseReason,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let mut idx = self.account_ref(account)?.open_head;
        if symbol.is_some_and(|s| self.symbol(s).is_none()) {
            return Err(Reject::UnknownSymbol);
        }
        while let Some(node) = self.slab.get(idx) {
            let next = node.acct_next;
            if symbol.is_none_or(|s| s == node.order.symbol) {
                self.close_resting(idx, reason, ts_ns, out);
            }
            idx = next;
        }
        Ok(())
    }

    fn amend(
        &mut self,
        account: AccountId,
        target: &OrderRef,
        new_qty: Qty,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        self.account_ref(account)?;
        let idx = match self.find(account, target) {
            Some(Found::Open(idx)) => idx,
            Some(Found::Closed(status)) => return Err(Reject::OrderClosed(status)),
            None => return Err(Reject::OrderNotFound),
        };
        let Some((before, level_idx)) = self.slab.get(idx).map(|n| (n.order, n.level)) else {
            return Err(Reject::OrderNotFound);
        };
        if new_qty >= before.qty || new_qty <= before.filled_qty {
            return Err(Reject::InvalidAmend);
        }
        let mut after = before;
        after.qty = new_qty;
        after.updated_ns = ts_ns;
        let (asset, held_before) = self.hold(&before);
        let (_, held_after) = self.hold(&after);
        let freed = held_before.0 - held_after.0;
        let cut = before.qty.0 - new_qty.0;
        if let Some(b) = self.balance_mut(account, asset) {
            b.locked.0 -= freed;
            b.available.0 += freed;
        }
        if let Some(n) = self.slab.get_mut(idx) {
            n.order = after;
        }
        let price = before.price.unwrap_or_default();
        let level_qty = self
            .markets
            .get_mut(before.symbol.0 as usize)
            .map_or(0, |m| m.book.reduce(level_idx, cut));
        let account_seq = self.next_seq(account);
        out.push(Event::Amended(OrderAmended {
            account,
            order_id: after.id,
            client_order_id: after.client_order_id,
            symbol: after.symbol,
            side: after.side,
            new_qty,
            filled_qty: after.filled_qty,
            remaining_qty: after.remaining_qty(),
            account_seq,
            terms: after.terms(),
        }));
        self.emit_level(after.symbol, after.side, price, level_qty, out);
        self.emit_balance(account, asset, out);
        Ok(())
    }

    fn deposit(
        &mut self,
        account: AccountId,
        asset: AssetId,
        amount: Amount,
        out: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        self.account_ref(account)?;
        let total = self
            .deposits
            .get(asset.0 as usize)
            .ok_or(Reject::UnknownAsset)?;
        if amount.0 < 0 {
            return Err(Reject::InvalidQuantity);
        }
        if amount.0 == 0 {
            return Ok(());
        }
        let total = total.0.checked_add(amount.0).ok_or(Reject::Overflow)?;
        if let Some(d) = self.deposits.get_mut(asset.0 as usize) {
            d.0 = total;
        }
        if let Some(b) = self.balance_mut(account, asset) {
            b.available.0 += amount.0;
        }
        self.emit_balance(account, asset, out);
        Ok(())
    }

    /// Whether a FOK order can fill completely now (see the module doc).
    #[allow(clippy::too_many_arguments)]
    fn fok_fillable(
        &self,
        symbol: &Symbol,
        book: &Book,
        account: AccountId,
        side: Side,
        limit: Option<Price>,
        qty: i64,
        stp: StpMode,
        budget: Option<i128>,
    ) -> bool {
        let mut need = qty;
        let mut budget = budget;
        let mut walk = |price: Price, level_idx: u32| -> Option<bool> {
            if !acceptable(side, limit, price) {
                return Some(false);
            }
            let level = book.level(level_idx)?;
            let unit = i128::from(price.0).saturating_mul(symbol.quote_units_per_tick_lot);
            let mut idx = level.head;
            while let Some(node) = self.slab.get(idx) {
                idx = node.next;
                let o = &node.order;
                if o.account == account && stp != StpMode::None {
                    if stp == StpMode::ExpireMaker {
                        continue;
                    }
                    return Some(false);
                }
                let want = need.min(o.remaining_qty().0);
                let mut q = want;
                if let Some(b) = &mut budget {
                    q = q.min(i64::try_from(*b / unit.max(1)).unwrap_or(i64::MAX));
                    *b -= unit * i128::from(q);
                }
                need -= q;
                if need == 0 {
                    return Some(true);
                }
                if q < want {
                    return Some(false);
                }
            }
            None
        };
        let mut verdict = false;
        book.for_each_level(side.opposite(), |price, level_idx| {
            match walk(price, level_idx) {
                Some(v) => {
                    verdict = v;
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            }
        });
        verdict
    }

    /// Sets `remaining_qty` to 0 on an expiring taker's last fill (in this command's events and in
    /// its account's fill history): that fill is the last, nothing of the order stays open.
    fn mark_last_fill_final(&mut self, id: OrderId, account: AccountId, events: &mut [Event]) {
        let last = events.iter_mut().rev().find_map(|e| match e {
            Event::Fill(f) if f.order_id == id => Some(f),
            _ => None,
        });
        if let Some(fill) = last {
            fill.remaining_qty = Qty(0);
            if let Some(stored) = self
                .accounts
                .get_mut(account.0 as usize)
                .and_then(|a| a.fills.newest_mut())
                .filter(|f| f.fill_id == fill.fill_id)
            {
                stored.remaining_qty = Qty(0);
            }
        }
    }

    fn place(&mut self, new: &NewOrder, ts_ns: u64, out: &mut Vec<Event>) -> Result<(), Reject> {
        let first_event = out.len();
        self.account_ref(new.account)?;
        let sym = self
            .symbols
            .get(new.symbol.0 as usize)
            .ok_or(Reject::UnknownSymbol)?;
        let limit = match new.order_type {
            OrderType::Limit => match new.price {
                Some(p) if p.0 > 0 => Some(p),
                _ => return Err(Reject::MissingPrice),
            },
            OrderType::Market => None,
        };
        if new.qty.0 <= 0 {
            return Err(Reject::InvalidQuantity);
        }
        if new.qty < sym.spec.min_qty {
            return Err(Reject::MinQuantity);
        }
        if new.qty > sym.spec.max_qty {
            return Err(Reject::MaxQuantity);
        }
        if new.post_only
            && (new.order_type != OrderType::Limit || new.time_in_force != TimeInForce::Gtc)
        {
            return Err(Reject::InvalidPostOnly);
        }
        let quote_budget = match new.quote_budget {
            None => None,
            Some(b) if limit.is_none() && b.0 > 0 && new.time_in_force != TimeInForce::Fok => {
                Some(b)
            }
            Some(_) => return Err(Reject::InvalidQuoteBudget),
        };
        // A sell spending a quote budget sells what it needs of the base the account holds.
        let mut qty = new.qty;
        if let (Side::Sell, Some(_)) = (new.side, quote_budget) {
            let held = self.balance(new.account, sym.base).available.0;
            let lots = i64::try_from(div_nonneg(held, sym.base_units_per_lot)).unwrap_or(0);
            qty = qty.min(Qty(lots));
            if qty.0 <= 0 {
                return Err(Reject::InsufficientFunds);
            }
        }
        let (lock_asset, lock) = match (new.side, limit) {
            (Side::Buy, Some(p)) => {
                let notional = sym.notional(p, new.qty).ok_or(Reject::Overflow)?;
                if notional < sym.spec.min_notional {
                    return Err(Reject::MinNotional);
                }
                (sym.quote, notional)
            }
            (Side::Buy, None) => (sym.quote, Amount(0)),
            (Side::Sell, _) => {
                if let Some(p) = limit {
                    let notional = sym.notional(p, new.qty).ok_or(Reject::Overflow)?;
                    if notional < sym.spec.min_notional {
                        return Err(Reject::MinNotional);
                    }
                }
                let base = i128::from(qty.0)
                    .checked_mul(sym.base_units_per_lot)
                    .ok_or(Reject::Overflow)?;
                (sym.base, Amount(base))
            }
        };
        let acct = self.account_ref(new.account)?;
        if let Some(c) = new.client_order_id {
            if let Some(id) = acct
                .client_ids
                .get(&c)
                .or_else(|| acct.closed_client_ids.get(&c))
            {
                return Err(Reject::DuplicateClientOrderId(*id));
            }
        }
        let available = acct
            .balances
            .get(lock_asset.0 as usize)
            .map_or(0, |b| b.available.0);
        let market_buy = new.side == Side::Buy && limit.is_none();
        if available < lock.0 || (market_buy && available <= 0) {
            return Err(Reject::InsufficientFunds);
        }
        let market = self
            .markets
            .get(new.symbol.0 as usize)
            .ok_or(Reject::UnknownSymbol)?;
        let crosses = market
            .book
            .best(new.side.opposite())
            .is_some_and(|(p, _)| acceptable(new.side, limit, p));
        if new.post_only && crosses {
            return Err(Reject::WouldTake);
        }
        let stp = new.stp.unwrap_or(self.config.default_stp);
        let fok_ok = new.time_in_force != TimeInForce::Fok
            || self.fok_fillable(
                sym,
                &market.book,
                new.account,
                new.side,
                limit,
                qty.0,
                stp,
                market_buy.then_some(available),
            );

        // Every check passed: from here on the command succeeds.
        let rests_at_once = !crosses && limit.is_some() && new.time_in_force == TimeInForce::Gtc;
        self.last_order_id += 1;
        let mut order = Order {
            id: OrderId(self.last_order_id),
            account: new.account,
            symbol: new.symbol,
            side: new.side,
            order_type: new.order_type,
            price: limit,
            qty,
            filled_qty: Qty(0),
            time_in_force: new.time_in_force,
            post_only: new.post_only,
            client_order_id: new.client_order_id,
            stp,
            status: if rests_at_once {
                OrderStatus::Open
            } else {
                OrderStatus::Pending
            },
            close_reason: None,
            cum_quote: Amount(0),
            quote_budget,
            created_ns: ts_ns,
            updated_ns: ts_ns,
        };
        let before = self.balance(new.account, lock_asset);
        if let Some(b) = self.balance_mut(new.account, lock_asset) {
            b.available.0 -= lock.0;
            b.locked.0 += lock.0;
        }
        self.reported = Some((new.account, lock_asset, before));
        let account_seq = self.next_seq(new.account);
        out.push(Event::Accepted(OrderAccepted { order, account_seq }));

        let mut expiry = None;
        if !fok_ok {
            expiry = Some(CloseReason::FokUnfilled);
        } else if crosses {
            expiry = self.match_order(&mut order, ts_ns, out);
        }
        if order.remaining_qty().0 == 0 {
            self.remember_closed(order);
        } else if expiry.is_none() && order.time_in_force == TimeInForce::Gtc && limit.is_some() {
            if order.status == OrderStatus::Pending {
                set_status(&mut order, OrderStatus::Open);
            }
            let level_qty = self.rest(order);
            self.emit_level(
                order.symbol,
                order.side,
                limit.unwrap_or_default(),
                level_qty,
                out,
            );
        } else {
            let reason = expiry.unwrap_or(match (order.order_type, order.time_in_force) {
                (OrderType::Market, _) => CloseReason::MarketRemainder,
                (_, TimeInForce::Fok) => CloseReason::FokUnfilled,
                _ => CloseReason::IocRemainder,
            });
            if order.filled_qty.0 > 0 {
                self.mark_last_fill_final(order.id, order.account, &mut out[first_event..]);
            }
            self.release(&order);
            set_status(&mut order, reason.status());
            order.close_reason = Some(reason);
            self.emit_closed(&order, reason, out);
            self.remember_closed(order);
        }
        if let Some((account, asset, last)) = self.reported.take() {
            if self.balance(account, asset) != last {
                self.emit_balance(account, asset, out);
            }
        }
        debug_assert!(
            self.markets
                .get(new.symbol.0 as usize)
                .is_none_or(|m| m.book.is_uncrossed()),
            "book crossed after matching"
        );
        Ok(())
    }

    /// Matches an arriving order against the opposite side until it fills, runs out of acceptable
    /// prices, or must expire (the reason is returned).
    fn match_order(
        &mut self,
        taker: &mut Order,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) -> Option<CloseReason> {
        let sym_idx = taker.symbol.0 as usize;
        let opposite = taker.side.opposite();
        while taker.remaining_qty().0 > 0 {
            let book = &self.markets.get(sym_idx)?.book;
            let (price, level_idx) = book.best(opposite)?;
            if !acceptable(taker.side, taker.price, price) {
                return None;
            }
            let idx = book.level(level_idx)?.head;
            let maker = self.slab.get(idx)?.order;
            if maker.account == taker.account && taker.stp != StpMode::None {
                match taker.stp {
                    StpMode::ExpireMaker => {
                        self.close_resting(idx, CloseReason::SelfTradePrevention, ts_ns, out);
                        continue;
                    }
                    StpMode::ExpireBoth => {
                        self.close_resting(idx, CloseReason::SelfTradePrevention, ts_ns, out);
                        return Some(CloseReason::SelfTradePrevention);
                    }
                    _ => return Some(CloseReason::SelfTradePrevention),
                }
            }
            let mut qty = taker.remaining_qty().0.min(maker.remaining_qty().0);
            let unit = i128::from(price.0) * self.symbols.get(sym_idx)?.quote_units_per_tick_lot;
            if let Some(budget) = taker.quote_budget {
                // What the budget still buys (or still wants to receive) at this price.
                let left = (budget.0 - taker.cum_quote.0).max(0);
                qty = qty.min(i64::try_from(div_nonneg(left, unit)).unwrap_or(i64::MAX));
                if qty == 0 {
                    return Some(CloseReason::MarketRemainder);
                }
            }
            if taker.side == Side::Buy && taker.price.is_none() {
                let quote = self.symbols.get(sym_idx)?.quote;
                let available = self.balance(taker.account, quote).available.0;
                let affordable = i64::try_from(div_nonneg(available, unit)).unwrap_or(i64::MAX);
                qty = qty.min(affordable);
                if qty == 0 {
                    return Some(CloseReason::InsufficientFunds);
                }
            }
            self.execute_match(taker, idx, price, Qty(qty), ts_ns, out);
        }
        None
    }

    /// One trade between a taker and the resting order at node `idx`, with all its events.
    fn execute_match(
        &mut self,
        taker: &mut Order,
        idx: u32,
        price: Price,
        qty: Qty,
        ts_ns: u64,
        out: &mut Vec<Event>,
    ) {
        let sym_idx = taker.symbol.0 as usize;
        let Some(sym) = self.symbols.get(sym_idx) else {
            return;
        };
        let (base, quote, per_tick_lot) = (sym.base, sym.quote, sym.quote_units_per_tick_lot);
        // Cannot overflow: the maker's own notional at this price was checked on its arrival.
        let unit = i128::from(price.0) * per_tick_lot;
        let notional = unit * i128::from(qty.0);
        let base_amount = sym.base_amount(qty).0;
        let Some((mut maker, level_idx)) = self.slab.get(idx).map(|n| (n.order, n.level)) else {
            return;
        };
        let pairs = [
            (maker.account, base),
            (maker.account, quote),
            (taker.account, base),
            (taker.account, quote),
        ];
        // Which of `pairs` changed: what an order pays always moves (a lock or the available
        // quote of a market buy); what it receives, unless the fee takes all of it.
        let mut changed = [false; 4];

        // Settle both sides.
        let terms = FillTerms {
            price,
            qty,
            notional,
            base_amount,
            trade_id: TradeId(self.last_trade_id(taker.symbol).0 + 1),
            ts_ns,
        };
        for (order, is_maker) in [(&mut maker, true), (&mut *taker, false)] {
            let fill = self.settle(order, is_maker, &terms, &mut changed);
            out.push(Event::Fill(fill));
        }

        // The trade, and the maker's level.
        let Some(market) = self.markets.get_mut(sym_idx) else {
            return;
        };
        market.trade_seq += 1;
        market.last_price = Some(price);
        let trade = Trade {
            symbol: taker.symbol,
            trade_id: TradeId(market.trade_seq),
            price,
            qty,
            taker_side: taker.side,
            maker_order_id: maker.id,
            taker_order_id: taker.id,
            maker_account: maker.account,
            taker_account: taker.account,
            ts_ns,
        };
        market.trades.push(trade);
        out.push(Event::Trade(trade));
        let level_qty = if maker.remaining_qty().0 == 0 {
            // The node still holds the pre-fill order, so detaching takes exactly this fill's
            // quantity out of the level.
            let level_qty = self.detach(idx).map_or(0, |(_, q)| q);
            self.remember_closed(maker);
            level_qty
        } else {
            if let Some(n) = self.slab.get_mut(idx) {
                n.order = maker;
            }
            self.markets
                .get_mut(sym_idx)
                .map_or(0, |m| m.book.reduce(level_idx, qty.0))
        };
        self.emit_level(taker.symbol, maker.side, price, level_qty, out);

        // Balances that changed, then positions.
        if maker.account == taker.account {
            // One account on both sides: its base and quote each moved once per side.
            changed = [
                changed[0] | changed[2],
                changed[1] | changed[3],
                false,
                false,
            ];
        }
        for (i, (account, asset)) in pairs.iter().enumerate() {
            if changed[i] {
                self.emit_balance(*account, *asset, out);
            }
        }
        for order in [&maker, &*taker] {
            if let Some(pos) = self
                .accounts
                .get_mut(order.account.0 as usize)
                .and_then(|a| a.positions.get_mut(sym_idx))
            {
                apply_to_position(pos, order.side == Side::Buy, qty.0, unit);
            }
        }
        let accounts = if maker.account == taker.account {
            [Some(maker.account), None]
        } else {
            [Some(maker.account), Some(taker.account)]
        };
        for account in accounts.into_iter().flatten() {
            let position = self.position(account, taker.symbol);
            let account_seq = self.next_seq(account);
            out.push(Event::Position(PositionChanged {
                account,
                symbol: taker.symbol,
                position,
                account_seq,
            }));
        }
    }
}

mod funds;
mod positions;
#[cfg(test)]
mod tests;
