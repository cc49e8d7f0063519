//! The wire dialects a connection may speak. Each is a parser and a renderer (a crate of its
//! own) beside the others; the core and the delivery never know which one a connection speaks,
//! only the connection's [`crate::link::Link`] does.

use exchange::{Catalog, Message, Request, RequestId};
use protocol::{messages as native, ErrorCode, ParseFailure};

/// A connection's dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// The exchange's own JSON protocol (`/`, `/ws`).
    Native,
}

/// Why a frame is answered by the connection itself, without reaching the core.
#[derive(Debug)]
pub enum EdgeError {
    /// The frame is not a valid request.
    Invalid(ParseFailure),
    /// More requests per second than the connection may send.
    RateLimited { limit: u32 },
    /// The fault layer's throttle refused the frame.
    Throttled,
    /// A binary frame: requests are JSON text.
    Binary,
    /// The frame is over the size limit (the connection closes after this).
    TooLarge { limit: usize },
    /// The fault layer refuses requests now (`reject_orders`: busy; `outage`: unavailable).
    Refused(faults::RejectCode),
    /// The fault layer damaged the frame on its way in (`corrupt_messages`) and it still reads
    /// as a request: it is not carried out, since the client never sent it.
    Damaged,
}

impl Dialect {
    /// How many dialects there are.
    pub const COUNT: usize = 1;

    /// The dialect's place in `0..COUNT` (for per-dialect tables).
    pub fn index(self) -> usize {
        match self {
            Dialect::Native => 0,
        }
    }

    /// Parses one text frame into a request.
    pub fn parse(self, text: &str, catalog: &Catalog) -> Result<Request, ParseFailure> {
        match self {
            Dialect::Native => protocol::parse_request(text, catalog),
        }
    }

    /// The request's type, as fault filters on inbound messages name it.
    pub fn request_type(self, request: &Request) -> &'static str {
        match self {
            Dialect::Native => protocol::request_type(&request.command),
        }
    }

    /// The message's type, as fault filters on outbound messages name it.
    pub fn type_name(self, message: &Message) -> &'static str {
        match self {
            Dialect::Native => native::type_name(message),
        }
    }

    /// Appends the frame of `message` with its `seq`.
    pub fn frame(self, seq: u64, message: &Message, catalog: &Catalog, out: &mut String) {
        match self {
            Dialect::Native => native::render_frame(seq, message, catalog, out),
        }
    }

    /// Appends the body of `message` without `seq` (shared, or before the fault layer stamps it).
    pub fn body(self, message: &Message, catalog: &Catalog, out: &mut String) {
        match self {
            Dialect::Native => native::render(message, catalog, out),
        }
    }

    /// Appends the stamped frame of a body rendered without `seq`.
    pub fn stamp(self, seq: u64, body: &str, out: &mut String) {
        match self {
            Dialect::Native => protocol::splice_seq(seq, body, out),
        }
    }

    /// Appends the answer to a frame the connection refused itself, echoing `rid` (`seq`: a
    /// frame; none: a body for the fault layer to stamp).
    pub fn edge_error(
        self,
        seq: Option<u64>,
        rid: Option<&RequestId>,
        error: &EdgeError,
        out: &mut String,
    ) {
        let Dialect::Native = self;
        let (rid, code, message, details): (Option<&RequestId>, _, String, String) = match error {
            EdgeError::Invalid(failure) => (
                failure.request_id.as_ref().or(rid),
                failure.code,
                failure.message.clone(),
                native::error_details(failure.field, failure.msg_type.as_deref()),
            ),
            EdgeError::RateLimited { limit } => (
                rid,
                ErrorCode::RateLimited,
                format!("more than {limit} messages per second"),
                "{}".into(),
            ),
            EdgeError::Throttled => (
                rid,
                ErrorCode::RateLimited,
                "rate limited: too many messages".into(),
                "{}".into(),
            ),
            EdgeError::Binary => (
                rid,
                ErrorCode::InvalidMessage,
                "binary frames are not supported: send JSON text frames".into(),
                "{}".into(),
            ),
            EdgeError::TooLarge { limit } => (
                rid,
                ErrorCode::MessageTooLarge,
                format!("frames are limited to {limit} bytes"),
                "{}".into(),
            ),
            EdgeError::Damaged => (
                rid,
                ErrorCode::InvalidMessage,
                "the frame arrived damaged (corrupt_messages): nothing was done".into(),
                "{}".into(),
            ),
            EdgeError::Refused(code) => (
                rid,
                match code {
                    faults::RejectCode::ExchangeBusy => ErrorCode::ExchangeBusy,
                    faults::RejectCode::ExchangeUnavailable => ErrorCode::ExchangeUnavailable,
                },
                "the exchange cannot take requests now: retry later".into(),
                "{}".into(),
            ),
        };
        native::error_frame(out, seq, rid, code, &message, &details);
    }

    /// Appends the answer that replaces an order's acknowledgement whose outcome the fault layer
    /// hides (`unknown_outcome`): the request's id and what the client reconciles with.
    pub fn unknown_outcome(self, ack: &Message, catalog: &Catalog, out: &mut String) {
        match self {
            Dialect::Native => {
                let client_order_id = ack.client_order_id();
                native::unknown_outcome(
                    out,
                    ack.rid(),
                    client_order_id.as_ref().map(|c| c.as_str()),
                    ack.symbol().map(|s| catalog.symbol_name(s)),
                )
            }
        }
    }
}
