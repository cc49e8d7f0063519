//! One connection's protocol, without its socket: what a client frame becomes, what a message for
//! the client becomes, and what the fault layer does between them. The server's connection task
//! and the simulator's connections drive the same [`Link`]; they do the I/O it asks for
//! ([`Action`]s) and tell it the time.
//!
//! Every frame the connection sends is stamped with its `seq` (from 1, +1 per frame) here and
//! nowhere else. Requests are parsed here (in parallel with other connections, on the
//! server) and only valid ones reach the core; bad input is answered here, and the connection
//! goes on.
//!
//! While the fault layer is enabled, a client frame passes its inbound stage before it is
//! handled, and a frame for the client passes its exchange stage before its `seq` and its
//! message stage after. While it is off the only cost is one atomic load per frame.

use std::sync::Arc;

use exchange::{BoundAccount, Channel, Command, ConnId, Input, Message, Request, Topic};
use faults::{
    ConnectionEvent, EventMeta, EventVerdict, FaultInjector, FrameMeta as FaultFrameMeta, Payload,
    PushOutcome, RequestVerdict,
};
use protocol::ParseFailure;

use crate::dialect::{Dialect, EdgeError, Wire};
use crate::fence::{Fences, Hold};
use crate::link_faults::{Body, LinkFaults};
use crate::outbound::{FrameMeta, Outbound};

/// What the link asks its driver to do, in order.
#[derive(Debug)]
pub enum Action {
    /// Write this text frame (the driver flushes after the batch of actions).
    Write(String),
    /// Hand this input to the core.
    ToCore(Input),
    /// Send a close frame with this code and reason, then end the connection.
    Close(u16, &'static str),
    /// End the connection at once by a TCP reset: no close frame.
    Reset(&'static str),
    /// The connection's account changed (`None`: logged out): for the admin API's list.
    Bound(Option<Arc<str>>),
}

/// What the fault layer and delivery know of an ERROR the link wrote itself.
pub(crate) const ERROR_META: FrameMeta = FrameMeta {
    msg_type: "ERROR",
    channel: None,
    symbol: None,
    topic: None,
};

/// What the fault layer and delivery know of a notice the link wrote itself (a Binance
/// connection's farewell).
pub(crate) const NOTICE_META: FrameMeta = FrameMeta {
    msg_type: "SERVER_NOTICE",
    channel: None,
    symbol: None,
    topic: None,
};

/// A frame on its way out: a native message still to render, or a body rendered already (with,
/// for an order's acknowledgement, what replaces it when the fault layer hides its outcome).
pub(crate) enum Outgoing<'a> {
    Message(&'a Message),
    Body(&'a str, FrameMeta),
    Ack {
        body: &'a str,
        meta: FrameMeta,
        unknown_outcome: &'a str,
    },
}

/// What a connection keeps of its dialect beyond the dialect's name.
pub(crate) enum Session {
    Native,
    Streams(Box<binance::streams::StreamSession>),
    Api(Box<binance::ws_api::ApiSession>),
}

/// One connection's protocol state.
pub struct Link {
    pub(crate) conn: ConnId,
    pub(crate) dialect: Dialect,
    pub(crate) wire: Arc<Wire>,
    pub(crate) session: Session,
    pub(crate) injector: FaultInjector,
    pub(crate) max_messages_per_second: u32,
    /// The `seq` of the last frame sent.
    seq: u64,
    /// The latest `account_seq` of the connection's account it was told of (for HEARTBEAT).
    account_seq: Option<u64>,
    /// The configured account it logged in to (faults aim at it).
    account: Option<Arc<str>>,
    /// Subscribed to HEARTBEAT.
    heartbeat: bool,
    rate_window_start_ms: u64,
    rate_count: u32,
    /// The fault layer's state while it is enabled (boxed: most connections never have one).
    pub(crate) faults: Option<Box<LinkFaults>>,
    /// The link's own answers held until the answers to earlier requests are out.
    pub(crate) fences: Fences,
}

impl Link {
    /// The link of connection `conn` opened at `now_ms`.
    pub fn new(
        conn: ConnId,
        dialect: Dialect,
        wire: Arc<Wire>,
        injector: FaultInjector,
        max_messages_per_second: u32,
        now_ms: u64,
    ) -> Link {
        let faults = injector
            .is_enabled()
            .then(|| Box::new(LinkFaults::new(&injector, conn, None, now_ms)));
        let session = match dialect {
            Dialect::Native => Session::Native,
            Dialect::BinanceStreams { combined } => {
                Session::Streams(Box::new(binance::streams::StreamSession::new(combined)))
            }
            Dialect::BinanceApi => Session::Api(Box::default()),
        };
        Link {
            conn,
            dialect,
            wire,
            session,
            injector,
            max_messages_per_second,
            seq: 0,
            account_seq: None,
            account: None,
            heartbeat: false,
            rate_window_start_ms: now_ms,
            rate_count: 0,
            faults,
            fences: Fences::default(),
        }
    }

    /// Whether the client subscribed to HEARTBEAT.
    pub fn wants_heartbeat(&self) -> bool {
        self.heartbeat
    }

    /// Whether reading the client is paused at `now_ms` (`slow_consumer`).
    pub fn reading_paused(&self, now_ms: u64) -> bool {
        self.faults
            .as_ref()
            .is_some_and(|f| f.reading_paused(now_ms))
    }

    /// Whether nothing may be written at `now_ms`, not even a ping (`silent_connection`).
    pub fn outbound_silent(&self, now_ms: u64) -> bool {
        self.faults
            .as_ref()
            .is_some_and(|f| f.outbound_silent(now_ms))
    }

    /// When the fault layer needs the link next, if ever.
    pub fn wake_ms(&mut self, now_ms: u64) -> Option<u64> {
        self.faults.as_mut().and_then(|f| f.wake_ms(now_ms))
    }

    /// Makes or drops the fault state to match the layer's switch: made when faults are on,
    /// dropped when they are off and nothing waits in it.
    pub fn sync_faults(&mut self, now_ms: u64) {
        let enabled = self.injector.is_enabled();
        if enabled && self.faults.is_none() {
            // Connection faults count from now, as after any change: a connection open for an
            // hour does not catch up on an hour of firings at once.
            self.faults = Some(Box::new(LinkFaults::new(
                &self.injector,
                self.conn,
                self.account.as_deref(),
                now_ms,
            )));
        } else if !enabled
            && self
                .faults
                .as_mut()
                .is_some_and(|f| f.wake_ms(now_ms).is_none())
        {
            self.faults = None;
        }
    }

    /// Whether frames must take the fault layer's path now.
    pub(crate) fn faulty(&mut self, now_ms: u64) -> bool {
        if self.faults.is_some() || self.injector.is_enabled() {
            self.sync_faults(now_ms);
        }
        self.faults.is_some()
    }

    // ----- from the client -----------------------------------------------------------------

    /// A text frame from the client.
    pub fn on_text(&mut self, now_ms: u64, text: &str, out: &mut Vec<Action>) {
        if self.dialect.is_binance() {
            return self.on_binance_text(now_ms, text, out);
        }
        let parsed = protocol::parse_request(text, &self.wire.venue.catalog);
        if !self.faulty(now_ms) {
            return self.on_parsed(now_ms, parsed, out);
        }
        let dialect = self.dialect;
        let Some(f) = self.faults.as_mut() else {
            return;
        };
        f.inbound_ordinal += 1;
        let parsed = Arc::new(parsed);
        let (message_type, rid) = match parsed.as_ref() {
            Ok(request) => (Some(dialect.request_type(request)), request.rid.clone()),
            Err(failure) => (failure.msg_type.as_deref(), failure.request_id.clone()),
        };
        let meta = FaultFrameMeta {
            seq: f.inbound_ordinal,
            message_type,
            channel: None,
        };
        let body = Body {
            text: Arc::from(text),
            parsed: Some(parsed.clone()),
        };
        match f.faults.push_inbound(body, meta, now_ms) {
            PushOutcome::Queued | PushOutcome::Dropped => {}
            PushOutcome::RateLimited => {
                return self.refuse(now_ms, rid.as_ref(), EdgeError::Throttled, out);
            }
            PushOutcome::Overflow => return out.push(Action::Close(1008, "slow consumer")),
        }
        self.drain_inbound(now_ms, out);
        self.write_due(now_ms, out);
    }

    /// A binary frame from the client: requests are JSON text.
    pub fn on_binary(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        self.refuse(now_ms, None, EdgeError::Binary, out);
    }

    /// A frame over the size limit: say why, then close with 1009.
    pub fn on_too_large(&mut self, now_ms: u64, limit: usize, out: &mut Vec<Action>) {
        self.edge_error(now_ms, None, EdgeError::TooLarge { limit }, out);
        out.push(Action::Close(
            exchange::close_code::TOO_BIG,
            "message too large",
        ));
    }

    /// Handles the client frames the inbound stage releases at `now_ms`.
    pub(crate) fn drain_inbound(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        while let Some(released) = self
            .faults
            .as_mut()
            .and_then(|f| f.faults.pop_inbound(now_ms))
        {
            if self.dialect.is_binance() {
                match released.payload {
                    Payload::Original(Body { text, .. }) => {
                        self.binance_frame(now_ms, &text, false, out)
                    }
                    Payload::Corrupted(text) => self.binance_frame(now_ms, &text, true, out),
                }
                if matches!(out.last(), Some(Action::Close(..) | Action::Reset(_))) {
                    return;
                }
                continue;
            }
            let catalog = &self.wire.venue.catalog;
            let parsed = match released.payload {
                Payload::Original(Body {
                    parsed: Some(parsed),
                    ..
                }) => Arc::unwrap_or_clone(parsed),
                Payload::Original(Body { text, .. }) => protocol::parse_request(&text, catalog),
                // Damage a real link would never hand over: answered, never carried out (a
                // damaged order could otherwise trade an amount the client never asked for).
                Payload::Corrupted(text) => match protocol::parse_request(&text, catalog) {
                    Ok(request) => {
                        let rid = request.rid.as_ref();
                        self.refuse(now_ms, rid, EdgeError::Damaged, out);
                        continue;
                    }
                    Err(failure) => Err(failure),
                },
            };
            self.on_parsed(now_ms, parsed, out);
            if matches!(out.last(), Some(Action::Close(..) | Action::Reset(_))) {
                return;
            }
        }
    }

    /// A parsed client frame: answered here when it is invalid or over a limit, else handed to
    /// the core.
    fn on_parsed(
        &mut self,
        now_ms: u64,
        parsed: Result<Request, ParseFailure>,
        out: &mut Vec<Action>,
    ) {
        self.count_request(now_ms);
        crate::metrics::frame_in(match &parsed {
            Ok(request) => self.dialect.request_type(request),
            Err(_) => "INVALID",
        });
        let request = match parsed {
            Ok(request) => request,
            Err(failure) => {
                return self.refuse(now_ms, None, EdgeError::Invalid(failure), out);
            }
        };
        if let Some(f) = self.faults.as_mut() {
            let request_type = self.dialect.request_type(&request);
            if let RequestVerdict::Reject(code) = f.faults.on_request(request_type, now_ms) {
                return self.refuse(now_ms, request.rid.as_ref(), EdgeError::Refused(code), out);
            }
        }
        if self.over_rate() {
            let limit = self.max_messages_per_second;
            let rid = request.rid.as_ref();
            return self.refuse(now_ms, rid, EdgeError::RateLimited { limit }, out);
        }
        match request.command {
            Command::Subscribe(Topic::Heartbeat) => self.heartbeat = true,
            Command::Unsubscribe {
                channel: Channel::Heartbeat,
                ..
            } => self.heartbeat = false,
            _ => {}
        }
        self.fences.request_sent();
        out.push(Action::ToCore(Input::Request {
            conn: self.conn,
            request,
        }));
    }

    /// Counts a request in the connection's one-second window.
    pub(crate) fn count_request(&mut self, now_ms: u64) {
        if now_ms.saturating_sub(self.rate_window_start_ms) >= 1_000 {
            self.rate_window_start_ms = now_ms;
            self.rate_count = 0;
        }
        self.rate_count = self.rate_count.saturating_add(1);
    }

    /// Whether the window's requests are over the connection's limit.
    pub(crate) fn over_rate(&self) -> bool {
        self.rate_count > self.max_messages_per_second
    }

    /// Answers a frame the link refused itself, in request order: while earlier requests are on
    /// their way through the core, the answer waits behind a fence (see [`crate::fence`]).
    pub(crate) fn refuse(
        &mut self,
        now_ms: u64,
        rid: Option<&exchange::RequestId>,
        error: EdgeError,
        out: &mut Vec<Action>,
    ) {
        crate::metrics::edge_error(&error);
        let mut body = String::new();
        self.dialect.edge_error(None, rid, &error, &mut body);
        self.answer_in_order(now_ms, body, out);
    }

    /// Sends an answer the link made itself once the answers to earlier requests are out.
    pub(crate) fn answer_in_order(&mut self, now_ms: u64, body: String, out: &mut Vec<Action>) {
        match self.fences.hold(body) {
            Hold::SendNow(body) => self.send(now_ms, Outgoing::Body(&body, ERROR_META), out),
            Hold::Held => {}
            Hold::Fence(token) => out.push(Action::ToCore(Input::Fence {
                conn: self.conn,
                token,
            })),
        }
    }

    /// Answers a frame the link refused itself.
    fn edge_error(
        &mut self,
        now_ms: u64,
        rid: Option<&exchange::RequestId>,
        error: EdgeError,
        out: &mut Vec<Action>,
    ) {
        let mut body = String::new();
        self.dialect.edge_error(None, rid, &error, &mut body);
        self.send(now_ms, Outgoing::Body(&body, ERROR_META), out);
    }

    // ----- to the client -------------------------------------------------------------------

    /// Something the engine thread queued for the client.
    pub fn on_outbound(&mut self, now_ms: u64, item: Outbound, out: &mut Vec<Action>) {
        if self.dialect.is_binance() {
            return self.on_binance_outbound(now_ms, item, out);
        }
        match item {
            Outbound::Message(message) => {
                self.note_account_seq(&message);
                self.send(now_ms, Outgoing::Message(&message), out);
            }
            Outbound::Shared(frame) => {
                self.send(now_ms, Outgoing::Body(&frame.body, frame.meta), out)
            }
            Outbound::Replay(messages) => {
                for message in &messages {
                    self.note_account_seq(message);
                    self.send(now_ms, Outgoing::Message(message), out);
                    if matches!(out.last(), Some(Action::Close(..) | Action::Reset(_))) {
                        return;
                    }
                }
            }
            Outbound::Bound(account) => self.bind(account, out),
            Outbound::Close { code, reason } => out.push(Action::Close(code, reason)),
            Outbound::Fence(token) => {
                for body in self.fences.released(token) {
                    self.send(now_ms, Outgoing::Body(&body, ERROR_META), out);
                }
            }
        }
    }

    /// The connection is bound to an account (or none): heartbeats report its sequence, faults
    /// aim at it when it is a configured account, the admin API lists it.
    fn bind(&mut self, account: Option<BoundAccount>, out: &mut Vec<Action>) {
        match account {
            Some(account) => {
                self.account_seq = Some(account.account_seq);
                if account.configured {
                    self.account = Some(account.name.clone());
                    if let Some(f) = self.faults.as_mut() {
                        f.faults.set_account(&account.name);
                    }
                }
                out.push(Action::Bound(Some(account.name)));
            }
            None => {
                self.account_seq = None;
                out.push(Action::Bound(None));
            }
        }
    }

    /// The connection watches an account's private events: faults aimed at the account aim at
    /// it too.
    pub(crate) fn watching(&mut self, name: &Arc<str>) {
        self.account = Some(name.clone());
        if let Some(f) = self.faults.as_mut() {
            f.faults.set_account(name);
        }
    }

    fn note_account_seq(&mut self, message: &Message) {
        if let Some(seq) = message.account_seq() {
            self.account_seq = Some(self.account_seq.map_or(seq, |s| s.max(seq)));
        }
    }

    /// Sends a frame: stamped and written at once, or through the fault layer's stages.
    pub(crate) fn send(&mut self, now_ms: u64, frame: Outgoing<'_>, out: &mut Vec<Action>) {
        crate::metrics::frame_out(match &frame {
            Outgoing::Message(message) => self.dialect.type_name(message),
            Outgoing::Body(_, meta) | Outgoing::Ack { meta, .. } => meta.msg_type,
        });
        if self.faulty(now_ms) {
            return self.send_faulty(now_ms, frame, out);
        }
        self.seq += 1;
        let mut text = String::new();
        match frame {
            Outgoing::Message(message) => {
                text.reserve(256);
                let catalog = &self.wire.venue.catalog;
                protocol::messages::render_frame(self.seq, message, catalog, &mut text);
            }
            Outgoing::Body(body, _) | Outgoing::Ack { body, .. } => {
                self.dialect.stamp(self.seq, body, &mut text)
            }
        }
        out.push(Action::Write(text));
    }

    fn send_faulty(&mut self, now_ms: u64, frame: Outgoing<'_>, out: &mut Vec<Action>) {
        let (body, meta): (Arc<str>, FrameMeta) = match frame {
            Outgoing::Message(message) => {
                let mut body = String::new();
                protocol::messages::render(message, &self.wire.venue.catalog, &mut body);
                (body.into(), self.meta_of(message))
            }
            Outgoing::Body(body, meta) | Outgoing::Ack { body, meta, .. } => {
                (Arc::from(body), meta)
            }
        };
        let Some(f) = self.faults.as_mut() else {
            return;
        };
        let event = EventMeta {
            message_type: meta.msg_type,
            channel: meta.channel.map(Channel::as_str),
        };
        match f
            .faults
            .on_event(Body::outgoing(body.clone()), event, now_ms)
        {
            EventVerdict::Deliver(body) => {
                self.push_stamped(now_ms, &body.text, meta.msg_type, event.channel, out)
            }
            EventVerdict::UnknownOutcome(_) => {
                let mut error = String::new();
                match frame {
                    Outgoing::Message(ack) => {
                        let catalog = &self.wire.venue.catalog;
                        self.dialect.unknown_outcome(ack, catalog, &mut error)
                    }
                    Outgoing::Ack {
                        unknown_outcome, ..
                    } => error.push_str(unknown_outcome),
                    Outgoing::Body(body, _) => error.push_str(body),
                }
                self.push_stamped(now_ms, &error, "ERROR", None, out);
            }
            EventVerdict::Withheld | EventVerdict::Suppressed => {}
            EventVerdict::GapEnded => {
                // The core restarts the stream: only it knows the book.
                if let (Some(channel), Some(symbol)) = (meta.channel, meta.symbol) {
                    out.push(Action::ToCore(Input::RestartStream {
                        conn: self.conn,
                        channel,
                        symbol,
                        cause: exchange::message::StreamCut::SequenceGap,
                    }));
                }
            }
        }
        self.write_due(now_ms, out);
    }

    /// What the fault layer and the delivery know about a message.
    pub(crate) fn meta_of(&self, message: &Message) -> FrameMeta {
        FrameMeta {
            msg_type: self.dialect.type_name(message),
            channel: message.channel(),
            symbol: message.symbol(),
            topic: match message {
                Message::StreamStart { topic, .. } => Some(*topic),
                _ => None,
            },
        }
    }

    /// Stamps `body` with the next `seq` and hands it to the outbound message stage.
    fn push_stamped(
        &mut self,
        now_ms: u64,
        body: &str,
        msg_type: &str,
        channel: Option<&str>,
        out: &mut Vec<Action>,
    ) {
        self.seq += 1;
        let mut text = String::with_capacity(body.len() + 28);
        self.dialect.stamp(self.seq, body, &mut text);
        let Some(f) = self.faults.as_mut() else {
            return out.push(Action::Write(text));
        };
        let frame = FaultFrameMeta {
            seq: self.seq,
            message_type: Some(msg_type),
            channel,
        };
        match f
            .faults
            .push_outbound(Body::outgoing(text.into()), frame, now_ms)
        {
            PushOutcome::Overflow => out.push(Action::Close(1008, "slow consumer")),
            PushOutcome::Queued | PushOutcome::Dropped | PushOutcome::RateLimited => {}
        }
    }

    /// Writes what the fault layer releases at `now_ms`: withheld events due now get their
    /// `seq` and go through the message stage, then due frames are written.
    pub(crate) fn write_due(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        while let Some(held) = self
            .faults
            .as_mut()
            .and_then(|f| f.faults.pop_due_event(now_ms))
        {
            let channel = held.channel.as_deref();
            self.push_stamped(now_ms, &held.payload.text, &held.message_type, channel, out);
        }
        while let Some(released) = self
            .faults
            .as_mut()
            .and_then(|f| f.faults.pop_outbound(now_ms))
        {
            let text = match released.payload {
                Payload::Original(body) => String::from(&*body.text),
                Payload::Corrupted(text) => text,
            };
            out.push(Action::Write(text));
        }
    }

    /// Something in the fault layer is due: connection faults first, then waiting frames.
    pub fn on_fault_timer(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        loop {
            let Some(f) = self.faults.as_mut() else {
                return;
            };
            let Some(event) = f.faults.next_connection_event(now_ms) else {
                break;
            };
            f.note(event);
            match event {
                ConnectionEvent::Disconnect {
                    clean: true,
                    close_code,
                } => {
                    // A Binance WebSocket API client hears its streams end and the server go.
                    self.farewell(now_ms, out);
                    return out.push(Action::Close(close_code, "disconnected by the fault layer"));
                }
                ConnectionEvent::Disconnect { clean: false, .. } => {
                    return out.push(Action::Reset("reset by the fault layer"));
                }
                ConnectionEvent::PhantomFill => {
                    out.push(Action::ToCore(Input::PhantomFill { conn: self.conn }));
                }
                ConnectionEvent::Silence { .. } | ConnectionEvent::PauseReading { .. } => {}
            }
        }
        self.drain_inbound(now_ms, out);
        if !matches!(out.last(), Some(Action::Close(..) | Action::Reset(_))) {
            self.write_due(now_ms, out);
        }
    }

    /// A HEARTBEAT: the latest account sequence the connection knows and each symbol's latest
    /// book sequence and trade id (`latest(symbol index)`), so that silent loss shows.
    pub fn heartbeat(
        &mut self,
        now_ms: u64,
        at_ns: u64,
        latest: impl Fn(usize) -> (u64, u64),
        out: &mut Vec<Action>,
    ) {
        if self.dialect.is_binance() {
            return;
        }
        let mut body = String::new();
        let catalog = &self.wire.venue.catalog;
        protocol::messages::heartbeat(&mut body, at_ns, self.account_seq, catalog, latest);
        let meta = FrameMeta {
            msg_type: "HEARTBEAT",
            channel: Some(Channel::Heartbeat),
            symbol: None,
            topic: None,
        };
        self.send(now_ms, Outgoing::Body(&body, meta), out);
    }
}
