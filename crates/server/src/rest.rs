//! REST on the same port under `/api/v1`: the ground truth a bot reconciles against. Every answer
//! comes from the engine thread, so it is exactly the exchange's state at that moment.

// The error side of these helpers is the HTTP response itself, handed straight to axum: boxing
// it would only add an allocation per refused request.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};

use crate::core::{Input, RestAuth, RestCall, RestReply};

/// Routes of `/api/v1`.
pub fn routes(inputs: mpsc::Sender<Input>) -> Router {
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
        .with_state(Arc::new(inputs))
}

type Inputs = State<Arc<mpsc::Sender<Input>>>;
type Params = Query<HashMap<String, String>>;

/// A JSON response with the given status.
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

/// An HTTP error answer: the `ERROR` shape without `seq` or `request_id`.
pub(crate) fn rest_error(status: u16, code: ErrorCode, message: &str) -> RestReply {
    let mut s = String::new();
    protocol::messages::error(&mut s, None, code, message, "{}");
    (status, s)
}

pub fn json_response((status, body): RestReply) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn ask(inputs: &mpsc::Sender<Input>, call: RestCall) -> Response {
    let (reply, answer) = oneshot::channel();
    if inputs.send(Input::Rest { call, reply }).await.is_err() {
        return unavailable();
    }
    match answer.await {
        Ok(r) => json_response(r),
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

fn bad_request(code: &str, message: &str) -> RestReply {
    let code = match code {
        "MISSING_FIELD" => ErrorCode::MissingField,
        _ => ErrorCode::InvalidField,
    };
    rest_error(400, code, message)
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
            _ => Err(bad_request(
                "INVALID_FIELD",
                &format!("`{key}` must be a positive integer"),
            )),
        },
    }
}

fn symbol(params: &HashMap<String, String>) -> Result<String, RestReply> {
    params
        .get("symbol")
        .cloned()
        .ok_or_else(|| bad_request("MISSING_FIELD", "missing query parameter `symbol`"))
}

async fn health(State(inputs): Inputs) -> Response {
    ask(&inputs, RestCall::Health).await
}

async fn symbols(State(inputs): Inputs) -> Response {
    ask(&inputs, RestCall::Symbols).await
}

async fn orderbook(State(inputs): Inputs, Query(params): Params) -> Response {
    let call = (|| {
        Ok(RestCall::Orderbook {
            symbol: symbol(&params)?,
            depth: number(&params, "depth", 20, protocol::request::MAX_DEPTH)?,
        })
    })();
    match call {
        Ok(call) => ask(&inputs, call).await,
        Err(r) => json_response(r),
    }
}

async fn trades(State(inputs): Inputs, Query(params): Params) -> Response {
    let call = (|| {
        Ok(RestCall::Trades {
            symbol: symbol(&params)?,
            limit: number(&params, "limit", 100, 1_000)?,
        })
    })();
    match call {
        Ok(call) => ask(&inputs, call).await,
        Err(r) => json_response(r),
    }
}

async fn ticker(State(inputs): Inputs, Query(params): Params) -> Response {
    ask(
        &inputs,
        RestCall::Ticker {
            symbol: params.get("symbol").cloned(),
        },
    )
    .await
}

async fn accounts(State(inputs): Inputs) -> Response {
    ask(&inputs, RestCall::Accounts).await
}

async fn balances(State(inputs): Inputs, headers: HeaderMap, Query(params): Params) -> Response {
    ask(&inputs, RestCall::Balances(auth(&headers, &params))).await
}

async fn orders(State(inputs): Inputs, headers: HeaderMap, Query(params): Params) -> Response {
    ask(&inputs, RestCall::Orders(auth(&headers, &params))).await
}

async fn order(
    State(inputs): Inputs,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    Query(params): Params,
) -> Response {
    ask(&inputs, RestCall::Order(auth(&headers, &params), order_id)).await
}

async fn fills(State(inputs): Inputs, headers: HeaderMap, Query(params): Params) -> Response {
    ask(&inputs, RestCall::Fills(auth(&headers, &params))).await
}

async fn candles(State(inputs): Inputs, Query(params): Params) -> Response {
    let call = (|| {
        Ok(RestCall::Candles {
            symbol: symbol(&params)?,
            interval: params
                .get("interval")
                .cloned()
                .unwrap_or_else(|| "1m".into()),
            limit: number(&params, "limit", 100, 1_000)?,
        })
    })();
    match call {
        Ok(call) => ask(&inputs, call).await,
        Err(r) => json_response(r),
    }
}
