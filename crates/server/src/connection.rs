//! One WebSocket connection: one task that reads requests, writes frames and keeps the link alive.
//!
//! Every frame the connection sends is stamped with its `seq` (from 1, +1 per frame) here and
//! nowhere else. Requests are parsed on this task (in parallel with other connections) and only
//! valid ones reach the engine thread; bad input is answered here, and the connection goes on.
//!
//! The fault layer sits here, between the socket and the handlers (see [`crate::link_faults`]):
//! while it is enabled, client frames pass its inbound stage before they are parsed, and frames
//! pass its exchange stage before their `seq` and its message stage after. While it is off the
//! only cost is one atomic load per frame written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use faults::{
    ConnectionEvent, EventMeta, EventVerdict, FaultInjector, FrameMeta as FaultFrameMeta, Payload,
    PushOutcome, RequestVerdict,
};
use futures_util::{FutureExt, SinkExt};
use protocol::request::parse_request;
use protocol::{messages as msg, Catalog, Channel, ErrorCode, RequestId, RequestKind};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::Config;
use crate::core::{now_ns, ConnId, Input};
use crate::link_faults::{unknown_outcome_error, Body, LinkFaults, Peek};
use crate::listener::Peer;
use crate::outbound::{CloseNow, Frame, FrameBody, Outbound};
use crate::registry::{ConnHandle, Control, Registry};

/// Sequence counters the engine thread publishes for HEARTBEAT frames.
pub struct SharedSeqs {
    /// Per symbol: the latest book sequence.
    pub book: Vec<AtomicU64>,
    /// Per symbol: the latest trade id.
    pub trade: Vec<AtomicU64>,
}

impl SharedSeqs {
    /// Counters for `symbols` symbols, all zero.
    pub fn new(symbols: usize) -> SharedSeqs {
        SharedSeqs {
            book: (0..symbols).map(|_| AtomicU64::new(0)).collect(),
            trade: (0..symbols).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// What every connection shares.
pub struct ConnContext {
    pub inputs: mpsc::Sender<Input>,
    pub catalog: Arc<Catalog>,
    pub config: Arc<Config>,
    pub seqs: Arc<SharedSeqs>,
    pub shutdown: watch::Receiver<bool>,
    /// The fault layer.
    pub injector: FaultInjector,
    /// Bumped whenever the admin API changes the fault configuration, so that idle connections
    /// pick it up (and their connection-level faults) without waiting for traffic. Held here so
    /// it outlives every connection.
    pub faults_changed: Arc<watch::Sender<u64>>,
    /// When the server started: the fault layer's clock counts from here.
    pub started: Instant,
    /// The live connections, for the admin API.
    pub registry: Arc<Registry>,
}

impl ConnContext {
    /// Milliseconds since the server started (the fault layer's `now_ms`).
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The instant `ms` milliseconds after the server started (`None` beyond the clock's range:
    /// a configured time can be absurdly far away).
    fn instant_at(&self, ms: u64) -> Option<tokio::time::Instant> {
        tokio::time::Instant::from_std(self.started).checked_add(Duration::from_millis(ms))
    }
}

/// How long a HEARTBEAT subscriber may go without a frame before one is sent.
const HEARTBEAT_SILENCE: Duration = Duration::from_secs(1);
/// Frames written per flush at most, so one busy connection batches its syscalls.
const WRITE_BATCH: usize = 64;
/// Frames already received that are handled in one go after the first.
const READ_BURST: usize = 64;
/// How long a close frame may wait behind unsent data for a peer that does not read, before
/// the socket is dropped without it.
pub const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a connection to its end, then tells the engine thread it is gone.
pub async fn run(socket: WebSocket, conn: ConnId, peer: Peer, ctx: Arc<ConnContext>) {
    let addr = peer.addr;
    let queue = ctx.config.server.limits.outbound_queue_frames;
    let (tx, rx) = crate::outbound::channel(queue);
    let (kill, killed) = oneshot::channel();
    if ctx
        .inputs
        .send(Input::Open {
            conn,
            tx: tx.clone(),
            addr,
            kill,
        })
        .await
        .is_err()
    {
        return;
    }
    tracing::info!(conn, %addr, "connection opened");
    let (handle, control) = ctx.registry.register(conn, addr);
    let opened_ms = ctx.now_ms();
    let faults = ctx
        .injector
        .is_enabled()
        .then(|| Box::new(LinkFaults::new(&ctx.injector, conn, None, opened_ms)));
    let mut link = Link {
        socket,
        conn,
        ctx: ctx.clone(),
        seq: 0,
        account_seq: None,
        heartbeat: false,
        last_sent: Instant::now(),
        last_heard: Instant::now(),
        rate_window_start: Instant::now(),
        rate_count: 0,
        batch: std::collections::VecDeque::new(),
        faults,
        account: None,
        handle,
        frames_in: 0,
        frames_out: 0,
    };
    drop(tx);
    // The engine thread can close the connection at once (a slow consumer), even while a write
    // waits for a peer that stopped reading: the wait is abandoned and the close frame sent
    // after what the socket already holds.
    let ended = tokio::select! {
        ending = link.serve(rx, control) => Err(ending),
        Ok(close) = killed => Ok(close),
    };
    let Ending { reason, reset } = match ended {
        Err(ending) => ending,
        Ok(CloseNow { code, reason }) => {
            link.close(code, reason).await;
            Ending {
                reason,
                reset: false,
            }
        }
    };
    if reset {
        // Dropping the socket after this sends RST instead of FIN.
        peer.reset.store(true, Ordering::Release);
    }
    drop(link);
    ctx.registry.remove(conn);
    let _ = ctx.inputs.send(Input::Close { conn }).await;
    tracing::info!(conn, %addr, reason, "connection closed");
}

struct Link {
    socket: WebSocket,
    conn: ConnId,
    ctx: Arc<ConnContext>,
    seq: u64,
    account_seq: Option<Arc<AtomicU64>>,
    heartbeat: bool,
    last_sent: Instant,
    last_heard: Instant,
    rate_window_start: Instant,
    rate_count: u32,
    /// Frames taken from the queue and being written (reused).
    batch: std::collections::VecDeque<Outbound>,
    /// The fault layer's state while it is enabled (boxed: most connections never have one).
    faults: Option<Box<LinkFaults>>,
    /// The account the connection logged in to (faults aim at it).
    account: Option<String>,
    /// This connection's row in the registry.
    handle: Arc<ConnHandle>,
    frames_in: u64,
    frames_out: u64,
}

/// How a connection ended.
struct Ending {
    reason: &'static str,
    /// End with a TCP reset instead of an orderly close.
    reset: bool,
}

enum Step {
    Continue,
    Close(u16, &'static str),
    End(&'static str),
    /// End at once by a TCP reset: no close frame, no FIN.
    Reset(&'static str),
}

impl Link {
    async fn serve(
        &mut self,
        mut rx: crate::outbound::OutboundReceiver,
        mut control: mpsc::Receiver<Control>,
    ) -> Ending {
        let ping_every = Duration::from_secs_f64(self.ctx.config.server.heartbeat_interval);
        let mut ping = tokio::time::interval(ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        let mut beat = tokio::time::interval(Duration::from_millis(250));
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutdown = self.ctx.shutdown.clone();
        let mut faults_changed = self.ctx.faults_changed.subscribe();
        loop {
            let now_ms = match self.faults {
                Some(_) => self.ctx.now_ms(),
                None => 0,
            };
            let wake_ms = self.faults.as_mut().and_then(|f| f.wake_ms(now_ms));
            let reading = self
                .faults
                .as_ref()
                .is_none_or(|f| !f.reading_paused(now_ms));
            let wake = wake_ms.and_then(|ms| self.ctx.instant_at(ms));
            let step = tokio::select! {
                incoming = self.socket.recv(), if reading => self.on_incoming_burst(incoming).await,
                out = rx.recv() => match out {
                    Some(out) => self.on_outbound(out, &mut rx).await,
                    // The engine stopped: during a shutdown that still deserves a proper close.
                    None if *self.ctx.shutdown.borrow() => Step::Close(1001, "server shutting down"),
                    None => Step::End("server closed the connection"),
                },
                order = control.recv() => match order {
                    Some(Control::CloseClean { code }) => Step::Close(code, "closed by the admin API"),
                    Some(Control::Reset) => Step::Reset("reset by the admin API"),
                    None => Step::Continue,
                },
                _ = sleep_until(wake), if wake.is_some() => self.on_fault_timer().await,
                changed = faults_changed.changed() => {
                    if changed.is_ok() {
                        self.sync_faults();
                    }
                    Step::Continue
                }
                _ = ping.tick() => self.on_ping(ping_every).await,
                _ = beat.tick(), if self.heartbeat => self.maybe_heartbeat().await,
                _ = shutdown.changed() => Step::Close(1001, "server shutting down"),
            };
            match step {
                Step::Continue => {}
                Step::Close(code, reason) => {
                    self.close(code, reason).await;
                    return Ending {
                        reason,
                        reset: false,
                    };
                }
                Step::End(reason) => {
                    return Ending {
                        reason,
                        reset: false,
                    }
                }
                Step::Reset(reason) => {
                    return Ending {
                        reason,
                        reset: true,
                    }
                }
            }
        }
    }

    /// A WebSocket ping, unless the link is silenced outbound; a client silent for two intervals
    /// is cut off (unless the server itself stopped reading it).
    async fn on_ping(&mut self, ping_every: Duration) -> Step {
        if let Some(f) = &self.faults {
            let now_ms = self.ctx.now_ms();
            if f.outbound_silent(now_ms) || f.reading_paused(now_ms) {
                return Step::Continue;
            }
        }
        if self.last_heard.elapsed() > ping_every * 2 {
            Step::Close(1001, "heartbeat timeout")
        } else if self
            .socket
            .send(Message::Ping(Default::default()))
            .await
            .is_err()
        {
            Step::End("write failed")
        } else {
            Step::Continue
        }
    }

    /// Creates or drops the fault state to match the layer's switch: created when faults are on,
    /// dropped when they are off and nothing is waiting in it.
    fn sync_faults(&mut self) {
        let enabled = self.ctx.injector.is_enabled();
        let now_ms = self.ctx.now_ms();
        if enabled && self.faults.is_none() {
            self.faults = Some(Box::new(LinkFaults::new(
                &self.ctx.injector,
                self.conn,
                self.account.as_deref(),
                // Connection faults count from now, as after any change: a connection open
                // for an hour does not catch up on an hour of firings at once.
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

    /// Something in the fault layer is due: connection faults first, then waiting frames.
    async fn on_fault_timer(&mut self) -> Step {
        let now_ms = self.ctx.now_ms();
        loop {
            let Some(f) = self.faults.as_mut() else {
                return Step::Continue;
            };
            let Some(event) = f.faults.next_connection_event(now_ms) else {
                break;
            };
            f.note(event);
            match event {
                ConnectionEvent::Disconnect {
                    clean: true,
                    close_code,
                } => return Step::Close(close_code, "disconnected by the fault layer"),
                ConnectionEvent::Disconnect { clean: false, .. } => {
                    return Step::Reset("reset by the fault layer")
                }
                ConnectionEvent::PhantomFill => {
                    // Best effort: a busy engine queue skips this phantom.
                    let _ = self
                        .ctx
                        .inputs
                        .try_send(Input::PhantomFill { conn: self.conn });
                }
                ConnectionEvent::Silence { .. } | ConnectionEvent::PauseReading { .. } => {}
            }
        }
        match self.drain_inbound(now_ms).await {
            Step::Continue => self.flush_faults(now_ms).await,
            other => other,
        }
    }

    /// Handles every client frame the inbound stage releases at `now_ms`.
    async fn drain_inbound(&mut self, now_ms: u64) -> Step {
        loop {
            let Some(released) = self
                .faults
                .as_mut()
                .and_then(|f| f.faults.pop_inbound(now_ms))
            else {
                return Step::Continue;
            };
            let text = match &released.payload {
                Payload::Original(body) => body.0.clone(),
                Payload::Corrupted(text) => Arc::from(text.as_str()),
            };
            match self.on_text(&text).await {
                Step::Continue => {}
                other => return other,
            }
        }
    }

    /// Writes every frame due at `now_ms` (withheld events first get their `seq`), then flushes.
    async fn flush_faults(&mut self, now_ms: u64) -> Step {
        match self.write_due(now_ms).await {
            Step::Continue => {}
            other => return other,
        }
        self.flush_now().await
    }

    /// Sends everything fed to the socket; the time of it is what HEARTBEAT silence counts from.
    async fn flush_now(&mut self) -> Step {
        match self.socket.flush().await {
            Ok(()) => {
                self.last_sent = Instant::now();
                Step::Continue
            }
            Err(_) => Step::End("write failed"),
        }
    }

    /// A client text frame through the fault layer's inbound stage.
    async fn on_text_faulty(&mut self, text: &str) -> Step {
        self.sync_faults();
        let now_ms = self.ctx.now_ms();
        let Some(f) = self.faults.as_mut() else {
            return self.on_text(text).await;
        };
        f.inbound_ordinal += 1;
        let peek = Peek::of(text);
        let meta = FaultFrameMeta {
            seq: f.inbound_ordinal,
            message_type: peek.msg_type.as_deref(),
            channel: None,
        };
        match f.faults.push_inbound(Body(Arc::from(text)), meta, now_ms) {
            PushOutcome::Queued | PushOutcome::Dropped => {}
            PushOutcome::RateLimited => {
                let rid = peek.request_id();
                return self
                    .send_error(
                        rid.as_ref(),
                        ErrorCode::RateLimited,
                        "rate limited: too many messages",
                        "{}",
                    )
                    .await;
            }
            PushOutcome::Overflow => return Step::Close(1008, "slow consumer"),
        }
        match self.drain_inbound(now_ms).await {
            Step::Continue => self.flush_faults(now_ms).await,
            other => other,
        }
    }

    /// Sends a close frame, waiting at most [`CLOSE_FLUSH_TIMEOUT`] for a peer that does not
    /// read.
    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }));
        let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, self.socket.send(frame)).await;
    }

    /// Handles a frame, then the frames already read off the socket behind it (up to
    /// [`READ_BURST`]) without another trip through the event loop: under load a socket read
    /// brings many frames, and each trip costs a poll of every other branch and a clock read.
    /// With the fault layer on, every frame takes the loop (it may pause reading).
    async fn on_incoming_burst(&mut self, first: Option<Result<Message, axum::Error>>) -> Step {
        // One clock read for the burst: the frames handled in it count as arriving together (the
        // rate limiter's window may turn a burst late, which only errs on the strict side).
        self.last_heard = Instant::now();
        let mut step = self.on_incoming(first).await;
        for _ in 0..READ_BURST {
            if !matches!(step, Step::Continue) || self.faults.is_some() {
                break;
            }
            match self.socket.recv().now_or_never() {
                Some(incoming) => step = self.on_incoming(incoming).await,
                None => break,
            }
        }
        step
    }

    async fn on_incoming(&mut self, incoming: Option<Result<Message, axum::Error>>) -> Step {
        let message = match incoming {
            None => return Step::End("client went away"),
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                if !is_too_large(&e) {
                    return Step::End("read failed");
                }
                // Say why before closing: the frame was never read, so nothing of it is known.
                let limit = self.ctx.config.server.limits.max_frame_bytes;
                let message = format!("frames are limited to {limit} bytes");
                let _ = self
                    .send_error(None, ErrorCode::MessageTooLarge, &message, "{}")
                    .await;
                return Step::Close(1009, "message too large");
            }
        };
        self.frames_in += 1;
        self.handle
            .frames_in
            .store(self.frames_in, Ordering::Relaxed);
        match message {
            Message::Text(text) if self.faults.is_some() || self.ctx.injector.is_enabled() => {
                self.on_text_faulty(text.as_str()).await
            }
            Message::Text(text) => self.on_text(text.as_str()).await,
            Message::Binary(_) => {
                self.send_error(
                    None,
                    ErrorCode::InvalidMessage,
                    "binary frames are not supported: send JSON text frames",
                    "{}",
                )
                .await
            }
            Message::Ping(_) | Message::Pong(_) => Step::Continue,
            Message::Close(_) => {
                // Sends the queued close reply: the closing handshake completes cleanly.
                let _ = self.socket.flush().await;
                Step::End("client closed")
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Step {
        let limit = self.ctx.config.server.limits.max_messages_per_second;
        // `last_heard` is this frame's arrival (its burst's): one clock read serves both.
        if self.last_heard.duration_since(self.rate_window_start) >= Duration::from_secs(1) {
            self.rate_window_start = self.last_heard;
            self.rate_count = 0;
        }
        self.rate_count += 1;
        let request = match parse_request(text, &self.ctx.catalog) {
            Ok(r) => r,
            Err(failure) => {
                let details = msg::error_details(failure.field, failure.msg_type.as_deref());
                return self
                    .send_error(
                        failure.request_id.as_ref(),
                        failure.code,
                        &failure.message,
                        &details,
                    )
                    .await;
            }
        };
        if let Some(f) = self.faults.as_mut() {
            let verdict = f
                .faults
                .on_request(request.kind.type_name(), self.ctx.now_ms());
            if let RequestVerdict::Reject(code) = verdict {
                let code = match code {
                    faults::RejectCode::ExchangeBusy => ErrorCode::ExchangeBusy,
                    faults::RejectCode::ExchangeUnavailable => ErrorCode::ExchangeUnavailable,
                };
                return self
                    .send_error(
                        request.request_id.as_ref(),
                        code,
                        "the exchange cannot take requests now: retry later",
                        "{}",
                    )
                    .await;
            }
        }
        if self.rate_count > limit {
            let message = format!("more than {limit} messages per second");
            return self
                .send_error(
                    request.request_id.as_ref(),
                    ErrorCode::RateLimited,
                    &message,
                    "{}",
                )
                .await;
        }
        if let RequestKind::Subscribe {
            channel: Channel::Heartbeat,
            ..
        } = request.kind
        {
            self.heartbeat = true;
        }
        if let RequestKind::Unsubscribe {
            channel: Channel::Heartbeat,
            ..
        } = request.kind
        {
            self.heartbeat = false;
        }
        to_engine(
            &self.ctx.inputs,
            Input::Request {
                conn: self.conn,
                request,
            },
        )
        .await
    }

    async fn send_error(
        &mut self,
        rid: Option<&RequestId>,
        code: ErrorCode,
        message: &str,
        details: &str,
    ) -> Step {
        let mut body = String::new();
        msg::error(&mut body, rid, code, message, details);
        self.write_frame(Frame::private("ERROR", body), true).await
    }

    async fn on_outbound(
        &mut self,
        out: Outbound,
        rx: &mut crate::outbound::OutboundReceiver,
    ) -> Step {
        let mut batch = std::mem::take(&mut self.batch);
        batch.push_back(out);
        rx.drain_into(&mut batch, WRITE_BATCH);
        let step = self.write_batch(&mut batch).await;
        batch.clear();
        self.batch = batch;
        step
    }

    async fn write_batch(&mut self, batch: &mut std::collections::VecDeque<Outbound>) -> Step {
        while let Some(out) = batch.pop_front() {
            match out {
                Outbound::Frame(frame) => match self.write_frame(frame, false).await {
                    Step::Continue => {}
                    other => return other,
                },
                Outbound::Close { code, reason } => {
                    let _ = self.socket.flush().await;
                    return Step::Close(code, reason);
                }
                Outbound::Bound(seq) => self.account_seq = Some(seq),
                Outbound::Account { name, configured } => self.bind_account(&name, configured),
                Outbound::Replay(frames) => {
                    for frame in frames {
                        match self.write_frame(frame, false).await {
                            Step::Continue => {}
                            other => return other,
                        }
                    }
                }
            }
        }
        self.flush_now().await
    }

    /// The connection is bound to account `name`: the registry shows it, and faults aim at it
    /// when it is a configured (logged-in) account.
    fn bind_account(&mut self, name: &str, configured: bool) {
        self.handle.set_account(name);
        if configured {
            self.account = Some(name.to_owned());
            if let Some(f) = self.faults.as_mut() {
                f.faults.set_account(name);
            }
        }
    }

    /// Stamps the frame with the next `seq` and queues it on the socket (flushing if asked).
    /// While the fault layer is on, the frame passes its exchange stage first and its message
    /// stage after the stamp.
    async fn write_frame(&mut self, frame: Frame, flush: bool) -> Step {
        if self.faults.is_some() || self.ctx.injector.is_enabled() {
            return self.write_frame_faulty(frame, flush).await;
        }
        let text = self.stamp(frame.body);
        self.write_message(Message::Text(Utf8Bytes::from(text)), flush)
            .await
    }

    /// Assigns the next `seq` and returns the stamped frame: the body's own allocation when the
    /// body is this connection's alone, a copy when it is shared. The only place `seq` moves.
    fn stamp(&mut self, body: FrameBody) -> String {
        self.seq += 1;
        match body {
            FrameBody::Owned(mut text) => {
                protocol::stamp_seq(self.seq, &mut text);
                text
            }
            FrameBody::Shared(body) => {
                let mut text = String::with_capacity(body.len() + protocol::SEQ_ROOM);
                protocol::splice_seq(self.seq, &body, &mut text);
                text
            }
        }
    }

    async fn write_message(&mut self, message: Message, flush: bool) -> Step {
        let result = if flush {
            self.socket.send(message).await
        } else {
            self.socket.feed(message).await
        };
        if flush {
            self.last_sent = Instant::now();
        }
        self.frames_out += 1;
        self.handle
            .frames_out
            .store(self.frames_out, Ordering::Relaxed);
        match result {
            Ok(()) => Step::Continue,
            Err(_) => Step::End("write failed"),
        }
    }

    async fn write_frame_faulty(&mut self, frame: Frame, flush: bool) -> Step {
        self.sync_faults();
        let now_ms = self.ctx.now_ms();
        let Some(f) = self.faults.as_mut() else {
            let text = self.stamp(frame.body);
            return self
                .write_message(Message::Text(Utf8Bytes::from(text)), flush)
                .await;
        };
        let channel = frame.meta.channel.map(Channel::as_str);
        let meta = EventMeta {
            message_type: frame.meta.msg_type,
            channel,
        };
        let body = frame.body.into_shared();
        let step = match f.faults.on_event(Body(body.clone()), meta, now_ms) {
            EventVerdict::Deliver(body) => {
                self.push_stamped(&body.0, frame.meta.msg_type, channel, now_ms)
            }
            EventVerdict::UnknownOutcome(ack) => {
                let error = unknown_outcome_error(&ack.0);
                self.push_stamped(&error, "ERROR", None, now_ms)
            }
            EventVerdict::Withheld | EventVerdict::Suppressed => Step::Continue,
            EventVerdict::GapEnded => match frame.meta.channel {
                // The engine thread restarts the stream: only it knows the book.
                Some(channel) => {
                    to_engine(
                        &self.ctx.inputs,
                        Input::StreamReset {
                            conn: self.conn,
                            channel,
                            body,
                        },
                    )
                    .await
                }
                None => Step::Continue,
            },
        };
        if let Step::Continue = step {
            if flush {
                self.flush_faults(now_ms).await
            } else {
                self.write_due(now_ms).await
            }
        } else {
            step
        }
    }

    /// Stamps `body` and hands it to the outbound message stage.
    fn push_stamped(
        &mut self,
        body: &str,
        msg_type: &str,
        channel: Option<&str>,
        now_ms: u64,
    ) -> Step {
        let mut own = String::with_capacity(body.len() + protocol::SEQ_ROOM);
        own.push_str(body);
        let text = self.stamp(FrameBody::Owned(own));
        let Some(f) = self.faults.as_mut() else {
            return Step::Continue;
        };
        let meta = FaultFrameMeta {
            seq: self.seq,
            message_type: Some(msg_type),
            channel,
        };
        match f.faults.push_outbound(Body(Arc::from(text)), meta, now_ms) {
            PushOutcome::Overflow => Step::Close(1008, "slow consumer"),
            PushOutcome::Queued | PushOutcome::Dropped | PushOutcome::RateLimited => Step::Continue,
        }
    }

    /// Writes (without flushing) what the fault layer releases at `now_ms`: withheld events
    /// due now get their `seq` and go through the message stage, then due frames are written.
    async fn write_due(&mut self, now_ms: u64) -> Step {
        while let Some(held) = self
            .faults
            .as_mut()
            .and_then(|f| f.faults.pop_due_event(now_ms))
        {
            let step = self.push_stamped(
                &held.payload.0,
                &held.message_type,
                held.channel.as_deref(),
                now_ms,
            );
            if !matches!(step, Step::Continue) {
                return step;
            }
        }
        while let Some(released) = self
            .faults
            .as_mut()
            .and_then(|f| f.faults.pop_outbound(now_ms))
        {
            let text = match released.payload {
                Payload::Original(body) => String::from(&*body.0),
                Payload::Corrupted(text) => text,
            };
            let step = self
                .write_message(Message::Text(Utf8Bytes::from(text)), false)
                .await;
            if !matches!(step, Step::Continue) {
                return step;
            }
        }
        Step::Continue
    }

    async fn maybe_heartbeat(&mut self) -> Step {
        if self.last_sent.elapsed() < HEARTBEAT_SILENCE {
            return Step::Continue;
        }
        let mut body = String::new();
        let mut w = protocol::json::ObjectWriter::new(&mut body);
        w.str("type", "HEARTBEAT")
            .str("channel", Channel::Heartbeat.as_str());
        w.str_with("timestamp", |o| protocol::time::write_iso8601(now_ns(), o));
        match &self.account_seq {
            Some(seq) => w.u64("account_seq", seq.load(Ordering::Relaxed)),
            None => w.raw("account_seq", "null"),
        };
        let catalog = self.ctx.catalog.clone();
        let seqs = self.ctx.seqs.clone();
        w.with("symbols", |o| {
            o.push('{');
            for (i, sym) in catalog.symbols().iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                protocol::json::write_escaped(&sym.spec.name, o);
                o.push(':');
                let mut sw = protocol::json::ObjectWriter::new(o);
                sw.u64(
                    "book_sequence",
                    seqs.book.get(i).map_or(0, |a| a.load(Ordering::Relaxed)),
                )
                .u64(
                    "trade_id",
                    seqs.trade.get(i).map_or(0, |a| a.load(Ordering::Relaxed)),
                );
                sw.end();
            }
            o.push('}');
        });
        w.end();
        self.write_frame(Frame::private("HEARTBEAT", body), true)
            .await
    }
}

/// Hands `input` to the engine thread (waiting for room in its queue); the connection ends with
/// 1011 when the engine has stopped.
async fn to_engine(inputs: &mpsc::Sender<Input>, input: Input) -> Step {
    match inputs.send(input).await {
        Ok(()) => Step::Continue,
        Err(_) => Step::Close(1011, "exchange stopped"),
    }
}

/// Sleeps until `wake`, or forever without one.
async fn sleep_until(wake: Option<tokio::time::Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(tungstenite::Error::Capacity(_)) = err.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = err.source();
    }
    false
}
