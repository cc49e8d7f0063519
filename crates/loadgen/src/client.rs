//! Shared client code: connecting with sized buffers, writing order frames into a reused buffer,
//! recognising answers by `request_id` without parsing whole frames, and the order driver that
//! every latency scenario (roundtrip, pipeline, echo) runs, so the echo ceiling is measured with
//! exactly the code that measures the server.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{FutureExt, SinkExt, StreamExt};
use hdrhistogram::Histogram;
use memchr::memmem::Finder;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{truncate_price_ticks, CommonArgs, OrderSpec};
use crate::pacing::Pacer;
use crate::progress::Progress;
use crate::report::LatencyReport;
use crate::stats::{round3, LatencyFigures};
use crate::system::raise_nofile;
use crate::BenchError;

mod subscribers;
pub(crate) use subscribers::{Feed, Fleet};

/// A client WebSocket as the load generator holds it.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long after the send window closes answers are still waited for.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// How long one connection attempt (TCP plus handshake) may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most frames handled after one wake-up before yielding to sends and other tasks.
const READY_BATCH_MAX: usize = 256;
/// Room kept in a writer's buffer: one order frame is about 260 bytes.
const FRAME_ROOM_BYTES: usize = 512;
/// Largest frame accepted from the server; order-book snapshots are the big ones.
const FRAME_BYTES_MAX: usize = 1 << 20;

/// Buffer sizes for connections that send and receive at a high rate.
pub(crate) fn trader_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(4 * FRAME_BYTES_MAX)
        .max_message_size(Some(FRAME_BYTES_MAX))
        .max_frame_size(Some(FRAME_BYTES_MAX))
}

/// Buffer sizes for the many mostly-listening connections: small, so that ten thousand of them
/// fit beside the server (the library default is 128 KiB each way).
pub(crate) fn subscriber_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(FRAME_BYTES_MAX)
        .max_message_size(Some(FRAME_BYTES_MAX))
        .max_frame_size(Some(FRAME_BYTES_MAX))
}

/// Opens one WebSocket connection with Nagle off, within [`CONNECT_TIMEOUT`].
pub(crate) async fn connect(url: &str, config: WebSocketConfig) -> Result<Ws, BenchError> {
    let attempt = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(e)) => Err(BenchError::Connect {
            url: url.to_owned(),
            reason: e.to_string(),
        }),
        Err(_) => Err(BenchError::Connect {
            url: url.to_owned(),
            reason: format!("no handshake within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// Opens `n` connections at once; the failures are counted, not fatal, unless all fail.
pub(crate) async fn connect_all(
    url: &str,
    n: usize,
    config: WebSocketConfig,
) -> Result<(Vec<Ws>, u64), BenchError> {
    let attempts = (0..n).map(|_| connect(url, config));
    let mut opened = Vec::with_capacity(n);
    let mut failures = 0;
    let mut last_error = None;
    for result in futures_util::future::join_all(attempts).await {
        match result {
            Ok(ws) => opened.push(ws),
            Err(e) => {
                failures += 1;
                last_error = Some(e);
            }
        }
    }
    match (opened.is_empty(), last_error) {
        (true, Some(e)) => Err(e),
        _ => Ok((opened, failures)),
    }
}

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Buy,
    Sell,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }

    /// The other side.
    pub(crate) fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Writes one connection's PLACE_ORDER and SUBSCRIBE frames, numbering `request_id` from 1 and
/// reusing one buffer (a sent frame's bytes return to it once the socket has written them).
pub(crate) struct FrameWriter {
    spec: Arc<OrderSpec>,
    connection: usize,
    rng: ChaCha8Rng,
    buf: BytesMut,
    next_request_id: u64,
}

impl FrameWriter {
    /// A writer for connection number `connection`, with its own seeded price stream.
    pub(crate) fn new(spec: Arc<OrderSpec>, connection: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        rng.set_stream(connection as u64);
        FrameWriter {
            spec,
            connection,
            rng,
            buf: BytesMut::with_capacity(FRAME_ROOM_BYTES),
            next_request_id: 1,
        }
    }

    /// The side of this connection's `k`-th alternating order: connections start on opposite
    /// sides and then alternate, so buys and sells balance and cross each other.
    pub(crate) fn alternating_side(&self, k: u64) -> Side {
        if (k + self.connection as u64) % 2 == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }

    /// This connection's `k`-th alternating order, with the time in force of the flags.
    pub(crate) fn alternating_order(&mut self, k: u64) -> (u64, Message) {
        let time_in_force = self.spec.time_in_force;
        self.order(self.alternating_side(k), time_in_force)
    }

    /// A limit order `side` up to `jitter_ticks` through the mid; returns its request id.
    pub(crate) fn order(&mut self, side: Side, time_in_force: &str) -> (u64, Message) {
        let jitter = if self.spec.jitter_ticks > 0 {
            self.rng.gen_range(0..=self.spec.jitter_ticks)
        } else {
            0
        };
        let price_ticks = match side {
            Side::Buy => self.spec.mid_ticks + jitter,
            Side::Sell => self.spec.mid_ticks - jitter,
        };
        self.order_at(side, price_ticks, time_in_force)
    }

    /// A limit order `through_ticks` through the mid: a buy above it, a sell below it (a
    /// negative number keeps the order on its own side of the mid).
    pub(crate) fn order_through_mid(
        &mut self,
        side: Side,
        through_ticks: i64,
        time_in_force: &str,
    ) -> (u64, Message) {
        let price_ticks = match side {
            Side::Buy => self.spec.mid_ticks + through_ticks,
            Side::Sell => self.spec.mid_ticks - through_ticks,
        };
        self.order_at(side, price_ticks, time_in_force)
    }

    fn order_at(&mut self, side: Side, price_ticks: i64, time_in_force: &str) -> (u64, Message) {
        let id = self.take_request_id();
        let cents = (price_ticks % 100).unsigned_abs();
        let (mut number, mut units, mut hundredths, mut connection) = (
            itoa::Buffer::new(),
            itoa::Buffer::new(),
            itoa::Buffer::new(),
            itoa::Buffer::new(),
        );
        let id_text = number.format(id).as_bytes();
        // Piece by piece rather than through `fmt`: this runs for every order the load
        // generator sends, beside the server on the same cores.
        let pieces: [&[u8]; 19] = [
            b"{\"type\":\"PLACE_ORDER\",\"request_id\":",
            id_text,
            b",\"symbol\":\"",
            self.spec.symbol.as_bytes(),
            b"\",\"side\":\"",
            side.as_str().as_bytes(),
            b"\",\"order_type\":\"LIMIT\",\"price\":\"",
            units.format(price_ticks / 100).as_bytes(),
            if cents < 10 { b".0" } else { b"." },
            hundredths.format(cents).as_bytes(),
            b"\",\"quantity\":\"",
            self.spec.quantity.as_bytes(),
            b"\",\"time_in_force\":\"",
            time_in_force.as_bytes(),
            b"\",\"client_order_id\":\"lg-",
            connection.format(self.connection).as_bytes(),
            b"-",
            id_text,
            b"\"}",
        ];
        for piece in pieces {
            self.buf.extend_from_slice(piece);
        }
        (id, self.take_frame())
    }

    /// A SUBSCRIBE to `channel` on the symbol.
    pub(crate) fn subscribe(&mut self, channel: &str) -> Message {
        use std::fmt::Write as _;
        let id = self.take_request_id();
        let _ = write!(
            self.buf,
            "{{\"type\":\"SUBSCRIBE\",\"request_id\":{id},\"channel\":\"{channel}\",\"symbol\":\"{}\"}}",
            self.spec.symbol
        );
        self.take_frame()
    }

    fn take_request_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        id
    }

    fn take_frame(&mut self) -> Message {
        let bytes = self.buf.split().freeze();
        // Keep the next frame's room: this reclaims the old allocation when nothing holds it.
        self.buf.reserve(FRAME_ROOM_BYTES);
        match Utf8Bytes::try_from(bytes) {
            Ok(text) => Message::Text(text),
            // Unreachable in practice: every piece written is validated ASCII.
            Err(_) => Message::Text(Utf8Bytes::from_static("{}")),
        }
    }
}

/// Searchers for the two keys looked up in every frame, built once.
static TYPE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"type\""));
static REQUEST_ID_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"request_id\""));
static CODE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"code\""));

/// The value of the first `"type"` field of a frame, found without parsing the frame.
pub(crate) fn frame_type(text: &str) -> Option<&str> {
    let rest = after_key(text, &TYPE_KEY)?;
    let rest = rest.strip_prefix('"')?;
    let end = memchr::memchr(b'"', rest.as_bytes())?;
    rest.get(..end)
}

/// The value of the first `"code"` field of a frame (an ERROR's or ORDER_REJECT's code), found
/// without parsing the frame.
pub(crate) fn frame_code(text: &str) -> Option<&str> {
    let rest = after_key(text, &CODE_KEY)?;
    let rest = rest.strip_prefix('"')?;
    let end = memchr::memchr(b'"', rest.as_bytes())?;
    rest.get(..end)
}

/// The first `"request_id"` of a frame, as a number (a quoted number is accepted too).
pub(crate) fn request_id(text: &str) -> Option<u64> {
    let rest = after_key(text, &REQUEST_ID_KEY)?;
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// The text after `key`, the colon and any whitespace.
fn after_key<'a>(text: &'a str, key: &Finder<'_>) -> Option<&'a str> {
    let at = key.find(text.as_bytes())?;
    // The key is ASCII, so the byte after it is a character boundary.
    let rest = text.get(at + key.needle().len()..)?.trim_start();
    Some(rest.strip_prefix(':')?.trim_start())
}

/// How a request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Accepted (ORDER_ACK, or the echoed frame itself against the echo server).
    Ack,
    /// ORDER_REJECT.
    Reject,
    /// ERROR (for example RATE_LIMITED).
    Error,
}

/// If `text`, a frame of type `frame_type`, is a direct answer (its type is `ack_type`,
/// ORDER_REJECT or ERROR and it carries a request id): that id and the outcome.
fn answer_of_type(text: &str, frame_type: &str, ack_type: &str) -> Option<(u64, Outcome)> {
    let outcome = match frame_type {
        t if t == ack_type => Outcome::Ack,
        "ORDER_REJECT" => Outcome::Reject,
        "ERROR" => Outcome::Error,
        _ => return None,
    };
    Some((request_id(text)?, outcome))
}

/// What one received frame is to an order-sending connection.
pub(crate) enum Received {
    /// A direct answer to request `.0`, and the code of a reject or an error.
    Answer(u64, Outcome, Option<String>),
    /// Anything else, already counted.
    Other,
    /// The connection ended, already counted.
    Closed,
}

/// Counts of one or more order-driving connections.
#[derive(Debug, Default, Clone)]
pub(crate) struct OrderCounts {
    pub(crate) sent: u64,
    pub(crate) acks: u64,
    pub(crate) rejects: u64,
    pub(crate) errors: u64,
    /// ORDER_REJECTs by code (INSUFFICIENT_FUNDS, ...).
    pub(crate) rejects_by_code: BTreeMap<String, u64>,
    /// ERRORs by code (RATE_LIMITED, ...).
    pub(crate) errors_by_code: BTreeMap<String, u64>,
    /// Requests never answered (still outstanding at the end, or overtaken in the window).
    pub(crate) unanswered: u64,
    /// Answers to no outstanding request (duplicates, or ones too late to match).
    pub(crate) unmatched: u64,
    /// Frames that are not answers (fills, balance updates, market data...).
    pub(crate) other_frames: u64,
    /// Binary or unparsable frames.
    pub(crate) malformed: u64,
    /// Connections that closed or failed before the end.
    pub(crate) disconnects: u64,
}

impl OrderCounts {
    /// Answered requests of any outcome.
    pub(crate) fn completed(&self) -> u64 {
        self.acks + self.rejects + self.errors
    }

    /// Adds another connection's counts.
    pub(crate) fn add(&mut self, other: &OrderCounts) {
        self.sent += other.sent;
        self.acks += other.acks;
        self.rejects += other.rejects;
        self.errors += other.errors;
        for (code, n) in &other.rejects_by_code {
            *self.rejects_by_code.entry(code.clone()).or_default() += n;
        }
        for (code, n) in &other.errors_by_code {
            *self.errors_by_code.entry(code.clone()).or_default() += n;
        }
        self.unanswered += other.unanswered;
        self.unmatched += other.unmatched;
        self.other_frames += other.other_frames;
        self.malformed += other.malformed;
        self.disconnects += other.disconnects;
    }

    /// Counts an answer, and a reject or error by its code (`UNKNOWN` without one).
    pub(crate) fn record(&mut self, outcome: Outcome, code: Option<String>) {
        let code = || code.unwrap_or_else(|| "UNKNOWN".to_owned());
        match outcome {
            Outcome::Ack => self.acks += 1,
            Outcome::Reject => {
                self.rejects += 1;
                *self.rejects_by_code.entry(code()).or_default() += 1;
            }
            Outcome::Error => {
                self.errors += 1;
                *self.errors_by_code.entry(code()).or_default() += 1;
            }
        }
    }

    /// Reads one received frame: an answer (to be matched and recorded by the caller), another
    /// frame (counted here), or the end of the connection (counted here).
    pub(crate) fn receive(
        &mut self,
        frame: Option<Result<Message, WsError>>,
        ack_type: &str,
    ) -> Received {
        match frame {
            Some(Ok(Message::Text(text))) => {
                let Some(kind) = frame_type(&text) else {
                    self.malformed += 1;
                    return Received::Other;
                };
                match answer_of_type(&text, kind, ack_type) {
                    Some((id, Outcome::Ack)) => Received::Answer(id, Outcome::Ack, None),
                    Some((id, outcome)) => {
                        Received::Answer(id, outcome, frame_code(&text).map(str::to_owned))
                    }
                    None => {
                        self.other_frames += 1;
                        Received::Other
                    }
                }
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                self.disconnects += 1;
                Received::Closed
            }
            Some(Ok(other)) => {
                self.other(&other);
                Received::Other
            }
        }
    }

    /// Counts a frame that is not the awaited answer.
    fn other(&mut self, message: &Message) {
        match message {
            Message::Text(_) => self.other_frames += 1,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
            Message::Binary(_) => self.malformed += 1,
        }
    }
}

/// A new latency histogram in nanoseconds (3 significant figures, grows as needed).
pub(crate) fn new_histogram() -> Histogram<u64> {
    // Three significant figures is a valid precision: this cannot fail.
    Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures is valid"))
}

/// Records a latency in the histogram, clamping what does not fit.
pub(crate) fn record_latency(hist: &mut Histogram<u64>, latency: Duration) {
    let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
    if hist.record(ns).is_err() {
        hist.saturating_record(ns);
    }
}

/// How the order driver paces one connection.
#[derive(Debug, Clone)]
pub(crate) struct DrivePlan {
    /// No new orders are sent from this instant on.
    pub(crate) deadline: Instant,
    /// Most requests outstanding at once (1 = closed loop).
    pub(crate) inflight_max: usize,
    /// Intended send times for an open loop; `None` sends whenever a slot is free.
    pub(crate) pacer: Option<Pacer>,
    /// Frame type that acknowledges an order (`ORDER_ACK`; `PLACE_ORDER` against the echo).
    pub(crate) ack_type: &'static str,
}

/// What one driven connection measured.
pub(crate) struct DriveResult {
    pub(crate) counts: OrderCounts,
    pub(crate) latency_ns: Histogram<u64>,
    /// How late paced orders actually left, behind their intended time (empty when unpaced).
    pub(crate) send_lag_ns: Histogram<u64>,
}

/// One outstanding request: its id and the time it was meant to be sent.
#[derive(Clone, Copy)]
struct Slot {
    request_id: u64,
    intended: Instant,
    busy: bool,
}

/// Sends alternating orders on `ws` as the plan says and measures each answer's latency from the
/// order's intended send time. `completed` is bumped per answer for the progress display.
pub(crate) async fn drive_orders(
    mut ws: Ws,
    mut writer: FrameWriter,
    plan: DrivePlan,
    completed: Arc<AtomicU64>,
) -> DriveResult {
    let mut counts = OrderCounts::default();
    let mut hist = new_histogram();
    let mut send_lag = new_histogram();
    let ring_len = plan.inflight_max.max(1).next_power_of_two();
    let mask = ring_len as u64 - 1;
    let mut slots = vec![
        Slot {
            request_id: 0,
            intended: plan.deadline,
            busy: false,
        };
        ring_len
    ];
    let mut inflight = 0usize;
    let mut sent_k: u64 = 0;
    let drain_end = plan.deadline + DRAIN_GRACE;
    let wake = tokio::time::sleep_until(plan.deadline);
    tokio::pin!(wake);

    'run: loop {
        let now = Instant::now();
        let sending = now < plan.deadline;
        if !sending && inflight == 0 {
            break;
        }
        // Send everything that is due and fits the window, then flush once.
        let mut fed = 0usize;
        while sending && inflight < plan.inflight_max {
            let intended = match &plan.pacer {
                None => now,
                Some(p) => {
                    let t = p.intended(sent_k);
                    if t > now || t >= plan.deadline {
                        break;
                    }
                    record_latency(&mut send_lag, now - t);
                    t
                }
            };
            let (id, frame) = writer.alternating_order(sent_k);
            if ws.feed(frame).await.is_err() {
                counts.disconnects += 1;
                break 'run;
            }
            // No answer can be read before this task looks again, so the slot is in time.
            let slot = &mut slots[(id & mask) as usize];
            if slot.busy {
                // A request this old will not be answered in time: give its slot up.
                counts.unanswered += 1;
                inflight -= 1;
            }
            *slot = Slot {
                request_id: id,
                intended,
                busy: true,
            };
            inflight += 1;
            sent_k += 1;
            counts.sent += 1;
            fed += 1;
        }
        if fed > 0 && ws.flush().await.is_err() {
            counts.disconnects += 1;
            break;
        }
        // Sleep until the next intended send, the end of sending, or the end of the drain.
        let next_wake = match &plan.pacer {
            _ if !sending => drain_end,
            Some(p) if inflight < plan.inflight_max => p.intended(sent_k).min(plan.deadline),
            _ => plan.deadline,
        };
        if wake.deadline() != next_wake {
            wake.as_mut().reset(next_wake);
        }
        let first = tokio::select! {
            biased;
            frame = ws.next() => frame,
            _ = &mut wake => {
                if Instant::now() >= drain_end {
                    break;
                }
                continue;
            }
        };
        // Handle this frame and whatever else is already buffered, without waiting.
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(frame) = next.take() {
            match counts.receive(frame, plan.ack_type) {
                Received::Answer(id, outcome, code) => {
                    let slot = &mut slots[(id & mask) as usize];
                    if slot.busy && slot.request_id == id {
                        slot.busy = false;
                        inflight -= 1;
                        counts.record(outcome, code);
                        record_latency(&mut hist, Instant::now() - slot.intended);
                        completed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        counts.unmatched += 1;
                    }
                }
                Received::Other => {}
                Received::Closed => break 'run,
            }
            handled += 1;
            if handled < READY_BATCH_MAX {
                next = ws.next().now_or_never();
            }
        }
    }
    counts.unanswered += inflight as u64;
    DriveResult {
        counts,
        latency_ns: hist,
        send_lag_ns: send_lag,
    }
}

/// How long `--price auto` waits for the first TICKER frame.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The order parameters of the flags, with the mid asked of the server under `--price auto`.
pub(crate) async fn resolve_order_spec(
    url: &str,
    common: &CommonArgs,
) -> Result<OrderSpec, BenchError> {
    if !common.discovers_price() {
        return common.order_spec();
    }
    let mid_ticks = discover_mid_ticks(url, &common.symbol).await?;
    eprintln!(
        "price: mid {}.{:02} from the server's ticker",
        mid_ticks / 100,
        mid_ticks % 100
    );
    common.order_spec_at(mid_ticks)
}

/// Subscribes to the symbol's TICKER on a connection of its own and takes the mid of the first
/// MARKET_DATA frame (bid and ask, else the last price).
async fn discover_mid_ticks(url: &str, symbol: &str) -> Result<i64, BenchError> {
    let failed = |reason: String| BenchError::PriceDiscovery {
        url: url.to_owned(),
        reason,
    };
    let mut ws = connect(url, subscriber_config()).await?;
    let subscribe = serde_json::json!({
        "type": "SUBSCRIBE", "request_id": 1, "channel": "TICKER", "symbol": symbol,
    });
    ws.send(Message::text(subscribe.to_string()))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let give_up = Instant::now() + DISCOVERY_TIMEOUT;
    loop {
        let frame = tokio::time::timeout_at(give_up, ws.next())
            .await
            .map_err(|_| {
                failed(format!(
                    "no MARKET_DATA with a price within {DISCOVERY_TIMEOUT:?}"
                ))
            })?;
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(failed(e.to_string())),
            None => return Err(failed("connection closed".into())),
        };
        if frame_type(&text) != Some("MARKET_DATA") {
            continue;
        }
        if let Some(mid) = ticker_mid_ticks(&text, symbol) {
            return Ok(mid);
        }
    }
}

/// The mid of a MARKET_DATA frame for `symbol`, in ticks of 0.01.
pub(crate) fn ticker_mid_ticks(text: &str, symbol: &str) -> Option<i64> {
    let frame: serde_json::Value = serde_json::from_str(text).ok()?;
    if frame.get("symbol").and_then(|s| s.as_str()) != Some(symbol) {
        return None;
    }
    let ticks = |key: &str| frame.get(key)?.as_str().and_then(truncate_price_ticks);
    match (ticks("bid"), ticks("ask")) {
        (Some(bid), Some(ask)) => Some((bid + ask) / 2),
        _ => ticks("last").or_else(|| ticks("price")),
    }
}

/// The load one latency scenario offers.
#[derive(Debug, Clone)]
pub(crate) struct LoadShape {
    /// Name shown in the progress display.
    pub(crate) label: &'static str,
    /// Connections to open.
    pub(crate) connections: usize,
    /// Most requests outstanding per connection (1 = closed loop).
    pub(crate) inflight_max: usize,
    /// Total offered rate of an open loop; `None` sends whenever a slot is free.
    pub(crate) rate_per_s: Option<f64>,
    /// Frame type that acknowledges an order.
    pub(crate) ack_type: &'static str,
}

/// Opens the connections, drives orders on each for the duration and merges what they measured:
/// the one measurement behind roundtrip, pipeline and echo.
pub(crate) async fn measure_orders(
    url: &str,
    common: &CommonArgs,
    spec: OrderSpec,
    shape: LoadShape,
) -> Result<LatencyReport, BenchError> {
    let spec = Arc::new(spec);
    let duration = common.duration()?;
    if let Some(rate) = shape.rate_per_s {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(BenchError::InvalidArgument(format!(
                "--rate must be a positive number of orders per second, got {rate}"
            )));
        }
    }
    if shape.inflight_max == 0 {
        return Err(BenchError::InvalidArgument(
            "--inflight must be at least 1".into(),
        ));
    }
    raise_nofile(shape.connections as u64 + 64);
    let (sockets, connect_failures) = connect_all(url, shape.connections, trader_config()).await?;
    let opened = sockets.len();
    let start = Instant::now();
    let deadline = start + duration;
    let completed = Arc::new(AtomicU64::new(0));
    let progress = {
        let completed = completed.clone();
        Progress::start(shape.label, "orders", start, duration, move || {
            completed.load(Ordering::Relaxed)
        })
    };
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            let plan = DrivePlan {
                deadline,
                inflight_max: shape.inflight_max,
                pacer: shape.rate_per_s.map(|r| Pacer::new(start, r, opened, i)),
                ack_type: shape.ack_type,
            };
            let writer = FrameWriter::new(spec.clone(), i);
            tokio::spawn(drive_orders(ws, writer, plan, completed.clone()))
        })
        .collect();
    let mut counts = OrderCounts::default();
    let mut hist = new_histogram();
    let mut send_lag = new_histogram();
    for task in tasks {
        match task.await {
            Ok(result) => {
                counts.add(&result.counts);
                // The histograms resize automatically, so adding cannot run out of range.
                let _ = hist.add(&result.latency_ns);
                let _ = send_lag.add(&result.send_lag_ns);
            }
            Err(_) => counts.disconnects += 1,
        }
    }
    let duration_s = start.elapsed().as_secs_f64();
    drop(progress);
    Ok(LatencyReport {
        url: url.to_owned(),
        connections: opened as u64,
        connect_failures,
        mid_price: format!("{}.{:02}", spec.mid_ticks / 100, spec.mid_ticks % 100),
        inflight_max: shape.inflight_max as u64,
        offered_rate_per_s: shape.rate_per_s,
        duration_s: round3(duration_s),
        sent: counts.sent,
        completed: counts.completed(),
        acks: counts.acks,
        rejects: counts.rejects,
        errors: counts.errors,
        rejects_by_code: counts.rejects_by_code.clone(),
        errors_by_code: counts.errors_by_code.clone(),
        unanswered: counts.unanswered,
        unmatched: counts.unmatched,
        other_frames: counts.other_frames,
        malformed: counts.malformed,
        disconnects: counts.disconnects,
        orders_per_s: round3(counts.acks as f64 / duration_s.max(1e-9)),
        answers_per_s: round3(counts.completed() as f64 / duration_s.max(1e-9)),
        warnings: crate::report::warnings(&counts.errors_by_code, counts.completed()),
        latency: LatencyFigures::from_ns(&hist),
        send_lag_p99_us: round3(send_lag.value_at_quantile(0.99) as f64 / 1000.0),
        send_lag_max_us: round3(send_lag.max() as f64 / 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str, ack_type: &str) -> Option<(u64, Outcome)> {
        answer_of_type(text, frame_type(text)?, ack_type)
    }

    #[test]
    fn request_id_is_found_without_parsing() {
        let ack = r#"{"type":"ORDER_ACK","seq":3,"request_id":7,"order_id":"42","status":"OPEN"}"#;
        assert_eq!(request_id(ack), Some(7));
        assert_eq!(frame_type(ack), Some("ORDER_ACK"));
        assert_eq!(answer(ack, "ORDER_ACK"), Some((7, Outcome::Ack)));
        let spaced = r#"{ "type" : "ORDER_REJECT", "request_id" : 123456789012 }"#;
        assert_eq!(
            answer(spaced, "ORDER_ACK"),
            Some((123_456_789_012, Outcome::Reject))
        );
        let quoted = r#"{"type":"ERROR","request_id":"19","code":"RATE_LIMITED"}"#;
        assert_eq!(answer(quoted, "ORDER_ACK"), Some((19, Outcome::Error)));
        assert_eq!(frame_code(quoted), Some("RATE_LIMITED"));
        assert_eq!(frame_code(spaced), None);
    }

    #[test]
    fn frames_that_are_not_answers_are_told_apart() {
        let fill = r#"{"type":"ORDER_FILL","seq":4,"order_id":"42"}"#;
        assert_eq!(answer(fill, "ORDER_ACK"), None);
        assert_eq!(request_id(fill), None);
        let no_id = r#"{"type":"ORDER_ACK","seq":4}"#;
        assert_eq!(answer(no_id, "ORDER_ACK"), None);
        let garbage = "not json at all";
        assert_eq!(frame_type(garbage), None);
        assert_eq!(request_id(garbage), None);
        assert_eq!(request_id(r#"{"request_id":"abc"}"#), None);
        assert_eq!(frame_type(r#"{"type":"#), None);
    }

    #[test]
    fn an_echoed_order_answers_itself() {
        let spec = Arc::new(OrderSpec {
            symbol: "BTC/USD".into(),
            quantity: "0.00100".into(),
            mid_ticks: 5_000_000,
            jitter_ticks: 5,
            seed: 9,
            time_in_force: "GTC",
        });
        let mut writer = FrameWriter::new(spec, 3);
        let (id, frame) = writer.order(Side::Buy, "GTC");
        let Message::Text(text) = frame else {
            panic!("orders are text frames")
        };
        assert_eq!(answer(&text, "PLACE_ORDER"), Some((id, Outcome::Ack)));
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed["side"], "BUY");
        assert_eq!(parsed["client_order_id"], "lg-3-1");
        let price = parsed["price"].as_str().expect("price is a string");
        let ticks = crate::common::parse_price_ticks(price).expect("a valid price");
        assert!((5_000_000..=5_000_005).contains(&ticks), "{price}");
        let (second, _) = writer.order(Side::Sell, "IOC");
        assert_eq!(second, id + 1);
    }

    #[test]
    fn the_mid_is_read_from_a_ticker_frame() {
        let both = r#"{"type":"MARKET_DATA","channel":"TICKER","symbol":"BTC/USD","last":"49999.00","bid":"50000.05","ask":"50000.15"}"#;
        assert_eq!(ticker_mid_ticks(both, "BTC/USD"), Some(5_000_010));
        let one_sided = r#"{"type":"MARKET_DATA","symbol":"BTC/USD","last":"50000.05","bid":"50000.05","ask":null}"#;
        assert_eq!(ticker_mid_ticks(one_sided, "BTC/USD"), Some(5_000_005));
        assert_eq!(ticker_mid_ticks(both, "ETH/USD"), None);
        let empty = r#"{"type":"MARKET_DATA","symbol":"BTC/USD","last":null}"#;
        assert_eq!(ticker_mid_ticks(empty, "BTC/USD"), None);
        assert_eq!(ticker_mid_ticks("{not json", "BTC/USD"), None);
    }

    #[test]
    fn sides_alternate_and_connections_start_opposite() {
        let spec = Arc::new(OrderSpec {
            symbol: "BTC/USD".into(),
            quantity: "0.00100".into(),
            mid_ticks: 100,
            jitter_ticks: 0,
            seed: 1,
            time_in_force: "IOC",
        });
        let even = FrameWriter::new(spec.clone(), 0);
        let odd = FrameWriter::new(spec, 1);
        assert_eq!(even.alternating_side(0), Side::Buy);
        assert_eq!(even.alternating_side(1), Side::Sell);
        assert_eq!(odd.alternating_side(0), Side::Sell);
        assert_eq!(Side::Buy.opposite(), Side::Sell);
    }
}
