//! What an outside caller (REST, the admin API, the embedding program) asks the core; the typed
//! [`crate::Answer`]s come back through [`crate::Effect::Reply`]. The caller renders them: the
//! engine thread never writes a REST body.

use engine::{OrderRef, SymbolId};
use market::Interval;
use serde::{Deserialize, Serialize};

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
