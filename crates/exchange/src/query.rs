//! What an outside caller (REST, the admin API, the embedding program) asks the core, and the
//! typed answers it gets back through [`crate::Effect::Reply`]. The caller renders them: the
//! engine thread never writes a REST body.

use engine::{Balance, Fill, Order, OrderRef, SymbolId, Trade};
use market::{Candle, Interval};
use serde::{Deserialize, Serialize};

use crate::message::{BookSnapshot, Failure, Ticker};

/// Who a REST request is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestAuth {
    /// A configured account's API key.
    pub api_key: Option<String>,
    /// An anonymous account's name (`anon-N`).
    pub account: Option<String>,
}

/// A question from outside the connections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    Health,
    Orderbook {
        symbol: SymbolId,
        depth: usize,
    },
    Trades {
        symbol: SymbolId,
        limit: usize,
    },
    /// One symbol's ticker, or every symbol's.
    Ticker {
        symbol: Option<SymbolId>,
    },
    /// The configured and system accounts.
    Accounts,
    Balances(RestAuth),
    Orders(RestAuth),
    Order(RestAuth, OrderRef),
    Fills(RestAuth),
    Candles {
        symbol: SymbolId,
        interval: Interval,
        limit: usize,
    },
}

/// The core's state at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    pub uptime_ns: u64,
    pub connections: u64,
    pub accounts: u64,
    pub at_ns: u64,
}

/// A row of the account list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountRow {
    pub name: String,
    /// `configured` or `system`.
    pub kind: &'static str,
    pub open_orders: u64,
}

/// An answer to a [`Query`] (or to [`crate::Input::AdvanceMarket`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Answer {
    Health(Health),
    Book(BookSnapshot),
    Trades(Vec<Trade>),
    Ticker(Ticker),
    Tickers(Vec<Ticker>),
    Accounts(Vec<AccountRow>),
    Balances {
        /// Indexed by asset id.
        balances: Vec<Balance>,
        account_seq: u64,
        at_ns: u64,
    },
    Orders {
        orders: Vec<Order>,
        account_seq: u64,
    },
    Order(Order),
    Fills {
        fills: Vec<Fill>,
        account_seq: u64,
    },
    /// Oldest first, each with whether it is closed.
    Candles(Vec<(Candle, bool)>),
    /// The market advanced as asked.
    Advanced,
    Failed(Failure),
}
