//! The user data stream's events as Binance writes them: `executionReport` for every change of
//! an order, `outboundAccountPosition` for every change of a balance, and the stream's end
//! (`eventStreamTerminated`); each inside `{"subscriptionId":N,"event":{...}}`.

use engine::{Amount, BalanceChanged, ClientOrderId, Fill, Order, OrderAmended, OrderClosed};
use engine::{OrderId, OrderStatus, OrderTerms, Qty, Side, SymbolId};
use exchange::Message;
use protocol::json::ObjectWriter;
use protocol::messages::write_amount;

use crate::orders::{
    client_id, side_name, status_name, stp_name, time_in_force_name, type_name, write_price,
    write_quote,
};
use crate::venue::{ms, Venue};

/// What an executionReport says of one order change.
struct Report {
    symbol: SymbolId,
    order_id: OrderId,
    client_order_id: Option<ClientOrderId>,
    side: Side,
    terms: OrderTerms,
    /// NEW, TRADE, CANCELED, EXPIRED, REPLACED.
    execution: &'static str,
    status: &'static str,
    filled: Qty,
    working: bool,
    at_ns: u64,
}

/// The account a private event is about, and whether this dialect shows it.
pub fn event_account(message: &Message) -> Option<engine::AccountId> {
    match message {
        Message::OrderAccepted { order, .. } => Some(order.account),
        Message::OrderFilled(fill) => Some(fill.account),
        Message::OrderClosed { closed, .. } => Some(closed.account),
        Message::OrderAmended { amended, .. } => Some(amended.account),
        Message::BalanceChanged { change, .. } => Some(change.account),
        _ => None,
    }
}

/// Appends the event for a private message (without the subscription wrapper); `false` for a
/// message the user data stream does not show (positions).
pub fn write_event(venue: &Venue, message: &Message, out: &mut String) -> bool {
    match message {
        Message::OrderAccepted { order, .. } => write_new(venue, order, out),
        Message::OrderFilled(fill) => write_trade(venue, fill, out),
        Message::OrderClosed { closed, at_ns, .. } => write_closed(venue, closed, *at_ns, out),
        Message::OrderAmended { amended, at_ns, .. } => write_amended(venue, amended, *at_ns, out),
        Message::BalanceChanged { change, at_ns } => write_balance(venue, change, *at_ns, out),
        _ => return false,
    }
    true
}

fn write_new(venue: &Venue, order: &Order, out: &mut String) {
    let report = Report {
        symbol: order.symbol,
        order_id: order.id,
        client_order_id: order.client_order_id,
        side: order.side,
        terms: order.terms(),
        execution: "NEW",
        status: "NEW",
        filled: order.filled_qty,
        working: true,
        at_ns: order.created_ns,
    };
    write_report(venue, &report, None, out);
}

fn write_trade(venue: &Venue, fill: &Fill, out: &mut String) {
    let report = Report {
        symbol: fill.symbol,
        order_id: fill.order_id,
        client_order_id: fill.client_order_id,
        side: fill.side,
        terms: fill.terms,
        execution: "TRADE",
        status: status_name(fill.status, None),
        filled: fill.filled_qty,
        working: !fill.status.is_terminal(),
        at_ns: fill.ts_ns,
    };
    write_report(venue, &report, Some(fill), out);
}

fn write_closed(venue: &Venue, closed: &OrderClosed, at_ns: u64, out: &mut String) {
    let status = status_name(closed.status, Some(closed.reason));
    let report = Report {
        symbol: closed.symbol,
        order_id: closed.order_id,
        client_order_id: closed.client_order_id,
        side: closed.side,
        terms: closed.terms,
        execution: if closed.status == OrderStatus::Cancelled {
            "CANCELED"
        } else {
            "EXPIRED"
        },
        status,
        filled: closed.filled_qty,
        working: false,
        at_ns,
    };
    write_report(venue, &report, None, out);
}

fn write_amended(venue: &Venue, amended: &OrderAmended, at_ns: u64, out: &mut String) {
    let status = if amended.filled_qty.0 > 0 {
        "PARTIALLY_FILLED"
    } else {
        "NEW"
    };
    let report = Report {
        symbol: amended.symbol,
        order_id: amended.order_id,
        client_order_id: amended.client_order_id,
        side: amended.side,
        terms: amended.terms,
        execution: "REPLACED",
        status,
        filled: amended.filled_qty,
        working: true,
        at_ns,
    };
    write_report(venue, &report, None, out);
}

/// An `executionReport`; `fill` is the trade a TRADE report is about.
fn write_report(venue: &Venue, r: &Report, fill: Option<&Fill>, out: &mut String) {
    let Some(symbol) = venue.symbol(r.symbol) else {
        return out.push_str("{}");
    };
    let client = client_id(r.client_order_id);
    let t = &r.terms;
    let mut w = ObjectWriter::new(out);
    w.str("e", "executionReport")
        .u64("E", ms(r.at_ns))
        .str("s", venue.symbols.name(r.symbol))
        .str("c", client.as_str())
        .str("S", side_name(r.side))
        .str("o", type_name(t.order_type, t.post_only))
        .str("f", time_in_force_name(t.time_in_force))
        .str_with("q", |o| symbol.write_qty(t.qty, o))
        .str_with("p", |o| write_price(symbol, t.price, o))
        .str_with("P", |o| write_price(symbol, None, o))
        .str_with("F", |o| symbol.write_qty(Qty(0), o))
        .i64("g", -1)
        .str("C", client.as_str())
        .str("x", r.execution)
        .str("X", r.status)
        .str("r", "NONE")
        .u64("i", r.order_id.0)
        .str_with("l", |o| symbol.write_qty(fill.map_or(Qty(0), |f| f.qty), o))
        .str_with("z", |o| symbol.write_qty(r.filled, o))
        .str_with("L", |o| write_price(symbol, fill.map(|f| f.price), o));
    match fill {
        Some(f) => {
            let decimals = venue.catalog.asset_decimals(f.fee_asset);
            w.str_with("n", |o| write_amount(decimals, f.fee.0, o))
                .str("N", venue.catalog.asset_name(f.fee_asset));
        }
        None => {
            w.str("n", "0").raw("N", "null");
        }
    }
    w.u64("T", ms(r.at_ns));
    match fill {
        Some(f) => w.u64("t", f.trade_id.0),
        None => w.i64("t", -1),
    };
    let last_quote = fill
        .and_then(|f| symbol.notional(f.price, f.qty))
        .unwrap_or(Amount(0));
    w.bool("w", r.working)
        .bool("m", fill.is_some_and(|f| f.is_maker))
        .bool("M", false)
        .u64("O", ms(t.created_ns))
        .str_with("Z", |o| write_quote(venue, symbol, t.cum_quote, o))
        .str_with("Y", |o| write_quote(venue, symbol, last_quote, o))
        .str_with("Q", |o| {
            write_quote(venue, symbol, t.quote_budget.unwrap_or(Amount(0)), o)
        })
        .u64("W", ms(t.created_ns))
        .str("V", stp_name(t.stp));
    w.end();
}

/// `outboundAccountPosition` with the one asset that changed.
fn write_balance(venue: &Venue, change: &BalanceChanged, at_ns: u64, out: &mut String) {
    let decimals = venue.catalog.asset_decimals(change.asset);
    let mut w = ObjectWriter::new(out);
    w.str("e", "outboundAccountPosition")
        .u64("E", ms(at_ns))
        .u64("u", ms(at_ns))
        .with("B", |out| {
            out.push('[');
            let mut b = ObjectWriter::new(out);
            b.str("a", venue.catalog.asset_name(change.asset))
                .str_with("f", |o| {
                    write_amount(decimals, change.balance.available.0, o)
                })
                .str_with("l", |o| write_amount(decimals, change.balance.locked.0, o));
            b.end();
            out.push(']');
        });
    w.end();
}

/// `{"subscriptionId":N,"event":` + event + `}`.
pub fn wrap_event(subscription: u32, event: &str, out: &mut String) {
    out.reserve(event.len() + 32);
    out.push_str("{\"subscriptionId\":");
    out.push_str(itoa::Buffer::new().format(subscription));
    out.push_str(",\"event\":");
    out.push_str(event);
    out.push('}');
}

/// The event that ends a subscription (`eventStreamTerminated`), wrapped.
pub fn write_terminated(subscription: u32, now_ms: u64, out: &mut String) {
    let mut event = String::from("{\"e\":\"eventStreamTerminated\",\"E\":");
    event.push_str(itoa::Buffer::new().format(now_ms));
    event.push('}');
    wrap_event(subscription, &event, out);
}

/// The notice that the server closes the connection soon (`serverShutdown`).
pub fn write_server_shutdown(now_ms: u64, out: &mut String) {
    out.push_str("{\"event\":{\"e\":\"serverShutdown\",\"E\":");
    out.push_str(itoa::Buffer::new().format(now_ms));
    out.push_str("}}");
}
