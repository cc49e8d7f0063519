//! What the engine emits, in order, for every command it carries out.
//!
//! Private events (about one account) carry that account's gap-free `account_seq`; book changes
//! carry the symbol's gap-free `book_seq`; trades the symbol's gap-free `trade_id`.

use crate::types::*;
use serde::{Deserialize, Serialize};

/// One change, in the order it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// An order passed every check and entered matching (always the first event of a place).
    Accepted(OrderAccepted),
    /// One side of a trade, for the order's owner (maker and taker each get one).
    Fill(Fill),
    /// An order closed without filling completely: cancelled or expired, with the reason.
    Closed(OrderClosed),
    /// An order's quantity was reduced.
    Amended(OrderAmended),
    /// A trade, for the public TRADES stream (after both fills of it).
    Trade(Trade),
    /// A book level's total changed (quantity 0 removes the level).
    BookLevel(BookLevelChanged),
    /// An asset balance of an account changed.
    Balance(BalanceChanged),
    /// An account's position in a symbol changed (after its fills).
    Position(PositionChanged),
}

impl Event {
    /// The account a private event belongs to; `None` for public ones.
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Event::Accepted(e) => Some(e.order.account),
            Event::Fill(e) => Some(e.account),
            Event::Closed(e) => Some(e.account),
            Event::Amended(e) => Some(e.account),
            Event::Balance(e) => Some(e.account),
            Event::Position(e) => Some(e.account),
            Event::Trade(_) | Event::BookLevel(_) => None,
        }
    }

    /// The account sequence of a private event; `None` for public ones.
    pub fn account_seq(&self) -> Option<u64> {
        match self {
            Event::Accepted(e) => Some(e.account_seq),
            Event::Fill(e) => Some(e.account_seq),
            Event::Closed(e) => Some(e.account_seq),
            Event::Amended(e) => Some(e.account_seq),
            Event::Balance(e) => Some(e.account_seq),
            Event::Position(e) => Some(e.account_seq),
            Event::Trade(_) | Event::BookLevel(_) => None,
        }
    }
}

/// An order accepted, as it stood on arrival (status PENDING or OPEN; later events tell the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAccepted {
    pub order: Order,
    pub account_seq: u64,
}

/// One side of one trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub account: AccountId,
    pub order_id: OrderId,
    pub client_order_id: Option<ClientOrderId>,
    pub symbol: SymbolId,
    pub side: Side,
    pub fill_id: FillId,
    pub trade_id: TradeId,
    pub price: Price,
    pub qty: Qty,
    /// The order's cumulative filled quantity after this fill.
    pub filled_qty: Qty,
    /// The order's open quantity after this fill (0 when filled or about to expire).
    pub remaining_qty: Qty,
    /// The order's status after this fill.
    pub status: OrderStatus,
    pub is_maker: bool,
    /// Charged in the asset received: base for a buy, quote for a sell.
    pub fee: Amount,
    pub fee_asset: AssetId,
    pub ts_ns: u64,
    pub account_seq: u64,
    /// The order's terms after this fill.
    pub terms: OrderTerms,
}

/// An order closed by cancel or expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderClosed {
    pub account: AccountId,
    pub order_id: OrderId,
    pub client_order_id: Option<ClientOrderId>,
    pub symbol: SymbolId,
    pub side: Side,
    /// CANCELLED or EXPIRED.
    pub status: OrderStatus,
    pub reason: CloseReason,
    pub filled_qty: Qty,
    /// What was still open when it closed.
    pub remaining_qty: Qty,
    pub account_seq: u64,
    pub terms: OrderTerms,
}

/// An order's quantity reduced in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAmended {
    pub account: AccountId,
    pub order_id: OrderId,
    pub client_order_id: Option<ClientOrderId>,
    pub symbol: SymbolId,
    pub side: Side,
    pub new_qty: Qty,
    pub filled_qty: Qty,
    pub remaining_qty: Qty,
    pub account_seq: u64,
    pub terms: OrderTerms,
}

/// A trade between a resting maker and an arriving taker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    pub symbol: SymbolId,
    pub trade_id: TradeId,
    pub price: Price,
    pub qty: Qty,
    pub taker_side: Side,
    pub maker_order_id: OrderId,
    pub taker_order_id: OrderId,
    pub maker_account: AccountId,
    pub taker_account: AccountId,
    pub ts_ns: u64,
}

/// A price level's new total. Quantity 0 means the level is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookLevelChanged {
    pub symbol: SymbolId,
    pub side: Side,
    pub price: Price,
    pub qty: Qty,
    pub book_seq: u64,
}

/// An asset balance's new state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceChanged {
    pub account: AccountId,
    pub asset: AssetId,
    pub balance: Balance,
    pub account_seq: u64,
}

/// A position's new state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionChanged {
    pub account: AccountId,
    pub symbol: SymbolId,
    pub position: Position,
    pub account_seq: u64,
}
