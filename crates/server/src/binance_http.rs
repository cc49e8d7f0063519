//! The Binance listener: REST under `/api/v3` (and `/api/v1`), market streams on `/ws`,
//! `/ws/<stream>` and `/stream?streams=`, the WebSocket API on `/ws-api/v3`. Binance's request
//! weights and order counts are enforced here ([`crate::binance_limits`]); every body is JSON,
//! errors included, in Binance's shape.
//!
//! A REST request is planned by the `binance` crate (its route, parameters and signature); a
//! question or a call goes to the engine thread like the native REST's, and the answer is
//! rendered on this request's task.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use binance::rest::{Plan, Work};
use binance::{ApiError, Context, Keys};
use exchange::{Answer, Caller};
use faults::{HttpError, HttpOutcome, HttpRequestMeta, HttpVerdict};
use tokio::sync::{oneshot, Semaphore};

use crate::binance_limits::{RateLimits, Refusal, Usage};
use crate::connection::ConnContext;
use crate::dialect::Dialect;
use crate::engine_thread::Envelope;
use crate::listener::Peer;

/// The largest REST body read (Binance's requests are a few hundred bytes of form fields).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The API keys of the configured accounts, and the rule for keys nobody has.
#[derive(Debug)]
pub struct ServerKeys {
    /// Configured API key to its secret and its account's name.
    accounts: HashMap<String, (String, String)>,
    /// An unknown key opens its own account, whose secret is the key.
    open_accounts: bool,
}

impl ServerKeys {
    pub fn new(config: &crate::Config) -> ServerKeys {
        let accounts = config
            .accounts
            .iter()
            .map(|(name, a)| {
                let secret = a.api_secret.clone().unwrap_or_else(|| a.api_key.clone());
                (a.api_key.clone(), (secret, name.clone()))
            })
            .collect();
        ServerKeys {
            accounts,
            open_accounts: config.server.binance.open_accounts,
        }
    }

    /// The name of the account a caller acts for (what fault filters name).
    fn account_name<'c>(&'c self, caller: &'c Caller) -> &'c str {
        match caller {
            Caller::ApiKey(key) => self.accounts.get(key).map_or(key, |(_, name)| name),
            Caller::OpeningKey(key) => key,
            Caller::Anonymous(name) | Caller::Session(name) => name,
        }
    }
}

impl Keys for ServerKeys {
    fn lookup(&self, api_key: &str) -> Option<(Cow<'_, str>, Caller)> {
        match self.accounts.get(api_key) {
            Some((secret, _)) => Some((Cow::Borrowed(secret), Caller::ApiKey(api_key.to_owned()))),
            None if self.open_accounts => Some((
                Cow::Owned(api_key.to_owned()),
                Caller::OpeningKey(api_key.to_owned()),
            )),
            None => None,
        }
    }
}

/// What the Binance listener's handlers share.
#[derive(Clone)]
pub(crate) struct BinanceState {
    pub ctx: Arc<ConnContext>,
    /// Connection ids, shared with the native listener.
    pub next_conn: Arc<AtomicU64>,
    /// Connection slots, shared with the native listener.
    pub slots: Arc<Semaphore>,
    pub limits: Arc<RateLimits>,
    pub keys: Arc<ServerKeys>,
}

/// The listener's routes.
pub(crate) fn routes(state: BinanceState) -> Router {
    Router::new()
        .route("/api/{*route}", any(rest))
        .route("/ws", get(streams_raw))
        .route("/ws/{*names}", get(streams_named))
        .route("/stream", get(streams_combined))
        .route("/ws-api/v3", get(ws_api))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

/// The Unix time in milliseconds.
fn unix_ms() -> u64 {
    crate::engine_thread::now_ns() / 1_000_000
}

/// A Binance REST request.
async fn rest(
    State(state): State<BinanceState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault_ms = state.ctx.now_ms();
    let faulty = state.ctx.injector.is_enabled();
    let skew_ms = if faulty {
        state.ctx.injector.clock_skew_ms(fault_ms)
    } else {
        0
    };
    // The server's clock as clients see it: `clock_skew` moves it.
    let now_ms = unix_ms().saturating_add_signed(skew_ms);
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    let Some(base_weight) = binance::rest::base_weight(method.as_str(), path) else {
        return error(&ApiError::not_found(), None);
    };
    let body = match std::str::from_utf8(&body) {
        Ok(body) => body,
        Err(_) => return error(&ApiError::illegal_chars("body"), None),
    };
    let api_key = headers.get("x-mbx-apikey").and_then(|v| v.to_str().ok());
    let venue = &state.ctx.wire.venue;
    let cx = Context {
        venue,
        keys: state.keys.as_ref(),
        now_ms,
        generated_id: crate::secrets::client_order_id(),
    };
    let plan = binance::rest::plan(method.as_str(), path, query, body, api_key, &cx);
    let weight = plan.as_ref().map_or(base_weight, |p| p.weight);
    let mut usage = match state.limits.admit(peer.addr.ip(), weight, now_ms) {
        Ok(usage) => usage,
        Err((refusal, usage)) => return refused(refusal, usage),
    };
    let account = match &plan {
        Ok(Plan {
            work: Work::Call(call),
            ..
        }) => Some(state.keys.account_name(&call.caller).to_owned()),
        _ => None,
    };
    let verdict = if faulty {
        let client = api_key.map_or_else(|| peer.addr.ip().to_string(), str::to_owned);
        let meta =
            HttpRequestMeta::new(method.as_str(), path, &client).with_account(account.as_deref());
        state.ctx.injector.binance_rest(&meta, fault_ms)
    } else {
        HttpVerdict::default()
    };
    if verdict.request_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(verdict.request_delay_ms)).await;
    }
    // Refused or lost on its way in: not carried out, whatever the request was.
    match verdict.outcome {
        HttpOutcome::Refuse(e) => return fault_error(&state, e, usage),
        HttpOutcome::Hang { hold_ms } => return hang(&peer, hold_ms).await,
        _ => {}
    }
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => return error(&e, Some(usage)),
    };
    if plan.places {
        match state
            .limits
            .admit_order(account.as_deref().unwrap_or(""), now_ms)
        {
            Ok(counts) => usage.orders = Some(counts),
            Err(refusal) => return refused(refusal, usage),
        }
    }
    let Plan { work, reading, .. } = plan;
    let (status, body) = match work {
        Work::Now(body) => (200, body),
        Work::Query(query) => match ask(&state, |reply| Envelope::Ask { query, reply }).await {
            Some(answer) => binance::rest::render(&answer, &reading, &cx),
            None => (503, ApiError::unavailable().body()),
        },
        Work::Call(call) => match ask(&state, |reply| Envelope::Call { call, reply }).await {
            Some(answer) => binance::rest::render(&answer, &reading, &cx),
            None => (503, ApiError::unavailable().body()),
        },
    };
    // Carried out; what the client hears may be something else.
    match verdict.outcome {
        HttpOutcome::ExecuteThenError(e) => return fault_error(&state, e, usage),
        HttpOutcome::ExecuteThenHang { hold_ms } => return hang(&peer, hold_ms).await,
        _ => {}
    }
    if verdict.response_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(verdict.response_delay_ms)).await;
    }
    reply(status, body, usage)
}

/// A fault's answer, as Binance gives it for the same cause.
fn fault_error(state: &BinanceState, e: HttpError, usage: Usage) -> Response {
    let api = match e {
        HttpError::Unavailable => ApiError::unavailable(),
        HttpError::Overloaded => ApiError::overloaded(),
        HttpError::UnknownOutcome => ApiError::timeout(),
        HttpError::ServerError { status } => ApiError::server_error(status),
        HttpError::TooManyRequests { .. } => {
            ApiError::too_many_requests(state.ctx.wire.venue.limits.request_weight_per_minute)
        }
        // The fault layer counts from the server's start; Binance says a wall-clock time.
        HttpError::Banned { until_ms, .. } => {
            ApiError::banned(state.ctx.wire.unix_ms_at_start.saturating_add(until_ms))
        }
    };
    let mut response = error(&api, Some(usage));
    if let Some(seconds) = e.retry_after_s() {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, number(seconds));
    }
    response
}

/// Holds the request, then ends the connection without an answer (a reset: whatever is written
/// after the flag is swallowed).
async fn hang(peer: &Peer, hold_ms: u64) -> Response {
    tokio::time::sleep(Duration::from_millis(hold_ms)).await;
    peer.reset.store(true, std::sync::atomic::Ordering::Release);
    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        HeaderValue::from_static("close"),
    );
    response
}

/// Hands the engine thread a question and waits for its answer (`None`: the engine stopped).
async fn ask(
    state: &BinanceState,
    envelope: impl FnOnce(oneshot::Sender<Answer>) -> Envelope,
) -> Option<Answer> {
    let (reply, answer) = oneshot::channel();
    state.ctx.engine.send(envelope(reply)).await.ok()?;
    answer.await.ok()
}

/// A JSON answer with Binance's usage headers.
fn reply(status: u16, body: String, usage: Usage) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    headers.insert("x-mbx-used-weight-1m", number(usage.weight_1m.into()));
    headers.insert("x-mbx-used-weight", number(usage.weight_1m.into()));
    if let Some((ten, day)) = usage.orders {
        headers.insert("x-mbx-order-count-10s", number(ten.into()));
        headers.insert("x-mbx-order-count-1d", number(day.into()));
    }
    response
}

fn number(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

/// An error answer (with the usage headers when the request was counted).
fn error(e: &ApiError, usage: Option<Usage>) -> Response {
    reply(e.status, e.body(), usage.unwrap_or_default())
}

/// A request over a limit: 429 (or 418 for a ban) with `Retry-After`.
fn refused(refusal: Refusal, usage: Usage) -> Response {
    let (e, retry_after_s) = match refusal {
        Refusal::Weight {
            retry_after_s,
            limit,
        } => (ApiError::too_many_requests(limit), retry_after_s),
        Refusal::Banned {
            until_ms,
            retry_after_s,
        } => (ApiError::banned(until_ms), retry_after_s),
        Refusal::Orders {
            retry_after_s,
            limit,
            interval,
        } => (ApiError::too_many_orders(limit, interval), retry_after_s),
    };
    let mut response = error(&e, Some(usage));
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, number(retry_after_s));
    response
}

/// Anything else on the Binance listener: 404 in Binance's shape, with the way out for the usual
/// cause (a client asking for an API this exchange does not serve, ccxt's `sapi` above all).
async fn not_found(uri: Uri) -> Response {
    let msg = if uri.path().starts_with("/sapi") || uri.path().starts_with("/fapi") {
        format!(
            "{} is not served: this exchange speaks Binance Spot under /api/v3 only. With ccxt, \
             set options fetchCurrencies=false, fetchMargins=false and fetchMarkets \
             types=['spot'] (see docs/BINANCE.md).",
            uri.path()
        )
    } else {
        format!(
            "{} is not served on the Binance listener (see docs/BINANCE.md).",
            uri.path()
        )
    };
    let e = ApiError {
        status: 404,
        code: -1000,
        msg: msg.into(),
    };
    error(&e, None)
}

/// Errors axum makes itself (a body over the limit, a bad method) in Binance's JSON shape.
async fn json_errors(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let status = response.status();
    let closing = response
        .headers()
        .contains_key(axum::http::header::CONNECTION);
    if is_json || closing || status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
        return response;
    }
    let e = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(MAX_BODY_BYTES),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::method_not_allowed(),
        other => ApiError {
            status: other.as_u16(),
            code: -1000,
            msg: other.canonical_reason().unwrap_or("error").into(),
        },
    };
    error(&e, None)
}

async fn streams_raw(
    State(state): State<BinanceState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(
        state,
        peer,
        ws,
        Dialect::BinanceStreams { combined: false },
        Vec::new(),
    )
}

async fn streams_named(
    State(state): State<BinanceState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(names): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let names = names.split('/').map(str::to_owned).collect();
    upgrade(
        state,
        peer,
        ws,
        Dialect::BinanceStreams { combined: false },
        names,
    )
}

async fn streams_combined(
    State(state): State<BinanceState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    let names = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "streams")
        .flat_map(|(_, v)| v.split('/').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    upgrade(
        state,
        peer,
        ws,
        Dialect::BinanceStreams { combined: true },
        names,
    )
}

async fn ws_api(
    State(state): State<BinanceState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(state, peer, ws, Dialect::BinanceApi, Vec::new())
}

/// Accepts a WebSocket on the Binance listener, unless an outage refuses it or every slot is
/// taken.
fn upgrade(
    state: BinanceState,
    peer: Peer,
    ws: WebSocketUpgrade,
    dialect: Dialect,
    streams: Vec<String>,
) -> Response {
    let ctx = state.ctx.clone();
    if ctx.injector.is_enabled() && !ctx.injector.accept_connection(ctx.now_ms()) {
        return error(&ApiError::unavailable(), None);
    }
    let Ok(permit) = state.slots.clone().try_acquire_owned() else {
        let e = ApiError {
            status: 503,
            code: -1000,
            msg: "Too many connections.".into(),
        };
        return error(&e, None);
    };
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    crate::server::sized(ws, &ctx.config).on_upgrade(move |socket| async move {
        crate::connection::run(socket, conn, peer, dialect, streams, ctx).await;
        drop(permit);
    })
}
