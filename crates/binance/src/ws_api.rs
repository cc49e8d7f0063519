//! The WebSocket API (`/ws-api/v3`): `{"id":..,"method":"order.place","params":{...}}` requests,
//! answered `{"id":..,"status":200,"result":...}` or `{"id":..,"status":400,"error":{...}}`, and
//! the user data stream a connection subscribes to with `userDataStream.subscribe.signature`.
//!
//! A signed request carries `apiKey`, `timestamp` and a `signature` over its sorted parameters
//! ([`crate::signing::verify_ws_api`]); it is checked here, and the core acts for the account the
//! key names, whether or not another request on the connection named another.

use std::borrow::Cow;

use engine::AccountId;
use exchange::{Answer, Call, CallAction, Command, Message, Request, RequestId, StatusFilter};
use protocol::json::ObjectWriter;
use serde_json::Value;

use crate::account::{write_account, HistoryFilter};
use crate::context::Context;
use crate::error::{ApiError, Doing};
use crate::keys;
use crate::market::{write_array, write_depth, write_exchange_info};
use crate::orders::{
    parse_new_order, parse_order_ref, write_cancelled, write_my_trade, write_order, write_placed,
    RespType,
};
use crate::params::Params;
use crate::signing::{check_timestamp, verify_ws_api};
use crate::user_data::{
    event_account, wrap_event, write_event, write_server_shutdown, write_terminated,
};
use crate::venue::Venue;

/// Requests waiting for the core on one connection, at most.
pub const MAX_PENDING: usize = 4_096;

/// How to answer a request the core handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Depth,
    Place(RespType),
    Cancel,
    Status,
    OpenOrders,
    AllOrders(HistoryFilter),
    CancelAll,
    MyTrades(HistoryFilter),
    Account,
    Subscribe,
    Unsubscribe,
}

impl Method {
    fn doing(self) -> Doing {
        match self {
            Method::Place(_) => Doing::Placing { market: false },
            Method::Cancel | Method::CancelAll => Doing::Cancelling,
            _ => Doing::Looking,
        }
    }
}

/// What a client frame on the WebSocket API asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum ApiInbound {
    Core(Request),
    Reply(String),
}

/// One WebSocket API connection's state.
#[derive(Debug, Default)]
pub struct ApiSession {
    pending: Vec<(RequestId, Method)>,
    /// User data subscriptions: id and account.
    subscriptions: Vec<(u32, AccountId)>,
    next_subscription: u32,
}

impl ApiSession {
    /// A text frame from the client.
    pub fn on_text(&mut self, text: &str, cx: &Context<'_>) -> ApiInbound {
        let frame: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(_) => {
                let e = ApiError {
                    status: 400,
                    code: -1002,
                    msg: "Malformed request: the frame is not a JSON object.".into(),
                };
                return ApiInbound::Reply(error_answer(None, &e));
            }
        };
        let id = match frame.get("id") {
            None | Some(Value::Null) => None,
            Some(v @ (Value::Number(_) | Value::String(_))) => {
                Some(RequestId::from_json(&v.to_string()))
            }
            Some(_) => {
                return ApiInbound::Reply(error_answer(None, &ApiError::illegal_chars("id")))
            }
        };
        match self.request(&frame, id.clone(), cx) {
            Ok((command, method)) => {
                if self.pending.len() >= MAX_PENDING {
                    let e = ApiError::too_many_orders(MAX_PENDING as u32, "connection");
                    return ApiInbound::Reply(error_answer(id.as_ref(), &e));
                }
                if let Some(id) = &id {
                    self.pending.push((id.clone(), method));
                }
                ApiInbound::Core(Request { rid: id, command })
            }
            Err(Answered(reply)) => ApiInbound::Reply(reply),
        }
    }

    /// Parses one request: a command for the core, or an answer given here.
    fn request(
        &mut self,
        frame: &Value,
        id: Option<RequestId>,
        cx: &Context<'_>,
    ) -> Result<(Command, Method), Answered> {
        let fail = |e: ApiError| Answered(error_answer(id.as_ref(), &e));
        let method = frame
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(ApiError::missing("method")))?;
        let pairs = match frame.get("params") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), param_text(v)))
                .collect(),
            Some(_) => return Err(fail(ApiError::illegal_chars("params"))),
        };
        let params = Params::from_pairs(pairs);
        let ok = |result: String| Answered(ok_answer(id.as_ref(), &result));
        let venue = cx.venue;
        match method {
            "ping" => Err(ok("{}".into())),
            "time" => Err(ok(format!("{{\"serverTime\":{}}}", cx.now_ms))),
            "exchangeInfo" => {
                let only = requested_symbols(&params, venue).map_err(fail)?;
                let mut body = String::new();
                write_exchange_info(venue, cx.now_ms, only.as_deref(), &mut body);
                Err(ok(body))
            }
            "depth" => {
                let symbol = params.symbol(&venue.symbols).map_err(fail)?;
                let depth = params.limit(100, 5_000).map_err(fail)?;
                Ok((Command::GetOrderbook { symbol, depth }, Method::Depth))
            }
            "order.test" => {
                signed(&params, cx).map_err(fail)?;
                parse_new_order(&params, venue, cx.generated_id).map_err(fail)?;
                Err(ok("{}".into()))
            }
            "order.place" => {
                let caller = signed(&params, cx).map_err(fail)?;
                let order = parse_new_order(&params, venue, cx.generated_id).map_err(fail)?;
                let action = CallAction::Place(order.order);
                Ok((call(caller, action), Method::Place(order.resp)))
            }
            "order.cancel" | "order.status" => {
                let caller = signed(&params, cx).map_err(fail)?;
                params.symbol(&venue.symbols).map_err(fail)?;
                let target =
                    parse_order_ref(&params, ("orderId", "origClientOrderId")).map_err(fail)?;
                Ok(if method == "order.cancel" {
                    (call(caller, CallAction::Cancel(target)), Method::Cancel)
                } else {
                    (call(caller, CallAction::Order(target)), Method::Status)
                })
            }
            "openOrders.status" | "allOrders" => {
                let caller = signed(&params, cx).map_err(fail)?;
                let symbol = params.opt_symbol(&venue.symbols).map_err(fail)?;
                let (status, method) = if method == "allOrders" {
                    let filter = HistoryFilter::parse(&params).map_err(fail)?;
                    (None, Method::AllOrders(filter))
                } else {
                    (Some(StatusFilter::Open), Method::OpenOrders)
                };
                Ok((call(caller, CallAction::Orders { symbol, status }), method))
            }
            "openOrders.cancelAll" => {
                let caller = signed(&params, cx).map_err(fail)?;
                let symbol = Some(params.symbol(&venue.symbols).map_err(fail)?);
                Ok((
                    call(caller, CallAction::CancelAll { symbol }),
                    Method::CancelAll,
                ))
            }
            "myTrades" => {
                let caller = signed(&params, cx).map_err(fail)?;
                let symbol = Some(params.symbol(&venue.symbols).map_err(fail)?);
                let filter = HistoryFilter::parse(&params).map_err(fail)?;
                let action = CallAction::Fills { symbol };
                Ok((call(caller, action), Method::MyTrades(filter)))
            }
            "account.status" => {
                let caller = signed(&params, cx).map_err(fail)?;
                Ok((call(caller, CallAction::Balances), Method::Account))
            }
            "userDataStream.subscribe.signature" => {
                let caller = signed(&params, cx).map_err(fail)?;
                Ok((Command::Watch(caller), Method::Subscribe))
            }
            "userDataStream.unsubscribe" => {
                let which = match params.u64("subscriptionId").map_err(fail)? {
                    None => None,
                    Some(n) => {
                        let found = self.subscriptions.iter().find(|(s, _)| u64::from(*s) == n);
                        let (_, account) = found.ok_or_else(|| {
                            fail(ApiError {
                                status: 400,
                                code: -2035,
                                msg: "User Data Stream subscription not found.".into(),
                            })
                        })?;
                        Some(*account)
                    }
                };
                Ok((Command::Unwatch(which), Method::Unsubscribe))
            }
            _ => Err(fail(ApiError {
                status: 400,
                code: -1020,
                msg: "This operation is not supported.".into(),
            })),
        }
    }

    /// Appends the frames a message for this connection becomes: an answer to a request, a
    /// user data event, a notice. Nothing for a message this dialect does not show.
    pub fn write_message(
        &mut self,
        message: &Message,
        venue: &Venue,
        now_ms: u64,
        frames: &mut Vec<String>,
    ) {
        if let Some(account) = event_account(message) {
            let mut event = String::new();
            if !write_event(venue, message, &mut event) {
                return;
            }
            for (subscription, _) in self.subscriptions.iter().filter(|(_, a)| *a == account) {
                let mut frame = String::new();
                wrap_event(*subscription, &event, &mut frame);
                frames.push(frame);
            }
            return;
        }
        match message {
            Message::ServerNotice { .. } => {
                let mut frame = String::new();
                write_server_shutdown(now_ms, &mut frame);
                frames.push(frame);
            }
            Message::Book { rid, book, .. } => {
                if let Some(id) = self.take(rid.as_ref()).map(|(id, _)| id) {
                    let mut result = String::new();
                    write_depth(venue, book, &mut result);
                    frames.push(ok_answer(Some(&id), &result));
                }
            }
            Message::Answered { rid, answer } => {
                if let Some((id, method)) = self.take(rid.as_ref()) {
                    frames.push(answer_frame(venue, &id, method, answer));
                }
            }
            Message::Watching { rid, account, .. } => {
                if let Some((id, _)) = self.take(rid.as_ref()) {
                    let subscription = self.next_subscription;
                    self.next_subscription = self.next_subscription.wrapping_add(1);
                    self.subscriptions.push((subscription, *account));
                    let result = format!("{{\"subscriptionId\":{subscription}}}");
                    frames.push(ok_answer(Some(&id), &result));
                }
            }
            Message::Unwatched { rid, accounts } => {
                let mut ended = Vec::new();
                self.subscriptions.retain(|(s, a)| {
                    let end = accounts.contains(a);
                    if end {
                        ended.push(*s);
                    }
                    !end
                });
                for subscription in ended {
                    let mut frame = String::new();
                    write_terminated(subscription, now_ms, &mut frame);
                    frames.push(frame);
                }
                if let Some((id, _)) = self.take(rid.as_ref()) {
                    frames.push(ok_answer(Some(&id), "{}"));
                }
            }
            Message::Error { rid, failure } => {
                if let Some((id, method)) = self.take(rid.as_ref()) {
                    let error = ApiError::from_failure(failure, method.doing());
                    frames.push(error_answer(Some(&id), &error));
                }
            }
            _ => {}
        }
    }

    /// The frames that go before the server closes the connection: the end of every
    /// subscription, and the shutdown notice.
    pub fn farewell(&self, now_ms: u64, frames: &mut Vec<String>) {
        for (subscription, _) in &self.subscriptions {
            let mut frame = String::new();
            write_terminated(*subscription, now_ms, &mut frame);
            frames.push(frame);
        }
        let mut frame = String::new();
        write_server_shutdown(now_ms, &mut frame);
        frames.push(frame);
    }

    /// Takes the pending request `rid` answers.
    fn take(&mut self, rid: Option<&RequestId>) -> Option<(RequestId, Method)> {
        let rid = rid?;
        let at = self.pending.iter().position(|(id, _)| id == rid)?;
        Some(self.pending.remove(at))
    }
}

/// An answer given without the core.
struct Answered(String);

/// A command on behalf of `caller`.
fn call(caller: exchange::Caller, action: CallAction) -> Command {
    Command::Call(Box::new(Call { caller, action }))
}

/// Checks a signed request: its key, timestamp and signature; who it acts for.
fn signed(params: &Params<'_>, cx: &Context<'_>) -> Result<exchange::Caller, ApiError> {
    let (secret, caller) = keys::find(cx.keys, params.get("apiKey"))?;
    check_timestamp(params, cx.now_ms)?;
    let signature = params.required("signature")?;
    verify_ws_api(&secret, params, signature)?;
    Ok(caller)
}

/// `symbol` or `symbols` (a JSON array) of exchangeInfo, if either is given.
pub(crate) fn requested_symbols(
    params: &Params<'_>,
    venue: &Venue,
) -> Result<Option<Vec<engine::SymbolId>>, ApiError> {
    if let Some(one) = params.opt_symbol(&venue.symbols)? {
        return Ok(Some(vec![one]));
    }
    let Some(list) = params.get("symbols") else {
        return Ok(None);
    };
    let names: Vec<String> =
        serde_json::from_str(list).map_err(|_| ApiError::illegal_chars("symbols"))?;
    names
        .iter()
        .map(|n| venue.symbols.id(n).ok_or_else(ApiError::bad_symbol))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A parameter's text as it is signed: strings as they are, other values as their JSON.
fn param_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    }
}

/// The frame answering a call.
fn answer_frame(venue: &Venue, id: &RequestId, method: Method, answer: &Answer) -> String {
    let mut result = String::new();
    match (method, answer) {
        (_, Answer::Failed(failure)) => {
            return error_answer(Some(id), &ApiError::from_failure(failure, method.doing()))
        }
        (Method::Place(resp), Answer::Placed { order, fills }) => {
            write_placed(venue, order, fills, resp, &mut result)
        }
        (Method::Cancel, Answer::Order(order)) => write_cancelled(venue, order, &mut result),
        (Method::Status, Answer::Order(order)) => write_order(venue, order, &mut result),
        (Method::OpenOrders, Answer::Orders { orders, .. }) => {
            write_array(orders, &mut result, |o, out| write_order(venue, o, out))
        }
        (Method::AllOrders(filter), Answer::Orders { orders, .. }) => {
            let orders = filter.orders(orders);
            write_array(&orders, &mut result, |o, out| write_order(venue, o, out))
        }
        (Method::CancelAll, Answer::Orders { orders, .. }) => {
            write_array(orders, &mut result, |o, out| write_cancelled(venue, o, out))
        }
        (Method::MyTrades(filter), Answer::Fills { fills, .. }) => {
            let fills = filter.fills(fills);
            write_array(&fills, &mut result, |f, out| write_my_trade(venue, f, out))
        }
        (
            Method::Account,
            Answer::Balances {
                balances, at_ns, ..
            },
        ) => write_account(venue, balances, *at_ns, &mut result),
        _ => return error_answer(Some(id), &ApiError::unknown("unexpected answer")),
    }
    ok_answer(Some(id), &result)
}

/// `{"id":..,"status":200,"result":...}`.
fn ok_answer(id: Option<&RequestId>, result: &str) -> String {
    let mut out = String::with_capacity(result.len() + 40);
    let mut w = ObjectWriter::new(&mut out);
    w.raw("id", id.map_or("null", RequestId::as_json))
        .u64("status", 200)
        .raw("result", result);
    w.end();
    out
}

/// `{"id":..,"status":N,"error":{"code":..,"msg":..}}`.
fn error_answer(id: Option<&RequestId>, error: &ApiError) -> String {
    let mut out = String::new();
    let mut w = ObjectWriter::new(&mut out);
    w.raw("id", id.map_or("null", RequestId::as_json))
        .u64("status", error.status.into())
        .with("error", |o| error.write_body(o));
    w.end();
    out
}

/// An answer the connection refuses itself (rate limits, faults), in this dialect's shape.
pub fn refusal(id: Option<&RequestId>, error: &ApiError) -> String {
    error_answer(id, error)
}
