//! One WebSocket connection: one task that reads requests, writes frames and keeps the link alive.
//!
//! Every frame the connection sends is stamped with its `seq` (from 1, +1 per frame) here and
//! nowhere else. Requests are parsed on this task (in parallel with other connections) and only
//! valid ones reach the engine thread; bad input is answered here, and the connection goes on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use protocol::request::parse_request;
use protocol::{messages as msg, Catalog, Channel, ErrorCode, RequestKind};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::Config;
use crate::core::{now_ns, ConnId, Input};
use crate::outbound::{CloseNow, Frame, Outbound};

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
}

/// How long a HEARTBEAT subscriber may go without a frame before one is sent.
const HEARTBEAT_SILENCE: Duration = Duration::from_secs(1);
/// Frames written per flush at most, so one busy connection batches its syscalls.
const WRITE_BATCH: usize = 64;
/// How long a close frame may wait behind unsent data for a peer that does not read, before
/// the socket is dropped without it.
pub const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a connection to its end, then tells the engine thread it is gone.
pub async fn run(socket: WebSocket, conn: ConnId, addr: SocketAddr, ctx: Arc<ConnContext>) {
    let queue = ctx.config.server.limits.outbound_queue_frames;
    let (tx, rx) = mpsc::channel(queue);
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
        text: String::new(),
    };
    drop(tx);
    // The engine thread can close the connection at once (a slow consumer), even while a write
    // waits for a peer that stopped reading: the wait is abandoned and the close frame sent
    // after what the socket already holds.
    let ended = tokio::select! {
        reason = link.serve(rx) => Err(reason),
        Ok(close) = killed => Ok(close),
    };
    let reason = match ended {
        Err(reason) => reason,
        Ok(CloseNow { code, reason }) => {
            link.close(code, reason).await;
            reason
        }
    };
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
    text: String,
}

enum Step {
    Continue,
    Close(u16, &'static str),
    End(&'static str),
}

impl Link {
    async fn serve(&mut self, mut rx: mpsc::Receiver<Outbound>) -> &'static str {
        let ping_every = Duration::from_secs_f64(self.ctx.config.server.heartbeat_interval);
        let mut ping = tokio::time::interval(ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        let mut beat = tokio::time::interval(Duration::from_millis(250));
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutdown = self.ctx.shutdown.clone();
        loop {
            let step = tokio::select! {
                incoming = self.socket.recv() => self.on_incoming(incoming).await,
                out = rx.recv() => match out {
                    Some(out) => self.on_outbound(out, &mut rx).await,
                    None => Step::End("server closed the connection"),
                },
                _ = ping.tick() => {
                    if self.last_heard.elapsed() > ping_every * 2 {
                        Step::Close(1001, "heartbeat timeout")
                    } else if self.socket.send(Message::Ping(Default::default())).await.is_err() {
                        Step::End("write failed")
                    } else {
                        Step::Continue
                    }
                }
                _ = beat.tick(), if self.heartbeat => self.maybe_heartbeat().await,
                _ = shutdown.changed() => Step::Close(1001, "server shutting down"),
            };
            match step {
                Step::Continue => {}
                Step::Close(code, reason) => {
                    self.close(code, reason).await;
                    return reason;
                }
                Step::End(reason) => return reason,
            }
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

    async fn on_incoming(&mut self, incoming: Option<Result<Message, axum::Error>>) -> Step {
        let message = match incoming {
            None => return Step::End("client went away"),
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                return if is_too_large(&e) {
                    Step::Close(1009, "message too large")
                } else {
                    Step::End("read failed")
                };
            }
        };
        self.last_heard = Instant::now();
        match message {
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
        if self.rate_window_start.elapsed() >= Duration::from_secs(1) {
            self.rate_window_start = Instant::now();
            self.rate_count = 0;
        }
        self.rate_count += 1;
        let request = match parse_request(text, &self.ctx.catalog) {
            Ok(r) => r,
            Err(failure) => {
                let details = msg::error_details(failure.field, failure.msg_type.as_deref());
                return self
                    .send_error(
                        failure.request_id.as_ref().map(|r| r.as_json()),
                        failure.code,
                        &failure.message,
                        &details,
                    )
                    .await;
            }
        };
        if self.rate_count > limit {
            let message = format!("more than {limit} messages per second");
            return self
                .send_error(
                    request.request_id.as_ref().map(|r| r.as_json()),
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
        match self
            .ctx
            .inputs
            .send(Input::Request {
                conn: self.conn,
                request,
            })
            .await
        {
            Ok(()) => Step::Continue,
            Err(_) => Step::Close(1011, "exchange stopped"),
        }
    }

    async fn send_error(
        &mut self,
        request_id: Option<&str>,
        code: ErrorCode,
        message: &str,
        details: &str,
    ) -> Step {
        let rid = request_id.map(|r| protocol::RequestId(r.into()));
        let mut body = String::new();
        msg::error(&mut body, rid.as_ref(), code, message, details);
        self.write_frame(&Frame::private("ERROR", body), true).await
    }

    async fn on_outbound(&mut self, out: Outbound, rx: &mut mpsc::Receiver<Outbound>) -> Step {
        let mut next = Some(out);
        let mut written = 0;
        while let Some(out) = next.take() {
            match out {
                Outbound::Frame(frame) => {
                    if let Step::End(r) = self.write_frame(&frame, false).await {
                        return Step::End(r);
                    }
                    written += 1;
                }
                Outbound::Close { code, reason } => {
                    let _ = self.socket.flush().await;
                    return Step::Close(code, reason);
                }
                Outbound::Bound(seq) => self.account_seq = Some(seq),
                Outbound::Replay(frames) => {
                    for frame in &frames {
                        if let Step::End(r) = self.write_frame(frame, false).await {
                            return Step::End(r);
                        }
                    }
                    written += frames.len();
                }
            }
            if written < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        match self.socket.flush().await {
            Ok(()) => Step::Continue,
            Err(_) => Step::End("write failed"),
        }
    }

    /// Stamps the frame with the next `seq` and queues it on the socket (flushing if asked).
    async fn write_frame(&mut self, frame: &Frame, flush: bool) -> Step {
        self.seq += 1;
        self.text.clear();
        protocol::splice_seq(self.seq, &frame.body, &mut self.text);
        let message = Message::Text(Utf8Bytes::from(self.text.clone()));
        let result = if flush {
            self.socket.send(message).await
        } else {
            self.socket.feed(message).await
        };
        self.last_sent = Instant::now();
        match result {
            Ok(()) => Step::Continue,
            Err(_) => Step::End("write failed"),
        }
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
        self.write_frame(&Frame::private("HEARTBEAT", body), true)
            .await
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
