//! Binance's error answers: an HTTP status, a negative code and the message Binance sends for the
//! same cause, word for word where client libraries match on it (ccxt maps some `-2010` messages
//! to their own exceptions).

use std::borrow::Cow;

use engine::Reject;
use exchange::Failure;

/// An error as Binance reports it: `{"code":-1121,"msg":"Invalid symbol."}` with `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: i32,
    pub msg: Cow<'static, str>,
}

/// What the order was doing when the core refused it: the same refusal reads differently for a
/// new order, a cancel and a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doing {
    Placing { market: bool },
    Cancelling,
    Looking,
}

impl ApiError {
    fn new(status: u16, code: i32, msg: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            status,
            code,
            msg: msg.into(),
        }
    }

    /// `-1000`: something the exchange did not expect.
    pub fn unknown(msg: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(400, -1000, msg)
    }

    /// `-1003`: over the request weight limit (HTTP 429).
    pub fn too_many_requests(limit: u32) -> ApiError {
        ApiError::new(
            429,
            -1003,
            format!(
                "Too many requests; current limit of IP request weight per minute is {limit}. \
                 Please use WebSocket Streams for live updates to avoid polling the API."
            ),
        )
    }

    /// `-1003` with HTTP 418: the client kept going after 429s and is banned for a while.
    pub fn banned(until_ms: u64) -> ApiError {
        ApiError::new(
            418,
            -1003,
            format!(
                "Way too many requests; IP banned until {until_ms}. Please use WebSocket \
                 Streams for live updates to avoid bans."
            ),
        )
    }

    /// `-1007` with HTTP 503: the order may or may not have been executed.
    pub fn timeout() -> ApiError {
        ApiError::new(
            503,
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; execution \
             status unknown.",
        )
    }

    /// `-1008` with HTTP 503: the exchange refuses work while overloaded.
    pub fn overloaded() -> ApiError {
        ApiError::new(
            503,
            -1008,
            "Server is currently overloaded with other requests. Please try again in a few \
             minutes.",
        )
    }

    /// HTTP 503 while the exchange is down (an outage).
    pub fn unavailable() -> ApiError {
        ApiError::new(
            503,
            -1001,
            "Internal error; unable to process your request. Please try again.",
        )
    }

    /// HTTP 5xx from the fault layer, with `status` as chosen.
    pub fn server_error(status: u16) -> ApiError {
        ApiError::new(
            status,
            -1000,
            "An unknown error occurred while processing the request.",
        )
    }

    /// `-1013`: a filter refused the order.
    pub fn filter(filter: &str) -> ApiError {
        ApiError::new(400, -1013, format!("Filter failure: {filter}"))
    }

    /// `-1014`: a combination of order parameters the exchange does not support.
    pub fn unsupported_combination() -> ApiError {
        ApiError::new(400, -1014, "Unsupported order combination.")
    }

    /// `-1015`: over an order-count limit (HTTP 429).
    pub fn too_many_orders(limit: u32, interval: &str) -> ApiError {
        ApiError::new(
            429,
            -1015,
            format!("Too many new orders; current limit is {limit} orders per {interval}."),
        )
    }

    /// `-1021`: the timestamp is outside the receive window (or too far ahead).
    pub fn timestamp_outside_window() -> ApiError {
        ApiError::new(
            400,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        )
    }

    /// `-1021`: the timestamp is more than a second ahead of the server's clock.
    pub fn timestamp_ahead() -> ApiError {
        ApiError::new(
            400,
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        )
    }

    /// `-1022`: the signature does not match.
    pub fn bad_signature() -> ApiError {
        ApiError::new(400, -1022, "Signature for this request is not valid.")
    }

    /// `-1100`: a parameter's value has the wrong form.
    pub fn illegal_chars(param: &str) -> ApiError {
        ApiError::new(
            400,
            -1100,
            format!(
                "Illegal characters found in parameter '{param}'; legal range is '{}'.",
                legal_range(param)
            ),
        )
    }

    /// `-1101`: a parameter was sent twice.
    pub fn duplicate_param() -> ApiError {
        ApiError::new(400, -1101, "Duplicate values for a parameter detected.")
    }

    /// `-1102`: a mandatory parameter is missing or empty.
    pub fn missing(param: &str) -> ApiError {
        ApiError::new(
            400,
            -1102,
            format!("Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
        )
    }

    /// `-1102` naming two parameters of which one is needed.
    pub fn missing_either(a: &str, b: &str) -> ApiError {
        ApiError::new(
            400,
            -1102,
            format!("Param '{a}' or '{b}' must be sent, but both were empty/null!"),
        )
    }

    /// `-1106`: a parameter this kind of order does not take.
    pub fn not_required(param: &str) -> ApiError {
        ApiError::new(
            400,
            -1106,
            format!("Parameter '{param}' sent when not required."),
        )
    }

    /// `-1111`: more decimals than the asset has.
    pub fn too_precise(param: &str) -> ApiError {
        ApiError::new(
            400,
            -1111,
            format!("Parameter '{param}' has too much precision."),
        )
    }

    /// `-1115`.
    pub fn bad_time_in_force() -> ApiError {
        ApiError::new(400, -1115, "Invalid timeInForce.")
    }

    /// `-1116`.
    pub fn bad_order_type() -> ApiError {
        ApiError::new(400, -1116, "Invalid orderType.")
    }

    /// `-1117`.
    pub fn bad_side() -> ApiError {
        ApiError::new(400, -1117, "Invalid side.")
    }

    /// `-1120`.
    pub fn bad_interval() -> ApiError {
        ApiError::new(400, -1120, "Invalid interval.")
    }

    /// `-1121`.
    pub fn bad_symbol() -> ApiError {
        ApiError::new(400, -1121, "Invalid symbol.")
    }

    /// `-1131`.
    pub fn bad_recv_window() -> ApiError {
        ApiError::new(400, -1131, "recvWindow must be less than 60000")
    }

    /// `-2010` with Binance's words for an order refused for lack of funds.
    pub fn insufficient_balance() -> ApiError {
        ApiError::new(
            400,
            -2010,
            "Account has insufficient balance for requested action.",
        )
    }

    /// `-2010`: a LIMIT_MAKER order that would take.
    pub fn would_take() -> ApiError {
        ApiError::new(400, -2010, "Order would immediately match and take.")
    }

    /// `-2010`: the client order id is in use by an open order.
    pub fn duplicate_order() -> ApiError {
        ApiError::new(400, -2010, "Duplicate order sent.")
    }

    /// `-2011`: a cancel of an order that is not open.
    pub fn unknown_order() -> ApiError {
        ApiError::new(400, -2011, "Unknown order sent.")
    }

    /// `-2013`: a lookup of an order that does not exist.
    pub fn no_such_order() -> ApiError {
        ApiError::new(400, -2013, "Order does not exist.")
    }

    /// `-2014`: the API key header is missing or malformed.
    pub fn bad_api_key_format() -> ApiError {
        ApiError::new(401, -2014, "API-key format invalid.")
    }

    /// `-2015`: no account has this key.
    pub fn rejected_api_key() -> ApiError {
        ApiError::new(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        )
    }

    /// An unknown path (HTTP 404).
    pub fn not_found() -> ApiError {
        ApiError::new(404, -1000, "Unknown endpoint.")
    }

    /// A method the path does not take (HTTP 405).
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(405, -1000, "Method not allowed for this endpoint.")
    }

    /// A body over the size limit (HTTP 413).
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            413,
            -1000,
            format!("Request bodies are limited to {limit} bytes."),
        )
    }

    /// What the core's refusal reads as, for what the request was doing.
    pub fn from_failure(failure: &Failure, doing: Doing) -> ApiError {
        match failure {
            Failure::Reject(reject) => ApiError::from_reject(reject, doing),
            Failure::AuthFailed
            | Failure::UnknownApiKey
            | Failure::UnknownAccount
            | Failure::NotLoggedIn => ApiError::rejected_api_key(),
            Failure::Quantity { .. } => ApiError::filter("LOT_SIZE"),
            Failure::Internal(what) => ApiError::new(500, -1000, format!("Internal error: {what}")),
            other => ApiError::unknown(format!("{other:?}")),
        }
    }

    /// What the engine's refusal reads as.
    pub fn from_reject(reject: &Reject, doing: Doing) -> ApiError {
        let market = matches!(doing, Doing::Placing { market: true });
        match reject {
            Reject::UnknownSymbol => ApiError::bad_symbol(),
            Reject::MissingPrice => ApiError::missing("price"),
            Reject::InvalidQuantity | Reject::MinQuantity | Reject::MaxQuantity => {
                ApiError::filter(if market {
                    "MARKET_LOT_SIZE"
                } else {
                    "LOT_SIZE"
                })
            }
            Reject::MinNotional | Reject::Overflow => ApiError::filter("NOTIONAL"),
            Reject::InvalidPostOnly | Reject::InvalidQuoteBudget => {
                ApiError::unsupported_combination()
            }
            Reject::InsufficientFunds => ApiError::insufficient_balance(),
            Reject::DuplicateClientOrderId(_) => ApiError::duplicate_order(),
            Reject::WouldTake => ApiError::would_take(),
            Reject::OrderNotFound | Reject::OrderClosed(_) => match doing {
                Doing::Looking => ApiError::no_such_order(),
                Doing::Cancelling | Doing::Placing { .. } => ApiError::unknown_order(),
            },
            Reject::UnknownAccount => ApiError::rejected_api_key(),
            other => ApiError::unknown(other.to_string()),
        }
    }

    /// Appends the JSON body.
    pub fn write_body(&self, out: &mut String) {
        out.push_str("{\"code\":");
        out.push_str(itoa::Buffer::new().format(self.code));
        out.push_str(",\"msg\":");
        protocol::json::write_escaped(&self.msg, out);
        out.push('}');
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let mut out = String::with_capacity(self.msg.len() + 24);
        self.write_body(&mut out);
        out
    }
}

/// The pattern Binance quotes for a parameter's legal values.
fn legal_range(param: &str) -> &'static str {
    match param {
        "symbol" => "^[A-Z0-9-_.]{1,20}$",
        "newClientOrderId" | "origClientOrderId" | "cancelOrigClientOrderId" => {
            "^[\\.A-Z\\:/a-z0-9_-]{1,36}$"
        }
        _ => "^([0-9]{1,20})(\\.[0-9]{1,20})?$",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messages_clients_match_on_are_binances() {
        assert_eq!(
            ApiError::insufficient_balance().body(),
            r#"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#
        );
        assert_eq!(
            ApiError::would_take().body(),
            r#"{"code":-2010,"msg":"Order would immediately match and take."}"#
        );
        assert_eq!(
            ApiError::bad_symbol().body(),
            r#"{"code":-1121,"msg":"Invalid symbol."}"#
        );
        assert_eq!(
            ApiError::timeout().msg,
            "Timeout waiting for response from backend server. Send status unknown; execution \
             status unknown."
        );
    }

    #[test]
    fn a_missing_order_reads_by_what_was_being_done() {
        let r = Reject::OrderNotFound;
        assert_eq!(ApiError::from_reject(&r, Doing::Looking).code, -2013);
        assert_eq!(ApiError::from_reject(&r, Doing::Cancelling).code, -2011);
        let lot = ApiError::from_reject(&Reject::MinQuantity, Doing::Placing { market: true });
        assert_eq!(lot.msg, "Filter failure: MARKET_LOT_SIZE");
    }
}
