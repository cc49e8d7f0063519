//! A connection's fault state: the fault crate's [`ConnectionFaults`] plus what the connection
//! must remember between frames (the inbound frame ordinal, the read pause, the outbound
//! silence). Made only while the fault layer is enabled, so a connection without faults carries
//! none of it.

use std::sync::Arc;

use exchange::{ConnId, Request};
use faults::{anonymous_key, ConnectionEvent, ConnectionFaults, Direction, FaultInjector};
use protocol::ParseFailure;

/// A frame's text as it passes the fault stages, shared without copying. A client frame carries
/// what its parse gave, so that only a corrupted copy is parsed again.
#[derive(Clone, Debug)]
pub struct Body {
    pub text: Arc<str>,
    pub parsed: Option<Arc<Result<Request, ParseFailure>>>,
}

impl Body {
    /// A frame for the client.
    pub fn outgoing(text: Arc<str>) -> Body {
        Body { text, parsed: None }
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self.text.as_bytes()
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

    /// When the connection must wake up next: a due frame or fault, or the end of a read pause.
    pub fn wake_ms(&mut self, now_ms: u64) -> Option<u64> {
        let pause = self.reading_paused(now_ms).then_some(self.paused_until_ms);
        [self.faults.next_deadline(now_ms), pause]
            .into_iter()
            .flatten()
            .min()
    }

    /// Notes a connection event the connection handles by itself (silence, pause).
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
