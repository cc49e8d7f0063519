//! Why the engine refuses a command. A refused command changes nothing.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::types::{OrderId, OrderStatus};

/// A refusal. Each dialect maps it onto its own wire code (the native protocol's
/// `ErrorCode::from_reject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum Reject {
    #[error("unknown symbol")]
    UnknownSymbol,
    #[error("unknown account")]
    UnknownAccount,
    #[error("unknown asset")]
    UnknownAsset,
    #[error("a limit order needs a positive price")]
    MissingPrice,
    #[error("quantity must be positive")]
    InvalidQuantity,
    #[error("quantity is below the symbol's minimum")]
    MinQuantity,
    #[error("quantity is above the symbol's maximum")]
    MaxQuantity,
    #[error("price times quantity is below the symbol's minimum notional")]
    MinNotional,
    #[error("post-only is for GTC limit orders only")]
    InvalidPostOnly,
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("client_order_id is already used by order {0}")]
    DuplicateClientOrderId(OrderId),
    #[error("post-only order would take liquidity")]
    WouldTake,
    #[error("order not found")]
    OrderNotFound,
    #[error("order is already closed")]
    OrderClosed(OrderStatus),
    #[error("amend may only reduce the quantity, and not below what has filled")]
    InvalidAmend,
    #[error("a quote budget is for market orders that are not fill-or-kill, and must be positive")]
    InvalidQuoteBudget,
    #[error("amount too large")]
    Overflow,
    #[error("the account still has open orders")]
    AccountBusy,
}
