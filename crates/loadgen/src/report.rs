//! The figures each scenario reports: printed as a human summary, and as one JSON object (the
//! last line of stdout under `--json`) whose keys carry their units.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::stats::LatencyFigures;

/// The result of one benchmark run. Serialised with a `"scenario"` key naming the variant.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "scenario", rename_all = "lowercase")]
pub enum Report {
    /// `bench roundtrip`.
    Roundtrip(LatencyReport),
    /// `bench pipeline`.
    Pipeline(LatencyReport),
    /// `bench connections`.
    Connections(ConnectionsReport),
    /// `bench fanout`.
    Fanout(FanoutReport),
    /// `bench echo`.
    Echo(LatencyReport),
    /// `bench binance-orders`.
    #[serde(rename = "binance-orders")]
    BinanceOrders(BinanceOrdersReport),
}

/// Signed REST orders on the Binance listener.
#[derive(Debug, Clone, Serialize)]
pub struct BinanceOrdersReport {
    /// The Binance listener's base URL.
    pub url: String,
    /// Keep-alive connections, one request at a time each.
    pub connections: u64,
    /// Time from the first request to the last answer.
    pub duration_s: f64,
    /// Orders sent.
    pub sent: u64,
    /// Orders answered 200.
    pub accepted: u64,
    /// Refused orders by Binance code (`HTTP 5xx` when the body has none).
    pub errors_by_code: BTreeMap<String, u64>,
    /// Connections lost before the end.
    pub disconnects: u64,
    /// Accepted orders per second, all connections together.
    pub orders_per_s: f64,
    /// Request latency percentiles (send to the whole answer read).
    #[serde(flatten)]
    pub latency: LatencyFigures,
}

impl Report {
    /// The report as one line of JSON.
    pub fn to_json_line(&self) -> String {
        // Serialising plain numbers, strings and options cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// Orders sent and answered, and their latency: roundtrip, pipeline and echo.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    /// URL measured (the in-process echo server's for `echo`).
    pub url: String,
    /// Connections that sent orders.
    pub connections: u64,
    /// Connections that could not be opened.
    pub connect_failures: u64,
    /// Mid price the orders were placed around (`--price`, or discovered with `auto`).
    pub mid_price: String,
    /// Most requests outstanding per connection (1 = closed loop).
    pub inflight_max: u64,
    /// Offered rate of an open loop, all connections together; `null` when unpaced.
    pub offered_rate_per_s: Option<f64>,
    /// Time from the first send to the last answer (or the end of the drain).
    pub duration_s: f64,
    /// Orders sent.
    pub sent: u64,
    /// Orders answered: acks + rejects + errors.
    pub completed: u64,
    /// ORDER_ACK answers (the echoed frame against the echo server).
    pub acks: u64,
    /// ORDER_REJECT answers (for example INSUFFICIENT_FUNDS).
    pub rejects: u64,
    /// ERROR answers (for example RATE_LIMITED).
    pub errors: u64,
    /// ORDER_REJECT answers by code.
    pub rejects_by_code: BTreeMap<String, u64>,
    /// ERROR answers by code.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Orders never answered.
    pub unanswered: u64,
    /// Answers matching no outstanding order.
    pub unmatched: u64,
    /// Other frames received (fills, balance and position updates, ...).
    pub other_frames: u64,
    /// Binary or unparsable frames received.
    pub malformed: u64,
    /// Connections lost before the end.
    pub disconnects: u64,
    /// Accepted orders (acks) per second: the rate the exchange took orders at.
    pub orders_per_s: f64,
    /// Answers of any kind (acks, rejects, errors) per second.
    pub answers_per_s: f64,
    /// What makes the figures misleading, if anything (most answers RATE_LIMITED, ...).
    pub warnings: Vec<String>,
    /// Latency percentiles, measured from each order's intended send time.
    #[serde(flatten)]
    pub latency: LatencyFigures,
    /// Open loop: 99th percentile of how late orders left after their intended time (the
    /// client's own timer and scheduling delay, included in the latency); 0 when unpaced.
    pub send_lag_p99_us: f64,
    /// Open loop: the latest an order left after its intended time; 0 when unpaced.
    pub send_lag_max_us: f64,
}

/// Many connections subscribed to TICKER and held.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionsReport {
    /// URL measured.
    pub url: String,
    /// Connections asked for.
    pub connections_requested: u64,
    /// Connections open at the end of the hold.
    pub connections_held: u64,
    /// Connections that could not be opened.
    pub connect_failures: u64,
    /// Connections lost during the run.
    pub disconnects: u64,
    /// SUBSCRIBED confirmations received.
    pub subscriptions_confirmed: u64,
    /// Time to open every connection, in seconds.
    pub ramp_s: f64,
    /// Time the connections were held and measured.
    pub duration_s: f64,
    /// Frames received during the hold.
    pub messages: u64,
    /// Frames received per second during the hold, all connections together.
    pub messages_per_s: f64,
    /// Binary or unparsable frames received.
    pub malformed: u64,
    /// Process id of the server whose memory is reported; `null` when not found.
    pub server_pid: Option<u32>,
    /// Server's VmRSS before connecting, in KiB.
    pub server_rss_before_kib: Option<u64>,
    /// Server's VmRSS at the end of the hold, in KiB.
    pub server_rss_held_kib: Option<u64>,
    /// This load generator's own VmRSS at the end of the hold, in KiB.
    pub client_rss_kib: Option<u64>,
    /// Open-file limit in force for this process.
    pub nofile_limit: u64,
}

/// Subscribers to TRADES and ORDERBOOK_L2 while trader connections trade.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutReport {
    /// URL measured.
    pub url: String,
    /// Subscriber connections asked for.
    pub subscribers_requested: u64,
    /// Subscriber connections open at the end.
    pub subscribers_held: u64,
    /// Subscriber connections that could not be opened.
    pub connect_failures: u64,
    /// Connections lost during the run (subscribers and traders).
    pub disconnects: u64,
    /// Trader connections (pairs trading with each other).
    pub trader_connections: u64,
    /// Measured time, in seconds.
    pub duration_s: f64,
    /// Market-data frames (MARKET_DATA, TRADE, ORDERBOOK_UPDATE, ORDERBOOK_SNAPSHOT) received by
    /// all subscribers during the measurement.
    pub market_data_messages: u64,
    /// Market-data frames per second, all subscribers together.
    pub market_data_per_s: f64,
    /// TRADE frames, all subscribers together.
    pub trade_messages: u64,
    /// ORDERBOOK_UPDATE and ORDERBOOK_SNAPSHOT frames, all subscribers together.
    pub orderbook_messages: u64,
    /// Trades seen by the first subscriber (one TRADE frame per trade).
    pub trades: u64,
    /// Trades per second, as seen by the first subscriber.
    pub trades_per_s: f64,
    /// Orders sent by the traders.
    pub orders_sent: u64,
    /// Orders rejected or answered with an ERROR.
    pub order_rejects: u64,
    /// Binary or unparsable frames received.
    pub malformed: u64,
}

/// What a reader of a latency report must know before trusting its rate: most answers were
/// RATE_LIMITED (the server's rate limit was measured, not the exchange).
pub(crate) fn warnings(errors_by_code: &BTreeMap<String, u64>, completed: u64) -> Vec<String> {
    let limited = errors_by_code.get("RATE_LIMITED").copied().unwrap_or(0);
    if completed == 0 || limited * 2 <= completed {
        return Vec::new();
    }
    vec![format!(
        "{limited} of {completed} answers were RATE_LIMITED: this measured the server's rate limit \
         (server.limits.max_messages_per_second, 10000 per connection by default), not the \
         exchange; start the server with `--config examples/bench.json`, which raises it"
    )]
}

/// `INSUFFICIENT_FUNDS 12, RATE_LIMITED 3` (or `none`).
fn by_code(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn opt_kib(v: Option<u64>) -> String {
    match v {
        Some(kib) => format!("{:.1} MiB", kib as f64 / 1024.0),
        None => "n/a".to_owned(),
    }
}

fn write_latency(f: &mut fmt::Formatter<'_>, name: &str, r: &LatencyReport) -> fmt::Result {
    let mode = match (r.offered_rate_per_s, r.inflight_max) {
        (Some(rate), n) => format!("open loop at {rate} orders/s, {n} in flight max"),
        (None, 1) => "closed loop".to_owned(),
        (None, n) => format!("as fast as answered, {n} in flight max"),
    };
    writeln!(
        f,
        "{name}: {} connection(s) to {} ({mode})",
        r.connections, r.url
    )?;
    writeln!(
        f,
        "  {:.0} orders/s accepted over {:.2} s ({:.0} answers/s): {} sent, {} answered ({} acks, \
         {} rejects, {} errors), {} unanswered",
        r.orders_per_s,
        r.duration_s,
        r.answers_per_s,
        r.sent,
        r.completed,
        r.acks,
        r.rejects,
        r.errors,
        r.unanswered
    )?;
    if r.rejects > 0 || r.errors > 0 {
        writeln!(
            f,
            "  rejects by code: {}; errors by code: {}",
            by_code(&r.rejects_by_code),
            by_code(&r.errors_by_code)
        )?;
    }
    for warning in &r.warnings {
        writeln!(f, "  WARNING: {warning}")?;
    }
    let l = &r.latency;
    writeln!(
        f,
        "  latency µs: p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  mean {:.1}",
        l.p50_us, l.p90_us, l.p99_us, l.p99_9_us, l.max_us, l.mean_us
    )?;
    if r.offered_rate_per_s.is_some() {
        writeln!(
            f,
            "  send lag behind schedule µs: p99 {:.1}  max {:.1}",
            r.send_lag_p99_us, r.send_lag_max_us
        )?;
    }
    write!(
        f,
        "  other frames {}, malformed {}, unmatched {}, disconnects {}, connect failures {}",
        r.other_frames, r.malformed, r.unmatched, r.disconnects, r.connect_failures
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Roundtrip(r) => write_latency(f, "roundtrip", r),
            Report::Pipeline(r) => write_latency(f, "pipeline", r),
            Report::Echo(r) => write_latency(f, "echo", r),
            Report::Connections(r) => {
                writeln!(
                    f,
                    "connections: {} of {} held for {:.2} s (ramp {:.2} s, {} failed, {} lost)",
                    r.connections_held,
                    r.connections_requested,
                    r.duration_s,
                    r.ramp_s,
                    r.connect_failures,
                    r.disconnects
                )?;
                writeln!(
                    f,
                    "  {:.0} messages/s delivered ({} frames, {} subscriptions confirmed)",
                    r.messages_per_s, r.messages, r.subscriptions_confirmed
                )?;
                write!(
                    f,
                    "  server pid {}: RSS {} before, {} held; client RSS {}",
                    r.server_pid
                        .map_or_else(|| "not found".to_owned(), |p| p.to_string()),
                    opt_kib(r.server_rss_before_kib),
                    opt_kib(r.server_rss_held_kib),
                    opt_kib(r.client_rss_kib)
                )
            }
            Report::BinanceOrders(r) => {
                writeln!(
                    f,
                    "binance-orders: {:.0} orders/s accepted over {} keep-alive connections, {:.2} s",
                    r.orders_per_s, r.connections, r.duration_s
                )?;
                writeln!(
                    f,
                    "  {} sent, {} accepted, refused {:?}, {} lost",
                    r.sent, r.accepted, r.errors_by_code, r.disconnects
                )?;
                write!(
                    f,
                    "  latency p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
                    r.latency.p50_us, r.latency.p99_us, r.latency.max_us
                )
            }
            Report::Fanout(r) => {
                writeln!(
                    f,
                    "fanout: {} of {} subscribers, {} traders, {:.2} s",
                    r.subscribers_held, r.subscribers_requested, r.trader_connections, r.duration_s
                )?;
                writeln!(
                    f,
                    "  {:.0} market-data messages/s delivered ({} trade, {} book frames)",
                    r.market_data_per_s, r.trade_messages, r.orderbook_messages
                )?;
                write!(
                    f,
                    "  {:.0} trades/s ({} trades, {} orders, {} rejected), {} lost, {} failed",
                    r.trades_per_s,
                    r.trades,
                    r.orders_sent,
                    r.order_rejects,
                    r.disconnects,
                    r.connect_failures
                )
            }
        }
    }
}
