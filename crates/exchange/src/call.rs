//! Commands on behalf of an account named in the command itself, answered with a typed
//! [`crate::Answer`]: the REST routes of the original simulator's later version and of the
//! Binance dialect place and cancel orders over HTTP, and a Binance WebSocket API request names
//! its API key in every request ([`crate::Command::Call`]).
//!
//! A [`Call`] is to [`crate::Input::Call`] what a [`crate::Query`] is to
//! [`crate::Input::Query`], except that it may change the exchange: an order placed by a call
//! goes through the engine like any other, its events reach the account's connections (without
//! a request id) and the market.

use engine::{NewOrder, OrderRef, SymbolId};
use serde::{Deserialize, Serialize};

use crate::request::StatusFilter;

/// Who a call acts for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Caller {
    /// A configured account, by its API key.
    ApiKey(String),
    /// A live anonymous account, by its name (`anon-N`).
    Anonymous(String),
    /// A REST session (the original's `X-Session-ID`): the session account of that name, opened
    /// with the default balances on its first call. A name another kind of account has is
    /// refused.
    Session(String),
    /// An API key that opens its own account on first use (the Binance dialect's
    /// `open_accounts`): the account with this key, or a new configured account named after the
    /// key, whose key it is, with the default balances. A key whose name another account has is
    /// refused.
    OpeningKey(String),
}

/// What a call does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallAction {
    /// Places an order (the core fills in the account): answered with the order as it stands
    /// after matching and its fills, or the reject.
    Place(NewOrder),
    /// Cancels an order: answered with the order as it stands after the cancel.
    Cancel(OrderRef),
    /// Cancels every open order of the account, or of one symbol: answered with the orders as
    /// they stand after the cancel.
    CancelAll { symbol: Option<SymbolId> },
    /// Cancels an order and places another in one step: the new order is placed only if the
    /// cancel succeeded, unless `allow_failure`.
    CancelReplace {
        cancel: OrderRef,
        place: NewOrder,
        allow_failure: bool,
    },
    /// The account's fills, optionally of one symbol, oldest first.
    Fills { symbol: Option<SymbolId> },
    /// The account's balances.
    Balances,
    /// The account's orders, optionally of one symbol and status.
    Orders {
        symbol: Option<SymbolId>,
        status: Option<StatusFilter>,
    },
    /// One order of the account.
    Order(OrderRef),
}

/// One call: who, and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub caller: Caller,
    pub action: CallAction,
}
