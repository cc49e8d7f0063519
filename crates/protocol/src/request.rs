//! Client requests: one pass from frame text to the core's typed [`Request`], or a
//! [`ParseFailure`] with a stable code, the offending field and a readable message. Everything a
//! request carries is parsed here, on the connection's task: symbol names into ids, prices and
//! quantities into ticks and lots, candle intervals, amend quantities into exact decimals.
//!
//! Unknown extra fields are ignored (clients of the original simulator send some); a field that is
//! present but `null` counts as absent.

use std::borrow::Cow;
use std::fmt;

use engine::{
    ClientOrderId, Decimal, NewOrder, OrderId, OrderRef, OrderStatus, OrderType, Qty, Side,
    StpMode, SymbolId, TimeInForce,
};
use exchange::timers::DEAD_MANS_SWITCH_MAX_MS;
use exchange::{
    CallAction, Catalog, Channel, Command, Credentials, Request, RequestId, StatusFilter, Topic,
};
use market::Interval;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::codes::ErrorCode;

/// A command's native `type` (what fault filters on inbound messages name).
pub fn request_type(command: &Command) -> &'static str {
    match command {
        Command::Ping => "PING",
        Command::Login { .. } => "LOGIN",
        Command::Logout => "LOGOUT",
        Command::Resume { .. } => "RESUME",
        Command::Place(_) => "PLACE_ORDER",
        Command::Cancel(_) => "CANCEL_ORDER",
        Command::CancelAll { .. } => "CANCEL_ALL",
        Command::Amend { .. } => "AMEND_ORDER",
        Command::CancelAllAfter { .. } => "CANCEL_ALL_AFTER",
        Command::SetCancelOnDisconnect(_) => "SET_CANCEL_ON_DISCONNECT",
        Command::GetOrder(_) => "GET_ORDER",
        Command::GetOrders { .. } => "GET_ORDERS",
        Command::GetBalance => "GET_BALANCE",
        Command::GetPosition { .. } => "GET_POSITION",
        Command::GetOrderbook { .. } => "GET_ORDERBOOK",
        Command::GetFills { .. } => "GET_FILLS",
        Command::Subscribe(_) => "SUBSCRIBE",
        Command::Unsubscribe { .. } | Command::UnsubscribeTopic(_) => "UNSUBSCRIBE",
        // Another dialect's requests, by the native request that does the same, so that fault
        // filters (and their defaults: reject_orders acts on PLACE_ORDER) aim at both alike.
        Command::Call(call) => match call.action {
            CallAction::Place(_) | CallAction::CancelReplace { .. } => "PLACE_ORDER",
            CallAction::Cancel(_) => "CANCEL_ORDER",
            CallAction::CancelAll { .. } => "CANCEL_ALL",
            CallAction::Balances => "GET_BALANCE",
            CallAction::Orders { .. } => "GET_ORDERS",
            CallAction::Order(_) => "GET_ORDER",
            CallAction::Fills { .. } => "GET_FILLS",
        },
        Command::Watch(_) => "LOGIN",
        Command::Unwatch(_) => "LOGOUT",
    }
}

/// Every request type the server knows.
pub const REQUEST_TYPES: [&str; 18] = [
    "PING",
    "LOGIN",
    "LOGOUT",
    "RESUME",
    "PLACE_ORDER",
    "CANCEL_ORDER",
    "CANCEL_ALL",
    "AMEND_ORDER",
    "CANCEL_ALL_AFTER",
    "SET_CANCEL_ON_DISCONNECT",
    "GET_ORDER",
    "GET_ORDERS",
    "GET_BALANCE",
    "GET_POSITION",
    "GET_ORDERBOOK",
    "GET_FILLS",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
];

/// Why a frame is not a valid request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFailure {
    /// Echoed when it could be read.
    pub request_id: Option<RequestId>,
    /// The request's `type` when it could be read.
    pub msg_type: Option<String>,
    pub code: ErrorCode,
    /// The field at fault, if one is.
    pub field: Option<&'static str>,
    pub message: String,
}

/// The deepest book a request may ask for.
pub const MAX_DEPTH: usize = 1_000;
/// The depth of GET_ORDERBOOK when none is given.
pub const DEFAULT_DEPTH: usize = 20;

/// Parses one text frame.
pub fn parse_request(text: &str, catalog: &Catalog) -> Result<Request, ParseFailure> {
    // serde would read a JSON array positionally into the fields: only objects are requests.
    if !text.trim_start().starts_with('{') {
        let valid_json = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
        return Err(ParseFailure {
            request_id: None,
            msg_type: None,
            code: if valid_json {
                ErrorCode::InvalidMessage
            } else {
                ErrorCode::InvalidJson
            },
            field: None,
            message: if valid_json {
                "a request must be a JSON object".into()
            } else {
                "not valid JSON".into()
            },
        });
    }
    let raw: RawRequest<'_> = serde_json::from_str(text).map_err(|e| {
        let (code, message) = match e.classify() {
            serde_json::error::Category::Data => (
                ErrorCode::InvalidMessage,
                "a request must be a JSON object".to_string(),
            ),
            _ => (ErrorCode::InvalidJson, format!("not valid JSON: {e}")),
        };
        ParseFailure {
            request_id: None,
            msg_type: None,
            code,
            field: None,
            message,
        }
    })?;
    let mut ctx = Ctx {
        raw: &raw,
        request_id: None,
        msg_type: None,
    };
    ctx.request_id = match &raw.request_id {
        None => None,
        Some(f) => Some(f.request_id().ok_or_else(|| {
            ctx.fail(
                ErrorCode::InvalidField,
                Some("request_id"),
                "request_id must be a string or a number".into(),
            )
        })?),
    };
    let ty = match &raw.ty {
        None => {
            return Err(ctx.fail(
                ErrorCode::MissingField,
                Some("type"),
                "missing field `type`".into(),
            ))
        }
        Some(Field::Str(s)) => s.as_ref(),
        Some(_) => {
            return Err(ctx.fail(
                ErrorCode::InvalidField,
                Some("type"),
                "`type` must be a string".into(),
            ))
        }
    };
    ctx.msg_type = Some(ty);
    let command = ctx.command(ty, catalog)?;
    Ok(Request {
        rid: ctx.request_id,
        command,
    })
}

/// The longest keyword a request field may hold (`PARTIALLY_FILLED`), with room to spare.
const KEYWORD_MAX: usize = 24;

/// `s` in ASCII upper case, written into `buf`, so that keywords match in any case without an
/// allocation per request. Text longer than `buf` gives `""`, which matches no keyword.
fn upper<'b>(s: &str, buf: &'b mut [u8; KEYWORD_MAX]) -> &'b str {
    let Some(upper) = buf.get_mut(..s.len()) else {
        return "";
    };
    upper.copy_from_slice(s.as_bytes());
    upper.make_ascii_uppercase();
    // Upper-casing ASCII bytes keeps UTF-8 valid.
    std::str::from_utf8(upper).unwrap_or("")
}

struct Ctx<'r, 'a> {
    raw: &'r RawRequest<'a>,
    request_id: Option<RequestId>,
    /// Owned only when a failure needs it: this is on every request's path.
    msg_type: Option<&'r str>,
}

impl Ctx<'_, '_> {
    fn fail(&self, code: ErrorCode, field: Option<&'static str>, message: String) -> ParseFailure {
        ParseFailure {
            request_id: self.request_id.clone(),
            msg_type: self.msg_type.map(str::to_owned),
            code,
            field,
            message,
        }
    }

    fn command(&self, ty: &str, catalog: &Catalog) -> Result<Command, ParseFailure> {
        let r = self.raw;
        Ok(match ty {
            "PING" => Command::Ping,
            "LOGIN" => Command::Login {
                account: self.req_str("account", &r.account)?.to_string(),
                api_key: self.req_str("api_key", &r.api_key)?.to_string(),
                cancel_on_disconnect: self
                    .opt_bool("cancel_on_disconnect", &r.cancel_on_disconnect)?
                    .unwrap_or(false),
                secret: Default::default(),
            },
            "LOGOUT" => Command::Logout,
            "RESUME" => Command::Resume {
                credentials: self.credentials()?,
                last_account_seq: self
                    .opt_u64("last_account_seq", &r.last_account_seq)?
                    .unwrap_or(0),
                cancel_on_disconnect: self
                    .opt_bool("cancel_on_disconnect", &r.cancel_on_disconnect)?
                    .unwrap_or(false),
                secret: Default::default(),
            },
            "PLACE_ORDER" => Command::Place(self.new_order(catalog)?),
            "CANCEL_ORDER" => Command::Cancel(self.order_ref()?),
            "CANCEL_ALL" => Command::CancelAll {
                symbol: self.opt_symbol(catalog)?,
            },
            "AMEND_ORDER" => Command::Amend {
                target: self.order_ref()?,
                quantity: self.decimal("quantity")?,
            },
            "CANCEL_ALL_AFTER" => {
                let timeout_ms = self
                    .opt_u64("timeout_ms", &r.timeout_ms)?
                    .ok_or_else(|| self.missing("timeout_ms"))?;
                if timeout_ms > DEAD_MANS_SWITCH_MAX_MS {
                    return Err(self.invalid(
                        "timeout_ms",
                        &format!("must be at most {DEAD_MANS_SWITCH_MAX_MS} (a day)"),
                    ));
                }
                Command::CancelAllAfter { timeout_ms }
            }
            "SET_CANCEL_ON_DISCONNECT" => Command::SetCancelOnDisconnect(
                self.opt_bool("cancel_on_disconnect", &r.cancel_on_disconnect)?
                    .ok_or_else(|| self.missing("cancel_on_disconnect"))?,
            ),
            "GET_ORDER" => Command::GetOrder(self.order_ref()?),
            "GET_ORDERS" => Command::GetOrders {
                symbol: self.opt_symbol(catalog)?,
                status: self.status_filter()?,
            },
            "GET_BALANCE" | "GET_BALANCES" => Command::GetBalance,
            "GET_POSITION" => Command::GetPosition {
                symbol: self.symbol(catalog)?,
            },
            "GET_ORDERBOOK" => Command::GetOrderbook {
                symbol: self.symbol(catalog)?,
                depth: self.depth()?,
            },
            "GET_FILLS" => Command::GetFills {
                symbol: self.opt_symbol(catalog)?,
                since_fill_id: self.opt_u64_or_str("since", &r.since)?,
            },
            "SUBSCRIBE" | "UNSUBSCRIBE" => {
                let channel_name = self.req_str("channel", &r.channel)?;
                let channel = Channel::parse(channel_name).ok_or_else(|| {
                    self.fail(
                        ErrorCode::UnknownChannel,
                        Some("channel"),
                        format!(
                            "unknown channel {channel_name:?}; channels are TRADES, TICKER, ORDERBOOK, ORDERBOOK_L2, CANDLES, HEARTBEAT"
                        ),
                    )
                })?;
                let symbol = if channel == Channel::Heartbeat {
                    None
                } else {
                    Some(self.symbol(catalog)?)
                };
                if ty == "UNSUBSCRIBE" {
                    return Ok(Command::Unsubscribe { channel, symbol });
                }
                Command::Subscribe(match (channel, symbol) {
                    (Channel::Trades, Some(s)) => Topic::Trades(s),
                    (Channel::Ticker, Some(s)) => Topic::Ticker(s),
                    (Channel::Orderbook, Some(s)) => {
                        Topic::BookTop(s, exchange::ORDERBOOK_PICTURE_LEVELS)
                    }
                    (Channel::OrderbookL2, Some(s)) => Topic::BookL2(s),
                    (Channel::Candles, Some(s)) => Topic::Candles(s, self.interval()?),
                    _ => Topic::Heartbeat,
                })
            }
            other => {
                return Err(self.fail(
                    ErrorCode::UnknownType,
                    Some("type"),
                    format!("unknown message type {other:?}"),
                ))
            }
        })
    }

    /// RESUME's proof: a resume token, or a configured account's name and API key.
    fn credentials(&self) -> Result<Credentials, ParseFailure> {
        let r = self.raw;
        let token = self.opt_str("resume_token", &r.resume_token)?;
        let account = self.opt_str("account", &r.account)?;
        let api_key = self.opt_str("api_key", &r.api_key)?;
        match (token, account, api_key) {
            (Some(token), _, _) => Ok(Credentials::Token(token.to_string())),
            (None, Some(account), Some(api_key)) => Ok(Credentials::ApiKey {
                account: account.to_string(),
                api_key: api_key.to_string(),
            }),
            _ => Err(self.fail(
                ErrorCode::MissingField,
                Some("resume_token"),
                "RESUME needs resume_token, or account and api_key".into(),
            )),
        }
    }

    /// A candle interval (default `1m`).
    fn interval(&self) -> Result<Interval, ParseFailure> {
        let name = self
            .opt_str("interval", &self.raw.interval)?
            .unwrap_or("1m");
        Interval::parse(name).ok_or_else(|| {
            self.fail(
                ErrorCode::InvalidField,
                Some("interval"),
                format!("interval {name:?}: intervals are 1m, 5m, 15m, 1h, 1d"),
            )
        })
    }

    /// An exact decimal whose increment is not known yet (an amend's quantity).
    fn decimal(&self, field: &'static str) -> Result<Decimal, ParseFailure> {
        let text = self.req_str(field, &self.raw.quantity)?;
        Decimal::parse(text).map_err(|e| {
            self.fail(
                ErrorCode::from_parse(e, false),
                Some(field),
                format!("{field} {text:?}: {e}"),
            )
        })
    }

    fn missing(&self, field: &'static str) -> ParseFailure {
        self.fail(
            ErrorCode::MissingField,
            Some(field),
            format!("missing field `{field}`"),
        )
    }

    fn invalid(&self, field: &'static str, what: &str) -> ParseFailure {
        self.fail(
            ErrorCode::InvalidField,
            Some(field),
            format!("`{field}` {what}"),
        )
    }

    fn req_str<'f>(
        &self,
        field: &'static str,
        value: &'f Option<Field<'_>>,
    ) -> Result<&'f str, ParseFailure> {
        self.opt_str(field, value)?
            .ok_or_else(|| self.missing(field))
    }

    fn opt_str<'f>(
        &self,
        field: &'static str,
        value: &'f Option<Field<'_>>,
    ) -> Result<Option<&'f str>, ParseFailure> {
        match value {
            None => Ok(None),
            Some(Field::Str(s)) => Ok(Some(s.as_ref())),
            Some(_) => Err(self.invalid(field, "must be a string")),
        }
    }

    fn opt_bool(
        &self,
        field: &'static str,
        value: &Option<Field<'_>>,
    ) -> Result<Option<bool>, ParseFailure> {
        match value {
            None => Ok(None),
            Some(Field::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid(field, "must be true or false")),
        }
    }

    fn opt_u64(
        &self,
        field: &'static str,
        value: &Option<Field<'_>>,
    ) -> Result<Option<u64>, ParseFailure> {
        match value {
            None => Ok(None),
            Some(Field::UInt(n)) => Ok(Some(*n)),
            Some(_) => Err(self.invalid(field, "must be a non-negative integer")),
        }
    }

    fn opt_u64_or_str(
        &self,
        field: &'static str,
        value: &Option<Field<'_>>,
    ) -> Result<Option<u64>, ParseFailure> {
        match value {
            Some(Field::Str(s)) => s
                .parse::<u64>()
                .map(Some)
                .map_err(|_| self.invalid(field, "must be a non-negative integer")),
            other => self.opt_u64(field, other),
        }
    }

    fn symbol(&self, catalog: &Catalog) -> Result<SymbolId, ParseFailure> {
        self.opt_symbol(catalog)?
            .ok_or_else(|| self.missing("symbol"))
    }

    fn opt_symbol(&self, catalog: &Catalog) -> Result<Option<SymbolId>, ParseFailure> {
        let Some(name) = self.opt_str("symbol", &self.raw.symbol)? else {
            return Ok(None);
        };
        catalog.symbol_id(name).map(Some).ok_or_else(|| {
            let known: Vec<&str> = catalog
                .symbols()
                .iter()
                .map(|s| s.spec.name.as_str())
                .collect();
            self.fail(
                ErrorCode::UnknownSymbol,
                Some("symbol"),
                format!("unknown symbol {name:?}; symbols are {}", known.join(", ")),
            )
        })
    }

    fn order_ref(&self) -> Result<OrderRef, ParseFailure> {
        let r = self.raw;
        match (&r.order_id, &r.client_order_id) {
            (Some(id), _) => {
                let id = match id {
                    Field::UInt(n) => Some(*n),
                    Field::Str(s) => s.parse::<u64>().ok(),
                    Field::Int(_) => None,
                    Field::Float(_) | Field::Bool(_) | Field::Compound => {
                        return Err(self.fail(
                            ErrorCode::InvalidField,
                            Some("order_id"),
                            "order_id must be a string or an integer".into(),
                        ))
                    }
                };
                // An id that cannot be ours is simply not found, like any other unknown id.
                Ok(OrderRef::Id(OrderId(id.unwrap_or(0))))
            }
            (None, Some(_)) => Ok(OrderRef::Client(
                self.client_order_id()?
                    .ok_or_else(|| self.missing("order_id"))?,
            )),
            (None, None) => Err(self.fail(
                ErrorCode::MissingField,
                Some("order_id"),
                "missing field `order_id` (or `client_order_id`)".into(),
            )),
        }
    }

    fn client_order_id(&self) -> Result<Option<ClientOrderId>, ParseFailure> {
        match self.opt_str("client_order_id", &self.raw.client_order_id)? {
            None => Ok(None),
            Some(s) => ClientOrderId::new(s).map(Some).ok_or_else(|| {
                self.invalid(
                    "client_order_id",
                    "must be 1 to 36 characters of A-Z a-z 0-9 . _ : -",
                )
            }),
        }
    }

    fn status_filter(&self) -> Result<Option<StatusFilter>, ParseFailure> {
        let Some(s) = self.opt_str("status", &self.raw.status)? else {
            return Ok(None);
        };
        let status = match upper(s, &mut [0; KEYWORD_MAX]) {
            "OPEN" => return Ok(Some(StatusFilter::Open)),
            "PENDING" => OrderStatus::Pending,
            "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
            "FILLED" => OrderStatus::Filled,
            "CANCELLED" | "CANCELED" => OrderStatus::Cancelled,
            "EXPIRED" => OrderStatus::Expired,
            "REJECTED" => OrderStatus::Rejected,
            _ => return Err(self.invalid("status", "is not an order status")),
        };
        Ok(Some(StatusFilter::Exactly(status)))
    }

    fn depth(&self) -> Result<usize, ParseFailure> {
        match self.opt_u64("depth", &self.raw.depth)? {
            None => Ok(DEFAULT_DEPTH),
            Some(0) => Err(self.invalid("depth", "must be at least 1")),
            Some(d) => Ok((d as usize).min(MAX_DEPTH)),
        }
    }

    fn new_order(&self, catalog: &Catalog) -> Result<NewOrder, ParseFailure> {
        let r = self.raw;
        let symbol_id = self.symbol(catalog)?;
        let symbol = catalog
            .symbol(symbol_id)
            .ok_or_else(|| self.missing("symbol"))?;
        let side = match upper(self.req_str("side", &r.side)?, &mut [0; KEYWORD_MAX]) {
            "BUY" => Side::Buy,
            "SELL" => Side::Sell,
            _ => return Err(self.invalid("side", "must be BUY or SELL")),
        };
        let order_type = match upper(
            self.req_str("order_type", &r.order_type)?,
            &mut [0; KEYWORD_MAX],
        ) {
            "LIMIT" => OrderType::Limit,
            "MARKET" => OrderType::Market,
            _ => return Err(self.invalid("order_type", "must be LIMIT or MARKET")),
        };
        let time_in_force = match self.opt_str("time_in_force", &r.time_in_force)? {
            // A market order never rests: what it cannot fill at once expires.
            None if order_type == OrderType::Market => TimeInForce::Ioc,
            None => TimeInForce::Gtc,
            Some(s) => match upper(s, &mut [0; KEYWORD_MAX]) {
                "GTC" => TimeInForce::Gtc,
                "IOC" => TimeInForce::Ioc,
                "FOK" => TimeInForce::Fok,
                _ => return Err(self.invalid("time_in_force", "must be GTC, IOC or FOK")),
            },
        };
        let price = match order_type {
            OrderType::Market => None,
            OrderType::Limit => {
                let text = self.req_str("price", &r.price)?;
                Some(symbol.parse_price(text).map_err(|e| {
                    self.fail(
                        ErrorCode::from_parse(e, true),
                        Some("price"),
                        format!(
                            "price {text:?}: {e} (tick size {})",
                            symbol.spec.tick.format(1)
                        ),
                    )
                })?)
            }
        };
        let qty_text = self.req_str("quantity", &r.quantity)?;
        let qty: Qty = symbol.parse_qty(qty_text).map_err(|e| {
            self.fail(
                ErrorCode::from_parse(e, false),
                Some("quantity"),
                format!(
                    "quantity {qty_text:?}: {e} (lot size {})",
                    symbol.spec.lot.format(1)
                ),
            )
        })?;
        let stp = match self.opt_str("self_trade_prevention", &r.self_trade_prevention)? {
            None => None,
            Some(s) => Some(match upper(s, &mut [0; KEYWORD_MAX]) {
                "EXPIRE_TAKER" => StpMode::ExpireTaker,
                "EXPIRE_MAKER" => StpMode::ExpireMaker,
                "EXPIRE_BOTH" => StpMode::ExpireBoth,
                "NONE" => StpMode::None,
                _ => {
                    return Err(self.invalid(
                        "self_trade_prevention",
                        "must be EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH or NONE",
                    ))
                }
            }),
        };
        Ok(NewOrder {
            account: engine::AccountId(0),
            symbol: symbol_id,
            side,
            order_type,
            price,
            qty,
            time_in_force,
            post_only: self.opt_bool("post_only", &r.post_only)?.unwrap_or(false),
            client_order_id: self.client_order_id()?,
            stp,
            quote_budget: None,
        })
    }
}

/// Every field any request may carry, each as whatever JSON value was sent.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRequest<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<Field<'a>>,
    #[serde(borrow)]
    request_id: Option<Field<'a>>,
    #[serde(borrow)]
    symbol: Option<Field<'a>>,
    #[serde(borrow)]
    side: Option<Field<'a>>,
    #[serde(borrow)]
    order_type: Option<Field<'a>>,
    #[serde(borrow)]
    price: Option<Field<'a>>,
    #[serde(borrow)]
    quantity: Option<Field<'a>>,
    #[serde(borrow)]
    time_in_force: Option<Field<'a>>,
    #[serde(borrow)]
    client_order_id: Option<Field<'a>>,
    #[serde(borrow)]
    post_only: Option<Field<'a>>,
    #[serde(borrow)]
    self_trade_prevention: Option<Field<'a>>,
    #[serde(borrow)]
    order_id: Option<Field<'a>>,
    #[serde(borrow)]
    status: Option<Field<'a>>,
    #[serde(borrow)]
    channel: Option<Field<'a>>,
    #[serde(borrow)]
    interval: Option<Field<'a>>,
    #[serde(borrow)]
    depth: Option<Field<'a>>,
    #[serde(borrow)]
    account: Option<Field<'a>>,
    #[serde(borrow)]
    api_key: Option<Field<'a>>,
    #[serde(borrow)]
    since: Option<Field<'a>>,
    #[serde(borrow)]
    cancel_on_disconnect: Option<Field<'a>>,
    #[serde(borrow)]
    timeout_ms: Option<Field<'a>>,
    #[serde(borrow)]
    resume_token: Option<Field<'a>>,
    #[serde(borrow)]
    last_account_seq: Option<Field<'a>>,
}

/// Any JSON value, keeping only what validation needs: strings borrowed where possible, numbers,
/// booleans; arrays and objects are skipped.
enum Field<'a> {
    Str(Cow<'a, str>),
    UInt(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Compound,
}

impl Field<'_> {
    fn request_id(&self) -> Option<RequestId> {
        Some(match self {
            Field::Str(s) => {
                let mut text = String::with_capacity(s.len() + 2);
                crate::json::write_escaped(s, &mut text);
                RequestId::from_json(&text)
            }
            // Every request carries one: no `fmt` for the common numeric ids.
            Field::UInt(n) => RequestId::from_json(itoa::Buffer::new().format(*n)),
            Field::Int(n) => RequestId::from_json(itoa::Buffer::new().format(*n)),
            Field::Float(f) if f.is_finite() => RequestId::from_json(&f.to_string()),
            _ => return None,
        })
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Field::UInt(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(if v >= 0 {
                    Field::UInt(v as u64)
                } else {
                    Field::Int(v)
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Field::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Field::Bool(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Compound)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Compound)
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{Engine, EngineConfig, Price};

    fn catalog() -> Catalog {
        let spec = |name: &str, base: &str| engine::SymbolSpec {
            name: name.into(),
            base: base.into(),
            quote: "USD".into(),
            tick: engine::Increment::from_str_positive("0.01").unwrap(),
            lot: engine::Increment::from_str_positive("0.00001").unwrap(),
            min_qty: Qty(1),
            max_qty: Qty(i64::MAX / 4),
            min_notional: engine::Amount(0),
        };
        let engine = Engine::new(EngineConfig {
            symbols: vec![spec("BTC/USD", "BTC"), spec("ETH/USD", "ETH")],
            ..EngineConfig::default()
        })
        .unwrap();
        Catalog::from_engine(&engine)
    }

    fn fail(text: &str) -> ParseFailure {
        parse_request(text, &catalog()).expect_err(text)
    }

    #[test]
    fn a_full_place_order_parses_into_engine_units() {
        let r = parse_request(
            r#"{"type":"PLACE_ORDER","request_id":"o-1","symbol":"BTC/USD","side":"sell",
                "order_type":"LIMIT","price":"50000.5","quantity":"0.25","time_in_force":"IOC",
                "client_order_id":"abc:1","post_only":false,"self_trade_prevention":"NONE",
                "unknown_extra":{"ignored":[1]}}"#,
            &catalog(),
        )
        .unwrap();
        assert_eq!(r.rid, Some(RequestId::from_json("\"o-1\"")));
        let Command::Place(o) = r.command else {
            panic!("{r:?}")
        };
        assert_eq!(o.side, Side::Sell);
        assert_eq!(o.price, Some(Price(5_000_050)));
        assert_eq!(o.qty, Qty(25_000));
        assert_eq!(o.time_in_force, TimeInForce::Ioc);
        assert_eq!(o.client_order_id.unwrap().as_str(), "abc:1");
        assert_eq!(o.stp, Some(StpMode::None));
    }

    #[test]
    fn keywords_match_in_any_case_and_overlong_ones_are_invalid() {
        let r = parse_request(
            r#"{"type":"PLACE_ORDER","request_id":7,"symbol":"BTC/USD","side":"sell","order_type":"Limit","price":"50000.50","quantity":"0.25","time_in_force":"fok","self_trade_prevention":"expire_maker"}"#,
            &catalog(),
        )
        .unwrap();
        let Command::Place(o) = r.command else {
            panic!("{r:?}")
        };
        assert_eq!(
            (o.side, o.order_type, o.time_in_force, o.stp),
            (
                Side::Sell,
                OrderType::Limit,
                TimeInForce::Fok,
                Some(StpMode::ExpireMaker)
            )
        );
        assert_eq!(r.rid.map(|id| id.as_json().to_owned()), Some("7".into()));
        let overlong = format!(
            r#"{{"type":"PLACE_ORDER","symbol":"BTC/USD","side":"{}","order_type":"LIMIT","price":"1","quantity":"1"}}"#,
            "B".repeat(KEYWORD_MAX + 1)
        );
        let f = fail(&overlong);
        assert_eq!((f.code, f.field), (ErrorCode::InvalidField, Some("side")));
    }

    #[test]
    fn market_orders_ignore_price_and_default_to_ioc() {
        let r = parse_request(
            r#"{"type":"PLACE_ORDER","symbol":"ETH/USD","side":"BUY","order_type":"MARKET","quantity":"1"}"#,
            &catalog(),
        )
        .unwrap();
        let Command::Place(o) = r.command else {
            panic!()
        };
        assert_eq!(
            (o.price, o.time_in_force, o.symbol),
            (None, TimeInForce::Ioc, SymbolId(1))
        );
        assert_eq!(r.rid, None);
    }

    #[test]
    fn each_malformation_has_its_code_and_field() {
        let cases = [
            ("nope", ErrorCode::InvalidJson, None),
            ("[]", ErrorCode::InvalidMessage, None),
            ("{}", ErrorCode::MissingField, Some("type")),
            (r#"{"type":null}"#, ErrorCode::MissingField, Some("type")),
            (r#"{"type":"X"}"#, ErrorCode::UnknownType, Some("type")),
            (
                r#"{"type":"PING","request_id":[1]}"#,
                ErrorCode::InvalidField,
                Some("request_id"),
            ),
            (
                r#"{"type":"GET_POSITION"}"#,
                ErrorCode::MissingField,
                Some("symbol"),
            ),
            (
                r#"{"type":"GET_POSITION","symbol":"X/Y"}"#,
                ErrorCode::UnknownSymbol,
                Some("symbol"),
            ),
            (
                r#"{"type":"GET_ORDERBOOK","symbol":"BTC/USD","depth":0}"#,
                ErrorCode::InvalidField,
                Some("depth"),
            ),
            (
                r#"{"type":"GET_ORDERBOOK","symbol":"BTC/USD","depth":-1}"#,
                ErrorCode::InvalidField,
                Some("depth"),
            ),
            (
                r#"{"type":"GET_ORDERS","status":"DONE"}"#,
                ErrorCode::InvalidField,
                Some("status"),
            ),
            (
                r#"{"type":"CANCEL_ALL_AFTER"}"#,
                ErrorCode::MissingField,
                Some("timeout_ms"),
            ),
            (
                r#"{"type":"CANCEL_ALL_AFTER","timeout_ms":1000000000000000}"#,
                ErrorCode::InvalidField,
                Some("timeout_ms"),
            ),
            (
                r#"{"type":"RESUME","account":"a"}"#,
                ErrorCode::MissingField,
                Some("resume_token"),
            ),
            (
                r#"{"type":"SUBSCRIBE","channel":"CANDLES","symbol":"BTC/USD","interval":"2m"}"#,
                ErrorCode::InvalidField,
                Some("interval"),
            ),
            (
                r#"{"type":"AMEND_ORDER","order_id":"1","quantity":"x"}"#,
                ErrorCode::InvalidField,
                Some("quantity"),
            ),
            (
                r#"{"type":"AMEND_ORDER","order_id":"1","quantity":"-1"}"#,
                ErrorCode::NotPositive,
                Some("quantity"),
            ),
            (
                r#"{"type":"LOGIN","account":"a"}"#,
                ErrorCode::MissingField,
                Some("api_key"),
            ),
            (
                r#"{"type":"LOGIN","account":"a","api_key":"k","cancel_on_disconnect":"yes"}"#,
                ErrorCode::InvalidField,
                Some("cancel_on_disconnect"),
            ),
            (
                r#"{"type":"SUBSCRIBE","channel":"NEWS","symbol":"BTC/USD"}"#,
                ErrorCode::UnknownChannel,
                Some("channel"),
            ),
            (
                r#"{"type":"SUBSCRIBE","channel":"TRADES"}"#,
                ErrorCode::MissingField,
                Some("symbol"),
            ),
            (
                r#"{"type":"PLACE_ORDER","symbol":"BTC/USD","side":"BUY","order_type":"STOP","quantity":"1"}"#,
                ErrorCode::InvalidField,
                Some("order_type"),
            ),
            (
                r#"{"type":"PLACE_ORDER","symbol":"BTC/USD","side":"BUY","order_type":"LIMIT","quantity":"1"}"#,
                ErrorCode::MissingField,
                Some("price"),
            ),
            (
                r#"{"type":"PLACE_ORDER","symbol":"BTC/USD","side":"BUY","order_type":"LIMIT","price":"1.001","quantity":"1"}"#,
                ErrorCode::TickSize,
                Some("price"),
            ),
            (
                r#"{"type":"PLACE_ORDER","symbol":"BTC/USD","side":"BUY","order_type":"LIMIT","price":"1","quantity":"0"}"#,
                ErrorCode::NotPositive,
                Some("quantity"),
            ),
            (
                r#"{"type":"PLACE_ORDER","symbol":"BTC/USD","side":"BUY","order_type":"LIMIT","price":"1","quantity":"1","time_in_force":"DAY"}"#,
                ErrorCode::InvalidField,
                Some("time_in_force"),
            ),
            (
                r#"{"type":"PLACE_ORDER","symbol":"BTC/USD","side":"BUY","order_type":"LIMIT","price":"1","quantity":"1","client_order_id":""}"#,
                ErrorCode::InvalidField,
                Some("client_order_id"),
            ),
            (
                r#"{"type":"PLACE_ORDER","symbol":"BTC/USD","side":"BUY","order_type":"LIMIT","price":"1","quantity":"1","self_trade_prevention":"MAYBE"}"#,
                ErrorCode::InvalidField,
                Some("self_trade_prevention"),
            ),
        ];
        for (text, code, field) in cases {
            let f = fail(text);
            assert_eq!((f.code, f.field), (code, field), "{text}: {}", f.message);
            assert!(!f.message.is_empty());
        }
    }

    #[test]
    fn request_id_is_echoed_even_when_the_rest_is_wrong() {
        let f = fail(r#"{"type":"FLY","request_id":42}"#);
        assert_eq!(f.request_id, Some(RequestId::from_json("42")));
        assert_eq!(f.msg_type.as_deref(), Some("FLY"));
        let ok = parse_request(r#"{"type":"PING","request_id":"a\"b"}"#, &catalog()).unwrap();
        assert_eq!(ok.rid, Some(RequestId::from_json("\"a\\\"b\"")));
    }

    #[test]
    fn orders_are_named_by_id_or_client_id() {
        let by_id = |text: &str| match parse_request(text, &catalog()).unwrap().command {
            Command::Cancel(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            by_id(r#"{"type":"CANCEL_ORDER","order_id":"17"}"#),
            OrderRef::Id(OrderId(17))
        );
        assert_eq!(
            by_id(r#"{"type":"CANCEL_ORDER","order_id":17}"#),
            OrderRef::Id(OrderId(17))
        );
        assert_eq!(
            by_id(r#"{"type":"CANCEL_ORDER","client_order_id":"c-1"}"#),
            OrderRef::Client(ClientOrderId::new("c-1").unwrap())
        );
        // An id that cannot be ours is simply not found later (never a different error).
        assert_eq!(
            by_id(r#"{"type":"CANCEL_ORDER","order_id":"zz"}"#),
            OrderRef::Id(OrderId(0))
        );
        // A value of the wrong type is a field error, though.
        for wrong in [r#"[1]"#, r#"{"id":1}"#, "true", "1.5"] {
            let text = format!(r#"{{"type":"CANCEL_ORDER","order_id":{wrong}}}"#);
            let failure = parse_request(&text, &catalog()).unwrap_err();
            assert_eq!(failure.code, ErrorCode::InvalidField, "{text}");
            assert_eq!(failure.field, Some("order_id"), "{text}");
        }
    }
}
