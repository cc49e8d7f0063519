//! REST under `/api/v3` (and `/api/v1`): a request's route and parameters become a plan (an
//! answer given at once, a question for the core, or a signed call for an account), and the
//! core's answer becomes Binance's body and status.
//!
//! Each route has Binance's request weight; a signed one checks `X-MBX-APIKEY`, `timestamp`,
//! `recvWindow` and the signature over the query string followed by the body.

use exchange::message::Ticker;
use exchange::{Answer, Call, CallAction, Caller, Failure, Query, StatusFilter};
use market::Interval;
use protocol::json::ObjectWriter;

use crate::account::{write_account, HistoryFilter};
use crate::context::Context;
use crate::error::{ApiError, Doing};
use crate::keys;
use crate::market::{
    write_agg_trades, write_array, write_book_tickers, write_depth, write_exchange_info,
    write_price_tickers, write_trades,
};
use crate::orders::{
    parse_new_order, parse_order_ref, write_cancelled, write_my_trade, write_order, write_placed,
    RespType,
};
use crate::params::Params;
use crate::signing::{check_timestamp, verify_rest};
use crate::tickers::{write_avg_price, write_klines, write_tickers_24h, TickerShape};
use crate::ws_api::requested_symbols;

/// What serving a request takes.
#[derive(Debug)]
pub enum Work {
    /// The body, answered without the core.
    Now(String),
    /// A question for the core.
    Query(Query),
    /// A command for an account.
    Call(Call),
}

/// How the answer to a request becomes its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    Depth,
    Trades(TradesFilter),
    AggTrades(TradesFilter),
    Klines(KlineFilter),
    AvgPrice,
    Ticker24h {
        pick: Pick,
        shape: TickerShape,
    },
    Price(Pick),
    BookTicker(Pick),
    Placed(RespType),
    Cancelled,
    Order,
    OpenOrders,
    CancelledAll,
    AllOrders(HistoryFilter),
    MyTrades(HistoryFilter),
    Account,
    CancelReplace(RespType),
    /// Answered already ([`Work::Now`]).
    Nothing,
}

/// A request, planned.
#[derive(Debug)]
pub struct Plan {
    pub work: Work,
    pub reading: Reading,
    /// Binance's request weight.
    pub weight: u32,
    /// It places an order (counted against the order limits).
    pub places: bool,
}

/// Which tickers a ticker request shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The one symbol asked for: an object.
    One,
    /// Every symbol, or the ones listed: an array.
    Many(Option<Vec<engine::SymbolId>>),
}

impl Pick {
    fn narrow<'t>(&self, tickers: &'t [Ticker]) -> (Vec<&'t Ticker>, bool) {
        match self {
            Pick::One => (tickers.iter().collect(), true),
            Pick::Many(None) => (tickers.iter().collect(), false),
            Pick::Many(Some(only)) => (
                tickers
                    .iter()
                    .filter(|t| only.contains(&t.symbol))
                    .collect(),
                false,
            ),
        }
    }
}

/// A public trades request's narrowing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradesFilter {
    pub from_id: Option<u64>,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub limit: usize,
}

/// A klines request's narrowing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KlineFilter {
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub limit: usize,
}

/// The request weight of a route before its parameters are read (what a refused request still
/// costs), or `None` for a route that does not exist.
pub fn base_weight(method: &str, path: &str) -> Option<u32> {
    let route = route_of(path)?;
    Some(match (method, route) {
        (_, "ping" | "time") => 1,
        ("GET", "exchangeInfo") => 20,
        ("GET", "depth") => 5,
        ("GET", "trades" | "historicalTrades") => 25,
        ("GET", "aggTrades" | "klines" | "uiKlines" | "avgPrice") => 2,
        ("GET", "ticker/24hr" | "ticker/price" | "ticker/bookTicker") => 2,
        ("POST", "order" | "order/test" | "order/cancelReplace") => 1,
        ("GET", "order") => 4,
        ("DELETE", "order" | "openOrders") => 1,
        ("GET", "openOrders") => 6,
        ("GET", "allOrders" | "myTrades" | "account") => 20,
        _ => 1,
    })
}

/// The route below `/api/v3/` (or `/api/v1/`).
fn route_of(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v3/")
        .or_else(|| path.strip_prefix("/api/v1/"))
}

/// Plans a request: its route, parameters and, for a signed route, its key and signature.
pub fn plan(
    method: &str,
    path: &str,
    query: &str,
    body: &str,
    api_key: Option<&str>,
    cx: &Context<'_>,
) -> Result<Plan, ApiError> {
    let route = route_of(path).ok_or_else(ApiError::not_found)?;
    let params = Params::parse(query, body)?;
    let venue = cx.venue;
    let now = |body: String, weight: u32| Plan {
        work: Work::Now(body),
        reading: Reading::Nothing,
        weight,
        places: false,
    };
    let ask = |query: Query, reading: Reading, weight: u32| Plan {
        work: Work::Query(query),
        reading,
        weight,
        places: false,
    };
    let signed = || signed(&params, api_key, query, body, cx);
    let act = |caller: Caller, action: CallAction, reading: Reading, weight: u32| Plan {
        work: Work::Call(Call { caller, action }),
        reading,
        weight,
        places: false,
    };
    Ok(match (method, route) {
        ("GET", "ping") => now("{}".into(), 1),
        ("GET", "time") => now(format!("{{\"serverTime\":{}}}", cx.now_ms), 1),
        ("GET", "exchangeInfo") => {
            let only = requested_symbols(&params, venue)?;
            let mut out = String::new();
            write_exchange_info(venue, cx.now_ms, only.as_deref(), &mut out);
            now(out, 20)
        }
        ("GET", "depth") => {
            let symbol = params.symbol(&venue.symbols)?;
            let depth = params.limit(100, 5_000)?;
            let weight = match depth {
                0..=100 => 5,
                101..=500 => 25,
                501..=1_000 => 50,
                _ => 250,
            };
            ask(Query::Orderbook { symbol, depth }, Reading::Depth, weight)
        }
        ("GET", "trades" | "historicalTrades" | "aggTrades") => {
            let symbol = params.symbol(&venue.symbols)?;
            let filter = TradesFilter {
                from_id: params.u64("fromId")?,
                start_ms: params.u64("startTime")?,
                end_ms: params.u64("endTime")?,
                limit: params.limit(500, 1_000)?,
            };
            // The whole history the exchange keeps; the filter narrows it.
            let query = Query::Trades {
                symbol,
                limit: usize::MAX,
            };
            let (reading, weight) = match route {
                "aggTrades" => (Reading::AggTrades(filter), 4),
                _ => (Reading::Trades(filter), 25),
            };
            ask(query, reading, weight)
        }
        ("GET", "klines" | "uiKlines") => {
            let symbol = params.symbol(&venue.symbols)?;
            let interval =
                Interval::parse(params.required("interval")?).ok_or_else(ApiError::bad_interval)?;
            let filter = KlineFilter {
                start_ms: params.u64("startTime")?,
                end_ms: params.u64("endTime")?,
                limit: params.limit(500, 1_000)?,
            };
            // Without a time range only the newest `limit` are needed.
            let timed = filter.start_ms.is_some() || filter.end_ms.is_some();
            let query = Query::Candles {
                symbol,
                interval,
                limit: if timed { usize::MAX } else { filter.limit },
            };
            ask(query, Reading::Klines(filter), 2)
        }
        ("GET", "avgPrice") => {
            let symbol = params.symbol(&venue.symbols)?;
            let query = Query::Candles {
                symbol,
                interval: Interval::M1,
                limit: crate::tickers::AVG_PRICE_MINUTES,
            };
            ask(query, Reading::AvgPrice, 2)
        }
        ("GET", "ticker/24hr" | "ticker/price" | "ticker/bookTicker") => {
            let one = params.get("symbol").is_some();
            let (symbol, pick, weight) = if one {
                (Some(params.symbol(&venue.symbols)?), Pick::One, 2)
            } else {
                let only = requested_symbols(&params, venue)?;
                let weight = match (route, &only) {
                    ("ticker/24hr", None) => 80,
                    ("ticker/24hr", Some(list)) => (2 * list.len() as u32).clamp(2, 80),
                    _ => 4,
                };
                (None, Pick::Many(only), weight)
            };
            let reading = match route {
                "ticker/24hr" => {
                    let shape = match params.get("type") {
                        None | Some("FULL") => TickerShape::Full,
                        Some("MINI") => TickerShape::Mini,
                        Some(_) => return Err(ApiError::illegal_chars("type")),
                    };
                    Reading::Ticker24h { pick, shape }
                }
                "ticker/price" => Reading::Price(pick),
                _ => Reading::BookTicker(pick),
            };
            ask(Query::Ticker { symbol }, reading, weight)
        }
        ("POST", "order/test") => {
            signed()?;
            parse_new_order(&params, venue, cx.generated_id)?;
            now("{}".into(), 1)
        }
        ("POST", "order") => {
            let caller = signed()?;
            let order = parse_new_order(&params, venue, cx.generated_id)?;
            let reading = Reading::Placed(order.resp);
            Plan {
                places: true,
                ..act(caller, CallAction::Place(order.order), reading, 1)
            }
        }
        ("GET" | "DELETE", "order") => {
            let caller = signed()?;
            params.symbol(&venue.symbols)?;
            let target = parse_order_ref(&params, ("orderId", "origClientOrderId"))?;
            if method == "GET" {
                act(caller, CallAction::Order(target), Reading::Order, 4)
            } else {
                act(caller, CallAction::Cancel(target), Reading::Cancelled, 1)
            }
        }
        ("POST", "order/cancelReplace") => {
            let caller = signed()?;
            let allow_failure = match params.required("cancelReplaceMode")? {
                "STOP_ON_FAILURE" => false,
                "ALLOW_FAILURE" => true,
                _ => return Err(ApiError::illegal_chars("cancelReplaceMode")),
            };
            let cancel = parse_order_ref(&params, ("cancelOrderId", "cancelOrigClientOrderId"))?;
            let place = parse_new_order(&params, venue, cx.generated_id)?;
            let action = CallAction::CancelReplace {
                cancel,
                place: place.order,
                allow_failure,
            };
            Plan {
                places: true,
                ..act(caller, action, Reading::CancelReplace(place.resp), 1)
            }
        }
        ("GET", "openOrders") => {
            let caller = signed()?;
            let symbol = params.opt_symbol(&venue.symbols)?;
            let weight = if symbol.is_some() { 6 } else { 80 };
            let action = CallAction::Orders {
                symbol,
                status: Some(StatusFilter::Open),
            };
            act(caller, action, Reading::OpenOrders, weight)
        }
        ("DELETE", "openOrders") => {
            let caller = signed()?;
            let symbol = Some(params.symbol(&venue.symbols)?);
            act(
                caller,
                CallAction::CancelAll { symbol },
                Reading::CancelledAll,
                1,
            )
        }
        ("GET", "allOrders") => {
            let caller = signed()?;
            let symbol = Some(params.symbol(&venue.symbols)?);
            let filter = HistoryFilter::parse(&params)?;
            let action = CallAction::Orders {
                symbol,
                status: None,
            };
            act(caller, action, Reading::AllOrders(filter), 20)
        }
        ("GET", "myTrades") => {
            let caller = signed()?;
            let symbol = Some(params.symbol(&venue.symbols)?);
            let filter = HistoryFilter::parse(&params)?;
            act(
                caller,
                CallAction::Fills { symbol },
                Reading::MyTrades(filter),
                20,
            )
        }
        ("GET", "account") => {
            let caller = signed()?;
            act(caller, CallAction::Balances, Reading::Account, 20)
        }
        (_, "userDataStream") => {
            return Err(ApiError {
                status: 410,
                code: -1020,
                msg: "The listenKey user data stream was retired on 2026-02-20: subscribe on the \
                      WebSocket API (/ws-api/v3) with userDataStream.subscribe.signature."
                    .into(),
            })
        }
        (_, route) if base_weight("GET", path).is_some() && is_route(route) => {
            return Err(ApiError::method_not_allowed())
        }
        _ => return Err(ApiError::not_found()),
    })
}

/// Whether a route exists under some method.
fn is_route(route: &str) -> bool {
    matches!(
        route,
        "ping"
            | "time"
            | "exchangeInfo"
            | "depth"
            | "trades"
            | "historicalTrades"
            | "aggTrades"
            | "klines"
            | "uiKlines"
            | "avgPrice"
            | "ticker/24hr"
            | "ticker/price"
            | "ticker/bookTicker"
            | "order"
            | "order/test"
            | "order/cancelReplace"
            | "openOrders"
            | "allOrders"
            | "myTrades"
            | "account"
    )
}

/// Checks a signed request: its key, timestamp and signature; who it acts for.
fn signed(
    params: &Params<'_>,
    api_key: Option<&str>,
    query: &str,
    body: &str,
    cx: &Context<'_>,
) -> Result<Caller, ApiError> {
    let (secret, caller) = keys::find(cx.keys, api_key)?;
    check_timestamp(params, cx.now_ms)?;
    let signature = params.required("signature")?;
    verify_rest(&secret, query, body, signature)?;
    Ok(caller)
}

/// The status and body of the core's answer.
pub fn render(answer: &Answer, reading: &Reading, cx: &Context<'_>) -> (u16, String) {
    let venue = cx.venue;
    let mut out = String::new();
    let doing = match *reading {
        Reading::Placed(_) | Reading::CancelReplace(_) => Doing::Placing { market: false },
        Reading::Cancelled | Reading::CancelledAll => Doing::Cancelling,
        _ => Doing::Looking,
    };
    match (reading, answer) {
        (Reading::CancelReplace(resp), Answer::Replaced { cancel, place }) => {
            return cancel_replace(cx, *resp, cancel, place.as_ref())
        }
        (_, Answer::Failed(failure)) => {
            return error_reply(&ApiError::from_failure(failure, doing))
        }
        (Reading::Depth, Answer::Book(book)) => write_depth(venue, book, &mut out),
        (Reading::Trades(f), Answer::Trades(trades)) => {
            write_trades(venue, &f.narrow(trades), &mut out)
        }
        (Reading::AggTrades(f), Answer::Trades(trades)) => {
            write_agg_trades(venue, &f.narrow(trades), &mut out)
        }
        (Reading::Klines(f), Answer::Candles(candles)) => {
            write_klines(venue, &f.narrow(candles), &mut out)
        }
        (Reading::AvgPrice, Answer::Candles(candles)) => {
            write_avg_price(venue, candles, cx.now_ms, &mut out)
        }
        (Reading::Ticker24h { pick, shape }, Answer::Ticker(t)) => {
            let (tickers, one) = pick.narrow(std::slice::from_ref(t));
            write_tickers_24h(venue, &tickers, one, *shape, &mut out)
        }
        (Reading::Ticker24h { pick, shape }, Answer::Tickers(ts)) => {
            let (tickers, one) = pick.narrow(ts);
            write_tickers_24h(venue, &tickers, one, *shape, &mut out)
        }
        (Reading::Price(pick), Answer::Ticker(t)) => {
            let (tickers, one) = pick.narrow(std::slice::from_ref(t));
            write_price_tickers(venue, &tickers, one, &mut out)
        }
        (Reading::Price(pick), Answer::Tickers(ts)) => {
            let (tickers, one) = pick.narrow(ts);
            write_price_tickers(venue, &tickers, one, &mut out)
        }
        (Reading::BookTicker(pick), Answer::Ticker(t)) => {
            let (tickers, one) = pick.narrow(std::slice::from_ref(t));
            write_book_tickers(venue, &tickers, one, &mut out)
        }
        (Reading::BookTicker(pick), Answer::Tickers(ts)) => {
            let (tickers, one) = pick.narrow(ts);
            write_book_tickers(venue, &tickers, one, &mut out)
        }
        (Reading::Placed(resp), Answer::Placed { order, fills }) => {
            write_placed(venue, order, fills, *resp, &mut out)
        }
        (Reading::Cancelled, Answer::Order(order)) => write_cancelled(venue, order, &mut out),
        (Reading::Order, Answer::Order(order)) => write_order(venue, order, &mut out),
        (Reading::OpenOrders, Answer::Orders { orders, .. }) => {
            write_array(orders, &mut out, |o, out| write_order(venue, o, out))
        }
        (Reading::CancelledAll, Answer::Orders { orders, .. }) => {
            if orders.is_empty() {
                return error_reply(&ApiError::unknown_order());
            }
            write_array(orders, &mut out, |o, out| write_cancelled(venue, o, out))
        }
        (Reading::AllOrders(f), Answer::Orders { orders, .. }) => {
            write_array(&f.orders(orders), &mut out, |o, out| {
                write_order(venue, o, out)
            })
        }
        (Reading::MyTrades(f), Answer::Fills { fills, .. }) => {
            write_array(&f.fills(fills), &mut out, |t, out| {
                write_my_trade(venue, t, out)
            })
        }
        (
            Reading::Account,
            Answer::Balances {
                balances, at_ns, ..
            },
        ) => write_account(venue, balances, *at_ns, &mut out),
        _ => return error_reply(&ApiError::unknown("unexpected answer from the exchange")),
    }
    (200, out)
}

fn error_reply(error: &ApiError) -> (u16, String) {
    (error.status, error.body())
}

/// cancelReplace's answer: 200 when both parts succeeded, 409 when one did, 400 when neither.
fn cancel_replace(
    cx: &Context<'_>,
    resp: RespType,
    cancel: &Result<engine::Order, Failure>,
    place: Option<&Result<(engine::Order, Vec<engine::Fill>), Failure>>,
) -> (u16, String) {
    let venue = cx.venue;
    let cancel_ok = cancel.is_ok();
    let place_ok = matches!(place, Some(Ok(_)));
    let result = |ok: bool| if ok { "SUCCESS" } else { "FAILURE" };
    let new_result = match place {
        None => "NOT_ATTEMPTED",
        Some(p) => result(p.is_ok()),
    };
    let mut data = String::new();
    let mut w = ObjectWriter::new(&mut data);
    w.str("cancelResult", result(cancel_ok))
        .str("newOrderResult", new_result)
        .with("cancelResponse", |o| match cancel {
            Ok(order) => write_cancelled(venue, order, o),
            Err(f) => ApiError::from_failure(f, Doing::Cancelling).write_body(o),
        })
        .with("newOrderResponse", |o| match place {
            None => o.push_str("null"),
            Some(Ok((order, fills))) => write_placed(venue, order, fills, resp, o),
            Some(Err(f)) => {
                ApiError::from_failure(f, Doing::Placing { market: false }).write_body(o)
            }
        });
    w.end();
    if cancel_ok && place_ok {
        return (200, data);
    }
    let (status, code, msg) = if cancel_ok || place_ok {
        (409, -2021, "Order cancel-replace partially failed.")
    } else {
        (400, -2022, "Order cancel-replace failed.")
    };
    let mut out = String::new();
    let mut w = ObjectWriter::new(&mut out);
    w.i64("code", code).str("msg", msg).raw("data", &data);
    w.end();
    (status, out)
}

impl TradesFilter {
    /// The trades that pass, oldest first: the first `limit` from `fromId` or the start time,
    /// else the newest `limit`.
    fn narrow(&self, trades: &[engine::Trade]) -> Vec<engine::Trade> {
        let at = |t: &engine::Trade| t.ts_ns / 1_000_000;
        let passing = trades
            .iter()
            .filter(|t| self.from_id.is_none_or(|id| t.trade_id.0 >= id))
            .filter(|t| self.start_ms.is_none_or(|s| at(t) >= s))
            .filter(|t| self.end_ms.is_none_or(|e| at(t) <= e));
        let passing: Vec<engine::Trade> = passing.copied().collect();
        take(
            passing,
            self.limit,
            self.from_id.is_some() || self.start_ms.is_some(),
        )
    }
}

impl KlineFilter {
    /// The candles that pass, oldest first.
    fn narrow(&self, candles: &[(market::Candle, bool)]) -> Vec<market::Candle> {
        let passing: Vec<market::Candle> = candles
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| self.start_ms.is_none_or(|s| c.open_ns / 1_000_000 >= s))
            .filter(|c| self.end_ms.is_none_or(|e| c.open_ns / 1_000_000 <= e))
            .collect();
        take(passing, self.limit, self.start_ms.is_some())
    }
}

/// The first `limit` items when reading from a start, else the last `limit`.
fn take<T>(mut items: Vec<T>, limit: usize, from_start: bool) -> Vec<T> {
    if from_start {
        items.truncate(limit);
    } else {
        let skip = items.len().saturating_sub(limit);
        items.drain(..skip);
    }
    items
}
