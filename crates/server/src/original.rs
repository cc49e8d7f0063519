//! The original simulator's later REST API, so that its clients work unchanged: `GET /health`,
//! `POST /api/v1/orders` (with `type`, not `order_type`), `DELETE /api/v1/orders/{id}`,
//! `GET /api/v1/orders[/{id}]` for a session, `GET /api/v1/balance`, `/position` and `/prices`.
//!
//! Accounts are the original's REST sessions: the `X-Session-ID` header names one
//! (`rest-session` without it), opened with the default balances on its first request
//! ([`exchange::Caller::Session`]). An `X-API-KEY` (a configured account) or `?account=anon-N`
//! works too. Orders are placed through the engine like any other (`exchange::Input::Call`):
//! the account's WebSocket connections hear of them, the market trades against them.
//!
//! Answers have the original's shape, with the native fields beside them (an order carries both
//! `type` and `order_type`); errors are `{"error": ..., "code": ...}`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query as Params, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::{AssetId, OrderRef, OrderStatus, Price, SymbolId};
use exchange::{Answer, Call, CallAction, Caller, Failure, Query, StatusFilter};
use faults::RestRefusal;
use serde_json::{json, Map, Value};

use crate::engine_thread::Envelope;
use crate::rest::{ask_core, known_symbol, order_ref, RestState};

/// The session of a request without `X-Session-ID`, as in the original.
pub const DEFAULT_SESSION: &str = "rest-session";

/// The most REST sessions the server opens accounts for; a new session beyond it is refused.
pub const REST_SESSIONS_MAX: usize = faults::REST_SESSIONS_MAX;

/// The longest `X-Session-ID`.
const SESSION_ID_MAX: usize = 64;

/// The most samples `/api/v1/prices` answers with.
const PRICES_LIMIT_MAX: usize = crate::price_history::PRICES_PER_SYMBOL;

type Map2 = Params<HashMap<String, String>>;

/// The request's session: `X-Session-ID`, else [`DEFAULT_SESSION`].
pub fn session_name(headers: &HeaderMap) -> String {
    headers
        .get("x-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_SESSION)
        .to_owned()
}

/// Whether a request on a route both APIs share is the original's: no API key, no `?account=`.
pub fn is_session_request(headers: &HeaderMap, params: &HashMap<String, String>) -> bool {
    !headers.contains_key("x-api-key") && !params.contains_key("account")
}

/// An error in the original's shape, with our stable code beside it.
fn refuse(status: u16, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": message, "code": code}).to_string(),
    )
        .into_response()
}

fn answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The 429 of the `rate_limit` mode, as the original sent it.
pub fn too_many_requests(refusal: &RestRefusal) -> Response {
    let mut body = json!({
        "error": refusal.message,
        "code": "RATE_LIMITED",
        "violation_count": refusal.violation_count,
    });
    let mut response = answer(StatusCode::TOO_MANY_REQUESTS, &body);
    if let Some(seconds) = refusal.retry_after_s {
        body["retry_after"] = json!(seconds);
        response = answer(StatusCode::TOO_MANY_REQUESTS, &body);
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// Who a request acts for: an API key, an anonymous account, or its REST session (validated,
/// and counted against [`REST_SESSIONS_MAX`]).
fn caller(
    state: &RestState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<Caller, Box<Response>> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Ok(Caller::ApiKey(key.to_owned()));
    }
    if let Some(name) = params.get("account") {
        return Ok(Caller::Anonymous(name.clone()));
    }
    let session = session_name(headers);
    let valid = session.len() <= SESSION_ID_MAX
        && session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if !valid {
        return Err(Box::new(refuse(
            400,
            "INVALID_FIELD",
            "X-Session-ID must be 1 to 64 letters, digits, '.', '_', ':' or '-'",
        )));
    }
    let mut sessions = state
        .sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !sessions.contains(&session) {
        if sessions.len() >= REST_SESSIONS_MAX {
            return Err(Box::new(refuse(
                503,
                "TOO_MANY_SESSIONS",
                &format!(
                    "at most {REST_SESSIONS_MAX} REST sessions: reuse an X-Session-ID, or \
                     restart the server"
                ),
            )));
        }
        sessions.insert(session.clone());
    }
    Ok(Caller::Session(session))
}

/// A failure in the original's shape and status: 400 for a refused order, 404 for an order that
/// is not there, 401/403 for who the caller is.
fn failure(failure: &Failure) -> Response {
    let (code, message, _) = protocol::messages::failure_parts(failure);
    let status = match failure {
        Failure::Reject(engine::Reject::OrderNotFound | engine::Reject::OrderClosed(_)) => 404,
        Failure::UnknownApiKey | Failure::UnknownAccount | Failure::NotLoggedIn => 401,
        Failure::AuthFailed => {
            return refuse(
                403,
                code.as_str(),
                "X-Session-ID names an account that is not a REST session (a configured, \
                 anonymous or market account): choose another",
            )
        }
        Failure::Internal(_) => 500,
        _ => 400,
    };
    refuse(status, code.as_str(), &message)
}

/// Runs a call on the engine thread.
async fn call(
    state: &RestState,
    caller: Caller,
    action: CallAction,
) -> Result<Answer, Box<Response>> {
    let call = Call { caller, action };
    match ask_core(state, |reply| Envelope::Call { call, reply }).await? {
        Answer::Failed(f) => Err(Box::new(failure(&f))),
        answer => Ok(answer),
    }
}

/// An order as the original showed it (`type`, `updated_at`) with every native field beside.
fn order_json(state: &RestState, order: &engine::Order) -> Value {
    let (_, body) = protocol::rest::answer(&Answer::Order(*order), &state.catalog);
    let mut value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        if let Some(kind) = map.get("order_type").cloned() {
            map.insert("type".into(), kind);
        }
        if let Some(updated) = map.get("timestamp").cloned() {
            map.insert("updated_at".into(), updated);
        }
    }
    value
}

/// Adds the original's `last_price` (the native `last`) to a ticker body or a list of them.
pub fn with_last_price(body: String) -> String {
    let Ok(mut value) = serde_json::from_str::<Value>(&body) else {
        return body;
    };
    let add = |ticker: &mut Value| {
        if let Value::Object(map) = ticker {
            if let Some(last) = map.get("last").cloned() {
                map.insert("last_price".into(), last);
            }
        }
    };
    match &mut value {
        Value::Array(tickers) => tickers.iter_mut().for_each(add),
        ticker => add(ticker),
    }
    value.to_string()
}

/// `GET /health`: the original's answer, once the core has answered.
pub async fn health(State(state): State<RestState>) -> Response {
    let query = Query::Health;
    match ask_core(&state, |reply| Envelope::Ask { query, reply }).await {
        Ok(Answer::Health(health)) => answer(
            StatusCode::OK,
            &json!({
                "status": "ok",
                "service": "crypto-exchange-simulator",
                "uptime_s": health.uptime_ns / 1_000_000_000,
                "connections": health.connections,
            }),
        ),
        Ok(_) => refuse(500, "INTERNAL_ERROR", "unexpected answer"),
        Err(response) => *response,
    }
}

/// A decimal field of a body as the native parser takes it: a string (numbers become their text).
fn decimal_text(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// The native PLACE_ORDER of the original's order body (`type` is `order_type`).
fn native_order(body: &Map<String, Value>) -> Result<String, String> {
    let kind = body.get("type").or_else(|| body.get("order_type"));
    let missing: Vec<&str> = [
        ("symbol", body.get("symbol")),
        ("side", body.get("side")),
        ("type", kind),
        ("quantity", body.get("quantity")),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_none_or(Value::is_null))
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        return Err(format!("Missing required fields: {}", missing.join(", ")));
    }
    let mut native = Map::new();
    native.insert("type".into(), json!("PLACE_ORDER"));
    for (from, to) in [
        ("symbol", "symbol"),
        ("side", "side"),
        ("time_in_force", "time_in_force"),
        ("client_order_id", "client_order_id"),
        ("post_only", "post_only"),
    ] {
        if let Some(v) = body.get(from).filter(|v| !v.is_null()) {
            native.insert(to.into(), v.clone());
        }
    }
    if let Some(kind) = kind {
        native.insert("order_type".into(), kind.clone());
    }
    for key in ["price", "quantity"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            native.insert(key.into(), decimal_text(v));
        }
    }
    Ok(Value::Object(native).to_string())
}

/// `POST /api/v1/orders`: 201 with the order as it stands after matching.
pub async fn place(
    State(state): State<RestState>,
    headers: HeaderMap,
    Params(params): Map2,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return refuse(
            400,
            "INVALID_JSON",
            "Invalid JSON: the body must be a JSON object",
        );
    };
    let text = match native_order(&fields) {
        Ok(text) => text,
        Err(message) => return refuse(400, "MISSING_FIELD", &message),
    };
    let order = match protocol::parse_request(&text, &state.catalog) {
        Ok(exchange::Request {
            command: exchange::Command::Place(order),
            ..
        }) => order,
        Ok(_) => return refuse(400, "INVALID_MESSAGE", "not an order"),
        Err(failure) => return refuse(400, failure.code.as_str(), &failure.message),
    };
    let caller = match caller(&state, &headers, &params) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    match call(&state, caller, CallAction::Place(order)).await {
        Ok(Answer::Placed { order, .. }) => {
            answer(StatusCode::CREATED, &order_json(&state, &order))
        }
        Ok(_) => refuse(500, "INTERNAL_ERROR", "unexpected answer"),
        Err(response) => *response,
    }
}

/// `DELETE /api/v1/orders/{order_id}`: `{"order_id": .., "status": "cancelled"}`.
pub async fn cancel(
    State(state): State<RestState>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    Params(params): Map2,
) -> Response {
    let caller = match caller(&state, &headers, &params) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    match call(&state, caller, CallAction::Cancel(order_ref(&order_id))).await {
        Ok(Answer::Order(order)) => {
            let mut body = order_json(&state, &order);
            body["order_id"] = json!(order.id.0.to_string());
            body["status"] = json!("cancelled");
            body["order_status"] = json!(protocol::messages::status_str(order.status));
            answer(StatusCode::OK, &body)
        }
        Ok(_) => refuse(500, "INTERNAL_ERROR", "unexpected answer"),
        Err(response) => {
            // The original's words for an order it cannot cancel, whatever the reason.
            if response.status() == StatusCode::NOT_FOUND {
                refuse(
                    404,
                    "ORDER_NOT_FOUND",
                    "Order not found or cannot be cancelled",
                )
            } else {
                *response
            }
        }
    }
}

/// A status filter by name, in any case (`open`, `FILLED`, `canceled`).
fn status_filter(name: &str) -> Option<StatusFilter> {
    let status = match name.to_ascii_uppercase().as_str() {
        "PENDING" => OrderStatus::Pending,
        "OPEN" => OrderStatus::Open,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "FILLED" => OrderStatus::Filled,
        "CANCELLED" | "CANCELED" => OrderStatus::Cancelled,
        "EXPIRED" => OrderStatus::Expired,
        "REJECTED" => OrderStatus::Rejected,
        _ => return None,
    };
    Some(StatusFilter::Exactly(status))
}

/// `GET /api/v1/orders?symbol=&status=` for a session: `{"orders": [...]}`.
pub async fn orders(
    state: &RestState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Response {
    let symbol = match params.get("symbol") {
        Some(name) => match known_symbol(state, name) {
            Ok(id) => Some(id),
            Err(_) => return refuse(404, "UNKNOWN_SYMBOL", &format!("Symbol {name} not found")),
        },
        None => None,
    };
    let status = match params.get("status") {
        Some(name) => match status_filter(name) {
            Some(filter) => Some(filter),
            None => {
                return refuse(
                    400,
                    "INVALID_FIELD",
                    &format!(
                        "status {name:?} is not one of OPEN, PARTIALLY_FILLED, FILLED, \
                         CANCELLED, EXPIRED, REJECTED"
                    ),
                )
            }
        },
        None => None,
    };
    let caller = match caller(state, headers, params) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    let session = session_name(headers);
    match call(state, caller, CallAction::Orders { symbol, status }).await {
        Ok(Answer::Orders {
            orders,
            account_seq,
        }) => {
            let orders: Vec<Value> = orders.iter().map(|o| order_json(state, o)).collect();
            answer(
                StatusCode::OK,
                &json!({"orders": orders, "account_seq": account_seq, "session": session}),
            )
        }
        Ok(_) => refuse(500, "INTERNAL_ERROR", "unexpected answer"),
        Err(response) => *response,
    }
}

/// `GET /api/v1/orders/{order_id}` for a session: the order, or 404.
pub async fn order(state: &RestState, headers: &HeaderMap, target: OrderRef) -> Response {
    let caller = match caller(state, headers, &HashMap::new()) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    match call(state, caller, CallAction::Order(target)).await {
        Ok(Answer::Order(order)) => answer(StatusCode::OK, &order_json(state, &order)),
        Ok(_) => refuse(500, "INTERNAL_ERROR", "unexpected answer"),
        Err(response) if response.status() == StatusCode::NOT_FOUND => {
            refuse(404, "ORDER_NOT_FOUND", "Order not found")
        }
        Err(response) => *response,
    }
}

/// An amount of an asset as the wire writes it.
fn amount_text(state: &RestState, asset: AssetId, amount: i128) -> String {
    let mut text = String::new();
    protocol::messages::write_amount(state.catalog.asset_decimals(asset), amount, &mut text);
    text
}

/// The account's balances: (asset id, total, available, locked) for every asset.
async fn balances(
    state: &RestState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<(Vec<(AssetId, engine::Balance)>, u64), Box<Response>> {
    let caller = caller(state, headers, params)?;
    match call(state, caller, CallAction::Balances).await? {
        Answer::Balances {
            balances,
            account_seq,
            ..
        } => Ok((
            balances
                .into_iter()
                .enumerate()
                .map(|(i, b)| (AssetId(i as u32), b))
                .collect(),
            account_seq,
        )),
        _ => Err(Box::new(refuse(500, "INTERNAL_ERROR", "unexpected answer"))),
    }
}

/// `GET /api/v1/balance`: `{"balances": {"USD": "100000.00", ...}}` (totals), with the
/// `available` and `locked` parts beside.
pub async fn balance(
    State(state): State<RestState>,
    headers: HeaderMap,
    Params(params): Map2,
) -> Response {
    let (balances, account_seq) = match balances(&state, &headers, &params).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let (mut total, mut available, mut locked) = (Map::new(), Map::new(), Map::new());
    for (asset, b) in balances {
        let name = state.catalog.asset_name(asset).to_owned();
        total.insert(name.clone(), json!(amount_text(&state, asset, b.total().0)));
        available.insert(
            name.clone(),
            json!(amount_text(&state, asset, b.available.0)),
        );
        locked.insert(name, json!(amount_text(&state, asset, b.locked.0)));
    }
    answer(
        StatusCode::OK,
        &json!({"balances": total, "available": available, "locked": locked,
                "account_seq": account_seq, "session": session_name(&headers)}),
    )
}

/// The `symbol` parameter, as the original refused it: 400 without, 404 unknown.
fn symbol_param(
    state: &RestState,
    params: &HashMap<String, String>,
) -> Result<SymbolId, Box<Response>> {
    let Some(name) = params.get("symbol") else {
        return Err(Box::new(refuse(
            400,
            "MISSING_FIELD",
            "symbol parameter required",
        )));
    };
    known_symbol(state, name).map_err(|_| {
        Box::new(refuse(
            404,
            "UNKNOWN_SYMBOL",
            &format!("Symbol {name} not found"),
        ))
    })
}

/// `GET /api/v1/position?symbol=`: `{symbol, asset, quantity}`, the base asset's total.
pub async fn position(
    State(state): State<RestState>,
    headers: HeaderMap,
    Params(params): Map2,
) -> Response {
    let symbol = match symbol_param(&state, &params) {
        Ok(symbol) => symbol,
        Err(response) => return *response,
    };
    let Some(spec) = state.catalog.symbol(symbol) else {
        return refuse(404, "UNKNOWN_SYMBOL", "Symbol not found");
    };
    let (name, base) = (spec.spec.name.clone(), spec.base);
    let (balances, _) = match balances(&state, &headers, &params).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let quantity = balances
        .iter()
        .find(|(asset, _)| *asset == base)
        .map_or(0, |(_, b)| b.total().0);
    answer(
        StatusCode::OK,
        &json!({"symbol": name, "asset": state.catalog.asset_name(base),
                "quantity": amount_text(&state, base, quantity)}),
    )
}

/// A time parameter (ISO-8601) of `/prices`.
fn time_param(params: &HashMap<String, String>, key: &str) -> Result<Option<u64>, Box<Response>> {
    match params.get(key) {
        None => Ok(None),
        Some(text) => protocol::time::parse_iso8601(text)
            .map(Some)
            .ok_or_else(|| {
                Box::new(refuse(
                    400,
                    "INVALID_FIELD",
                    &format!("{key} must be an ISO-8601 time such as 2026-12-03T13:00:00Z"),
                ))
            }),
    }
}

/// `GET /api/v1/prices?symbol=&start=&end=&limit=`: the sampled history, oldest first.
pub async fn prices(State(state): State<RestState>, Params(params): Map2) -> Response {
    let parsed = (|| {
        let symbol = symbol_param(&state, &params)?;
        let start = time_param(&params, "start")?.unwrap_or(0);
        let end = time_param(&params, "end")?.unwrap_or(u64::MAX);
        let limit = match params.get("limit") {
            None => 100,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n >= 1 => n.min(PRICES_LIMIT_MAX),
                _ => {
                    return Err(Box::new(refuse(
                        400,
                        "INVALID_FIELD",
                        "limit must be a positive integer",
                    )))
                }
            },
        };
        Ok((symbol, start, end, limit))
    })();
    let (symbol, start, end, limit) = match parsed {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let Some(spec) = state.catalog.symbol(symbol) else {
        return refuse(404, "UNKNOWN_SYMBOL", "Symbol not found");
    };
    let price = |p: Option<Price>| p.map_or(Value::Null, |p| json!(spec.format_price(p)));
    let samples: Vec<Value> = state
        .prices
        .samples(symbol, start, end, limit)
        .into_iter()
        .map(|s| {
            json!({
                "timestamp": protocol::time::iso8601(s.at_ns),
                "price": price(s.price),
                "bid": price(s.bid),
                "ask": price(s.ask),
            })
        })
        .collect();
    answer(
        StatusCode::OK,
        &json!({"symbol": spec.spec.name, "prices": samples}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_order_body_becomes_a_native_place_order() {
        let body = json!({"symbol": "BTC/USD", "side": "BUY", "type": "LIMIT",
                          "price": 50000.5, "quantity": "0.1", "extra": true});
        let Value::Object(fields) = body else {
            unreachable!()
        };
        let native: Value = serde_json::from_str(&native_order(&fields).unwrap()).unwrap();
        assert_eq!(native["type"], "PLACE_ORDER");
        assert_eq!(native["order_type"], "LIMIT");
        assert_eq!(native["price"], "50000.5");
        assert!(native.get("extra").is_none());
        let Value::Object(partial) = json!({"symbol": "BTC/USD", "price": "1"}) else {
            unreachable!()
        };
        assert_eq!(
            native_order(&partial).unwrap_err(),
            "Missing required fields: side, type, quantity"
        );
    }

    #[test]
    fn status_names_are_read_in_any_case() {
        assert_eq!(
            status_filter("canceled"),
            Some(StatusFilter::Exactly(OrderStatus::Cancelled))
        );
        assert_eq!(
            status_filter("Open"),
            Some(StatusFilter::Exactly(OrderStatus::Open))
        );
        assert_eq!(status_filter("gone"), None);
    }

    #[test]
    fn the_ticker_gets_last_price() {
        let one = with_last_price(r#"{"symbol":"BTC/USD","last":"1.00"}"#.into());
        assert!(one.contains(r#""last_price":"1.00""#), "{one}");
        let many = with_last_price(r#"[{"last":null},{"last":"2.00"}]"#.into());
        assert!(many.contains(r#""last_price":"2.00""#), "{many}");
    }
}
