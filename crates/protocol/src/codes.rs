//! The stable error codes of the protocol, each with its meaning. docs/PROTOCOL.md lists them all.

use engine::{ParseError, Reject};

/// A stable, upper-case error code. New codes may be added; existing ones never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The text frame is not valid JSON.
    InvalidJson,
    /// The JSON is not an object, or the frame is binary.
    InvalidMessage,
    /// `type` names no known request.
    UnknownType,
    /// A required field is absent (or null).
    MissingField,
    /// A field has the wrong JSON type or an invalid value.
    InvalidField,
    UnknownSymbol,
    UnknownChannel,
    /// A price is not a multiple of the symbol's tick (too many decimals).
    TickSize,
    /// A quantity is not a multiple of the symbol's lot (too many decimals).
    LotSize,
    /// A price or quantity is zero or negative.
    NotPositive,
    /// A number is too large.
    Overflow,
    MissingPrice,
    InvalidQuantity,
    MinQuantity,
    MaxQuantity,
    MinNotional,
    InvalidPostOnly,
    InsufficientFunds,
    DuplicateClientOrderId,
    WouldTake,
    OrderNotFound,
    OrderClosed,
    InvalidAmend,
    /// More requests per second than the connection's limit.
    RateLimited,
    /// The frame exceeds the maximum size (the connection is then closed with 1009).
    MessageTooLarge,
    /// The request needs a LOGIN first.
    NotLoggedIn,
    /// Unknown account or wrong API key.
    AuthFailed,
    /// LOGIN or RESUME on a connection already bound to an account.
    AlreadyLoggedIn,
    /// UNSUBSCRIBE from a channel the connection is not subscribed to.
    NotSubscribed,
    /// A transient refusal before the engine (injected fault): retry later.
    ExchangeBusy,
    /// The exchange is in an outage window (injected fault).
    ExchangeUnavailable,
    /// The request timed out: it may or may not have been carried out (injected fault).
    UnknownOutcome,
    /// RESUME asked for events older than the server still holds.
    ResumeGap,
    /// The resume token is unknown or expired.
    InvalidResumeToken,
    /// The server failed; the request may be retried.
    InternalError,
    /// HTTP: no route at that path.
    UnknownEndpoint,
    /// HTTP: the path exists, the method is not served there.
    MethodNotAllowed,
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidJson => "INVALID_JSON",
            InvalidMessage => "INVALID_MESSAGE",
            UnknownType => "UNKNOWN_TYPE",
            MissingField => "MISSING_FIELD",
            InvalidField => "INVALID_FIELD",
            UnknownSymbol => "UNKNOWN_SYMBOL",
            UnknownChannel => "UNKNOWN_CHANNEL",
            TickSize => "TICK_SIZE",
            LotSize => "LOT_SIZE",
            NotPositive => "NOT_POSITIVE",
            Overflow => "OVERFLOW",
            MissingPrice => "MISSING_PRICE",
            InvalidQuantity => "INVALID_QUANTITY",
            MinQuantity => "MIN_QUANTITY",
            MaxQuantity => "MAX_QUANTITY",
            MinNotional => "MIN_NOTIONAL",
            InvalidPostOnly => "INVALID_POST_ONLY",
            InsufficientFunds => "INSUFFICIENT_FUNDS",
            DuplicateClientOrderId => "DUPLICATE_CLIENT_ORDER_ID",
            WouldTake => "WOULD_TAKE",
            OrderNotFound => "ORDER_NOT_FOUND",
            OrderClosed => "ORDER_CLOSED",
            InvalidAmend => "INVALID_AMEND",
            RateLimited => "RATE_LIMITED",
            MessageTooLarge => "MESSAGE_TOO_LARGE",
            NotLoggedIn => "NOT_LOGGED_IN",
            AuthFailed => "AUTH_FAILED",
            AlreadyLoggedIn => "ALREADY_LOGGED_IN",
            NotSubscribed => "NOT_SUBSCRIBED",
            ExchangeBusy => "EXCHANGE_BUSY",
            ExchangeUnavailable => "EXCHANGE_UNAVAILABLE",
            UnknownOutcome => "UNKNOWN_OUTCOME",
            ResumeGap => "RESUME_GAP",
            InvalidResumeToken => "INVALID_RESUME_TOKEN",
            InternalError => "INTERNAL_ERROR",
            UnknownEndpoint => "UNKNOWN_ENDPOINT",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
        }
    }

    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 37] = {
        use ErrorCode::*;
        [
            InvalidJson,
            InvalidMessage,
            UnknownType,
            MissingField,
            InvalidField,
            UnknownSymbol,
            UnknownChannel,
            TickSize,
            LotSize,
            NotPositive,
            Overflow,
            MissingPrice,
            InvalidQuantity,
            MinQuantity,
            MaxQuantity,
            MinNotional,
            InvalidPostOnly,
            InsufficientFunds,
            DuplicateClientOrderId,
            WouldTake,
            OrderNotFound,
            OrderClosed,
            InvalidAmend,
            RateLimited,
            MessageTooLarge,
            NotLoggedIn,
            AuthFailed,
            AlreadyLoggedIn,
            NotSubscribed,
            ExchangeBusy,
            ExchangeUnavailable,
            UnknownOutcome,
            ResumeGap,
            InvalidResumeToken,
            InternalError,
            UnknownEndpoint,
            MethodNotAllowed,
        ]
    };

    /// The code for an engine refusal.
    pub fn from_reject(reject: &Reject) -> ErrorCode {
        use ErrorCode::*;
        match reject {
            Reject::UnknownSymbol => UnknownSymbol,
            Reject::UnknownAccount | Reject::UnknownAsset | Reject::AccountBusy => InternalError,
            Reject::MissingPrice => MissingPrice,
            Reject::InvalidQuantity | Reject::InvalidQuoteBudget => InvalidQuantity,
            Reject::MinQuantity => MinQuantity,
            Reject::MaxQuantity => MaxQuantity,
            Reject::MinNotional => MinNotional,
            Reject::InvalidPostOnly => InvalidPostOnly,
            Reject::InsufficientFunds => InsufficientFunds,
            Reject::DuplicateClientOrderId(_) => DuplicateClientOrderId,
            Reject::WouldTake => WouldTake,
            Reject::OrderNotFound => OrderNotFound,
            Reject::OrderClosed(_) => OrderClosed,
            Reject::InvalidAmend => InvalidAmend,
            Reject::Overflow => Overflow,
        }
    }

    /// The code for a price (`is_price`) or quantity that does not parse.
    pub fn from_parse(err: ParseError, is_price: bool) -> ErrorCode {
        match err {
            ParseError::NotANumber => ErrorCode::InvalidField,
            ParseError::NotPositive => ErrorCode::NotPositive,
            ParseError::NotAMultiple if is_price => ErrorCode::TickSize,
            ParseError::NotAMultiple => ErrorCode::LotSize,
            ParseError::Overflow => ErrorCode::Overflow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{s}"
            );
        }
    }
}
