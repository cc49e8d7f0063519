//! `exchange-sim`: the command line of the exchange simulator.
//!
//! `exchange-sim` (or `exchange-sim serve`) runs the exchange; `exchange-sim bench ...` runs the
//! load generator and the engine benchmark.

#![forbid(unsafe_code)]

mod bench_engine;
mod faults_cli;
mod simulate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use exchange_simulator::{Config, ExchangeServer};

/// mimalloc instead of the system allocator: every frame is allocated on the engine thread and
/// freed on a connection's worker thread, the cross-thread pattern glibc's malloc handles worst
/// (pipelined orders: about 1.3x the throughput, docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "exchange-sim",
    version,
    about = "A crypto exchange simulator with fault injection"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the exchange server (the default).
    Serve(ServeArgs),
    /// Measure: the engine alone, or a server over the wire protocol.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run the whole exchange in simulated time over many seeds, checking its rules at every
    /// step; prints one JSON summary last.
    Simulate(simulate::SimulateArgs),
    /// Look at and change a running server's faults through its admin API:
    /// list, show, set, patch, reset, stats, log, connections.
    Faults(faults_cli::FaultsArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The matching engine alone on one core: operations/s and per-operation latency.
    Engine(bench_engine::EngineArgs),
    #[command(flatten)]
    Wire(loadgen::BenchCommand),
}

#[derive(clap::Args, Clone, Default)]
struct ServeArgs {
    /// A JSON configuration file (the embedded defaults are used without one).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The address to listen on (overrides server.host).
    #[arg(long)]
    host: Option<String>,
    /// The port to listen on (overrides server.port; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// The Binance listener's port (overrides server.binance.port; 0 picks a free one).
    #[arg(long)]
    binance_port: Option<u16>,
    /// The master seed for every random stream (overrides the config's seed).
    #[arg(long)]
    seed: Option<u64>,
    /// The token the admin API requires (overrides server.admin_token).
    #[arg(long)]
    admin_token: Option<String>,
    /// The async runtime's threads (overrides server.worker_threads; default: one per core less
    /// the engine thread's).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    worker_threads: Option<u16>,
    /// How logs are written to stderr: `text` (the default) or `json` (one object a line).
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

/// How logs are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// Compares the flag of one option given before and after `serve`.
fn merge_one<T: Clone + PartialEq>(
    flag: &str,
    before: &Option<T>,
    after: &Option<T>,
) -> Result<Option<T>, String> {
    match (before, after) {
        (Some(b), Some(a)) if b != a => Err(format!(
            "{flag} is given twice, before and after `serve`, with different values: give it once"
        )),
        _ => Ok(after.clone().or_else(|| before.clone())),
    }
}

impl ServeArgs {
    /// The flags that were given, by name (for messages).
    fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--config", self.config.is_some()),
            ("--host", self.host.is_some()),
            ("--port", self.port.is_some()),
            ("--binance-port", self.binance_port.is_some()),
            ("--seed", self.seed.is_some()),
            ("--admin-token", self.admin_token.is_some()),
            ("--worker-threads", self.worker_threads.is_some()),
            ("--log-format", self.log_format.is_some()),
        ];
        flags
            .into_iter()
            .filter_map(|(flag, set)| set.then_some(flag))
            .collect()
    }

    /// `exchange-sim [OPTIONS] serve [OPTIONS]`: the options before `serve` and after it are
    /// one set. The same option given on both sides with different values is refused.
    fn merge(before: &ServeArgs, after: ServeArgs) -> Result<ServeArgs, String> {
        Ok(ServeArgs {
            config: merge_one("--config", &before.config, &after.config)?,
            host: merge_one("--host", &before.host, &after.host)?,
            port: merge_one("--port", &before.port, &after.port)?,
            binance_port: merge_one("--binance-port", &before.binance_port, &after.binance_port)?,
            seed: merge_one("--seed", &before.seed, &after.seed)?,
            admin_token: merge_one("--admin-token", &before.admin_token, &after.admin_token)?,
            worker_threads: merge_one(
                "--worker-threads",
                &before.worker_threads,
                &after.worker_threads,
            )?,
            log_format: merge_one("--log-format", &before.log_format, &after.log_format)?,
        })
    }

    /// The flags that override the configuration file, for the start-up log.
    fn overrides(&self) -> Vec<&'static str> {
        self.given()
            .into_iter()
            .filter(|flag| !matches!(*flag, "--config" | "--log-format"))
            .collect()
    }
}

/// A usage mistake on the command line: said on stderr, exit code 2 (as clap's own).
fn usage_error(message: &str) -> ExitCode {
    complain(&format!("exchange-sim: {message}"));
    complain("Usage: exchange-sim [serve] [--config FILE] [--port P] ... (exchange-sim --help)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Server options before a subcommand belong to `serve`: merged into it, refused elsewhere
    // (they used to be dropped without a word).
    let before = cli.serve;
    match cli.command {
        Some(Command::Serve(after)) => match ServeArgs::merge(&before, after) {
            Ok(args) => serve(args),
            Err(message) => usage_error(&message),
        },
        Some(_) if !before.given().is_empty() => usage_error(&format!(
            "{} only apply to `serve`: put them after `serve`, or leave them out",
            before.given().join(", ")
        )),
        Some(Command::Bench(BenchCommand::Engine(args))) => {
            bench_engine::run(&args);
            ExitCode::SUCCESS
        }
        Some(Command::Bench(BenchCommand::Wire(cmd))) => match loadgen::run(cmd) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                complain(&format!("exchange-sim bench: {e}"));
                ExitCode::FAILURE
            }
        },
        Some(Command::Simulate(args)) => simulate::run(&args),
        Some(Command::Faults(args)) => faults_cli::run(args),
        None => serve(before),
    }
}

/// A line on stdout. A closed stdout (`exchange-sim | head -1`) is not the server's problem:
/// the write fails quietly and the server goes on.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// A line on stderr, quietly lost when stderr is closed (as [`say`]).
fn complain(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `info`), as text or JSON.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logs(args.log_format.unwrap_or_default());
    let overrides = args.overrides();
    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                complain(&format!(
                    "exchange-sim: invalid configuration {}: {e}",
                    path.display()
                ));
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    let source = args.config.as_ref().map_or_else(
        || "embedded defaults".to_string(),
        |p| p.display().to_string(),
    );
    tracing::info!(source = %source, overrides = ?overrides, "configuration loaded");
    if let Some(host) = args.host {
        config.server.host = host;
    }
    if let Some(port) = args.port {
        config.server.port = port;
    }
    if let Some(port) = args.binance_port {
        config.server.binance.port = Some(port);
    }
    if let Some(seed) = args.seed {
        config.seed = Some(seed);
    }
    if let Some(token) = args.admin_token {
        config.server.admin_token = Some(token);
    }
    if let Some(n) = args.worker_threads {
        config.server.worker_threads = Some(usize::from(n));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.runtime_worker_threads())
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            complain(&format!("exchange-sim: cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // In place before anything listens: a SIGTERM sent the moment the address is printed
        // still stops the server cleanly.
        let stop = match StopSignal::install() {
            Ok(stop) => stop,
            Err(e) => {
                complain(&format!("exchange-sim: cannot handle signals: {e}"));
                return ExitCode::FAILURE;
            }
        };
        let mut server = match ExchangeServer::new(config) {
            Ok(s) => s,
            Err(e) => {
                complain(&format!("exchange-sim: {e}"));
                return ExitCode::from(2);
            }
        };
        say(&format!("exchange-sim: seed {}", server.seed()));
        match server.start().await {
            Ok(addr) => {
                say(&format!("exchange-sim: listening on ws://{addr}/ws"));
                if let Some(binance) = server.binance_addr() {
                    say(&format!(
                        "exchange-sim: binance spot on http://{binance}/api/v3 and ws://{binance}/ws"
                    ));
                }
            }
            Err(e) => {
                complain(&format!("exchange-sim: {e}"));
                return ExitCode::from(2);
            }
        }
        stop.wait().await;
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), with their handlers registered at once.
struct StopSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn install() -> std::io::Result<StopSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignal {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignal {})
    }

    /// Until one of the signals comes.
    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
