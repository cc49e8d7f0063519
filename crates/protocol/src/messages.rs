//! Server messages, written straight into a `String`. Each function writes one whole JSON object
//! without `seq` (the connection splices it in, see [`crate::splice_seq`]).
//!
//! Direct answers take the request's `request_id` and echo it; channel messages name their
//! `channel`; private events carry the account's `account_seq`.

use engine::{
    Balance, BalanceChanged, CloseReason, Depth, Fill, Level, Order, OrderAmended, OrderClosed,
    OrderStatus, OrderType, Position, Price, Side, SymbolId, TimeInForce, Trade,
};

use engine::symbol::Symbol;

use crate::catalog::Catalog;
use crate::checksum::book_checksum;
use crate::codes::ErrorCode;
use crate::json::ObjectWriter;
use crate::request::{Channel, RequestId};
use crate::time::write_iso8601;

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

/// PONG.
pub fn pong(out: &mut String, rid: Option<&RequestId>, ts_ns: u64) {
    let mut w = ObjectWriter::new(out);
    w.str("type", "PONG");
    request_id(&mut w, rid);
    timestamp(&mut w, ts_ns);
    w.end();
}

/// ERROR with a stable code, a readable message and details (JSON object text).
pub fn error(
    out: &mut String,
    rid: Option<&RequestId>,
    code: ErrorCode,
    message: &str,
    details_json: &str,
) {
    let mut w = ObjectWriter::new(out);
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
        order_fill(out, catalog, fill);
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

/// ORDER_ACK: the order was accepted.
pub fn order_ack(
    out: &mut String,
    rid: Option<&RequestId>,
    catalog: &Catalog,
    order: &Order,
    account_seq: u64,
) {
    let mut w = ObjectWriter::new(out);
    w.str("type", "ORDER_ACK");
    request_id(&mut w, rid);
    order_fields(&mut w, catalog, order);
    w.u64("account_seq", account_seq);
    w.end();
}

/// ORDER_REJECT: the order was refused and nothing changed.
#[allow(clippy::too_many_arguments)]
pub fn order_reject(
    out: &mut String,
    rid: Option<&RequestId>,
    code: ErrorCode,
    reason: &str,
    symbol: Option<&str>,
    client_order_id: Option<&str>,
    details_json: &str,
    ts_ns: u64,
) {
    let mut w = ObjectWriter::new(out);
    w.str("type", "ORDER_REJECT");
    request_id(&mut w, rid);
    w.str("status", "REJECTED")
        .str("code", code.as_str())
        .str("reason", reason)
        .opt_str("symbol", symbol)
        .opt_str("client_order_id", client_order_id)
        .raw("details", details_json);
    timestamp(&mut w, ts_ns);
    w.end();
}

/// ORDER_FILL: one side of a trade, for the order's owner.
pub fn order_fill(out: &mut String, catalog: &Catalog, fill: &Fill) {
    let Some(symbol) = catalog.symbol(fill.symbol) else {
        return;
    };
    let mut w = ObjectWriter::new(out);
    w.str("type", "ORDER_FILL")
        .u64_str("fill_id", fill.fill_id.0)
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
    timestamp(&mut w, fill.ts_ns);
    w.u64("account_seq", fill.account_seq);
    w.end();
}

/// ORDER_CANCEL: an order closed by cancel (CANCELLED) or expiry (EXPIRED), with the reason.
pub fn order_cancel(
    out: &mut String,
    rid: Option<&RequestId>,
    catalog: &Catalog,
    closed: &OrderClosed,
    ts_ns: u64,
) {
    let Some(symbol) = catalog.symbol(closed.symbol) else {
        return;
    };
    let mut w = ObjectWriter::new(out);
    w.str("type", "ORDER_CANCEL");
    request_id(&mut w, rid);
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
    timestamp(&mut w, ts_ns);
    w.u64("account_seq", closed.account_seq);
    w.end();
}

/// ORDER_AMENDED: an order's quantity was reduced in place.
pub fn order_amended(
    out: &mut String,
    rid: Option<&RequestId>,
    catalog: &Catalog,
    amended: &OrderAmended,
    ts_ns: u64,
) {
    let Some(symbol) = catalog.symbol(amended.symbol) else {
        return;
    };
    let mut w = ObjectWriter::new(out);
    w.str("type", "ORDER_AMENDED");
    request_id(&mut w, rid);
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
    timestamp(&mut w, ts_ns);
    w.u64("account_seq", amended.account_seq);
    w.end();
}

fn balance_object(out: &mut String, decimals: u32, b: &Balance) {
    let mut w = ObjectWriter::new(out);
    w.str_with("total", |o| write_amount(decimals, b.total().0, o))
        .str_with("available", |o| write_amount(decimals, b.available.0, o))
        .str_with("locked", |o| write_amount(decimals, b.locked.0, o));
    w.end();
}

/// BALANCE_UPDATE for one changed asset (a private event).
pub fn balance_changed(out: &mut String, catalog: &Catalog, e: &BalanceChanged, ts_ns: u64) {
    let name = catalog.asset_name(e.asset);
    let decimals = catalog.asset_decimals(e.asset);
    let mut w = ObjectWriter::new(out);
    w.str("type", "BALANCE_UPDATE").str("asset", name);
    w.with("balances", |o| {
        o.push('{');
        crate::json::write_escaped(name, o);
        o.push(':');
        balance_object(o, decimals, &e.balance);
        o.push('}');
    });
    timestamp(&mut w, ts_ns);
    w.u64("account_seq", e.account_seq);
    w.end();
}

/// BALANCE_UPDATE with every asset (the answer to GET_BALANCE).
pub fn balances(
    out: &mut String,
    rid: Option<&RequestId>,
    catalog: &Catalog,
    balances: &[Balance],
    account_seq: u64,
    ts_ns: u64,
) {
    let mut w = ObjectWriter::new(out);
    w.str("type", "BALANCE_UPDATE");
    request_id(&mut w, rid);
    w.with("balances", |o| {
        o.push('{');
        for (i, b) in balances.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let asset = engine::AssetId(i as u32);
            crate::json::write_escaped(catalog.asset_name(asset), o);
            o.push(':');
            balance_object(o, catalog.asset_decimals(asset), b);
        }
        o.push('}');
    });
    timestamp(&mut w, ts_ns);
    w.u64("account_seq", account_seq);
    w.end();
}

/// POSITION_UPDATE: a position (after fills, or as the answer to GET_POSITION).
#[allow(clippy::too_many_arguments)]
pub fn position(
    out: &mut String,
    rid: Option<&RequestId>,
    catalog: &Catalog,
    symbol_id: SymbolId,
    position: &Position,
    unrealized: Option<i128>,
    account_seq: u64,
    ts_ns: u64,
) {
    let Some(symbol) = catalog.symbol(symbol_id) else {
        return;
    };
    let decimals = catalog.asset_decimals(symbol.quote);
    let mut w = ObjectWriter::new(out);
    w.str("type", "POSITION_UPDATE");
    request_id(&mut w, rid);
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
    price_field(&mut w, "average_price", symbol, avg);
    w.str_with("realized_pnl", |o| {
        write_amount(decimals, position.realized_pnl.0, o)
    });
    match unrealized {
        Some(u) => w.str_with("unrealized_pnl", |o| write_amount(decimals, u, o)),
        None => w.str_with("unrealized_pnl", |o| write_amount(decimals, 0, o)),
    };
    w.str("pnl_currency", catalog.asset_name(symbol.quote));
    timestamp(&mut w, ts_ns);
    w.u64("account_seq", account_seq);
    w.end();
}

/// TRADE on the TRADES channel.
pub fn trade(out: &mut String, catalog: &Catalog, t: &Trade) {
    let Some(symbol) = catalog.symbol(t.symbol) else {
        return;
    };
    let mut w = ObjectWriter::new(out);
    w.str("type", "TRADE")
        .str("channel", Channel::Trades.as_str())
        .str("symbol", &symbol.spec.name)
        .u64("trade_id", t.trade_id.0)
        .str_with("price", |o| symbol.write_price(t.price, o))
        .str_with("quantity", |o| symbol.write_qty(t.qty, o))
        .str("side", side_str(t.taker_side))
        .str("taker_side", side_str(t.taker_side));
    timestamp(&mut w, t.ts_ns);
    w.end();
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

/// The checksum of a book's top levels as the wire writes them.
pub fn depth_checksum(symbol: &Symbol, depth: &Depth) -> u32 {
    let fmt = |levels: &[Level]| -> Vec<(String, String)> {
        levels
            .iter()
            .take(crate::checksum::CHECKSUM_LEVELS)
            .map(|l| (symbol.format_price(l.price), symbol.format_qty(l.qty)))
            .collect()
    };
    let asks = fmt(&depth.asks);
    let bids = fmt(&depth.bids);
    book_checksum(
        asks.iter().map(|(p, q)| (p.as_str(), q.as_str())),
        bids.iter().map(|(p, q)| (p.as_str(), q.as_str())),
    )
}

/// ORDERBOOK_SNAPSHOT (ORDERBOOK_L2's first frame, or the answer to GET_ORDERBOOK when `channel`
/// is `None`). `checksum` is of the top 10 levels, which `depth` must include when it is that
/// deep.
#[allow(clippy::too_many_arguments)]
pub fn orderbook_snapshot(
    out: &mut String,
    rid: Option<&RequestId>,
    catalog: &Catalog,
    symbol_id: SymbolId,
    channel: Option<Channel>,
    depth: &Depth,
    checksum: u32,
    ts_ns: u64,
) {
    let Some(symbol) = catalog.symbol(symbol_id) else {
        return;
    };
    let mut w = ObjectWriter::new(out);
    w.str("type", "ORDERBOOK_SNAPSHOT");
    request_id(&mut w, rid);
    if let Some(c) = channel {
        w.str("channel", c.as_str());
    }
    w.str("symbol", &symbol.spec.name)
        .with("bids", |o| levels_array(o, symbol, &depth.bids))
        .with("asks", |o| levels_array(o, symbol, &depth.asks))
        .u64("sequence", depth.book_seq)
        .u64("checksum", checksum as u64);
    timestamp(&mut w, ts_ns);
    w.end();
}

/// ORDERBOOK_UPDATE on the ORDERBOOK channel: the top levels as a full picture.
pub fn orderbook_picture(
    out: &mut String,
    catalog: &Catalog,
    symbol_id: SymbolId,
    depth: &Depth,
    checksum: u32,
    ts_ns: u64,
) {
    let Some(symbol) = catalog.symbol(symbol_id) else {
        return;
    };
    let mut w = ObjectWriter::new(out);
    w.str("type", "ORDERBOOK_UPDATE")
        .str("channel", Channel::Orderbook.as_str())
        .str("symbol", &symbol.spec.name)
        .with("bids", |o| levels_array(o, symbol, &depth.bids))
        .with("asks", |o| levels_array(o, symbol, &depth.asks))
        .u64("sequence", depth.book_seq)
        .u64("checksum", checksum as u64);
    timestamp(&mut w, ts_ns);
    w.end();
}

/// ORDERBOOK_UPDATE on the ORDERBOOK_L2 channel: changed levels with absolute quantities ("0"
/// removes a level), covering book sequences `first_sequence..=sequence`.
#[allow(clippy::too_many_arguments)]
pub fn orderbook_delta(
    out: &mut String,
    catalog: &Catalog,
    symbol_id: SymbolId,
    bids: &[Level],
    asks: &[Level],
    first_sequence: u64,
    sequence: u64,
    checksum: u32,
    ts_ns: u64,
) {
    let Some(symbol) = catalog.symbol(symbol_id) else {
        return;
    };
    let mut w = ObjectWriter::new(out);
    w.str("type", "ORDERBOOK_UPDATE")
        .str("channel", Channel::OrderbookL2.as_str())
        .str("symbol", &symbol.spec.name)
        .with("bids", |o| levels_array(o, symbol, bids))
        .with("asks", |o| levels_array(o, symbol, asks))
        .u64("first_sequence", first_sequence)
        .u64("sequence", sequence)
        .u64("prev_sequence", first_sequence.saturating_sub(1))
        .u64("checksum", checksum as u64);
    timestamp(&mut w, ts_ns);
    w.end();
}

/// SUBSCRIBED or UNSUBSCRIBED.
pub fn subscription(
    out: &mut String,
    rid: Option<&RequestId>,
    subscribed: bool,
    channel: Channel,
    symbol: Option<&str>,
    interval: Option<&str>,
) {
    let mut w = ObjectWriter::new(out);
    w.str(
        "type",
        if subscribed {
            "SUBSCRIBED"
        } else {
            "UNSUBSCRIBED"
        },
    );
    request_id(&mut w, rid);
    w.str("channel", channel.as_str()).opt_str("symbol", symbol);
    if let Some(i) = interval {
        w.str("interval", i);
    }
    w.end();
}

/// STREAM_RESET: the server dropped messages of a stream on purpose; a fresh snapshot follows
/// where the stream has one.
pub fn stream_reset(out: &mut String, channel: Channel, symbol: Option<&str>, reason: &str) {
    let mut w = ObjectWriter::new(out);
    w.str("type", "STREAM_RESET")
        .str("channel", channel.as_str())
        .opt_str("symbol", symbol)
        .str("reason", reason);
    w.end();
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let rid = RequestId("\"abc\"".into());
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
}
