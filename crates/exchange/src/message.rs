//! What the exchange tells a client, typed and dialect-neutral: answers to requests, private
//! events of an account, and market data. A wire dialect renders each into its own frame; the
//! native protocol's names are in the variant docs.
//!
//! A direct answer carries the request's id (`rid`); the copy of a private event that the
//! request caused carries it too (the ORDER_ACK of a PLACE_ORDER), the other copies and the one
//! kept for RESUME do not.
//!
//! An outside caller's [`crate::Query`] or [`crate::call::Call`] is answered with an [`Answer`]
//! instead, which a connection's call also gets inside [`Message::Answered`].

use engine::{
    AccountId, Balance, BalanceChanged, ClientOrderId, Decimal, Depth, Fill, Level, Order,
    OrderAmended, OrderClosed, ParseError, Position, Price, Reject, SymbolId, Trade,
};
use market::Candle;
use serde::{Deserialize, Serialize};

use crate::request::{Channel, RequestId, Topic};

/// A book at one moment: its top levels, sequence and checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BookSnapshot {
    pub symbol: SymbolId,
    /// Bids highest first, asks lowest first, and the book sequence they reflect.
    pub depth: Depth,
    /// Of the top 10 levels (see [`crate::checksum`]).
    pub checksum: u32,
    pub at_ns: u64,
}

/// The levels one command changed on a book, each with its new total (0 removes it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BookDelta {
    pub symbol: SymbolId,
    /// Highest first.
    pub bids: Vec<Level>,
    /// Lowest first.
    pub asks: Vec<Level>,
    /// The book sequences covered: `first_seq..=last_seq`, gap-free from delta to delta.
    pub first_seq: u64,
    pub last_seq: u64,
    /// Of the top 10 levels after the change.
    pub checksum: u32,
    pub at_ns: u64,
}

/// The ticker of one symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Ticker {
    pub symbol: SymbolId,
    pub last: Option<Price>,
    pub bid: Option<Level>,
    pub ask: Option<Level>,
    /// Over the last 24 hours.
    pub volume_lots: i128,
    pub high: Option<Price>,
    pub low: Option<Price>,
    /// Counts the ticker's publications on its channel.
    pub sequence_id: u64,
    pub at_ns: u64,
}

/// The best bid and ask of a symbol, with the book sequence they reflect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BookTicker {
    pub symbol: SymbolId,
    pub bid: Option<Level>,
    pub ask: Option<Level>,
    pub book_seq: u64,
    pub at_ns: u64,
}

/// An account's position in one symbol, with its unrealized PnL at the last trade price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PositionReport {
    pub symbol: SymbolId,
    pub position: Position,
    /// `None` before the symbol's first trade.
    pub unrealized: Option<i128>,
    pub account_seq: u64,
    pub at_ns: u64,
}

/// A session as LOGIN and RESUME report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub account: String,
    pub session_id: String,
    pub resume_token: String,
    pub cancel_on_disconnect: bool,
}

/// Why a stream was restarted with a fresh snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StreamCut {
    /// The connection could not take the stream's messages fast enough; some were dropped.
    SlowConsumer,
    /// The fault layer skipped updates of the stream on purpose and announces it.
    SequenceGap,
}

/// Why a request failed (an ERROR in the native protocol). Dialects map each to their codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Failure {
    /// The engine refused the command.
    Reject(Reject),
    /// Unknown account or wrong API key.
    AuthFailed,
    /// The connection is logged in to another account.
    AlreadyLoggedIn,
    /// UNSUBSCRIBE from a channel the connection is not subscribed to.
    NotSubscribed(Channel),
    /// The resume token is unknown or expired.
    InvalidResumeToken,
    /// RESUME's `last_account_seq` is ahead of the account's.
    ResumeAhead { last_seen: u64, current: u64 },
    /// The events after `last_seen` are no longer held; the connection is logged in anyway.
    ResumeGap(Box<ResumeGap>),
    /// An amend's quantity is not a valid count of the order's lots.
    Quantity {
        quantity: Decimal,
        error: ParseError,
    },
    /// REST: no account has this API key.
    UnknownApiKey,
    /// REST: `?account=` names no anonymous account.
    UnknownAccount,
    /// REST: neither an API key nor an anonymous account was given.
    NotLoggedIn,
    /// Something the core believes impossible happened; the request may be retried.
    Internal(&'static str),
}

/// What a RESUME_GAP tells the client: how far back the server still holds, and the session it
/// is now logged in with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResumeGap {
    pub last_seen: u64,
    pub oldest_available: u64,
    pub current: u64,
    pub session: SessionInfo,
}

/// One message for a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Message {
    /// PONG.
    Pong { rid: Option<RequestId>, at_ns: u64 },
    /// LOGGED_IN.
    LoggedIn {
        rid: Option<RequestId>,
        session: Box<SessionInfo>,
        account_seq: u64,
    },
    /// LOGGED_OUT.
    LoggedOut { rid: Option<RequestId> },
    /// RESUMED: the missed events (`from..=to`) were sent just before it.
    Resumed {
        rid: Option<RequestId>,
        session: Box<SessionInfo>,
        from: u64,
        to: u64,
    },
    /// ORDER_ACK (a private event).
    OrderAccepted {
        rid: Option<RequestId>,
        order: Order,
        account_seq: u64,
    },
    /// ORDER_REJECT: the order was refused and nothing changed.
    OrderRejected {
        rid: Option<RequestId>,
        reject: Reject,
        symbol: SymbolId,
        client_order_id: Option<ClientOrderId>,
        at_ns: u64,
    },
    /// ORDER_FILL (a private event; also the fault layer's phantom fills).
    OrderFilled(Fill),
    /// ORDER_CANCEL: cancelled or expired (a private event).
    OrderClosed {
        rid: Option<RequestId>,
        closed: OrderClosed,
        at_ns: u64,
    },
    /// ORDER_AMENDED (a private event).
    OrderAmended {
        rid: Option<RequestId>,
        amended: OrderAmended,
        at_ns: u64,
    },
    /// BALANCE_UPDATE of one asset (a private event).
    BalanceChanged { change: BalanceChanged, at_ns: u64 },
    /// POSITION_UPDATE: a private event after fills, or the answer to GET_POSITION.
    Position {
        rid: Option<RequestId>,
        report: PositionReport,
    },
    /// CANCEL_ALL_ACK.
    CancelAllAck {
        rid: Option<RequestId>,
        symbol: Option<SymbolId>,
        cancelled: u64,
        account_seq: u64,
    },
    /// CANCEL_ALL_AFTER_ACK.
    CancelAllAfterAck {
        rid: Option<RequestId>,
        timeout_ms: u64,
        /// When it fires, if armed.
        trigger_at_ns: Option<u64>,
    },
    /// CANCEL_ON_DISCONNECT_SET.
    CancelOnDisconnectSet { rid: Option<RequestId>, on: bool },
    /// ORDER_STATUS: the answer to GET_ORDER.
    OrderStatus {
        rid: Option<RequestId>,
        order: Order,
        account_seq: u64,
    },
    /// ORDERS: the answer to GET_ORDERS.
    Orders {
        rid: Option<RequestId>,
        orders: Vec<Order>,
        account_seq: u64,
    },
    /// BALANCE_UPDATE with every asset: the answer to GET_BALANCE.
    Balances {
        rid: Option<RequestId>,
        /// Indexed by asset id.
        balances: Vec<Balance>,
        account_seq: u64,
        at_ns: u64,
    },
    /// FILLS: the answer to GET_FILLS.
    Fills {
        rid: Option<RequestId>,
        fills: Vec<Fill>,
        account_seq: u64,
    },
    /// ORDERBOOK_SNAPSHOT: the answer to GET_ORDERBOOK, or (`stream`) the first frame of an
    /// ORDERBOOK_L2 stream.
    Book {
        rid: Option<RequestId>,
        book: BookSnapshot,
        stream: bool,
    },
    /// SUBSCRIBED.
    Subscribed {
        rid: Option<RequestId>,
        topic: Topic,
    },
    /// UNSUBSCRIBED.
    Unsubscribed {
        rid: Option<RequestId>,
        channel: Channel,
        symbol: Option<SymbolId>,
    },
    /// ERROR.
    Error {
        rid: Option<RequestId>,
        failure: Failure,
    },
    /// The answer to a [`crate::Command::Call`].
    Answered {
        rid: Option<RequestId>,
        answer: Box<Answer>,
    },
    /// The connection now receives the account's private events.
    Watching {
        rid: Option<RequestId>,
        account: AccountId,
        /// The account's name (fault filters aim at it).
        name: std::sync::Arc<str>,
        account_seq: u64,
    },
    /// The connection no longer receives these accounts' private events.
    Unwatched {
        rid: Option<RequestId>,
        accounts: Vec<AccountId>,
    },
    /// TRADE on the TRADES channel.
    Trade(Trade),
    /// ORDERBOOK_UPDATE on ORDERBOOK_L2: the levels one command changed.
    BookDelta(BookDelta),
    /// ORDERBOOK_UPDATE on ORDERBOOK: the top levels after a change.
    BookPicture(BookSnapshot),
    /// MARKET_DATA on TICKER.
    Ticker(Ticker),
    /// Every symbol's ticker, on the all-market ticker topics.
    Tickers(Vec<Ticker>),
    /// The best bid and ask after a change of either (price or quantity).
    BookTicker(BookTicker),
    /// CANDLE on CANDLES.
    Candle { candle: Candle, closed: bool },
    /// The first message of a new (or restarted) subscription to `topic`: a dialect that shows
    /// two topics with one message (the ticker and the mini ticker) tells them apart by it.
    StreamStart { topic: Topic, first: Box<Message> },
    /// STREAM_RESET: a fresh start of the stream follows (where it has one).
    StreamReset {
        channel: Channel,
        symbol: SymbolId,
        cause: StreamCut,
    },
    /// SERVER_NOTICE: the connection reaches its maximum age soon.
    ServerNotice {
        seconds_left: u64,
        close_code: u16,
        at_ns: u64,
    },
}

impl Message {
    /// The request id the message echoes.
    pub fn rid(&self) -> Option<&RequestId> {
        match self {
            Message::Pong { rid, .. }
            | Message::LoggedIn { rid, .. }
            | Message::LoggedOut { rid }
            | Message::Resumed { rid, .. }
            | Message::OrderAccepted { rid, .. }
            | Message::OrderRejected { rid, .. }
            | Message::OrderClosed { rid, .. }
            | Message::OrderAmended { rid, .. }
            | Message::Position { rid, .. }
            | Message::CancelAllAck { rid, .. }
            | Message::CancelAllAfterAck { rid, .. }
            | Message::CancelOnDisconnectSet { rid, .. }
            | Message::OrderStatus { rid, .. }
            | Message::Orders { rid, .. }
            | Message::Balances { rid, .. }
            | Message::Fills { rid, .. }
            | Message::Book { rid, .. }
            | Message::Subscribed { rid, .. }
            | Message::Unsubscribed { rid, .. }
            | Message::Error { rid, .. }
            | Message::Answered { rid, .. }
            | Message::Watching { rid, .. }
            | Message::Unwatched { rid, .. } => rid.as_ref(),
            Message::OrderFilled(_)
            | Message::BalanceChanged { .. }
            | Message::Trade(_)
            | Message::BookDelta(_)
            | Message::BookPicture(_)
            | Message::Ticker(_)
            | Message::Tickers(_)
            | Message::BookTicker(_)
            | Message::StreamStart { .. }
            | Message::Candle { .. }
            | Message::StreamReset { .. }
            | Message::ServerNotice { .. } => None,
        }
    }

    /// The same private event as the answer to the request `rid` (for the connection that asked).
    pub fn with_rid(mut self, id: RequestId) -> Message {
        match &mut self {
            Message::OrderAccepted { rid, .. }
            | Message::OrderClosed { rid, .. }
            | Message::OrderAmended { rid, .. }
            | Message::Position { rid, .. } => *rid = Some(id),
            _ => debug_assert!(false, "only private events take a request id"),
        }
        self
    }

    /// The account sequence of a private event or of an answer that reports one.
    pub fn account_seq(&self) -> Option<u64> {
        match self {
            Message::OrderAccepted { account_seq, .. }
            | Message::LoggedIn { account_seq, .. }
            | Message::CancelAllAck { account_seq, .. }
            | Message::OrderStatus { account_seq, .. }
            | Message::Orders { account_seq, .. }
            | Message::Balances { account_seq, .. }
            | Message::Fills { account_seq, .. } => Some(*account_seq),
            Message::Resumed { to, .. } => Some(*to),
            Message::OrderFilled(fill) => Some(fill.account_seq),
            Message::OrderClosed { closed, .. } => Some(closed.account_seq),
            Message::OrderAmended { amended, .. } => Some(amended.account_seq),
            Message::BalanceChanged { change, .. } => Some(change.account_seq),
            Message::Position { report, .. } => Some(report.account_seq),
            _ => None,
        }
    }

    /// The market-data channel the message belongs to (`None` for answers and private events).
    pub fn channel(&self) -> Option<Channel> {
        match self {
            Message::Trade(_) => Some(Channel::Trades),
            Message::BookDelta(_) => Some(Channel::OrderbookL2),
            Message::Book { stream: true, .. } => Some(Channel::OrderbookL2),
            Message::BookPicture(_) | Message::BookTicker(_) => Some(Channel::Orderbook),
            Message::Ticker(_) | Message::Tickers(_) => Some(Channel::Ticker),
            Message::Candle { .. } => Some(Channel::Candles),
            Message::StreamReset { channel, .. } => Some(*channel),
            Message::StreamStart { topic, .. } => Some(topic.channel()),
            _ => None,
        }
    }

    /// The symbol the message is about, where it is about one.
    pub fn symbol(&self) -> Option<SymbolId> {
        match self {
            Message::OrderAccepted { order, .. } | Message::OrderStatus { order, .. } => {
                Some(order.symbol)
            }
            Message::OrderRejected { symbol, .. } => Some(*symbol),
            Message::OrderFilled(fill) => Some(fill.symbol),
            Message::OrderClosed { closed, .. } => Some(closed.symbol),
            Message::OrderAmended { amended, .. } => Some(amended.symbol),
            Message::Position { report, .. } => Some(report.symbol),
            Message::CancelAllAck { symbol, .. } | Message::Unsubscribed { symbol, .. } => *symbol,
            Message::Book { book, .. } | Message::BookPicture(book) => Some(book.symbol),
            Message::Subscribed { topic, .. } => topic.symbol(),
            Message::Trade(trade) => Some(trade.symbol),
            Message::BookDelta(delta) => Some(delta.symbol),
            Message::Ticker(ticker) => Some(ticker.symbol),
            Message::BookTicker(top) => Some(top.symbol),
            Message::Candle { candle, .. } => Some(candle.symbol),
            Message::StreamReset { symbol, .. } => Some(*symbol),
            Message::StreamStart { topic, .. } => topic.symbol(),
            _ => None,
        }
    }

    /// The client order id of the order the message is about.
    pub fn client_order_id(&self) -> Option<ClientOrderId> {
        match self {
            Message::OrderAccepted { order, .. } | Message::OrderStatus { order, .. } => {
                order.client_order_id
            }
            Message::OrderRejected {
                client_order_id, ..
            } => *client_order_id,
            Message::OrderFilled(fill) => fill.client_order_id,
            Message::OrderClosed { closed, .. } => closed.client_order_id,
            Message::OrderAmended { amended, .. } => amended.client_order_id,
            _ => None,
        }
    }
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
    /// A placed order as it stands after matching, and its fills.
    Placed {
        order: Order,
        fills: Vec<Fill>,
    },
    /// A cancel-replace: the cancel's outcome, and the new order's (`None`: not attempted).
    Replaced {
        cancel: Result<Order, Failure>,
        place: Option<Result<(Order, Vec<Fill>), Failure>>,
    },
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
