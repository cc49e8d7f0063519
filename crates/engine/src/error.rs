//! Why the engine refuses a command. A refused command changes nothing.

use thiserror::Error;

use crate::types::{OrderId, OrderStatus};

/// A refusal, with a stable upper-case code for the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
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
    #[error("amount too large")]
    Overflow,
}

impl Reject {
    /// The stable wire code.
    pub fn code(&self) -> &'static str {
        match self {
            Reject::UnknownSymbol => "UNKNOWN_SYMBOL",
            Reject::UnknownAccount => "UNKNOWN_ACCOUNT",
            Reject::UnknownAsset => "UNKNOWN_ASSET",
            Reject::MissingPrice => "MISSING_PRICE",
            Reject::InvalidQuantity => "INVALID_QUANTITY",
            Reject::MinQuantity => "MIN_QUANTITY",
            Reject::MaxQuantity => "MAX_QUANTITY",
            Reject::MinNotional => "MIN_NOTIONAL",
            Reject::InvalidPostOnly => "INVALID_POST_ONLY",
            Reject::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Reject::DuplicateClientOrderId(_) => "DUPLICATE_CLIENT_ORDER_ID",
            Reject::WouldTake => "WOULD_TAKE",
            Reject::OrderNotFound => "ORDER_NOT_FOUND",
            Reject::OrderClosed(_) => "ORDER_CLOSED",
            Reject::InvalidAmend => "INVALID_AMEND",
            Reject::Overflow => "OVERFLOW",
        }
    }
}
