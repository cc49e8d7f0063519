//! `exchange-sim`: the command line of the exchange simulator.
//!
//! `exchange-sim` (or `exchange-sim serve`) runs the exchange; `exchange-sim bench ...` runs the
//! load generator and the engine benchmark.

#![forbid(unsafe_code)]

mod bench_engine;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Bench(BenchCommand::Engine(args))) => {
            bench_engine::run(&args);
            ExitCode::SUCCESS
        }
        Some(Command::Bench(BenchCommand::Wire(cmd))) => match loadgen::run(cmd) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("exchange-sim bench: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Simulate(args)) => simulate::run(&args),
        None => serve(cli.serve),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "exchange-sim: invalid configuration {}: {e}",
                    path.display()
                );
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if let Some(host) = args.host {
        config.server.host = host;
    }
    if let Some(port) = args.port {
        config.server.port = port;
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
            eprintln!("exchange-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // In place before anything listens: a SIGTERM sent the moment the address is printed
        // still stops the server cleanly.
        let stop = match StopSignal::install() {
            Ok(stop) => stop,
            Err(e) => {
                eprintln!("exchange-sim: cannot handle signals: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut server = match ExchangeServer::new(config) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("exchange-sim: {e}");
                return ExitCode::from(2);
            }
        };
        println!("exchange-sim: seed {}", server.seed());
        match server.start().await {
            Ok(addr) => println!("exchange-sim: listening on ws://{addr}/ws"),
            Err(e) => {
                eprintln!("exchange-sim: {e}");
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
