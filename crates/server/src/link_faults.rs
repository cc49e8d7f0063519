//! A connection's fault state, as the connection task uses it: the crate's [`ConnectionFaults`]
//! plus what the task must remember between frames (the inbound frame ordinal, the read pause,
//! the outbound silence). Created only while the fault layer is enabled, so a connection without
//! faults carries none of it.

use std::sync::Arc;

use faults::{anonymous_key, ConnectionEvent, ConnectionFaults, Direction, FaultInjector};
use protocol::{messages as msg, ErrorCode, RequestId};
use serde::Deserialize;

use crate::core::ConnId;

/// A frame's text, shared without copying between the fault stages.
#[derive(Clone, Debug)]
pub struct Body(pub Arc<str>);

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The fault layer's view of one connection.
#[derive(Debug)]
pub struct LinkFaults {
    /// The crate's per-connection state.
    pub faults: ConnectionFaults<Body>,
    /// Frames read from the client while faults were on (the inbound decision key).
    pub inbound_ordinal: u64,
    /// The socket is not read until then (`slow_consumer`).
    pub paused_until_ms: u64,
    /// Nothing is written until then, not even WebSocket pings (`silent_connection`).
    pub silent_out_until_ms: u64,
}

impl LinkFaults {
    /// The fault state of connection `conn`, bound to `account` when it logged in (anonymous
    /// connections are keyed `anon-<conn>`); its connection faults count from `from_ms`.
    pub fn new(
        injector: &FaultInjector,
        conn: ConnId,
        account: Option<&str>,
        from_ms: u64,
    ) -> LinkFaults {
        let key = account.map_or_else(|| anonymous_key(conn), str::to_owned);
        LinkFaults {
            faults: injector.connection(conn, &key, account, from_ms),
            inbound_ordinal: 0,
            paused_until_ms: 0,
            silent_out_until_ms: 0,
        }
    }

    /// Whether reading the socket is paused at `now_ms`.
    pub fn reading_paused(&self, now_ms: u64) -> bool {
        self.paused_until_ms > now_ms
    }

    /// Whether the outbound direction is silenced at `now_ms`.
    pub fn outbound_silent(&self, now_ms: u64) -> bool {
        self.silent_out_until_ms > now_ms
    }

    /// When the task must wake up next: a due frame or fault, or the end of a read pause.
    pub fn wake_ms(&mut self, now_ms: u64) -> Option<u64> {
        let pause = self.reading_paused(now_ms).then_some(self.paused_until_ms);
        [self.faults.next_deadline(now_ms), pause]
            .into_iter()
            .flatten()
            .min()
    }

    /// Notes a connection event the task handles by itself (silence, pause).
    pub fn note(&mut self, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Silence {
                direction,
                until_ms,
            } if direction.covers(Direction::Outbound) => {
                self.silent_out_until_ms = self.silent_out_until_ms.max(until_ms);
            }
            ConnectionEvent::PauseReading { until_ms } => {
                self.paused_until_ms = self.paused_until_ms.max(until_ms);
            }
            _ => {}
        }
    }
}

/// The fields of a client frame the fault layer aims at, read without a full parse.
#[derive(Deserialize, Default)]
pub struct Peek {
    /// The frame's `type`.
    #[serde(rename = "type")]
    pub msg_type: Option<String>,
    /// The frame's `request_id`, as JSON.
    pub request_id: Option<serde_json::Value>,
}

impl Peek {
    /// Peeks at `text` (nothing for invalid JSON or a non-object).
    pub fn of(text: &str) -> Peek {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The request id as the wire writes it.
    pub fn request_id(&self) -> Option<RequestId> {
        self.request_id
            .as_ref()
            .filter(|v| v.is_string() || v.is_number())
            .map(|v| RequestId(v.to_string().into_boxed_str()))
    }
}

/// The fields of an ORDER_ACK that an UNKNOWN_OUTCOME error keeps.
#[derive(Deserialize, Default)]
struct AckPeek {
    request_id: Option<serde_json::Value>,
    client_order_id: Option<String>,
    symbol: Option<String>,
}

/// The `ERROR` `UNKNOWN_OUTCOME` that replaces the ORDER_ACK `ack`: same `request_id`, and the
/// `client_order_id` and `symbol` to reconcile with (the order id is withheld, as a timed-out
/// exchange would).
pub fn unknown_outcome_error(ack: &str) -> String {
    let peek: AckPeek = serde_json::from_str(ack).unwrap_or_default();
    let rid = peek
        .request_id
        .filter(|v| v.is_string() || v.is_number())
        .map(|v| RequestId(v.to_string().into_boxed_str()));
    let mut details = serde_json::Map::new();
    if let Some(id) = peek.client_order_id {
        details.insert("client_order_id".into(), id.into());
    }
    if let Some(symbol) = peek.symbol {
        details.insert("symbol".into(), symbol.into());
    }
    let details = serde_json::Value::Object(details).to_string();
    let mut out = String::new();
    msg::error(
        &mut out,
        rid.as_ref(),
        ErrorCode::UnknownOutcome,
        "the exchange did not confirm the order in time: its outcome is unknown, reconcile by client_order_id",
        &details,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_type_and_request_id_of_valid_frames_only() {
        let peek = Peek::of(r#"{"type":"PING","request_id":"a-1","extra":[1,2]}"#);
        assert_eq!(peek.msg_type.as_deref(), Some("PING"));
        assert_eq!(peek.request_id().map(|r| r.0), Some("\"a-1\"".into()));
        let peek = Peek::of(r#"{"type":"PING","request_id":{"nested":1}}"#);
        assert!(
            peek.request_id().is_none(),
            "only strings and numbers are ids"
        );
        let peek = Peek::of("{not json");
        assert!(peek.msg_type.is_none() && peek.request_id().is_none());
    }

    #[test]
    fn unknown_outcome_keeps_what_reconciliation_needs() {
        let ack = r#"{"type":"ORDER_ACK","request_id":7,"order_id":"12","client_order_id":"c-1","symbol":"BTC/USD","status":"OPEN"}"#;
        let error: serde_json::Value = serde_json::from_str(&unknown_outcome_error(ack)).unwrap();
        assert_eq!(error["type"], "ERROR");
        assert_eq!(error["code"], "UNKNOWN_OUTCOME");
        assert_eq!(error["request_id"], 7);
        assert_eq!(error["details"]["client_order_id"], "c-1");
        assert_eq!(error["details"]["symbol"], "BTC/USD");
        assert!(error.get("order_id").is_none(), "the outcome is unknown");
    }
}
