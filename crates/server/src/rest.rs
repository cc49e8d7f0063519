//! REST on the native listener under `/api/v1`: the ground truth a bot reconciles against. The
//! parameters are parsed here into a typed [`Query`]; the core answers it on the engine thread,
//! so the answer is exactly the exchange's state at that moment; the body is rendered here, on
//! this request's task.
//!
//! The same router serves the original simulator's later REST API ([`crate::original`]): order
//! placement and cancellation, `/balance`, `/position`, `/prices`, `/health`, with the REST
//! faults it had (a per-session rate limit with escalating bans, a log-normal latency) when the
//! configuration names them.

// The error side of these helpers is the HTTP response itself, handed straight to axum: boxing
// it would only add an allocation per refused request.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query as Params, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use engine::{ClientOrderId, OrderId, OrderRef, SymbolId};
use exchange::{Catalog, Query, RestAuth};
use faults::FaultInjector;
use market::Interval;
use protocol::rest::{rest_error, RestReply};
use protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};

use crate::engine_thread::Envelope;
use crate::original;
use crate::price_history::PriceHistory;

/// What the REST routes are built from.
pub struct RestContext {
    pub engine: mpsc::Sender<Envelope>,
    pub catalog: Arc<Catalog>,
    /// The fault layer (only its REST faults, `rate_limit` and `latency`, act on REST).
    pub injector: FaultInjector,
    /// When the server started: the fault layer's clock counts from here.
    pub started: Instant,
    /// The ticker interval: how often `/api/v1/prices` samples.
    pub tick_interval: Duration,
}

/// What the REST routes share.
#[derive(Clone)]
pub(crate) struct RestState {
    pub(crate) engine: mpsc::Sender<Envelope>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) injector: FaultInjector,
    pub(crate) started: Instant,
    pub(crate) prices: Arc<PriceHistory>,
    /// The REST sessions seen (the original's `X-Session-ID`), at most
    /// [`original::REST_SESSIONS_MAX`].
    pub(crate) sessions: Arc<Mutex<HashSet<String>>>,
}

/// The REST routes: `/api/v1/...` (ours and the original's) and the original's `/health`. Every
/// route but the two health checks passes the REST faults first. Starts the price history's
/// sampling, which ends with the engine.
pub fn routes(ctx: RestContext) -> Router {
    let prices = Arc::new(PriceHistory::default());
    tokio::spawn(crate::price_history::record(
        ctx.engine.clone(),
        prices.clone(),
        ctx.tick_interval,
    ));
    let state = RestState {
        engine: ctx.engine,
        catalog: ctx.catalog,
        injector: ctx.injector,
        started: ctx.started,
        prices,
        sessions: Arc::new(Mutex::new(HashSet::new())),
    };
    Router::new()
        .route("/api/v1/symbols", get(symbols))
        .route("/api/v1/orderbook", get(orderbook))
        .route("/api/v1/trades", get(trades))
        .route("/api/v1/ticker", get(ticker))
        .route("/api/v1/accounts", get(accounts))
        .route("/api/v1/balances", get(balances))
        .route("/api/v1/orders", get(orders).post(original::place))
        .route(
            "/api/v1/orders/{order_id}",
            get(order).delete(original::cancel),
        )
        .route("/api/v1/fills", get(fills))
        .route("/api/v1/candles", get(candles))
        .route("/api/v1/balance", get(original::balance))
        .route("/api/v1/position", get(original::position))
        .route("/api/v1/prices", get(original::prices))
        .route_layer(middleware::from_fn_with_state(state.clone(), rest_faults))
        .route("/api/v1/health", get(health))
        .route("/health", get(original::health))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// The original's REST faults: a session over its rate limit gets 429 (with `Retry-After`
/// unless banned for good), every other request waits the latency's draws before it is handled
/// and before its answer leaves. Nothing unless the configuration names them.
async fn rest_faults(State(state): State<RestState>, request: Request, next: Next) -> Response {
    let session = original::session_name(request.headers());
    let now_ms = u64::try_from(state.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let verdict = state.injector.rest_request(&session, now_ms);
    if let Some(refusal) = verdict.refusal {
        tracing::debug!(session, retry_after_s = ?refusal.retry_after_s, "REST rate limited");
        return original::too_many_requests(&refusal);
    }
    if verdict.request_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(verdict.request_delay_ms)).await;
    }
    let response = next.run(request).await;
    if verdict.response_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(verdict.response_delay_ms)).await;
    }
    response
}

/// Every REST request at debug level: method, path, status and how long it took.
async fn log_request(request: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "REST request"
    );
    response
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
    match ask_core(state, |reply| Envelope::Ask { query, reply }).await {
        Ok(answer) => json_response(protocol::rest::answer(&answer, &state.catalog)),
        Err(response) => *response,
    }
}

/// Sends the engine thread what `envelope` makes of a reply channel, and waits for the answer.
pub(crate) async fn ask_core(
    state: &RestState,
    envelope: impl FnOnce(oneshot::Sender<exchange::Answer>) -> Envelope,
) -> Result<exchange::Answer, Box<Response>> {
    let (reply, answer) = oneshot::channel();
    if state.engine.send(envelope(reply)).await.is_err() {
        return Err(Box::new(unavailable()));
    }
    answer.await.map_err(|_| Box::new(unavailable()))
}

pub(crate) fn unavailable() -> Response {
    json_response(rest_error(
        503,
        ErrorCode::ExchangeUnavailable,
        "the exchange is stopping",
    ))
}

pub(crate) fn auth(headers: &HeaderMap, params: &HashMap<String, String>) -> RestAuth {
    RestAuth {
        api_key: headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        account: params.get("account").cloned(),
    }
}

pub(crate) fn number(
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
pub(crate) fn symbol(
    state: &RestState,
    params: &HashMap<String, String>,
) -> Result<SymbolId, RestReply> {
    let name = params.get("symbol").ok_or_else(|| {
        rest_error(
            400,
            ErrorCode::MissingField,
            "missing query parameter `symbol`",
        )
    })?;
    known_symbol(state, name)
}

pub(crate) fn known_symbol(state: &RestState, name: &str) -> Result<SymbolId, RestReply> {
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
        Some(name) => match known_symbol(&state, name) {
            Ok(s) => Query::Ticker { symbol: Some(s) },
            Err(refusal) => return json_response(refusal),
        },
        None => Query::Ticker { symbol: None },
    };
    match ask_core(&state, |reply| Envelope::Ask { query, reply }).await {
        Ok(answer) => {
            let (status, body) = protocol::rest::answer(&answer, &state.catalog);
            json_response((status, original::with_last_price(body)))
        }
        Err(response) => *response,
    }
}

async fn accounts(State(state): Shared) -> Response {
    ask(&state, Ok(Query::Accounts)).await
}

async fn balances(State(state): Shared, headers: HeaderMap, Params(params): Map) -> Response {
    ask(&state, Ok(Query::Balances(auth(&headers, &params)))).await
}

async fn orders(State(state): Shared, headers: HeaderMap, Params(params): Map) -> Response {
    // Without an API key or `?account=`: the original's REST session (its orders, its shape).
    if original::is_session_request(&headers, &params) {
        return original::orders(&state, &headers, &params).await;
    }
    ask(&state, Ok(Query::Orders(auth(&headers, &params)))).await
}

async fn order(
    State(state): Shared,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    Params(params): Map,
) -> Response {
    let target = order_ref(&order_id);
    if original::is_session_request(&headers, &params) {
        return original::order(&state, &headers, target).await;
    }
    ask(&state, Ok(Query::Order(auth(&headers, &params), target))).await
}

/// An order by the exchange's id, else by the client's; anything else names no order.
pub(crate) fn order_ref(order_id: &str) -> OrderRef {
    match order_id.parse::<u64>() {
        Ok(n) => OrderRef::Id(OrderId(n)),
        Err(_) => match ClientOrderId::new(order_id) {
            Some(c) => OrderRef::Client(c),
            None => OrderRef::Id(OrderId(0)),
        },
    }
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
