//! Domain newtypes and enums shared by every part of the exchange.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A price in ticks of its symbol (tick 0.01: 50000.00 is `Price(5_000_000)`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Price(pub i64);

/// A quantity in lots of its symbol (lot 0.00001: 1.5 BTC is `Qty(150_000)`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Qty(pub i64);

/// An amount of an asset in its smallest unit (`10^-decimals` of the asset).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Amount(pub i128);

/// A fee rate in hundred-millionths (`0.001` = 10 bps = `FeeRate(100_000)`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct FeeRate(pub i64);

impl FeeRate {
    /// The denominator of a fee rate: `rate / FEE_RATE_SCALE` is the fraction charged.
    pub const SCALE: i128 = 100_000_000;
}

/// An order id: an engine-wide counter starting at 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct OrderId(pub u64);

/// A fill id: an engine-wide counter starting at 1, one per side of every trade.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct FillId(pub u64);

/// A trade id: a gap-free counter per symbol starting at 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct TradeId(pub u64);

/// An account, by index in creation order starting at 0.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct AccountId(pub u32);

/// A symbol, by index in registration order starting at 0.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SymbolId(pub u32);

/// An asset, by index in registration order starting at 0.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct AssetId(pub u32);

macro_rules! display_inner {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}
display_inner!(OrderId, FillId, TradeId, AccountId, SymbolId, AssetId);

/// The side of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// LIMIT rests at or trades better than its price; MARKET takes whatever the book offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderType {
    Limit,
    Market,
}

/// How long an order stays on the book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeInForce {
    /// Good till cancelled: the remainder rests.
    #[default]
    Gtc,
    /// Immediate or cancel: the remainder expires.
    Ioc,
    /// Fill or kill: fills completely at once, or trades nothing and expires.
    Fok,
}

/// What happens when a taker would match a resting order of its own account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StpMode {
    /// The taker's remainder expires (the default).
    #[default]
    ExpireTaker,
    /// The resting order expires and the taker goes on matching.
    ExpireMaker,
    /// Both expire.
    ExpireBoth,
    /// Self-trades are allowed.
    None,
}

/// The life cycle of an order. Terminal states never change again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    Pending,
    Open,
    PartiallyFilled,
    Filled,
    Cancelled,
    Expired,
    Rejected,
}

impl OrderStatus {
    /// Whether the order can change no more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Cancelled
                | OrderStatus::Expired
                | OrderStatus::Rejected
        )
    }

    /// Whether the engine may move an order from `self` to `next`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (
                Pending,
                Open | PartiallyFilled | Filled | Cancelled | Expired | Rejected
            ) | (Open, PartiallyFilled | Filled | Cancelled | Expired)
                | (
                    PartiallyFilled,
                    PartiallyFilled | Filled | Cancelled | Expired
                )
        )
    }
}

/// Why an order left the book without filling completely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CloseReason {
    /// CANCEL_ORDER by its owner (status CANCELLED).
    UserCancel,
    /// CANCEL_ALL by its owner (status CANCELLED).
    CancelAll,
    /// Cancelled because the owner's last cancel-on-disconnect connection dropped (CANCELLED).
    CancelOnDisconnect,
    /// Cancelled by the owner's dead man's switch (CANCELLED).
    DeadMansSwitch,
    /// The unfilled remainder of an IOC order (EXPIRED).
    IocRemainder,
    /// The unfilled remainder of a market order (EXPIRED).
    MarketRemainder,
    /// A FOK order that could not fill completely (EXPIRED).
    FokUnfilled,
    /// Expired by self-trade prevention (EXPIRED).
    SelfTradePrevention,
    /// A market buy that ran out of quote funds part-way (EXPIRED).
    InsufficientFunds,
}

impl CloseReason {
    /// The status an order closed for this reason ends in.
    pub fn status(self) -> OrderStatus {
        match self {
            CloseReason::UserCancel
            | CloseReason::CancelAll
            | CloseReason::CancelOnDisconnect
            | CloseReason::DeadMansSwitch => OrderStatus::Cancelled,
            _ => OrderStatus::Expired,
        }
    }

    /// The stable upper-case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::UserCancel => "USER_CANCEL",
            CloseReason::CancelAll => "CANCEL_ALL",
            CloseReason::CancelOnDisconnect => "CANCEL_ON_DISCONNECT",
            CloseReason::DeadMansSwitch => "DEAD_MANS_SWITCH",
            CloseReason::IocRemainder => "IOC_REMAINDER",
            CloseReason::MarketRemainder => "MARKET_REMAINDER",
            CloseReason::FokUnfilled => "FOK_UNFILLED",
            CloseReason::SelfTradePrevention => "SELF_TRADE_PREVENTION",
            CloseReason::InsufficientFunds => "INSUFFICIENT_FUNDS",
        }
    }
}

/// A client's own id for an order: 1 to 36 characters of `[A-Za-z0-9._:-]`, stored inline so that
/// events stay `Copy` and the hot path never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientOrderId {
    len: u8,
    bytes: [u8; ClientOrderId::MAX_LEN],
}

impl ClientOrderId {
    /// The longest client order id accepted.
    pub const MAX_LEN: usize = 36;

    /// Validates and stores `s`; `None` when it is empty, too long or has a character outside
    /// `[A-Za-z0-9._:-]`.
    pub fn new(s: &str) -> Option<ClientOrderId> {
        let raw = s.as_bytes();
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return None;
        }
        if !raw
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            return None;
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(ClientOrderId {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored (checked in `new`).
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientOrderId({:?})", self.as_str())
    }
}

/// As its text: the inline array is an implementation detail.
impl Serialize for ClientOrderId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// From its text, validated as [`ClientOrderId::new`] does.
impl<'de> Deserialize<'de> for ClientOrderId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ClientOrderId::new(&text)
            .ok_or_else(|| serde::de::Error::custom("not a valid client order id"))
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names an order of an account: by the engine's id or by the client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderRef {
    Id(OrderId),
    Client(ClientOrderId),
}

/// A new order as a client asked for it, already parsed into the symbol's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub account: AccountId,
    pub symbol: SymbolId,
    pub side: Side,
    pub order_type: OrderType,
    /// Required for LIMIT, ignored (must be `None`) for MARKET.
    pub price: Option<Price>,
    pub qty: Qty,
    pub time_in_force: TimeInForce,
    /// Rejected with WOULD_TAKE instead of trading when it would cross on arrival.
    pub post_only: bool,
    pub client_order_id: Option<ClientOrderId>,
    /// `None` takes the engine's configured default.
    pub stp: Option<StpMode>,
    /// A market order only: the most quote it may spend (a buy) or receive (a sell); `qty` is then
    /// an upper bound, and a sell is bounded by the base the account holds as well.
    pub quote_budget: Option<Amount>,
}

/// What the engine is asked to do. Every command either succeeds, emitting its events, or fails
/// with a [`crate::Reject`] and changes nothing at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Place(NewOrder),
    Cancel {
        account: AccountId,
        target: OrderRef,
    },
    /// Cancels every open order of the account, or of the account on one symbol. Succeeds (with no
    /// events) when there is nothing to cancel.
    CancelAll {
        account: AccountId,
        symbol: Option<SymbolId>,
        reason: CloseReason,
    },
    /// Reduces an open order's total quantity; it keeps its place in the queue. The new quantity
    /// must be below the current one and above what has already filled.
    Amend {
        account: AccountId,
        target: OrderRef,
        new_qty: Qty,
    },
    /// Credits an amount to an account's available balance (start-up funding, configured balances).
    Deposit {
        account: AccountId,
        asset: AssetId,
        amount: Amount,
    },
}

/// One order as the engine holds it (open, or recently closed in the history).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub account: AccountId,
    pub symbol: SymbolId,
    pub side: Side,
    pub order_type: OrderType,
    pub price: Option<Price>,
    pub qty: Qty,
    pub filled_qty: Qty,
    pub time_in_force: TimeInForce,
    pub post_only: bool,
    pub client_order_id: Option<ClientOrderId>,
    pub stp: StpMode,
    pub status: OrderStatus,
    /// Set when the order is closed by cancel or expiry.
    pub close_reason: Option<CloseReason>,
    /// Quote paid (buys) or received before fees (sells) over all fills, for the average price.
    pub cum_quote: Amount,
    /// A market order's quote budget (see [`NewOrder::quote_budget`]).
    pub quote_budget: Option<Amount>,
    pub created_ns: u64,
    pub updated_ns: u64,
}

impl Order {
    /// The terms its events repeat.
    pub fn terms(&self) -> OrderTerms {
        OrderTerms {
            order_type: self.order_type,
            time_in_force: self.time_in_force,
            price: self.price,
            qty: self.qty,
            cum_quote: self.cum_quote,
            quote_budget: self.quote_budget,
            created_ns: self.created_ns,
            post_only: self.post_only,
            stp: self.stp,
        }
    }

    /// What is still open: quantity less what has filled.
    pub fn remaining_qty(&self) -> Qty {
        Qty(self.qty.0 - self.filled_qty.0)
    }
}

/// What an order's events repeat of the order, so that a dialect can describe the order whole
/// from any one of them (Binance's executionReport does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTerms {
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    /// The limit price; `None` for a market order.
    pub price: Option<Price>,
    /// The order's quantity.
    pub qty: Qty,
    /// Quote traded so far (after the event).
    pub cum_quote: Amount,
    pub quote_budget: Option<Amount>,
    pub created_ns: u64,
    pub post_only: bool,
    pub stp: StpMode,
}

/// An asset balance of one account: available to use, and locked by open orders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub available: Amount,
    pub locked: Amount,
}

impl Balance {
    /// Available plus locked.
    pub fn total(&self) -> Amount {
        Amount(self.available.0 + self.locked.0)
    }
}

/// An account's position in one symbol, by average cost. PnL excludes fees (they are reported on
/// each fill) and is in the quote asset's smallest unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Net base quantity: positive long, negative short.
    pub net_qty: Qty,
    /// The cost of the open net quantity in quote units (positive for long and short alike).
    pub cost_basis: Amount,
    pub realized_pnl: Amount,
}

/// One price level of aggregated depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub price: Price,
    pub qty: Qty,
    /// How many orders rest at this level.
    pub order_count: u32,
}

/// The top of a book, aggregated by price level, with the book sequence it reflects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Depth {
    /// Highest first.
    pub bids: Vec<Level>,
    /// Lowest first.
    pub asks: Vec<Level>,
    pub book_seq: u64,
}
