//! The wire dialects a connection may speak. Each is a parser and a renderer (a crate of its
//! own) beside the others; the core and the delivery never know which one a connection speaks,
//! only the connection's [`crate::link::Link`] does.

use std::sync::Arc;

use binance::{ApiError, Keys, Venue};
use exchange::{Catalog, Message, Request, RequestId, Topic};
use protocol::{messages as native, ErrorCode, ParseFailure};

/// A connection's dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// The exchange's own JSON protocol (`/`, `/ws`).
    Native,
    /// Binance's market streams (`/ws`, `/ws/<stream>`; `combined`: `/stream?streams=`).
    BinanceStreams { combined: bool },
    /// Binance's WebSocket API (`/ws-api/v3`).
    BinanceApi,
}

/// What a link needs to read and write its dialect: the exchange under each dialect's names,
/// and, for Binance's WebSocket API, the keys requests sign with and the clock they are checked
/// against.
pub struct Wire {
    pub venue: Arc<Venue>,
    pub keys: Arc<dyn Keys>,
    /// The Unix time (ms) at the fault layer's time 0, the server's start.
    pub unix_ms_at_start: u64,
}

impl Wire {
    /// A wire for native connections only (the simulator's): no Binance keys or fees.
    pub fn native(catalog: Arc<Catalog>) -> Wire {
        let zero = engine::FeeRate(0);
        let venue = Venue::new(catalog, zero, zero, binance::RateLimits::default());
        Wire {
            venue: Arc::new(venue),
            keys: Arc::new(binance::keys::NoKeys),
            unix_ms_at_start: 0,
        }
    }
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
    pub const COUNT: usize = 3;

    /// The dialect's place in `0..COUNT` (for per-dialect tables).
    pub fn index(self) -> usize {
        match self {
            Dialect::Native => 0,
            Dialect::BinanceStreams { .. } => 1,
            Dialect::BinanceApi => 2,
        }
    }

    /// Its name, as the admin API and the metrics show it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Native => "native",
            Dialect::BinanceStreams { .. } => "binance_streams",
            Dialect::BinanceApi => "binance_api",
        }
    }

    /// Whether it is one of Binance's.
    pub fn is_binance(self) -> bool {
        !matches!(self, Dialect::Native)
    }

    /// The request's type, as fault filters on inbound messages name it (the native names, which
    /// the filters also accept by their Binance names).
    pub fn request_type(self, request: &Request) -> &'static str {
        protocol::request_type(&request.command)
    }

    /// The message's type, as fault filters on outbound messages name it (as for requests).
    pub fn type_name(self, message: &Message) -> &'static str {
        native::type_name(message)
    }

    /// Appends a publication on `topic` as every subscriber speaking this dialect gets it
    /// (without `seq` or a combined stream's wrapper, which each connection adds); `false` when
    /// the dialect shows nothing for it.
    pub fn publication(
        self,
        topic: Topic,
        message: &Message,
        venue: &Venue,
        out: &mut String,
    ) -> bool {
        match self {
            Dialect::Native => {
                native::render(message, &venue.catalog, out);
                true
            }
            Dialect::BinanceStreams { .. } => {
                binance::streams::write_publication(topic, message, venue, out)
            }
            Dialect::BinanceApi => false,
        }
    }

    /// Appends the stamped frame of a body rendered without `seq` (Binance's frames have none).
    pub fn stamp(self, seq: u64, body: &str, out: &mut String) {
        match self {
            Dialect::Native => protocol::splice_seq(seq, body, out),
            Dialect::BinanceStreams { .. } | Dialect::BinanceApi => out.push_str(body),
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
        if self.is_binance() {
            return self.binance_edge_error(rid, error, out);
        }
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

    /// A refusal in Binance's shape: `{"error":{..},"id":..}` on a stream connection,
    /// `{"id":..,"status":..,"error":{..}}` on the WebSocket API.
    fn binance_edge_error(self, rid: Option<&RequestId>, error: &EdgeError, out: &mut String) {
        let api = match error {
            EdgeError::Invalid(failure) => ApiError::unknown(failure.message.clone()),
            EdgeError::RateLimited { .. } | EdgeError::Throttled => ApiError {
                status: 429,
                code: -1003,
                msg: "Too many requests on this connection; slow down.".into(),
            },
            EdgeError::Binary => ApiError {
                status: 400,
                code: -1002,
                msg: "Binary frames are not supported: send JSON text frames.".into(),
            },
            EdgeError::TooLarge { limit } => ApiError {
                status: 400,
                code: -1002,
                msg: format!("Frames are limited to {limit} bytes.").into(),
            },
            EdgeError::Refused(faults::RejectCode::ExchangeBusy) => ApiError::overloaded(),
            EdgeError::Refused(faults::RejectCode::ExchangeUnavailable) => ApiError::unavailable(),
            EdgeError::Damaged => ApiError {
                status: 400,
                code: -1002,
                msg: "The frame arrived damaged (corrupt_messages): nothing was done.".into(),
            },
        };
        match self {
            Dialect::BinanceApi => out.push_str(&binance::ws_api::refusal(rid, &api)),
            _ => out.push_str(&binance::streams::refusal(rid, &api)),
        }
    }

    /// Appends the answer that replaces an order's acknowledgement whose outcome the fault layer
    /// hides (`unknown_outcome`): the request's id and what the client reconciles with. (A
    /// Binance connection renders its own: see the link.)
    pub fn unknown_outcome(self, ack: &Message, catalog: &Catalog, out: &mut String) {
        let client_order_id = ack.client_order_id();
        native::unknown_outcome(
            out,
            ack.rid(),
            client_order_id.as_ref().map(|c| c.as_str()),
            ack.symbol().map(|s| catalog.symbol_name(s)),
        )
    }
}
