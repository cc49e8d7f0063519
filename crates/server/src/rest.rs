//! REST on the native listener under `/api/v1`: the ground truth a bot reconciles against. The
//! parameters are parsed here into a typed [`Query`]; the core answers it on the engine thread,
//! so the answer is exactly the exchange's state at that moment; the body is rendered here, on
//! this request's task.

// The error side of these helpers is the HTTP response itself, handed straight to axum: boxing
// it would only add an allocation per refused request.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use engine::{ClientOrderId, OrderId, OrderRef, SymbolId};
use exchange::{Catalog, Query, RestAuth};
use market::Interval;
use protocol::rest::{rest_error, RestReply};
use protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};

use crate::engine_thread::Envelope;

/// What the REST routes share.
#[derive(Clone)]
struct RestState {
    engine: mpsc::Sender<Envelope>,
    catalog: Arc<Catalog>,
}

/// Routes of `/api/v1`.
pub fn routes(engine: mpsc::Sender<Envelope>, catalog: Arc<Catalog>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/symbols", get(symbols))
        .route("/orderbook", get(orderbook))
        .route("/trades", get(trades))
        .route("/ticker", get(ticker))
        .route("/accounts", get(accounts))
        .route("/balances", get(balances))
        .route("/orders", get(orders))
        .route("/orders/{order_id}", get(order))
        .route("/fills", get(fills))
        .route("/candles", get(candles))
        .with_state(RestState { engine, catalog })
}

type Shared = State<RestState>;
type Map = Params<HashMap<String, String>>;

/// Any path the server does not serve: a JSON error like every other refusal.
pub async fn unknown_endpoint(uri: axum::http::Uri) -> Response {
    let message = format!("no endpoint at {}", uri.path());
    json_response(rest_error(404, ErrorCode::UnknownEndpoint, &message))
}

/// A served path asked with the wrong method (REST is GET only; the admin API says which).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let message = format!("{method} is not allowed on {}", uri.path());
    json_response(rest_error(405, ErrorCode::MethodNotAllowed, &message))
}

/// A JSON response with the given status.
pub fn json_response((status, body): RestReply) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Asks the core and renders its answer.
async fn ask(state: &RestState, query: Result<Query, RestReply>) -> Response {
    let query = match query {
        Ok(query) => query,
        Err(refusal) => return json_response(refusal),
    };
    let (reply, answer) = oneshot::channel();
    if state
        .engine
        .send(Envelope::Ask { query, reply })
        .await
        .is_err()
    {
        return unavailable();
    }
    match answer.await {
        Ok(answer) => json_response(protocol::rest::answer(&answer, &state.catalog)),
        Err(_) => unavailable(),
    }
}

fn unavailable() -> Response {
    json_response(rest_error(
        503,
        ErrorCode::ExchangeUnavailable,
        "the exchange is stopping",
    ))
}

fn auth(headers: &HeaderMap, params: &HashMap<String, String>) -> RestAuth {
    RestAuth {
        api_key: headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        account: params.get("account").cloned(),
    }
}

fn number(
    params: &HashMap<String, String>,
    key: &str,
    default: usize,
    max: usize,
) -> Result<usize, RestReply> {
    match params.get(key) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(max)),
            _ => Err(rest_error(
                400,
                ErrorCode::InvalidField,
                &format!("`{key}` must be a positive integer"),
            )),
        },
    }
}

/// The `symbol` parameter, by name.
fn symbol(state: &RestState, params: &HashMap<String, String>) -> Result<SymbolId, RestReply> {
    let name = params.get("symbol").ok_or_else(|| {
        rest_error(
            400,
            ErrorCode::MissingField,
            "missing query parameter `symbol`",
        )
    })?;
    known_symbol(state, name)
}

fn known_symbol(state: &RestState, name: &str) -> Result<SymbolId, RestReply> {
    state.catalog.symbol_id(name).ok_or_else(|| {
        rest_error(
            404,
            ErrorCode::UnknownSymbol,
            &format!("unknown symbol {name:?}"),
        )
    })
}

async fn health(State(state): Shared) -> Response {
    ask(&state, Ok(Query::Health)).await
}

async fn symbols(State(state): Shared) -> Response {
    json_response((200, protocol::rest::symbols(&state.catalog)))
}

async fn orderbook(State(state): Shared, Params(params): Map) -> Response {
    let query = (|| {
        Ok(Query::Orderbook {
            symbol: symbol(&state, &params)?,
            depth: number(&params, "depth", 20, protocol::request::MAX_DEPTH)?,
        })
    })();
    ask(&state, query).await
}

async fn trades(State(state): Shared, Params(params): Map) -> Response {
    let query = (|| {
        Ok(Query::Trades {
            symbol: symbol(&state, &params)?,
            limit: number(&params, "limit", 100, 1_000)?,
        })
    })();
    ask(&state, query).await
}

async fn ticker(State(state): Shared, Params(params): Map) -> Response {
    let query = match params.get("symbol") {
        Some(name) => known_symbol(&state, name).map(|s| Query::Ticker { symbol: Some(s) }),
        None => Ok(Query::Ticker { symbol: None }),
    };
    ask(&state, query).await
}

async fn accounts(State(state): Shared) -> Response {
    ask(&state, Ok(Query::Accounts)).await
}

async fn balances(State(state): Shared, headers: HeaderMap, Params(params): Map) -> Response {
    ask(&state, Ok(Query::Balances(auth(&headers, &params)))).await
}

async fn orders(State(state): Shared, headers: HeaderMap, Params(params): Map) -> Response {
    ask(&state, Ok(Query::Orders(auth(&headers, &params)))).await
}

async fn order(
    State(state): Shared,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    Params(params): Map,
) -> Response {
    // An order by the exchange's id, else by the client's; anything else names no order.
    let target = match order_id.parse::<u64>() {
        Ok(n) => OrderRef::Id(OrderId(n)),
        Err(_) => match ClientOrderId::new(&order_id) {
            Some(c) => OrderRef::Client(c),
            None => OrderRef::Id(OrderId(0)),
        },
    };
    ask(&state, Ok(Query::Order(auth(&headers, &params), target))).await
}

async fn fills(State(state): Shared, headers: HeaderMap, Params(params): Map) -> Response {
    ask(&state, Ok(Query::Fills(auth(&headers, &params)))).await
}

async fn candles(State(state): Shared, Params(params): Map) -> Response {
    let query = (|| {
        let symbol = symbol(&state, &params)?;
        let name = params.get("interval").map_or("1m", String::as_str);
        let interval = Interval::parse(name).ok_or_else(|| {
            rest_error(
                400,
                ErrorCode::InvalidField,
                "interval must be one of 1m, 5m, 15m, 1h, 1d",
            )
        })?;
        Ok(Query::Candles {
            symbol,
            interval,
            limit: number(&params, "limit", 100, 1_000)?,
        })
    })();
    ask(&state, query).await
}
