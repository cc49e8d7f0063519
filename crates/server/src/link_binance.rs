//! The Binance side of a connection's [`Link`]: a market-stream connection's SUBSCRIBE and its
//! combined wrapper, a WebSocket API connection's signed requests and user data stream. The
//! parsing and rendering are the `binance` crate's; here they meet the link's rate limit, fault
//! stages and answer order, which every dialect shares.

use std::sync::Arc;

use binance::streams::StreamInbound;
use binance::ws_api::ApiInbound;
use binance::{ApiError, Context};
use exchange::{Input, Message, Request};
use faults::{FrameMeta as FaultFrameMeta, PushOutcome, RequestVerdict};

use crate::dialect::EdgeError;
use crate::link::{Action, Link, Outgoing, Session};
use crate::link_faults::Body;
use crate::outbound::Outbound;

/// The `method` of a Binance frame (what inbound fault filters name), if it has one.
fn method_of(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Method {
        method: Option<String>,
    }
    serde_json::from_str::<Method>(text).ok()?.method
}

impl Link {
    /// The streams a market-stream connection's URL names (`/ws/<stream>`, `/stream?streams=`).
    pub fn open_streams(&mut self, now_ms: u64, names: &[String], out: &mut Vec<Action>) {
        let Session::Streams(session) = &mut self.session else {
            return;
        };
        let requests = session.open(names.iter().map(String::as_str), &self.wire.venue.symbols);
        for request in requests {
            self.binance_request(now_ms, request, out);
        }
    }

    /// A text frame on a Binance connection: through the inbound fault stage when the layer is
    /// on, then handled.
    pub(crate) fn on_binance_text(&mut self, now_ms: u64, text: &str, out: &mut Vec<Action>) {
        if !self.faulty(now_ms) {
            return self.binance_frame(now_ms, text, false, out);
        }
        let method = method_of(text);
        let Some(f) = self.faults.as_mut() else {
            return;
        };
        f.inbound_ordinal += 1;
        let meta = FaultFrameMeta {
            seq: f.inbound_ordinal,
            message_type: method.as_deref(),
            channel: None,
        };
        let body = Body {
            text: Arc::from(text),
            parsed: None,
        };
        match f.faults.push_inbound(body, meta, now_ms) {
            PushOutcome::Queued | PushOutcome::Dropped => {}
            PushOutcome::RateLimited => {
                return self.refuse(now_ms, None, EdgeError::Throttled, out)
            }
            PushOutcome::Overflow => return out.push(Action::Close(1008, "slow consumer")),
        }
        self.drain_inbound(now_ms, out);
        self.write_due(now_ms, out);
    }

    /// Handles one client frame (`damaged`: the fault layer damaged it on its way in).
    pub(crate) fn binance_frame(
        &mut self,
        now_ms: u64,
        text: &str,
        damaged: bool,
        out: &mut Vec<Action>,
    ) {
        self.count_request(now_ms);
        if damaged && method_of(text).is_some() {
            // Still reads as a request: answered, never carried out.
            return self.refuse(now_ms, None, EdgeError::Damaged, out);
        }
        if self.over_rate() {
            let limit = self.max_messages_per_second;
            return self.refuse(now_ms, None, EdgeError::RateLimited { limit }, out);
        }
        let requests = match &mut self.session {
            Session::Native => return,
            Session::Streams(session) => match session.on_text(text, &self.wire.venue.symbols) {
                StreamInbound::Core(requests) => requests,
                StreamInbound::Reply(body) => return self.answer_in_order(now_ms, body, out),
            },
            Session::Api(session) => {
                let skew_ms = if self.injector.is_enabled() {
                    self.injector.clock_skew_ms(now_ms)
                } else {
                    0
                };
                let wall_ms = self.wire.unix_ms_at_start.saturating_add(now_ms);
                let cx = Context {
                    venue: &self.wire.venue,
                    keys: self.wire.keys.as_ref(),
                    now_ms: wall_ms.saturating_add_signed(skew_ms),
                    generated_id: crate::secrets::client_order_id(),
                };
                match session.on_text(text, &cx) {
                    ApiInbound::Core(request) => vec![request],
                    ApiInbound::Reply(body) => return self.answer_in_order(now_ms, body, out),
                }
            }
        };
        for request in requests {
            self.binance_request(now_ms, request, out);
        }
    }

    /// A request for the core, unless the fault layer refuses it first.
    fn binance_request(&mut self, now_ms: u64, request: Request, out: &mut Vec<Action>) {
        if let Some(f) = self.faults.as_mut() {
            let request_type = self.dialect.request_type(&request);
            if let RequestVerdict::Reject(code) = f.faults.on_request(request_type, now_ms) {
                let rid = request.rid.as_ref();
                return self.refuse(now_ms, rid, EdgeError::Refused(code), out);
            }
        }
        self.fences.request_sent();
        out.push(Action::ToCore(Input::Request {
            conn: self.conn,
            request,
        }));
    }

    /// Something the engine thread queued for a Binance connection.
    pub(crate) fn on_binance_outbound(
        &mut self,
        now_ms: u64,
        item: Outbound,
        out: &mut Vec<Action>,
    ) {
        match item {
            Outbound::Message(message) => self.binance_message(now_ms, &message, out),
            Outbound::Replay(messages) => {
                for message in &messages {
                    self.binance_message(now_ms, message, out);
                }
            }
            Outbound::Shared(frame) => {
                let Session::Streams(session) = &self.session else {
                    return;
                };
                let mut text = String::new();
                match frame.meta.topic {
                    Some(topic) => session.wrap(topic, &frame.body, &mut text),
                    None => text.push_str(&frame.body),
                }
                self.send(now_ms, Outgoing::Body(&text, frame.meta), out);
            }
            // Binance connections are never bound to an account (they watch one).
            Outbound::Bound(_) => {}
            Outbound::Close { code, reason } => {
                self.farewell(now_ms, out);
                out.push(Action::Close(code, reason));
            }
            Outbound::Fence(token) => {
                for body in self.fences.released(token) {
                    self.send(now_ms, Outgoing::Body(&body, crate::link::ERROR_META), out);
                }
            }
        }
    }

    /// A message for this connection alone, as its session shows it.
    fn binance_message(&mut self, now_ms: u64, message: &Message, out: &mut Vec<Action>) {
        let mut meta = self.meta_of(message);
        let places = matches!(
            message,
            Message::Answered { answer, .. } if matches!(**answer, exchange::Answer::Placed { .. })
        );
        if places {
            // The answer to order.place is what fault filters call an ORDER_ACK.
            meta.msg_type = "ORDER_ACK";
        }
        let wall_ms = self.wire.unix_ms_at_start.saturating_add(now_ms);
        let mut frames = Vec::new();
        match &mut self.session {
            Session::Native => return,
            Session::Streams(session) => {
                let mut text = String::new();
                if session.write_message(message, &self.wire.venue, &mut text) {
                    frames.push(text);
                }
            }
            Session::Api(session) => {
                session.write_message(message, &self.wire.venue, wall_ms, &mut frames);
            }
        }
        if let Message::Watching { name, .. } = message {
            self.watching(name);
        }
        // An order's answer is what `unknown_outcome` replaces.
        let unknown = match message {
            Message::Answered { rid, answer }
                if matches!(**answer, exchange::Answer::Placed { .. }) =>
            {
                Some(binance::ws_api::refusal(rid.as_ref(), &ApiError::timeout()))
            }
            _ => None,
        };
        for frame in &frames {
            let outgoing = match &unknown {
                Some(unknown_outcome) => Outgoing::Ack {
                    body: frame,
                    meta,
                    unknown_outcome,
                },
                None => Outgoing::Body(frame, meta),
            };
            self.send(now_ms, outgoing, out);
        }
    }

    /// The frames a WebSocket API connection gets before the server closes it: the end of its
    /// user data streams and the shutdown notice.
    pub(crate) fn farewell(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        let Session::Api(session) = &self.session else {
            return;
        };
        let wall_ms = self.wire.unix_ms_at_start.saturating_add(now_ms);
        let mut frames = Vec::new();
        session.farewell(wall_ms, &mut frames);
        for frame in &frames {
            self.send(now_ms, Outgoing::Body(frame, crate::link::NOTICE_META), out);
        }
    }
}
