//! The core's messages in the native protocol: one JSON object each, written straight into a
//! `String`. [`type_name`] states each message's `type` once; [`render`] writes the message with
//! that type (and, for a frame, `seq` first: [`render_frame`]).
//!
//! Direct answers echo the request's `request_id`; channel messages name their `channel`; private
//! events carry the account's `account_seq`.

use engine::symbol::Symbol;
use engine::{
    Balance, BalanceChanged, CloseReason, Depth, Fill, Level, Order, OrderAmended, OrderClosed,
    OrderStatus, OrderType, Price, Reject, Side, SymbolId, TimeInForce, Trade,
};
use exchange::message::{BookDelta, BookSnapshot, PositionReport, SessionInfo, StreamCut, Ticker};
use exchange::{Catalog, Channel, Failure, Message, RequestId};

use crate::codes::ErrorCode;
use crate::json::ObjectWriter;
use crate::time::write_iso8601;

/// The native `type` of a message.
pub fn type_name(message: &Message) -> &'static str {
    match message {
        Message::Pong { .. } => "PONG",
        Message::LoggedIn { .. } => "LOGGED_IN",
        Message::LoggedOut { .. } => "LOGGED_OUT",
        Message::Resumed { .. } => "RESUMED",
        Message::OrderAccepted { .. } => "ORDER_ACK",
        Message::OrderRejected { .. } => "ORDER_REJECT",
        Message::OrderFilled(_) => "ORDER_FILL",
        Message::OrderClosed { .. } => "ORDER_CANCEL",
        Message::OrderAmended { .. } => "ORDER_AMENDED",
        Message::BalanceChanged { .. } | Message::Balances { .. } => "BALANCE_UPDATE",
        Message::Position { .. } => "POSITION_UPDATE",
        Message::CancelAllAck { .. } => "CANCEL_ALL_ACK",
        Message::CancelAllAfterAck { .. } => "CANCEL_ALL_AFTER_ACK",
        Message::CancelOnDisconnectSet { .. } => "CANCEL_ON_DISCONNECT_SET",
        Message::OrderStatus { .. } => "ORDER_STATUS",
        Message::Orders { .. } => "ORDERS",
        Message::Fills { .. } => "FILLS",
        Message::Book { .. } => "ORDERBOOK_SNAPSHOT",
        Message::Subscribed { .. } => "SUBSCRIBED",
        Message::Unsubscribed { .. } => "UNSUBSCRIBED",
        Message::Error { .. } => "ERROR",
        Message::Trade(_) => "TRADE",
        Message::BookDelta(_) | Message::BookPicture(_) => "ORDERBOOK_UPDATE",
        Message::Ticker(_) => "MARKET_DATA",
        Message::Tickers(_) => "TICKERS",
        Message::BookTicker(_) => "BOOK_TICKER",
        Message::Candle { .. } => "CANDLE",
        Message::StreamReset { .. } => "STREAM_RESET",
        Message::ServerNotice { .. } => "SERVER_NOTICE",
        // Answers to another dialect's requests: named for logs and fault filters all the same.
        Message::StreamStart { first, .. } => type_name(first),
        Message::Answered { .. } => "ANSWER",
        Message::Watching { .. } => "WATCHING",
        Message::Unwatched { .. } => "UNWATCHED",
    }
}

/// Appends the message as a JSON object without `seq` (a body shared by several connections,
/// each of which splices its own `seq` in with [`crate::splice_seq`]).
pub fn render(message: &Message, catalog: &Catalog, out: &mut String) {
    let mut w = ObjectWriter::new(out);
    fields(&mut w, message, catalog);
    w.end();
}

/// Appends the message as the frame one connection sends: `seq` first, then the message.
pub fn render_frame(seq: u64, message: &Message, catalog: &Catalog, out: &mut String) {
    let mut w = ObjectWriter::new(out);
    w.u64("seq", seq);
    fields(&mut w, message, catalog);
    w.end();
}

/// Every field of the message, `type` first.
fn fields(w: &mut ObjectWriter<'_>, message: &Message, catalog: &Catalog) {
    w.str("type", type_name(message));
    fields_after_type(w, message, catalog);
}

/// Every field of the message but `type`.
fn fields_after_type(w: &mut ObjectWriter<'_>, message: &Message, catalog: &Catalog) {
    match message {
        // The native protocol shows a stream's first message as it is.
        Message::StreamStart { first, .. } => fields_after_type(w, first, catalog),
        Message::Pong { rid, at_ns } => {
            request_id(w, rid.as_ref());
            timestamp(w, *at_ns);
        }
        Message::LoggedIn {
            rid,
            session,
            account_seq,
        } => {
            request_id(w, rid.as_ref());
            session_fields(w, session);
            w.u64("account_seq", *account_seq);
        }
        Message::LoggedOut { rid } => request_id(w, rid.as_ref()),
        Message::Resumed {
            rid,
            session,
            from,
            to,
        } => {
            request_id(w, rid.as_ref());
            session_fields(w, session);
            w.u64("from", *from).u64("to", *to).u64("account_seq", *to);
        }
        Message::OrderAccepted {
            rid,
            order,
            account_seq,
        }
        | Message::OrderStatus {
            rid,
            order,
            account_seq,
        } => {
            request_id(w, rid.as_ref());
            order_fields(w, catalog, order);
            w.u64("account_seq", *account_seq);
        }
        Message::OrderRejected {
            rid,
            reject,
            symbol,
            client_order_id,
            at_ns,
        } => {
            request_id(w, rid.as_ref());
            w.str("status", "REJECTED")
                .str("code", ErrorCode::from_reject(reject).as_str())
                .str("reason", &reject.to_string())
                .opt_str(
                    "symbol",
                    catalog.symbol(*symbol).map(|s| s.spec.name.as_str()),
                )
                .opt_str(
                    "client_order_id",
                    client_order_id.as_ref().map(|c| c.as_str()),
                )
                .with("details", |o| reject_details(reject, o));
            timestamp(w, *at_ns);
        }
        Message::OrderFilled(fill) => fill_fields(w, catalog, fill),
        Message::OrderClosed { rid, closed, at_ns } => {
            request_id(w, rid.as_ref());
            closed_fields(w, catalog, closed, *at_ns);
        }
        Message::OrderAmended {
            rid,
            amended,
            at_ns,
        } => {
            request_id(w, rid.as_ref());
            amended_fields(w, catalog, amended, *at_ns);
        }
        Message::BalanceChanged { change, at_ns } => balance_changed(w, catalog, change, *at_ns),
        Message::Balances {
            rid,
            balances,
            account_seq,
            at_ns,
        } => {
            request_id(w, rid.as_ref());
            w.with("balances", |o| balances_object(o, catalog, balances));
            timestamp(w, *at_ns);
            w.u64("account_seq", *account_seq);
        }
        Message::Position { rid, report } => {
            request_id(w, rid.as_ref());
            position_fields(w, catalog, report);
        }
        Message::CancelAllAck {
            rid,
            symbol,
            cancelled,
            account_seq,
        } => {
            request_id(w, rid.as_ref());
            w.opt_str("symbol", symbol.map(|s| catalog.symbol_name(s)))
                .u64("cancelled", *cancelled)
                .u64("account_seq", *account_seq);
        }
        Message::CancelAllAfterAck {
            rid,
            timeout_ms,
            trigger_at_ns,
        } => {
            request_id(w, rid.as_ref());
            w.u64("timeout_ms", *timeout_ms)
                .bool("armed", trigger_at_ns.is_some());
            if let Some(at) = trigger_at_ns {
                w.str_with("trigger_time", |o| write_iso8601(*at, o));
            }
        }
        Message::CancelOnDisconnectSet { rid, on } => {
            request_id(w, rid.as_ref());
            w.bool("cancel_on_disconnect", *on);
        }
        Message::Orders {
            rid,
            orders,
            account_seq,
        } => {
            request_id(w, rid.as_ref());
            w.with("orders", |o| orders_array(o, catalog, orders));
            w.u64("account_seq", *account_seq);
        }
        Message::Fills {
            rid,
            fills,
            account_seq,
        } => {
            request_id(w, rid.as_ref());
            w.with("fills", |o| fills_array(o, catalog, fills));
            w.u64("account_seq", *account_seq);
        }
        Message::Book { rid, book, stream } => {
            request_id(w, rid.as_ref());
            if *stream {
                w.str("channel", Channel::OrderbookL2.as_str());
            }
            book_fields(w, catalog, book);
        }
        Message::Subscribed { rid, topic } => {
            request_id(w, rid.as_ref());
            subscription_fields(w, catalog, topic.channel(), topic.symbol());
            if let Some(interval) = topic.interval() {
                w.str("interval", interval.as_str());
            }
        }
        Message::Unsubscribed {
            rid,
            channel,
            symbol,
        } => {
            request_id(w, rid.as_ref());
            subscription_fields(w, catalog, *channel, *symbol);
        }
        Message::Error { rid, failure } => {
            let (code, text, details) = failure_parts(failure);
            request_id(w, rid.as_ref());
            w.str("code", code.as_str())
                .str("message", &text)
                .raw("details", &details);
        }
        Message::Trade(trade) => trade_fields(w, catalog, trade),
        Message::BookDelta(delta) => delta_fields(w, catalog, delta),
        Message::BookPicture(book) => {
            w.str("channel", Channel::Orderbook.as_str());
            book_fields(w, catalog, book);
        }
        Message::Ticker(ticker) => ticker_fields(w, catalog, ticker),
        Message::Tickers(tickers) => {
            w.with("tickers", |out| {
                out.push('[');
                for (i, ticker) in tickers.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let mut item = ObjectWriter::new(out);
                    ticker_fields(&mut item, catalog, ticker);
                    item.end();
                }
                out.push(']');
            });
        }
        Message::BookTicker(top) => {
            let Some(sym) = catalog.symbol(top.symbol) else {
                return;
            };
            w.str("channel", Channel::Orderbook.as_str())
                .str("symbol", &sym.spec.name);
            price_field(w, "bid", sym, top.bid.map(|l| l.price));
            price_field(w, "ask", sym, top.ask.map(|l| l.price));
            w.str_with("bid_size", |o| {
                sym.write_qty(top.bid.map_or(engine::Qty(0), |l| l.qty), o)
            })
            .str_with("ask_size", |o| {
                sym.write_qty(top.ask.map_or(engine::Qty(0), |l| l.qty), o)
            })
            .u64("book_seq", top.book_seq);
            timestamp(w, top.at_ns);
        }
        Message::Candle { candle, closed } => candle_fields(w, catalog, candle, *closed),
        Message::StreamReset {
            channel,
            symbol,
            cause,
        } => {
            w.str("channel", channel.as_str())
                .opt_str("symbol", Some(catalog.symbol_name(*symbol)))
                .str("reason", stream_reset_reason(*cause));
        }
        Message::ServerNotice {
            seconds_left,
            close_code,
            at_ns,
        } => {
            w.str("notice", "RECONNECT")
                .str(
                    "message",
                    "this connection reaches its maximum age soon: open a new one and RESUME",
                )
                .u64("seconds_left", *seconds_left)
                .u64("close_code", u64::from(*close_code));
            timestamp(w, *at_ns);
        }
        // The native protocol sends no calls and watches no account (its REST answers calls):
        // these reach a native connection only by a bug, and then say what they are.
        Message::Answered { rid, .. } => request_id(w, rid.as_ref()),
        Message::Watching {
            rid, account_seq, ..
        } => {
            request_id(w, rid.as_ref());
            w.u64("account_seq", *account_seq);
        }
        Message::Unwatched { rid, accounts } => {
            request_id(w, rid.as_ref());
            w.u64("accounts", accounts.len() as u64);
        }
    }
}

/// Wire name of a side.
pub fn side_str(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// Wire name of an order type.
pub fn order_type_str(t: OrderType) -> &'static str {
    match t {
        OrderType::Limit => "LIMIT",
        OrderType::Market => "MARKET",
    }
}

/// Wire name of a time in force.
pub fn tif_str(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
    }
}

/// Wire name of an order status.
pub fn status_str(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Pending => "PENDING",
        OrderStatus::Open => "OPEN",
        OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
        OrderStatus::Filled => "FILLED",
        OrderStatus::Cancelled => "CANCELLED",
        OrderStatus::Expired => "EXPIRED",
        OrderStatus::Rejected => "REJECTED",
    }
}

/// Why a stream restarted, as STREAM_RESET says it.
fn stream_reset_reason(cause: StreamCut) -> &'static str {
    match cause {
        StreamCut::SlowConsumer => "slow consumer: messages of this stream were dropped",
        StreamCut::SequenceGap => "sequence_gap fault: updates of this stream were skipped",
    }
}

/// Appends an amount with `decimals` decimals (`-` for negatives).
pub fn write_amount(decimals: u32, amount: i128, out: &mut String) {
    engine::decimal::write_scaled(amount < 0, amount.unsigned_abs(), decimals, out);
}

fn request_id(w: &mut ObjectWriter<'_>, id: Option<&RequestId>) {
    if let Some(id) = id {
        w.raw("request_id", id.as_json());
    }
}

fn timestamp(w: &mut ObjectWriter<'_>, ts_ns: u64) {
    w.str_with("timestamp", |o| write_iso8601(ts_ns, o));
}

fn price_field(w: &mut ObjectWriter<'_>, key: &str, symbol: &Symbol, price: Option<Price>) {
    match price {
        Some(p) => w.str_with(key, |o| symbol.write_price(p, o)),
        None => w.raw(key, "null"),
    };
}

/// ERROR with a stable code, a readable message and details (JSON object text), for the errors
/// the edges answer themselves (a frame that does not parse, a rate limit, a fault).
pub fn error(
    out: &mut String,
    rid: Option<&RequestId>,
    code: ErrorCode,
    message: &str,
    details_json: &str,
) {
    error_frame(out, None, rid, code, message, details_json);
}

/// [`error`] as a connection's frame, `seq` first.
pub fn error_frame(
    out: &mut String,
    seq: Option<u64>,
    rid: Option<&RequestId>,
    code: ErrorCode,
    message: &str,
    details_json: &str,
) {
    let mut w = ObjectWriter::new(out);
    if let Some(seq) = seq {
        w.u64("seq", seq);
    }
    w.str("type", "ERROR");
    request_id(&mut w, rid);
    w.str("code", code.as_str())
        .str("message", message)
        .raw("details", details_json);
    w.end();
}

/// A details object `{"field":..,"request_type":..}` for an ERROR, from what is known.
pub fn error_details(field: Option<&str>, request_type: Option<&str>) -> String {
    let mut s = String::new();
    let mut w = ObjectWriter::new(&mut s);
    if let Some(f) = field {
        w.str("field", f);
    }
    if let Some(t) = request_type {
        w.str("request_type", t);
    }
    w.end();
    s
}

/// The `ERROR` `UNKNOWN_OUTCOME` that replaces an ORDER_ACK whose outcome the fault layer hides:
/// the same `request_id`, and the `client_order_id` and `symbol` to reconcile with (the order id
/// is withheld, as a timed-out exchange would).
pub fn unknown_outcome(
    out: &mut String,
    rid: Option<&RequestId>,
    client_order_id: Option<&str>,
    symbol: Option<&str>,
) {
    let mut details = String::new();
    let mut d = ObjectWriter::new(&mut details);
    if let Some(id) = client_order_id {
        d.str("client_order_id", id);
    }
    if let Some(symbol) = symbol {
        d.str("symbol", symbol);
    }
    d.end();
    error(
        out,
        rid,
        ErrorCode::UnknownOutcome,
        "the exchange did not confirm the order in time: its outcome is unknown, reconcile by client_order_id",
        &details,
    );
}

/// A failure's code, message and details (JSON object text), for ERROR frames and REST errors.
pub fn failure_parts(failure: &Failure) -> (ErrorCode, String, String) {
    match failure {
        Failure::Reject(reject) => {
            let mut details = String::new();
            reject_details(reject, &mut details);
            (ErrorCode::from_reject(reject), reject.to_string(), details)
        }
        Failure::AuthFailed => (
            ErrorCode::AuthFailed,
            "unknown account or wrong api_key".into(),
            "{}".into(),
        ),
        Failure::AlreadyLoggedIn => (
            ErrorCode::AlreadyLoggedIn,
            "this connection is logged in to another account".into(),
            "{}".into(),
        ),
        Failure::NotSubscribed(channel) => (
            ErrorCode::NotSubscribed,
            format!("not subscribed to {}", channel.as_str()),
            "{}".into(),
        ),
        Failure::InvalidResumeToken => (
            ErrorCode::InvalidResumeToken,
            "unknown or expired resume_token: LOGIN again".into(),
            "{}".into(),
        ),
        Failure::ResumeAhead { last_seen, current } => (
            ErrorCode::InvalidField,
            format!("last_account_seq {last_seen} is ahead of the account's {current}"),
            format!("{{\"field\":\"last_account_seq\",\"current\":{current}}}"),
        ),
        Failure::ResumeGap(gap) => {
            let mut details = String::new();
            let mut d = ObjectWriter::new(&mut details);
            d.u64("oldest_available", gap.oldest_available)
                .u64("current", gap.current)
                .str("account", &gap.session.account)
                .str("session_id", &gap.session.session_id)
                .str("resume_token", &gap.session.resume_token);
            d.end();
            (
                ErrorCode::ResumeGap,
                format!(
                    "events after account_seq {} are no longer held: rebuild from GET_ORDERS, \
                     GET_BALANCE and GET_FILLS (the connection is logged in)",
                    gap.last_seen
                ),
                details,
            )
        }
        Failure::Quantity { quantity, error } => (
            ErrorCode::from_parse(*error, false),
            format!("quantity \"{quantity}\": {error}"),
            "{\"field\":\"quantity\"}".into(),
        ),
        Failure::UnknownApiKey => (ErrorCode::AuthFailed, "unknown api key".into(), "{}".into()),
        Failure::UnknownAccount => (
            ErrorCode::AuthFailed,
            "unknown account (configured accounts need the X-API-KEY header)".into(),
            "{}".into(),
        ),
        Failure::NotLoggedIn => (
            ErrorCode::NotLoggedIn,
            "send the X-API-KEY header, or ?account= for an anonymous account".into(),
            "{}".into(),
        ),
        Failure::Internal(why) => (ErrorCode::InternalError, (*why).into(), "{}".into()),
    }
}

/// What a refusal adds: the existing order of a duplicate client id, the status of a closed
/// order.
fn reject_details(reject: &Reject, out: &mut String) {
    let mut w = ObjectWriter::new(out);
    match reject {
        Reject::DuplicateClientOrderId(id) => {
            w.u64_str("existing_order_id", id.0);
        }
        Reject::OrderClosed(status) => {
            w.str("status", status_str(*status));
        }
        _ => {}
    }
    w.end();
}

fn session_fields(w: &mut ObjectWriter<'_>, session: &SessionInfo) {
    w.str("account", &session.account)
        .str("session_id", &session.session_id)
        .str("resume_token", &session.resume_token)
        .bool("cancel_on_disconnect", session.cancel_on_disconnect);
}

/// Writes an order's fields (no `type`) into an open object.
pub fn order_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, order: &Order) {
    let Some(symbol) = catalog.symbol(order.symbol) else {
        return;
    };
    w.u64_str("order_id", order.id.0)
        .opt_str(
            "client_order_id",
            order.client_order_id.as_ref().map(|c| c.as_str()),
        )
        .str("symbol", &symbol.spec.name)
        .str("side", side_str(order.side))
        .str("order_type", order_type_str(order.order_type));
    price_field(w, "price", symbol, order.price);
    w.str_with("quantity", |o| symbol.write_qty(order.qty, o))
        .str_with("filled_quantity", |o| symbol.write_qty(order.filled_qty, o))
        .str_with("remaining_quantity", |o| {
            symbol.write_qty(order.remaining_qty(), o)
        });
    let avg = average_price(symbol, order);
    price_field(w, "average_price", symbol, avg);
    w.str("status", status_str(order.status))
        .str("time_in_force", tif_str(order.time_in_force))
        .bool("post_only", order.post_only)
        .opt_str("reason", order.close_reason.map(CloseReason::as_str));
    w.str_with("created_at", |o| write_iso8601(order.created_ns, o));
    timestamp(w, order.updated_ns);
}

/// A JSON array of orders, each with [`order_fields`].
pub fn orders_array(out: &mut String, catalog: &Catalog, orders: &[Order]) {
    out.push('[');
    for (i, order) in orders.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut w = ObjectWriter::new(out);
        order_fields(&mut w, catalog, order);
        w.end();
    }
    out.push(']');
}

/// A JSON array of fills, each an ORDER_FILL message.
pub fn fills_array(out: &mut String, catalog: &Catalog, fills: &[Fill]) {
    out.push('[');
    for (i, fill) in fills.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut w = ObjectWriter::new(out);
        w.str("type", "ORDER_FILL");
        fill_fields(&mut w, catalog, fill);
        w.end();
    }
    out.push(']');
}

/// The average fill price in ticks, rounded to the nearest tick; `None` before any fill.
fn average_price(symbol: &Symbol, order: &Order) -> Option<Price> {
    let denom = (order.filled_qty.0 as i128).checked_mul(symbol.quote_units_per_tick_lot)?;
    if denom <= 0 {
        return None;
    }
    let ticks = (order.cum_quote.0 * 2 + denom) / (2 * denom);
    i64::try_from(ticks).ok().map(Price)
}

/// One side of a trade, for the order's owner (after `type`).
fn fill_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, fill: &Fill) {
    let Some(symbol) = catalog.symbol(fill.symbol) else {
        return;
    };
    w.u64_str("fill_id", fill.fill_id.0)
        .u64_str("order_id", fill.order_id.0)
        .opt_str(
            "client_order_id",
            fill.client_order_id.as_ref().map(|c| c.as_str()),
        )
        .u64("trade_id", fill.trade_id.0)
        .str("symbol", &symbol.spec.name)
        .str("side", side_str(fill.side))
        .str_with("price", |o| symbol.write_price(fill.price, o))
        .str_with("quantity", |o| symbol.write_qty(fill.qty, o))
        .str_with("filled_quantity", |o| symbol.write_qty(fill.filled_qty, o))
        .str_with("remaining_quantity", |o| {
            symbol.write_qty(fill.remaining_qty, o)
        })
        .str("status", status_str(fill.status))
        .bool("is_maker", fill.is_maker)
        .str_with("fee", |o| {
            write_amount(catalog.asset_decimals(fill.fee_asset), fill.fee.0, o)
        })
        .str("fee_currency", catalog.asset_name(fill.fee_asset));
    timestamp(w, fill.ts_ns);
    w.u64("account_seq", fill.account_seq);
}

/// An order closed by cancel (CANCELLED) or expiry (EXPIRED), with the reason.
fn closed_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, closed: &OrderClosed, at_ns: u64) {
    let Some(symbol) = catalog.symbol(closed.symbol) else {
        return;
    };
    w.u64_str("order_id", closed.order_id.0)
        .opt_str(
            "client_order_id",
            closed.client_order_id.as_ref().map(|c| c.as_str()),
        )
        .str("symbol", &symbol.spec.name)
        .str("side", side_str(closed.side))
        .str("status", status_str(closed.status))
        .str("reason", closed.reason.as_str())
        .str_with("filled_quantity", |o| {
            symbol.write_qty(closed.filled_qty, o)
        })
        .str_with("remaining_quantity", |o| {
            symbol.write_qty(closed.remaining_qty, o)
        });
    timestamp(w, at_ns);
    w.u64("account_seq", closed.account_seq);
}

/// An order's quantity reduced in place.
fn amended_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, amended: &OrderAmended, at_ns: u64) {
    let Some(symbol) = catalog.symbol(amended.symbol) else {
        return;
    };
    w.u64_str("order_id", amended.order_id.0)
        .opt_str(
            "client_order_id",
            amended.client_order_id.as_ref().map(|c| c.as_str()),
        )
        .str("symbol", &symbol.spec.name)
        .str("side", side_str(amended.side))
        .str_with("quantity", |o| symbol.write_qty(amended.new_qty, o))
        .str_with("filled_quantity", |o| {
            symbol.write_qty(amended.filled_qty, o)
        })
        .str_with("remaining_quantity", |o| {
            symbol.write_qty(amended.remaining_qty, o)
        });
    timestamp(w, at_ns);
    w.u64("account_seq", amended.account_seq);
}

fn balance_object(out: &mut String, decimals: u32, b: &Balance) {
    let mut w = ObjectWriter::new(out);
    w.str_with("total", |o| write_amount(decimals, b.total().0, o))
        .str_with("available", |o| write_amount(decimals, b.available.0, o))
        .str_with("locked", |o| write_amount(decimals, b.locked.0, o));
    w.end();
}

/// BALANCE_UPDATE for one changed asset (a private event).
fn balance_changed(w: &mut ObjectWriter<'_>, catalog: &Catalog, e: &BalanceChanged, at_ns: u64) {
    let name = catalog.asset_name(e.asset);
    let decimals = catalog.asset_decimals(e.asset);
    w.str("asset", name);
    w.with("balances", |o| {
        o.push('{');
        crate::json::write_escaped(name, o);
        o.push(':');
        balance_object(o, decimals, &e.balance);
        o.push('}');
    });
    timestamp(w, at_ns);
    w.u64("account_seq", e.account_seq);
}

/// Every asset's balance as an object by asset name (`balances` indexed by asset id).
pub fn balances_object(out: &mut String, catalog: &Catalog, balances: &[Balance]) {
    out.push('{');
    for (i, b) in balances.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let asset = engine::AssetId(i as u32);
        crate::json::write_escaped(catalog.asset_name(asset), out);
        out.push(':');
        balance_object(out, catalog.asset_decimals(asset), b);
    }
    out.push('}');
}

/// A position (after fills, or the answer to GET_POSITION).
fn position_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, report: &PositionReport) {
    let Some(symbol) = catalog.symbol(report.symbol) else {
        return;
    };
    let position = &report.position;
    let decimals = catalog.asset_decimals(symbol.quote);
    w.str("symbol", &symbol.spec.name)
        .str_with("quantity", |o| {
            if position.net_qty.0 < 0 {
                o.push('-');
            }
            symbol.write_qty(engine::Qty(position.net_qty.0.abs()), o)
        });
    let avg = if position.net_qty.0 == 0 {
        None
    } else {
        let denom = (position.net_qty.0.abs() as i128) * symbol.quote_units_per_tick_lot;
        let ticks = (position.cost_basis.0 * 2 + denom) / (2 * denom);
        i64::try_from(ticks).ok().map(Price)
    };
    price_field(w, "average_price", symbol, avg);
    w.str_with("realized_pnl", |o| {
        write_amount(decimals, position.realized_pnl.0, o)
    });
    w.str_with("unrealized_pnl", |o| {
        write_amount(decimals, report.unrealized.unwrap_or(0), o)
    });
    w.str("pnl_currency", catalog.asset_name(symbol.quote));
    timestamp(w, report.at_ns);
    w.u64("account_seq", report.account_seq);
}

/// A trade on the TRADES channel (after `type`).
fn trade_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, t: &Trade) {
    let Some(symbol) = catalog.symbol(t.symbol) else {
        return;
    };
    w.str("channel", Channel::Trades.as_str())
        .str("symbol", &symbol.spec.name)
        .u64("trade_id", t.trade_id.0)
        .str_with("price", |o| symbol.write_price(t.price, o))
        .str_with("quantity", |o| symbol.write_qty(t.qty, o))
        .str("side", side_str(t.taker_side))
        .str("taker_side", side_str(t.taker_side));
    timestamp(w, t.ts_ns);
}

/// A JSON array of trades, each a TRADE message (REST).
pub fn trades_array(out: &mut String, catalog: &Catalog, trades: &[Trade]) {
    out.push('[');
    for (i, trade) in trades.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        render(&Message::Trade(*trade), catalog, out);
    }
    out.push(']');
}

fn levels_array(out: &mut String, symbol: &Symbol, levels: &[Level]) {
    out.push('[');
    for (i, l) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut w = ObjectWriter::new(out);
        w.str_with("price", |o| symbol.write_price(l.price, o))
            .str_with("quantity", |o| symbol.write_qty(l.qty, o));
        w.end();
    }
    out.push(']');
}

/// A book snapshot or picture: symbol, levels, sequence, checksum, timestamp.
fn book_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, book: &BookSnapshot) {
    let Some(symbol) = catalog.symbol(book.symbol) else {
        return;
    };
    let depth: &Depth = &book.depth;
    w.str("symbol", &symbol.spec.name)
        .with("bids", |o| levels_array(o, symbol, &depth.bids))
        .with("asks", |o| levels_array(o, symbol, &depth.asks))
        .u64("sequence", depth.book_seq)
        .u64("checksum", u64::from(book.checksum));
    timestamp(w, book.at_ns);
}

/// An ORDERBOOK_L2 delta: changed levels with absolute quantities ("0" removes a level), covering
/// book sequences `first_sequence..=sequence`.
fn delta_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, delta: &BookDelta) {
    let Some(symbol) = catalog.symbol(delta.symbol) else {
        return;
    };
    w.str("channel", Channel::OrderbookL2.as_str())
        .str("symbol", &symbol.spec.name)
        .with("bids", |o| levels_array(o, symbol, &delta.bids))
        .with("asks", |o| levels_array(o, symbol, &delta.asks))
        .u64("first_sequence", delta.first_seq)
        .u64("sequence", delta.last_seq)
        .u64("prev_sequence", delta.first_seq.saturating_sub(1))
        .u64("checksum", u64::from(delta.checksum));
    timestamp(w, delta.at_ns);
}

fn subscription_fields(
    w: &mut ObjectWriter<'_>,
    catalog: &Catalog,
    channel: Channel,
    symbol: Option<SymbolId>,
) {
    w.str("channel", channel.as_str())
        .opt_str("symbol", symbol.map(|s| catalog.symbol_name(s)));
}

/// The ticker (MARKET_DATA), also a REST answer.
fn ticker_fields(w: &mut ObjectWriter<'_>, catalog: &Catalog, t: &Ticker) {
    let Some(sym) = catalog.symbol(t.symbol) else {
        return;
    };
    w.str("channel", Channel::Ticker.as_str())
        .str("symbol", &sym.spec.name);
    price_field(w, "last", sym, t.last);
    price_field(w, "price", sym, t.last);
    price_field(w, "bid", sym, t.bid.map(|l| l.price));
    price_field(w, "ask", sym, t.ask.map(|l| l.price));
    w.str_with("bid_size", |o| {
        sym.write_qty(t.bid.map_or(engine::Qty(0), |l| l.qty), o)
    })
    .str_with("ask_size", |o| {
        sym.write_qty(t.ask.map_or(engine::Qty(0), |l| l.qty), o)
    })
    .str_with("volume_24h", |o| {
        sym.write_qty(
            engine::Qty(i64::try_from(t.volume_lots).unwrap_or(i64::MAX)),
            o,
        )
    });
    price_field(w, "high_24h", sym, t.high);
    price_field(w, "low_24h", sym, t.low);
    w.u64("sequence_id", t.sequence_id);
    timestamp(w, t.at_ns);
}

/// A candle (a channel frame, or an element of the REST list).
fn candle_fields(
    w: &mut ObjectWriter<'_>,
    catalog: &Catalog,
    candle: &market::Candle,
    closed: bool,
) {
    let Some(sym) = catalog.symbol(candle.symbol) else {
        return;
    };
    w.str("channel", Channel::Candles.as_str())
        .str("symbol", &sym.spec.name)
        .str("interval", candle.interval.as_str())
        .str_with("open_time", |o| write_iso8601(candle.open_ns, o))
        .str_with("close_time", |o| write_iso8601(candle.close_ns(), o))
        .str_with("open", |o| sym.write_price(candle.open, o))
        .str_with("high", |o| sym.write_price(candle.high, o))
        .str_with("low", |o| sym.write_price(candle.low, o))
        .str_with("close", |o| sym.write_price(candle.close, o))
        .str_with("volume", |o| sym.write_qty(candle.volume, o))
        .u64("trades", candle.trades)
        .bool("closed", closed);
}

/// A HEARTBEAT body (without `seq`): the latest account sequence of the connection's account (`null` when it
/// has none) and each symbol's latest book sequence and trade id, so that silent loss shows.
pub fn heartbeat(
    out: &mut String,
    at_ns: u64,
    account_seq: Option<u64>,
    catalog: &Catalog,
    latest: impl Fn(usize) -> (u64, u64),
) {
    let mut w = ObjectWriter::new(out);
    w.str("type", "HEARTBEAT")
        .str("channel", Channel::Heartbeat.as_str());
    timestamp(&mut w, at_ns);
    match account_seq {
        Some(seq) => w.u64("account_seq", seq),
        None => w.raw("account_seq", "null"),
    };
    w.with("symbols", |o| {
        o.push('{');
        for (i, sym) in catalog.symbols().iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            crate::json::write_escaped(&sym.spec.name, o);
            o.push(':');
            let (book_sequence, trade_id) = latest(i);
            let mut sw = ObjectWriter::new(o);
            sw.u64("book_sequence", book_sequence)
                .u64("trade_id", trade_id);
            sw.end();
        }
        o.push('}');
    });
    w.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use exchange::Topic;

    #[test]
    fn amounts_format_with_fixed_decimals() {
        let mut s = String::new();
        write_amount(2, 12345, &mut s);
        assert_eq!(s, "123.45");
        s.clear();
        write_amount(7, -5, &mut s);
        assert_eq!(s, "-0.0000005");
        s.clear();
        write_amount(0, 42, &mut s);
        assert_eq!(s, "42");
        s.clear();
        write_amount(3, i128::MIN + 1, &mut s);
        assert!(s.starts_with('-'));
    }

    #[test]
    fn error_is_valid_json_with_echoed_request_id() {
        let mut s = String::new();
        let rid = RequestId::from_json("\"abc\"");
        error(
            &mut s,
            Some(&rid),
            ErrorCode::UnknownType,
            "unknown message type \"X\"",
            &error_details(Some("type"), Some("X")),
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["type"], "ERROR");
        assert_eq!(v["request_id"], "abc");
        assert_eq!(v["code"], "UNKNOWN_TYPE");
        assert_eq!(v["details"]["field"], "type");
    }

    #[test]
    fn unknown_outcome_keeps_what_reconciliation_needs() {
        let mut s = String::new();
        unknown_outcome(
            &mut s,
            Some(&RequestId::from_json("7")),
            Some("c-1"),
            Some("BTC/USD"),
        );
        let error: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(error["type"], "ERROR");
        assert_eq!(error["code"], "UNKNOWN_OUTCOME");
        assert_eq!(error["request_id"], 7);
        assert_eq!(error["details"]["client_order_id"], "c-1");
        assert_eq!(error["details"]["symbol"], "BTC/USD");
        assert!(error.get("order_id").is_none(), "the outcome is unknown");
    }

    #[test]
    fn a_frame_is_the_body_with_seq_first() {
        let catalog = test_catalog();
        let message = Message::Pong {
            rid: Some(RequestId::from_json("1")),
            at_ns: 0,
        };
        let mut body = String::new();
        render(&message, &catalog, &mut body);
        let mut spliced = String::new();
        crate::splice_seq(9, &body, &mut spliced);
        let mut frame = String::new();
        render_frame(9, &message, &catalog, &mut frame);
        assert_eq!(frame, spliced);
        assert_eq!(
            frame,
            r#"{"seq":9,"type":"PONG","request_id":1,"timestamp":"1970-01-01T00:00:00.000000Z"}"#
        );
    }

    #[test]
    fn every_topic_subscribes_with_its_channel_symbol_and_interval() {
        let catalog = test_catalog();
        let btc = SymbolId(0);
        let cases = [
            (
                Topic::Trades(btc),
                r#""channel":"TRADES","symbol":"BTC/USD"}"#,
            ),
            (
                Topic::Candles(btc, market::Interval::M5),
                r#""channel":"CANDLES","symbol":"BTC/USD","interval":"5m"}"#,
            ),
            (Topic::Heartbeat, r#""channel":"HEARTBEAT","symbol":null}"#),
        ];
        for (topic, tail) in cases {
            let mut s = String::new();
            render(&Message::Subscribed { rid: None, topic }, &catalog, &mut s);
            assert!(s.ends_with(tail), "{s}");
        }
    }

    fn test_catalog() -> Catalog {
        let spec = engine::SymbolSpec {
            name: "BTC/USD".into(),
            base: "BTC".into(),
            quote: "USD".into(),
            tick: engine::Increment::from_str_positive("0.01").unwrap(),
            lot: engine::Increment::from_str_positive("0.00001").unwrap(),
            min_qty: engine::Qty(1),
            max_qty: engine::Qty(1 << 40),
            min_notional: engine::Amount(0),
        };
        let engine = engine::Engine::new(engine::EngineConfig {
            symbols: vec![spec],
            ..Default::default()
        })
        .unwrap();
        Catalog::from_engine(&engine)
    }
}
