//! What a client asks for, typed and dialect-neutral. A wire dialect parses its frames into these
//! on the connection task (symbol names into ids, prices and quantities into ticks and lots, candle
//! intervals into [`Interval`]s), so the core only ever sees values it can act on.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use engine::{AccountId, Decimal, NewOrder, OrderRef, OrderStatus, SymbolId};
use market::Interval;

use crate::call::{Call, Caller};

/// A client's request id, kept as the JSON text it sent (a string literal or a number) so that
/// every answer echoes it exactly. Shared: answers on other threads carry it without a copy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// A request id from its JSON text (`"\"abc\""` or `"42"`).
    pub fn from_json(text: &str) -> RequestId {
        RequestId(Arc::from(text))
    }

    /// The JSON text of the id, ready to splice into an answer.
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

/// A kind of stream a connection can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Channel {
    /// Every trade.
    Trades,
    /// The ticker, every ticker interval.
    Ticker,
    /// The top levels of the book as a full picture on every change.
    Orderbook,
    /// A snapshot of the whole book, then deltas with book sequences and checksums.
    OrderbookL2,
    /// Candles of one interval.
    Candles,
    /// Heartbeats during silence (no symbol; served by the connection itself).
    Heartbeat,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 6] = [
        Channel::Trades,
        Channel::Ticker,
        Channel::Orderbook,
        Channel::OrderbookL2,
        Channel::Candles,
        Channel::Heartbeat,
    ];

    /// The channel's name: what the native protocol sends and what fault filters name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Trades => "TRADES",
            Channel::Ticker => "TICKER",
            Channel::Orderbook => "ORDERBOOK",
            Channel::OrderbookL2 => "ORDERBOOK_L2",
            Channel::Candles => "CANDLES",
            Channel::Heartbeat => "HEARTBEAT",
        }
    }

    /// A channel by name, in any case.
    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

/// One stream a connection can subscribe to: a channel of one symbol (of one interval, for
/// candles). A dialect renders what is published on a topic in its own shape; two topics may
/// carry the same message (a trade on `Trades` and `AggTrades`, a ticker on `Ticker` and
/// `MiniTicker`) when a dialect shows it two ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Topic {
    Trades(SymbolId),
    /// Trades, for a dialect that shows them aggregated (each trade its own aggregate here).
    AggTrades(SymbolId),
    Ticker(SymbolId),
    /// The ticker, for a dialect that also has a smaller one.
    MiniTicker(SymbolId),
    /// Every symbol's ticker at once, each ticker interval.
    AllTickers,
    /// Every symbol's small ticker at once, each ticker interval.
    AllMiniTickers,
    /// The best bid and ask, whenever they change.
    BookTicker(SymbolId),
    /// The top `levels` of the book as a full picture on every change (the native ORDERBOOK
    /// channel is 10 levels; [`BOOK_TOP_LEVELS`] lists every depth offered).
    BookTop(SymbolId, u8),
    /// The ORDERBOOK_L2 snapshot and deltas.
    BookL2(SymbolId),
    Candles(SymbolId, Interval),
    Heartbeat,
}

/// The depths of [`Topic::BookTop`] pictures.
pub const BOOK_TOP_LEVELS: [u8; 3] = [5, 10, 20];

impl Topic {
    /// The channel the topic belongs to: what fault filters and stream restarts name.
    pub fn channel(self) -> Channel {
        match self {
            Topic::Trades(_) | Topic::AggTrades(_) => Channel::Trades,
            Topic::Ticker(_) | Topic::MiniTicker(_) | Topic::AllTickers | Topic::AllMiniTickers => {
                Channel::Ticker
            }
            Topic::BookTicker(_) | Topic::BookTop(..) => Channel::Orderbook,
            Topic::BookL2(_) => Channel::OrderbookL2,
            Topic::Candles(..) => Channel::Candles,
            Topic::Heartbeat => Channel::Heartbeat,
        }
    }

    /// The topic's symbol (none for heartbeats and all-market topics).
    pub fn symbol(self) -> Option<SymbolId> {
        match self {
            Topic::Trades(s)
            | Topic::AggTrades(s)
            | Topic::Ticker(s)
            | Topic::MiniTicker(s)
            | Topic::BookTicker(s)
            | Topic::BookTop(s, _)
            | Topic::BookL2(s)
            | Topic::Candles(s, _) => Some(s),
            Topic::AllTickers | Topic::AllMiniTickers | Topic::Heartbeat => None,
        }
    }

    /// The candle interval, for candle topics.
    pub fn interval(self) -> Option<Interval> {
        match self {
            Topic::Candles(_, interval) => Some(interval),
            _ => None,
        }
    }
}

/// Which orders GET_ORDERS returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusFilter {
    /// Working orders: OPEN and PARTIALLY_FILLED.
    Open,
    /// Orders in exactly this status.
    Exactly(OrderStatus),
}

/// How a RESUME proves who it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Credentials {
    /// The resume token LOGIN (or an earlier RESUME) gave.
    Token(String),
    /// A configured account's name and API key.
    ApiKey { account: String, api_key: String },
}

/// The secret half of a resume token the core may issue while handling a request. It comes from
/// the operating system's randomness at the edge, never from the seed: the seed is printed and
/// shared, and a token is what lets a connection act as its account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionSecret(pub [u8; 16]);

impl SessionSecret {
    /// Whether the edge left it unset (all zero): a bug, since tokens would be guessable.
    pub fn is_unset(&self) -> bool {
        self.0 == [0; 16]
    }
}

/// A parsed request: the command and the id to echo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub rid: Option<RequestId>,
    pub command: Command,
}

impl Request {
    /// Hands the request the secret of any resume token it may make the core issue (LOGIN and
    /// RESUME); other requests ignore it.
    pub fn give_secret(&mut self, secret: SessionSecret) {
        match &mut self.command {
            Command::Login { secret: s, .. } | Command::Resume { secret: s, .. } => *s = secret,
            _ => {}
        }
    }

    /// Whether handling this request may issue a resume token (so the edge must supply a secret).
    pub fn needs_secret(&self) -> bool {
        matches!(self.command, Command::Login { .. } | Command::Resume { .. })
    }
}

/// What a client asks the exchange to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Ping,
    /// Binds the connection to a configured account.
    Login {
        account: String,
        api_key: String,
        cancel_on_disconnect: bool,
        secret: SessionSecret,
    },
    /// Unbinds the connection and ends its session.
    Logout,
    /// Binds the connection to an account again and replays what it missed.
    Resume {
        credentials: Credentials,
        last_account_seq: u64,
        cancel_on_disconnect: bool,
        secret: SessionSecret,
    },
    /// A new order; the core fills in the account.
    Place(NewOrder),
    Cancel(OrderRef),
    CancelAll {
        symbol: Option<SymbolId>,
    },
    /// Reduces an order's quantity: a decimal, counted in the order's lots once it is found.
    Amend {
        target: OrderRef,
        quantity: Decimal,
    },
    /// Arms (or, with 0, disarms) the account's dead man's switch.
    CancelAllAfter {
        timeout_ms: u64,
    },
    SetCancelOnDisconnect(bool),
    GetOrder(OrderRef),
    GetOrders {
        symbol: Option<SymbolId>,
        status: Option<StatusFilter>,
    },
    GetBalance,
    GetPosition {
        symbol: SymbolId,
    },
    GetOrderbook {
        symbol: SymbolId,
        depth: usize,
    },
    GetFills {
        symbol: Option<SymbolId>,
        since_fill_id: Option<u64>,
    },
    Subscribe(Topic),
    /// Ends every subscription of the channel on the symbol (every interval, for candles).
    Unsubscribe {
        channel: Channel,
        symbol: Option<SymbolId>,
    },
    /// Ends the subscription to exactly this topic.
    UnsubscribeTopic(Topic),
    /// A command for the account the call names, whoever the connection is bound to: answered
    /// with [`crate::Message::Answered`].
    Call(Box<Call>),
    /// The connection receives the private events of the caller's account from now on, without
    /// being bound to it (the Binance user data stream).
    Watch(Caller),
    /// Stops receiving the account's private events (every watched account's with `None`).
    Unwatch(Option<AccountId>),
}
