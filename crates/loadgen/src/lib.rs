//! The exchange simulator's load generator: `exchange-sim bench ...`.
//!
//! It speaks only the native wire protocol (JSON text frames over WebSocket), so it can be
//! pointed at any server that speaks it. Five scenarios, one module each:
//! [`roundtrip`](RoundtripArgs) (closed-loop order latency), [`pipeline`](PipelineArgs)
//! (throughput, open loop without coordinated omission), [`connections`](ConnectionsArgs)
//! (connections held and the server's memory), [`fanout`](FanoutArgs) (market data delivered
//! under trading) and [`echo`](EchoArgs) (an in-process echo server measured with the same
//! client code: the ceiling the others are compared with).
//!
//! The client runs beside the server on the same machine, so it is frugal: a current-thread
//! runtime by default, one reused write buffer per connection, answers matched by scanning for
//! `"request_id"` instead of parsing whole frames, and small socket buffers for subscribers.

#![forbid(unsafe_code)]

mod binance_orders;
mod client;
mod common;
mod connections;
mod echo;
mod fanout;
mod pacing;
mod pipeline;
mod progress;
mod report;
mod roundtrip;
mod stats;
mod system;

use std::io::Write;

pub use binance_orders::BinanceOrdersArgs;
pub use common::{CommonArgs, TimeInForce};
pub use connections::ConnectionsArgs;
pub use echo::{EchoArgs, EchoServer};
pub use fanout::FanoutArgs;
pub use pipeline::PipelineArgs;
pub use report::{BinanceOrdersReport, ConnectionsReport, FanoutReport, LatencyReport, Report};
pub use roundtrip::RoundtripArgs;
pub use stats::LatencyFigures;

/// A benchmark scenario with its flags: the `bench` subcommands of `exchange-sim`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Closed-loop order round trips: orders/s and latency percentiles.
    Roundtrip(RoundtripArgs),
    /// Pipelined orders, optionally at a fixed offered rate: achieved rate and latency.
    Pipeline(PipelineArgs),
    /// Many connections subscribed to TICKER: connections held, messages/s, server memory.
    Connections(ConnectionsArgs),
    /// Subscribers to TRADES and ORDERBOOK_L2 under trading: market-data messages/s delivered.
    Fanout(FanoutArgs),
    /// An in-process WebSocket echo server measured like roundtrip (or pipeline): the ceiling.
    Echo(EchoArgs),
    /// Signed REST orders on the Binance listener over keep-alive connections: orders/s.
    BinanceOrders(BinanceOrdersArgs),
}

impl BenchCommand {
    /// The flags shared by every scenario.
    pub fn common(&self) -> &CommonArgs {
        match self {
            BenchCommand::Roundtrip(a) => &a.common,
            BenchCommand::Pipeline(a) => &a.common,
            BenchCommand::Connections(a) => &a.common,
            BenchCommand::Fanout(a) => &a.common,
            BenchCommand::Echo(a) => &a.common,
            BenchCommand::BinanceOrders(a) => &a.common,
        }
    }
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A flag has a value the scenario cannot use.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No connection to the server could be opened.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL tried.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// `--price auto` found no price on the server's ticker.
    #[error("cannot discover the price at {url}: {reason}")]
    PriceDiscovery {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The client's tokio runtime could not be built.
    #[error("cannot start the client runtime: {0}")]
    Runtime(std::io::Error),
    /// The in-process echo server could not be started.
    #[error("cannot start the echo server: {0}")]
    Echo(std::io::Error),
    /// The summary or the JSON line could not be written.
    #[error("cannot write the report: {0}")]
    Output(std::io::Error),
}

/// Runs a scenario on its own tokio runtime, printing progress to stderr and the human summary
/// to stdout; with `--json` the last line of stdout is the report as one JSON object.
pub fn run(cmd: BenchCommand) -> Result<Report, BenchError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_to(cmd, &mut out)
}

/// [`run`], writing the summary (and the JSON line) to `out` instead of stdout.
pub fn run_to(cmd: BenchCommand, out: &mut dyn Write) -> Result<Report, BenchError> {
    let common = cmd.common();
    let json = common.json;
    let runtime = match common.threads {
        0 => {
            return Err(BenchError::InvalidArgument(
                "--threads must be at least 1".into(),
            ))
        }
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    }
    .map_err(BenchError::Runtime)?;
    let report = runtime.block_on(async {
        match &cmd {
            BenchCommand::Roundtrip(args) => roundtrip::run(args).await,
            BenchCommand::Pipeline(args) => pipeline::run(args).await,
            BenchCommand::Connections(args) => connections::run(args).await,
            BenchCommand::Fanout(args) => fanout::run(args).await,
            BenchCommand::Echo(args) => echo::run(args).await,
            BenchCommand::BinanceOrders(args) => binance_orders::run(args).await,
        }
    })?;
    // Subscriber tasks still closing their sockets must not hold the process up.
    runtime.shutdown_background();
    writeln!(out, "{report}").map_err(BenchError::Output)?;
    if json {
        writeln!(out, "{}", report.to_json_line()).map_err(BenchError::Output)?;
    }
    out.flush().map_err(BenchError::Output)?;
    Ok(report)
}
