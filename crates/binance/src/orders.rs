//! Orders in Binance's words: a new order from its parameters (`LIMIT`, `MARKET` with
//! `quantity` or `quoteOrderQty`, `LIMIT_MAKER`; `GTC`/`IOC`/`FOK`; self-trade prevention), and an
//! order, a fill or a cancel written back as Binance writes them.

use engine::symbol::Symbol;
use engine::{
    Amount, ClientOrderId, CloseReason, Fill, Increment, NewOrder, Order, OrderRef, OrderStatus,
    OrderType, ParseError, Qty, Side, StpMode, SymbolId, TimeInForce,
};
use protocol::json::ObjectWriter;
use protocol::messages::write_amount;

use crate::error::ApiError;
use crate::params::Params;
use crate::venue::{ms, Venue};

/// How much of the outcome the answer to a new order shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RespType {
    Ack,
    Result,
    Full,
}

/// A new order as Binance asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    pub order: NewOrder,
    pub resp: RespType,
}

/// Parses a new order's parameters. `generated_id` is used when no `newClientOrderId` is sent (a
/// Binance order always has a client order id).
pub fn parse_new_order(
    params: &Params<'_>,
    venue: &Venue,
    generated_id: Option<ClientOrderId>,
) -> Result<OrderRequest, ApiError> {
    let symbol_id = params.symbol(&venue.symbols)?;
    let symbol = venue.symbol(symbol_id).ok_or_else(ApiError::bad_symbol)?;
    let side = match params.required("side")? {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        _ => return Err(ApiError::bad_side()),
    };
    let kind = params.required("type")?;
    let (order_type, post_only) = match kind {
        "LIMIT" => (OrderType::Limit, false),
        "LIMIT_MAKER" => (OrderType::Limit, true),
        "MARKET" => (OrderType::Market, false),
        _ => return Err(ApiError::bad_order_type()),
    };
    let time_in_force = match (kind, params.get("timeInForce")) {
        ("LIMIT", None) => return Err(ApiError::missing("timeInForce")),
        ("LIMIT", Some(tif)) => parse_time_in_force(tif)?,
        (_, Some(_)) => return Err(ApiError::not_required("timeInForce")),
        (_, None) => TimeInForce::Gtc,
    };
    let price = match (order_type, params.get("price")) {
        (OrderType::Limit, None) => return Err(ApiError::missing("price")),
        (OrderType::Limit, Some(text)) => Some(engine::Price(count(
            &symbol.spec.tick,
            text,
            "price",
            "PRICE_FILTER",
        )?)),
        (OrderType::Market, Some(_)) => return Err(ApiError::not_required("price")),
        (OrderType::Market, None) => None,
    };
    let lot_filter = if order_type == OrderType::Market {
        "MARKET_LOT_SIZE"
    } else {
        "LOT_SIZE"
    };
    let quantity = params
        .get("quantity")
        .map(|text| count(&symbol.spec.lot, text, "quantity", lot_filter))
        .transpose()?;
    let quote_budget = match (order_type, params.get("quoteOrderQty")) {
        (OrderType::Market, Some(text)) => {
            if quantity.is_some() {
                return Err(ApiError::not_required("quoteOrderQty"));
            }
            let decimals = venue.catalog.asset_decimals(symbol.quote);
            let unit = Increment {
                units: 1,
                scale: decimals,
            };
            Some(Amount(i128::from(count(
                &unit,
                text,
                "quoteOrderQty",
                "NOTIONAL",
            )?)))
        }
        (OrderType::Limit, Some(_)) => return Err(ApiError::not_required("quoteOrderQty")),
        (_, None) => None,
    };
    let qty = match (quantity, quote_budget) {
        (Some(lots), _) => Qty(lots),
        // A quote budget alone: the quantity is only an upper bound.
        (None, Some(_)) => symbol.spec.max_qty,
        (None, None) if order_type == OrderType::Market => {
            return Err(ApiError::missing_either("quantity", "quoteOrderQty"))
        }
        (None, None) => return Err(ApiError::missing("quantity")),
    };
    let stp = params
        .get("selfTradePreventionMode")
        .map(parse_stp)
        .transpose()?;
    let resp = match params.get("newOrderRespType") {
        None if kind == "LIMIT_MAKER" => RespType::Ack,
        None => RespType::Full,
        Some("ACK") => RespType::Ack,
        Some("RESULT") => RespType::Result,
        Some("FULL") => RespType::Full,
        Some(_) => return Err(ApiError::illegal_chars("newOrderRespType")),
    };
    if params.get("icebergQty").is_some() || params.get("stopPrice").is_some() {
        return Err(ApiError::unsupported_combination());
    }
    let client_order_id = params.client_order_id("newClientOrderId")?.or(generated_id);
    Ok(OrderRequest {
        order: NewOrder {
            account: engine::AccountId(0),
            symbol: symbol_id,
            side,
            order_type,
            price,
            qty,
            time_in_force,
            post_only,
            client_order_id,
            stp,
            quote_budget,
        },
        resp,
    })
}

/// The order a lookup or cancel names by the parameters `ids`: `("orderId",
/// "origClientOrderId")`, or cancelReplace's `("cancelOrderId", "cancelOrigClientOrderId")`.
pub fn parse_order_ref(params: &Params<'_>, ids: (&str, &str)) -> Result<OrderRef, ApiError> {
    if let Some(id) = params.u64(ids.0)? {
        return Ok(OrderRef::Id(engine::OrderId(id)));
    }
    match params.client_order_id(ids.1)? {
        Some(client) => Ok(OrderRef::Client(client)),
        None => Err(ApiError::missing_either(ids.0, ids.1)),
    }
}

fn parse_time_in_force(text: &str) -> Result<TimeInForce, ApiError> {
    match text {
        "GTC" => Ok(TimeInForce::Gtc),
        "IOC" => Ok(TimeInForce::Ioc),
        "FOK" => Ok(TimeInForce::Fok),
        _ => Err(ApiError::bad_time_in_force()),
    }
}

fn parse_stp(text: &str) -> Result<StpMode, ApiError> {
    match text {
        "NONE" => Ok(StpMode::None),
        "EXPIRE_TAKER" => Ok(StpMode::ExpireTaker),
        "EXPIRE_MAKER" => Ok(StpMode::ExpireMaker),
        "EXPIRE_BOTH" => Ok(StpMode::ExpireBoth),
        // DECREMENT is Binance's too, but not this engine's.
        "DECREMENT" => Err(ApiError::unsupported_combination()),
        _ => Err(ApiError::illegal_chars("selfTradePreventionMode")),
    }
}

/// Counts `text` in `increment`s: malformed is `-1100`, off the increment the filter's `-1013`.
fn count(increment: &Increment, text: &str, param: &str, filter: &str) -> Result<i64, ApiError> {
    match increment.parse(text, false) {
        Ok(n) => Ok(n),
        Err(ParseError::NotANumber) => Err(ApiError::illegal_chars(param)),
        Err(ParseError::NotPositive | ParseError::NotAMultiple | ParseError::Overflow) => {
            Err(ApiError::filter(filter))
        }
    }
}

/// Binance's name for an order status (self-trade prevention's expiry is `EXPIRED_IN_MATCH`).
pub fn status_name(status: OrderStatus, reason: Option<CloseReason>) -> &'static str {
    match status {
        OrderStatus::Pending | OrderStatus::Open => "NEW",
        OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
        OrderStatus::Filled => "FILLED",
        OrderStatus::Cancelled => "CANCELED",
        OrderStatus::Expired if reason == Some(CloseReason::SelfTradePrevention) => {
            "EXPIRED_IN_MATCH"
        }
        OrderStatus::Expired => "EXPIRED",
        OrderStatus::Rejected => "REJECTED",
    }
}

/// Binance's name for an order type.
pub fn type_name(order_type: OrderType, post_only: bool) -> &'static str {
    match (order_type, post_only) {
        (OrderType::Limit, true) => "LIMIT_MAKER",
        (OrderType::Limit, false) => "LIMIT",
        (OrderType::Market, _) => "MARKET",
    }
}

/// Binance's name for a time in force.
pub fn time_in_force_name(tif: TimeInForce) -> &'static str {
    match tif {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
    }
}

/// Binance's name for a side.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// Binance's name for a self-trade prevention mode.
pub fn stp_name(stp: StpMode) -> &'static str {
    match stp {
        StpMode::None => "NONE",
        StpMode::ExpireTaker => "EXPIRE_TAKER",
        StpMode::ExpireMaker => "EXPIRE_MAKER",
        StpMode::ExpireBoth => "EXPIRE_BOTH",
    }
}

/// The client order id as Binance shows it (an order placed without one shows an empty one).
pub fn client_id(id: Option<ClientOrderId>) -> ClientIdText {
    ClientIdText(id)
}

/// A client order id to write.
pub struct ClientIdText(Option<ClientOrderId>);

impl ClientIdText {
    pub fn as_str(&self) -> &str {
        self.0.as_ref().map_or("", |c| c.as_str())
    }
}

/// Appends a price, or `0` in the symbol's format for none (a market order's).
pub fn write_price(symbol: &Symbol, price: Option<engine::Price>, out: &mut String) {
    symbol.write_price(price.unwrap_or(engine::Price(0)), out)
}

/// Appends a quote amount with the quote asset's decimals.
pub fn write_quote(venue: &Venue, symbol: &Symbol, amount: Amount, out: &mut String) {
    write_amount(venue.catalog.asset_decimals(symbol.quote), amount.0, out)
}

/// Writes the fields every order answer shares, after `symbol`, `orderId`, `orderListId` and
/// `clientOrderId`: prices, quantities, status, type and side.
fn order_core_fields(w: &mut ObjectWriter<'_>, venue: &Venue, symbol: &Symbol, order: &Order) {
    w.str_with("price", |o| write_price(symbol, order.price, o))
        .str_with("origQty", |o| symbol.write_qty(order.qty, o))
        .str_with("executedQty", |o| symbol.write_qty(order.filled_qty, o))
        .str_with("origQuoteOrderQty", |o| {
            write_quote(venue, symbol, order.quote_budget.unwrap_or(Amount(0)), o)
        })
        .str_with("cummulativeQuoteQty", |o| {
            write_quote(venue, symbol, order.cum_quote, o)
        })
        .str("status", status_name(order.status, order.close_reason))
        .str("timeInForce", time_in_force_name(order.time_in_force))
        .str("type", type_name(order.order_type, order.post_only))
        .str("side", side_name(order.side));
}

fn order_head(w: &mut ObjectWriter<'_>, venue: &Venue, order: &Order) {
    w.str("symbol", venue.symbols.name(order.symbol))
        .u64("orderId", order.id.0)
        .i64("orderListId", -1)
        .str("clientOrderId", client_id(order.client_order_id).as_str());
}

/// An order as `GET /api/v3/order`, `openOrders` and `allOrders` show it.
pub fn write_order(venue: &Venue, order: &Order, out: &mut String) {
    let Some(symbol) = venue.symbol(order.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    order_head(&mut w, venue, order);
    order_core_fields(&mut w, venue, symbol, order);
    w.str_with("stopPrice", |o| write_price(symbol, None, o))
        .str_with("icebergQty", |o| symbol.write_qty(Qty(0), o))
        .u64("time", ms(order.created_ns))
        .u64("updateTime", ms(order.updated_ns))
        .bool("isWorking", !order.status.is_terminal())
        .u64("workingTime", ms(order.created_ns))
        .str("selfTradePreventionMode", stp_name(order.stp));
    w.end();
}

/// The answer to a new order, as much as `resp` asks for; `fills` are the order's own.
pub fn write_placed(
    venue: &Venue,
    order: &Order,
    fills: &[Fill],
    resp: RespType,
    out: &mut String,
) {
    let Some(symbol) = venue.symbol(order.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    order_head(&mut w, venue, order);
    w.u64("transactTime", ms(order.updated_ns));
    if resp != RespType::Ack {
        order_core_fields(&mut w, venue, symbol, order);
        w.u64("workingTime", ms(order.created_ns))
            .str("selfTradePreventionMode", stp_name(order.stp));
    }
    if resp == RespType::Full {
        w.with("fills", |out| {
            out.push('[');
            for (i, fill) in fills.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_fill_line(venue, symbol, fill, out);
            }
            out.push(']');
        });
    }
    w.end();
}

/// One fill in a FULL answer.
fn write_fill_line(venue: &Venue, symbol: &Symbol, fill: &Fill, out: &mut String) {
    let mut w = ObjectWriter::new(out);
    w.str_with("price", |o| symbol.write_price(fill.price, o))
        .str_with("qty", |o| symbol.write_qty(fill.qty, o))
        .str_with("commission", |o| {
            write_amount(venue.catalog.asset_decimals(fill.fee_asset), fill.fee.0, o)
        })
        .str("commissionAsset", venue.catalog.asset_name(fill.fee_asset))
        .u64("tradeId", fill.trade_id.0);
    w.end();
}

/// The answer to a cancel: the order as it stands after it.
pub fn write_cancelled(venue: &Venue, order: &Order, out: &mut String) {
    let Some(symbol) = venue.symbol(order.symbol) else {
        return out.push_str("{}");
    };
    let client = client_id(order.client_order_id);
    let mut w = ObjectWriter::new(out);
    w.str("symbol", venue.symbols.name(order.symbol))
        .str("origClientOrderId", client.as_str())
        .u64("orderId", order.id.0)
        .i64("orderListId", -1)
        .str("clientOrderId", client.as_str())
        .u64("transactTime", ms(order.updated_ns));
    order_core_fields(&mut w, venue, symbol, order);
    w.str("selfTradePreventionMode", stp_name(order.stp));
    w.end();
}

/// An account's trade as `myTrades` shows it.
pub fn write_my_trade(venue: &Venue, fill: &Fill, out: &mut String) {
    let Some(symbol) = venue.symbol(fill.symbol) else {
        return out.push_str("{}");
    };
    let quote = symbol.notional(fill.price, fill.qty).unwrap_or(Amount(0));
    let mut w = ObjectWriter::new(out);
    w.str("symbol", venue.symbols.name(fill.symbol))
        .u64("id", fill.trade_id.0)
        .u64("orderId", fill.order_id.0)
        .i64("orderListId", -1)
        .str_with("price", |o| symbol.write_price(fill.price, o))
        .str_with("qty", |o| symbol.write_qty(fill.qty, o))
        .str_with("quoteQty", |o| write_quote(venue, symbol, quote, o))
        .str_with("commission", |o| {
            write_amount(venue.catalog.asset_decimals(fill.fee_asset), fill.fee.0, o)
        })
        .str("commissionAsset", venue.catalog.asset_name(fill.fee_asset))
        .u64("time", ms(fill.ts_ns))
        .bool("isBuyer", fill.side == Side::Buy)
        .bool("isMaker", fill.is_maker)
        .bool("isBestMatch", true);
    w.end();
}

/// Whether `order` is on `symbol` (for the endpoints that take a symbol).
pub fn on_symbol(order: &Order, symbol: Option<SymbolId>) -> bool {
    symbol.is_none_or(|s| order.symbol == s)
}
