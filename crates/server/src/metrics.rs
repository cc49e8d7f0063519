//! Prometheus metrics (`GET /metrics`), through the `prometheus-client` crate, in the Prometheus
//! text format.
//!
//! Two kinds of figures:
//! - counted where things happen, process-wide (one server per process in the binary): frames in
//!   and out by type (the connections' links), orders by type and outcome, ORDER_REJECTs and
//!   ERRORs by code (the engine thread and the links), the engine's time per input;
//! - read at each scrape from the server that answers it: connections and their queues,
//!   the engine's queue, trades and fills per symbol, the fault layer's counters (only the
//!   mode and direction pairs that can occur), the process (memory, CPU, threads, descriptors)
//!   and the build.
//!
//! The counting calls are one line each where they happen, cheap: a lookup in a fixed map and an
//! atomic add per frame, a histogram observation per engine input.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::OrderType;
use exchange::{Answer, Catalog, Command, Effect, Input, Message};
use faults::{FaultInjector, Mode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use rustc_hash::FxHashMap;
use tokio::sync::mpsc;

use crate::dialect::EdgeError;
use crate::engine_thread::{Envelope, SharedSeqs};
use crate::registry::Registry as Connections;

/// Labels of one name (`type`, `code`, ...).
type Labels = Vec<(&'static str, String)>;

/// The process-wide counters.
struct Metrics {
    registry: Registry,
    frames_in: FxHashMap<&'static str, Counter>,
    frames_out: FxHashMap<&'static str, Counter>,
    frames_in_other: Counter,
    frames_out_other: Counter,
    orders: Family<Labels, Counter>,
    rejects: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    engine_apply: Histogram,
}

/// Every message type a connection is sent (HEARTBEAT is the link's own).
const OUT_TYPES: [&str; 33] = [
    "PONG",
    "LOGGED_IN",
    "LOGGED_OUT",
    "RESUMED",
    "ORDER_ACK",
    "ORDER_REJECT",
    "ORDER_FILL",
    "ORDER_CANCEL",
    "ORDER_AMENDED",
    "BALANCE_UPDATE",
    "POSITION_UPDATE",
    "CANCEL_ALL_ACK",
    "CANCEL_ALL_AFTER_ACK",
    "CANCEL_ON_DISCONNECT_SET",
    "ORDER_STATUS",
    "ORDERS",
    "FILLS",
    "ORDERBOOK_SNAPSHOT",
    "SUBSCRIBED",
    "UNSUBSCRIBED",
    "ERROR",
    "TRADE",
    "ORDERBOOK_UPDATE",
    "MARKET_DATA",
    "CANDLE",
    "STREAM_RESET",
    "SERVER_NOTICE",
    "HEARTBEAT",
    // The Binance dialect's frames under the names fault filters give them.
    "TICKERS",
    "BOOK_TICKER",
    "ANSWER",
    "WATCHING",
    "UNWATCHED",
];

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let frames = Family::<Labels, Counter>::default();
        registry.register(
            "exchange_frames",
            "WebSocket frames by direction and type: in, the requests read (INVALID: not a \
             request); out, the frames made for a client (before the fault layer)",
            frames.clone(),
        );
        let counter = |direction: &'static str, kind: &str| {
            frames
                .get_or_create(&vec![
                    ("direction", direction.to_owned()),
                    ("type", kind.to_owned()),
                ])
                .clone()
        };
        let frames_in = protocol::request::REQUEST_TYPES
            .iter()
            .chain(["INVALID"].iter())
            .map(|kind| (*kind, counter("in", kind)))
            .collect();
        let frames_out = OUT_TYPES
            .iter()
            .map(|kind| (*kind, counter("out", kind)))
            .collect();
        let orders = Family::<Labels, Counter>::default();
        registry.register(
            "exchange_orders",
            "Orders placed (WebSocket and REST) by order type and outcome (accepted, rejected)",
            orders.clone(),
        );
        let rejects = Family::<Labels, Counter>::default();
        registry.register(
            "exchange_order_rejects",
            "ORDER_REJECT answers (and orders refused over REST) by code",
            rejects.clone(),
        );
        let errors = Family::<Labels, Counter>::default();
        registry.register(
            "exchange_errors",
            "ERROR answers by code, from the exchange and from the connections' own checks \
             (RATE_LIMITED, INVALID_JSON, EXCHANGE_BUSY, ...)",
            errors.clone(),
        );
        // 1 µs to about 1 s.
        let engine_apply = Histogram::new(exponential_buckets(1e-6, 2.0, 21));
        registry.register(
            "exchange_engine_apply_seconds",
            "Time the engine thread spends applying one input to the core",
            engine_apply.clone(),
        );
        registry.register(
            "exchange_build",
            "The build of the server",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                ("rustc_edition", "2021"),
            ]),
        );
        Metrics {
            registry,
            frames_in,
            frames_out,
            frames_in_other: counter("in", "OTHER"),
            frames_out_other: counter("out", "OTHER"),
            orders,
            rejects,
            errors,
            engine_apply,
        }
    }
}

/// A frame read from a client: its request type, or `INVALID` when it is none.
pub fn frame_in(kind: &str) {
    let m = &*METRICS;
    m.frames_in.get(kind).unwrap_or(&m.frames_in_other).inc();
}

/// A frame made for a client, by type.
pub fn frame_out(kind: &str) {
    let m = &*METRICS;
    m.frames_out.get(kind).unwrap_or(&m.frames_out_other).inc();
}

fn count_code(family: &Family<Labels, Counter>, code: &str) {
    family.get_or_create(&vec![("code", code.to_owned())]).inc();
}

/// An ERROR a connection answered itself.
pub fn edge_error(error: &EdgeError) {
    let code = match error {
        EdgeError::Invalid(failure) => failure.code.as_str(),
        EdgeError::RateLimited { .. } | EdgeError::Throttled => "RATE_LIMITED",
        EdgeError::Binary | EdgeError::Damaged => "INVALID_MESSAGE",
        EdgeError::TooLarge { .. } => "MESSAGE_TOO_LARGE",
        EdgeError::Refused(faults::RejectCode::ExchangeBusy) => "EXCHANGE_BUSY",
        EdgeError::Refused(faults::RejectCode::ExchangeUnavailable) => "EXCHANGE_UNAVAILABLE",
    };
    count_code(&METRICS.errors, code);
}

/// What the engine thread's metrics need of an input, taken before the core consumes it.
#[derive(Clone, Copy, Debug)]
pub enum InputKind {
    /// A PLACE_ORDER from a connection.
    Place(OrderType),
    /// An order placed by a call (REST).
    CallPlace(OrderType),
    Other,
}

impl InputKind {
    pub fn of(input: &Input) -> InputKind {
        match input {
            Input::Request { request, .. } => match &request.command {
                Command::Place(order) => InputKind::Place(order.order_type),
                _ => InputKind::Other,
            },
            Input::Call { call, .. } => match &call.action {
                exchange::CallAction::Place(order) => InputKind::CallPlace(order.order_type),
                _ => InputKind::Other,
            },
            _ => InputKind::Other,
        }
    }
}

fn order_type(t: OrderType) -> &'static str {
    match t {
        OrderType::Limit => "LIMIT",
        OrderType::Market => "MARKET",
    }
}

fn count_order(t: OrderType, outcome: &str) {
    METRICS
        .orders
        .get_or_create(&vec![
            ("order_type", order_type(t).to_owned()),
            ("outcome", outcome.to_owned()),
        ])
        .inc();
}

/// One input applied by the engine thread in `took`, with its effects.
pub fn applied(kind: InputKind, took: Duration, effects: &[Effect]) {
    let m = &*METRICS;
    m.engine_apply.observe(took.as_secs_f64());
    let mut accepted = false;
    let mut rejected = false;
    for effect in effects {
        match effect {
            Effect::Send {
                message: Message::OrderRejected { reject, .. },
                ..
            } => {
                rejected = true;
                count_code(
                    &m.rejects,
                    protocol::ErrorCode::from_reject(reject).as_str(),
                );
            }
            Effect::Send {
                message: Message::Error { failure, .. },
                ..
            } => {
                let (code, _, _) = protocol::messages::failure_parts(failure);
                count_code(&m.errors, code.as_str());
            }
            Effect::Send {
                message: Message::OrderAccepted { rid: Some(_), .. },
                ..
            } => accepted = true,
            Effect::Reply { answer, .. } => match answer {
                Answer::Order(_) => accepted = true,
                Answer::Failed(exchange::Failure::Reject(reject)) => {
                    rejected = true;
                    count_code(
                        &m.rejects,
                        protocol::ErrorCode::from_reject(reject).as_str(),
                    );
                }
                _ => {}
            },
            _ => {}
        }
    }
    if let InputKind::Place(t) | InputKind::CallPlace(t) = kind {
        if rejected {
            count_order(t, "rejected");
        } else if accepted {
            count_order(t, "accepted");
        }
    }
}

/// Seconds since the epoch when the first server of the process started (close to the
/// process's own start in the binary).
pub fn process_start_s() -> f64 {
    static START: LazyLock<f64> = LazyLock::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    });
    *START
}

/// What `/metrics` reads from the server that answers it.
#[derive(Clone)]
pub struct MetricsState {
    pub injector: FaultInjector,
    pub connections: Arc<Connections>,
    pub engine: mpsc::Sender<Envelope>,
    pub seqs: Arc<SharedSeqs>,
    pub catalog: Arc<Catalog>,
    /// Seconds since the epoch when the process started.
    pub process_start_s: f64,
}

/// The figures of one server, read at the scrape.
#[derive(Debug)]
struct Snapshot {
    faults_enabled: bool,
    faults: Vec<(&'static str, &'static str, u64)>,
    connections: Vec<(&'static str, u64)>,
    connections_opened: Vec<(&'static str, u64)>,
    queue_max: u64,
    queue_total: u64,
    engine_queue: u64,
    engine_queue_capacity: u64,
    trades: Vec<(String, u64)>,
    process: Option<ProcessFigures>,
    process_start_s: f64,
}

/// The process as Linux shows it in `/proc/self`.
#[derive(Debug, Clone, Copy)]
struct ProcessFigures {
    resident_bytes: u64,
    virtual_bytes: u64,
    cpu_seconds: f64,
    threads: u64,
    open_fds: u64,
}

impl ProcessFigures {
    /// `None` where `/proc` is not there.
    fn read() -> Option<ProcessFigures> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let field = |n: usize| fields.get(n).and_then(|f| f.parse::<u64>().ok());
        // utime and stime are fields 14 and 15 of stat (11 and 12 after the name), in ticks.
        let ticks_per_s = 100.0;
        let cpu_seconds = (field(11)? + field(12)?) as f64 / ticks_per_s;
        let threads = field(17)?;
        let virtual_bytes = field(20)?;
        let page = 4096;
        let resident_bytes = field(21)?.saturating_mul(page);
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
        Some(ProcessFigures {
            resident_bytes,
            virtual_bytes,
            cpu_seconds,
            threads,
            open_fds,
        })
    }
}

impl MetricsState {
    fn snapshot(&self) -> Snapshot {
        let stats = self.injector.statistics();
        let mut faults = Vec::new();
        for mode in Mode::ALL {
            for direction in mode.directions() {
                let count = stats
                    .by_direction
                    .get(*direction)
                    .map_or(0, |counters| counters.get(mode));
                faults.push((mode.name(), *direction, count));
            }
        }
        let (queue_max, queue_total) = self.connections.queue_depths();
        let trades = self
            .catalog
            .symbols()
            .iter()
            .enumerate()
            .map(|(i, s)| (s.spec.name.clone(), self.seqs.latest(i).1))
            .collect();
        let capacity = self.engine.max_capacity() as u64;
        Snapshot {
            faults_enabled: self.injector.is_enabled(),
            faults,
            connections: self.connections.by_dialect(),
            connections_opened: self.connections.opened_by_dialect(),
            queue_max,
            queue_total,
            engine_queue: capacity.saturating_sub(self.engine.capacity() as u64),
            engine_queue_capacity: capacity,
            trades,
            process: ProcessFigures::read(),
            process_start_s: self.process_start_s,
        }
    }
}

/// Writes one metric of `metric_type` with one value per label set.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric_type: MetricType,
    values: impl IntoIterator<Item = (Vec<(&'static str, String)>, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, metric_type)?;
    for (labels, value) in values {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Writes one metric without labels.
fn single<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: M,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, value.metric_type())?;
    value.encode(metric)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        single(
            e,
            "exchange_faults_enabled",
            "Whether the fault layer is on",
            ConstGauge::new(i64::from(self.faults_enabled)),
        )?;
        family(
            e,
            "exchange_faults_injected",
            "Faults injected, by mode and direction (connection: faults on a whole connection)",
            MetricType::Counter,
            self.faults.iter().map(|(mode, direction, n)| {
                (
                    vec![
                        ("mode", mode.to_string()),
                        ("direction", direction.to_string()),
                    ],
                    ConstCounter::new(*n),
                )
            }),
        )?;
        family(
            e,
            "exchange_connections",
            "Open WebSocket connections, by dialect",
            MetricType::Gauge,
            self.connections
                .iter()
                .map(|(d, n)| (vec![("dialect", d.to_string())], ConstGauge::new(*n as i64))),
        )?;
        family(
            e,
            "exchange_connections_opened",
            "WebSocket connections opened since start, by dialect",
            MetricType::Counter,
            self.connections_opened
                .iter()
                .map(|(d, n)| (vec![("dialect", d.to_string())], ConstCounter::new(*n))),
        )?;
        family(
            e,
            "exchange_outbound_queue_frames",
            "Frames waiting in the connections' outbound queues: in the fullest (max) and in all \
             (total)",
            MetricType::Gauge,
            [("max", self.queue_max), ("total", self.queue_total)]
                .into_iter()
                .map(|(s, n)| (vec![("stat", s.to_string())], ConstGauge::new(n as i64))),
        )?;
        single(
            e,
            "exchange_engine_queue_inputs",
            "Inputs waiting in the engine thread's queue",
            ConstGauge::new(self.engine_queue as i64),
        )?;
        single(
            e,
            "exchange_engine_queue_capacity_inputs",
            "How many inputs the engine thread's queue holds before senders wait",
            ConstGauge::new(self.engine_queue_capacity as i64),
        )?;
        family(
            e,
            "exchange_trades",
            "Trades since start, by symbol (the symbol's latest trade id)",
            MetricType::Counter,
            self.trades
                .iter()
                .map(|(s, n)| (vec![("symbol", s.clone())], ConstCounter::new(*n))),
        )?;
        family(
            e,
            "exchange_fills",
            "Fills since start, by symbol: a maker's and a taker's for every trade",
            MetricType::Counter,
            self.trades.iter().map(|(s, n)| {
                (
                    vec![("symbol", s.clone())],
                    ConstCounter::new(n.saturating_mul(2)),
                )
            }),
        )?;
        single(
            e,
            "process_start_time_seconds",
            "Start time of the process since the epoch, in seconds",
            ConstGauge::new(self.process_start_s),
        )?;
        if let Some(p) = self.process {
            single(
                e,
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                ConstGauge::new(p.resident_bytes as i64),
            )?;
            single(
                e,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                ConstGauge::new(p.virtual_bytes as i64),
            )?;
            single(
                e,
                "process_cpu_seconds",
                "User and system CPU time spent, in seconds",
                ConstCounter::new(p.cpu_seconds),
            )?;
            single(
                e,
                "process_threads",
                "Threads of the process",
                ConstGauge::new(p.threads as i64),
            )?;
            single(
                e,
                "process_open_fds",
                "Open file descriptors",
                ConstGauge::new(p.open_fds as i64),
            )?;
        }
        Ok(())
    }
}

/// The Prometheus text of the process-wide counters and of this server's figures.
pub fn render(state: &MetricsState) -> Result<String, std::fmt::Error> {
    let mut text = String::with_capacity(16 * 1024);
    prometheus_client::encoding::prometheus_text::encode(&mut text, &METRICS.registry)?;
    let mut scrape = Registry::default();
    scrape.register_collector(Box::new(state.snapshot()));
    prometheus_client::encoding::prometheus_text::encode(&mut text, &scrape)?;
    Ok(text)
}

/// `GET /metrics`.
pub async fn route(State(state): State<MetricsState>) -> Response {
    match render(&state) {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            text,
        )
            .into_response(),
        Err(_) => crate::rest::json_response(protocol::rest::rest_error(
            500,
            protocol::ErrorCode::InternalError,
            "the metrics could not be written",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_listed_is_a_pair_that_can_occur() {
        let stats_buckets = ["inbound", "outbound", "connection"];
        for mode in Mode::ALL {
            assert!(!mode.directions().is_empty(), "{mode:?}");
            for d in mode.directions() {
                assert!(stats_buckets.contains(d), "{mode:?} {d}");
            }
        }
    }

    #[test]
    fn the_process_is_read_where_proc_exists() {
        if std::path::Path::new("/proc/self/stat").exists() {
            let p = ProcessFigures::read().expect("figures");
            assert!(p.resident_bytes > 0 && p.threads >= 1 && p.open_fds >= 1);
        }
    }
}
