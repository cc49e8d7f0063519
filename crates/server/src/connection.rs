//! One WebSocket connection: a task that reads the socket, writes what the engine thread queues,
//! keeps the link alive with pings and heartbeats, and does whatever its [`Link`] asks.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use exchange::{close_code, ConnId, Input};
use faults::FaultInjector;
use futures_util::{FutureExt, SinkExt};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::Config;
use crate::dialect::{Dialect, Wire};
use crate::engine_thread::{now_ns, Envelope, SharedSeqs};
use crate::link::{Action, Link};
use crate::listener::Peer;
use crate::outbound::{CloseNow, Outbound, OutboundReceiver};
use crate::queue_outlet::QueueOutlet;
use crate::registry::{ConnHandle, Control, Registry};

/// What every connection shares.
pub struct ConnContext {
    pub engine: mpsc::Sender<Envelope>,
    /// What links read and write their dialects with.
    pub wire: Arc<Wire>,
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
/// Queue items taken per batch, so one busy connection batches its syscalls.
const WRITE_BATCH: usize = 64;
/// Frames already received that are handled in one go after the first.
const READ_BURST: usize = 64;
/// How long a close frame may wait behind unsent data for a peer that does not read, before the
/// socket is dropped without it.
pub const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a connection to its end, then tells the engine thread it is gone.
pub async fn run(
    socket: WebSocket,
    conn: ConnId,
    peer: Peer,
    dialect: Dialect,
    streams: Vec<String>,
    ctx: Arc<ConnContext>,
) {
    let addr = peer.addr;
    let queue = ctx.config.server.limits.outbound_queue_frames;
    let (tx, rx) = crate::outbound::channel(queue);
    let (kill, killed) = oneshot::channel();
    let outlet = QueueOutlet::new(
        tx,
        kill,
        tokio::runtime::Handle::current(),
        CLOSE_FLUSH_TIMEOUT,
    );
    let opened = Envelope::Open {
        conn,
        outlet,
        dialect,
    };
    if ctx.engine.send(opened).await.is_err() {
        return;
    }
    tracing::info!(conn, %addr, "connection opened");
    let dialect_name = dialect.name();
    let (handle, control) = ctx.registry.register(conn, addr, dialect_name, rx.probe());
    let link = Link::new(
        conn,
        dialect,
        ctx.wire.clone(),
        ctx.injector.clone(),
        ctx.config.server.limits.max_messages_per_second,
        ctx.now_ms(),
    );
    let mut connection = Connection {
        conn,
        socket,
        ctx: ctx.clone(),
        link,
        actions: Vec::new(),
        batch: std::collections::VecDeque::new(),
        last_sent: Instant::now(),
        last_heard: Instant::now(),
        handle,
        frames_in: 0,
        frames_out: 0,
    };
    if !streams.is_empty() {
        let now_ms = ctx.now_ms();
        connection
            .link
            .open_streams(now_ms, &streams, &mut connection.actions);
        connection.perform().await;
    }
    // The engine thread can close the connection at once (a slow consumer), even while a write
    // waits for a peer that stopped reading: the wait is abandoned and the close frame sent after
    // what the socket already holds.
    let ended = tokio::select! {
        ending = connection.serve(rx, control) => ending,
        Ok(CloseNow { code, reason }) = killed => {
            connection.close(code, reason).await;
            Ending { reason, reset: false }
        }
    };
    if ended.reset {
        // Dropping the socket after this sends RST instead of FIN.
        peer.reset.store(true, Ordering::Release);
    }
    let account = connection
        .handle
        .account
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    drop(connection);
    ctx.registry.remove(conn);
    let _ = ctx
        .engine
        .send(Envelope::Input(Input::Close { conn }))
        .await;
    tracing::info!(
        conn,
        %addr,
        account = account.as_deref().unwrap_or("-"),
        reason = ended.reason,
        reset = ended.reset,
        "connection closed"
    );
}

/// The I/O side of one connection.
struct Connection {
    conn: ConnId,
    socket: WebSocket,
    ctx: Arc<ConnContext>,
    link: Link,
    /// What the link asked for (reused).
    actions: Vec<Action>,
    /// Queue items taken and being written (reused).
    batch: std::collections::VecDeque<Outbound>,
    last_sent: Instant,
    last_heard: Instant,
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

impl Connection {
    async fn serve(
        &mut self,
        mut rx: OutboundReceiver,
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
            let now_ms = self.ctx.now_ms();
            let wake = self
                .link
                .wake_ms(now_ms)
                .and_then(|ms| self.ctx.instant_at(ms));
            let reading = !self.link.reading_paused(now_ms);
            let step = tokio::select! {
                incoming = self.socket.recv(), if reading => self.on_incoming_burst(incoming).await,
                out = rx.recv() => match out {
                    Some(out) => self.on_outbound(out, &mut rx).await,
                    // The engine stopped: during a shutdown that still deserves a proper close.
                    None if *self.ctx.shutdown.borrow() => Step::Close(close_code::GOING_AWAY, "server shutting down"),
                    None => Step::End("server closed the connection"),
                },
                order = control.recv() => match order {
                    Some(Control::CloseClean { code }) => Step::Close(code, "closed by the admin API"),
                    Some(Control::Reset) => Step::Reset("reset by the admin API"),
                    None => Step::Continue,
                },
                _ = sleep_until(wake), if wake.is_some() => {
                    let now_ms = self.ctx.now_ms();
                    self.link.on_fault_timer(now_ms, &mut self.actions);
                    self.perform().await
                }
                changed = faults_changed.changed() => {
                    if changed.is_ok() {
                        self.link.sync_faults(self.ctx.now_ms());
                    }
                    Step::Continue
                }
                _ = ping.tick() => self.on_ping(ping_every).await,
                _ = beat.tick(), if self.link.wants_heartbeat() => self.maybe_heartbeat().await,
                _ = shutdown.changed() => Step::Close(close_code::GOING_AWAY, "server shutting down"),
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

    /// Does what the link asked, in order, then flushes the socket.
    async fn perform(&mut self) -> Step {
        let mut actions = std::mem::take(&mut self.actions);
        let mut step = Step::Continue;
        for action in actions.drain(..) {
            step = match action {
                Action::Write(text) => self.write(text).await,
                Action::ToCore(mut input) => {
                    if let Input::Request { request, .. } = &mut input {
                        if request.needs_secret() {
                            request.give_secret(crate::secrets::session_secret());
                        }
                    }
                    to_engine(&self.ctx.engine, Envelope::Input(input)).await
                }
                Action::Close(code, reason) => Step::Close(code, reason),
                Action::Reset(reason) => Step::Reset(reason),
                Action::Bound(account) => {
                    tracing::debug!(
                        conn = self.conn,
                        account = account.as_deref().unwrap_or("-"),
                        "connection bound"
                    );
                    self.handle.set_account(account.as_deref());
                    Step::Continue
                }
            };
            if !matches!(step, Step::Continue) {
                break;
            }
        }
        actions.clear();
        self.actions = actions;
        match step {
            Step::Continue => self.flush().await,
            Step::Close(code, reason) => {
                let _ = self.socket.flush().await;
                Step::Close(code, reason)
            }
            other => other,
        }
    }

    async fn write(&mut self, text: String) -> Step {
        self.frames_out += 1;
        self.handle
            .frames_out
            .store(self.frames_out, Ordering::Relaxed);
        match self
            .socket
            .feed(WsMessage::Text(Utf8Bytes::from(text)))
            .await
        {
            Ok(()) => Step::Continue,
            Err(_) => Step::End("write failed"),
        }
    }

    /// Sends everything fed to the socket; the time of it is what HEARTBEAT silence counts from.
    async fn flush(&mut self) -> Step {
        match self.socket.flush().await {
            Ok(()) => {
                self.last_sent = Instant::now();
                Step::Continue
            }
            Err(_) => Step::End("write failed"),
        }
    }

    /// A WebSocket ping, unless the link is silenced outbound; a client silent for two intervals
    /// is cut off (unless the server itself stopped reading it).
    async fn on_ping(&mut self, ping_every: Duration) -> Step {
        let now_ms = self.ctx.now_ms();
        if self.link.outbound_silent(now_ms) || self.link.reading_paused(now_ms) {
            return Step::Continue;
        }
        if self.last_heard.elapsed() > ping_every * 2 {
            Step::Close(close_code::GOING_AWAY, "heartbeat timeout")
        } else if self
            .socket
            .send(WsMessage::Ping(Default::default()))
            .await
            .is_err()
        {
            Step::End("write failed")
        } else {
            Step::Continue
        }
    }

    /// Handles a frame, then the frames already read off the socket behind it (up to
    /// [`READ_BURST`]) without another trip through the event loop: under load a socket read
    /// brings many frames, and each trip costs a poll of every other branch and a clock read.
    /// While the fault layer pauses reading, every frame takes the loop.
    async fn on_incoming_burst(&mut self, first: Option<Result<WsMessage, axum::Error>>) -> Step {
        // One clock read for the burst: the frames in it count as arriving together (the rate
        // limiter's window may turn a burst late, which only errs on the strict side).
        self.last_heard = Instant::now();
        let now_ms = self.ctx.now_ms();
        let mut step = self.on_incoming(now_ms, first).await;
        for _ in 0..READ_BURST {
            if !matches!(step, Step::Continue) || self.link.reading_paused(now_ms) {
                break;
            }
            match self.socket.recv().now_or_never() {
                Some(incoming) => step = self.on_incoming(now_ms, incoming).await,
                None => break,
            }
        }
        step
    }

    async fn on_incoming(
        &mut self,
        now_ms: u64,
        incoming: Option<Result<WsMessage, axum::Error>>,
    ) -> Step {
        let message = match incoming {
            None => return Step::End("client went away"),
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                if !is_too_large(&e) {
                    return Step::End("read failed");
                }
                // Say why before closing: the frame was never read, so nothing of it is known.
                let limit = self.ctx.config.server.limits.max_frame_bytes;
                self.link.on_too_large(now_ms, limit, &mut self.actions);
                return self.perform().await;
            }
        };
        self.frames_in += 1;
        self.handle
            .frames_in
            .store(self.frames_in, Ordering::Relaxed);
        match message {
            WsMessage::Text(text) => self.link.on_text(now_ms, text.as_str(), &mut self.actions),
            WsMessage::Binary(_) => self.link.on_binary(now_ms, &mut self.actions),
            WsMessage::Ping(_) | WsMessage::Pong(_) => return Step::Continue,
            WsMessage::Close(_) => {
                // Sends the queued close reply: the closing handshake completes cleanly.
                let _ = self.socket.flush().await;
                return Step::End("client closed");
            }
        }
        self.perform().await
    }

    async fn on_outbound(&mut self, out: Outbound, rx: &mut OutboundReceiver) -> Step {
        let mut batch = std::mem::take(&mut self.batch);
        batch.push_back(out);
        rx.drain_into(&mut batch, WRITE_BATCH);
        let now_ms = self.ctx.now_ms();
        for item in batch.drain(..) {
            self.link.on_outbound(now_ms, item, &mut self.actions);
        }
        self.batch = batch;
        self.perform().await
    }

    /// Sends a close frame, waiting at most [`CLOSE_FLUSH_TIMEOUT`] for a peer that does not
    /// read.
    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = WsMessage::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }));
        let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, self.socket.send(frame)).await;
    }

    async fn maybe_heartbeat(&mut self) -> Step {
        if self.last_sent.elapsed() < HEARTBEAT_SILENCE {
            return Step::Continue;
        }
        let seqs = self.ctx.seqs.clone();
        self.link.heartbeat(
            self.ctx.now_ms(),
            now_ns(),
            |i| seqs.latest(i),
            &mut self.actions,
        );
        self.perform().await
    }
}

/// Hands `envelope` to the engine thread (waiting for room in its queue); the connection ends
/// with 1011 when the engine has stopped.
async fn to_engine(engine: &mpsc::Sender<Envelope>, envelope: Envelope) -> Step {
    match engine.send(envelope).await {
        Ok(()) => Step::Continue,
        Err(_) => Step::Close(close_code::INTERNAL_ERROR, "exchange stopped"),
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
