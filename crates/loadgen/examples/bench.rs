//! The load generator on its own, for measuring before `exchange-sim bench` is wired:
//! `cargo run --release -p exchange-loadgen --example bench -- roundtrip --url ws://127.0.0.1:8765/ws`.
//! `serve-echo --port P` runs the bare echo server as its own process, to be measured from
//! another one (`connections --url ws://127.0.0.1:P/ws` finds it by its port).

use clap::Parser;
use exchange_loadgen::{BenchCommand, EchoServer};

#[derive(Parser)]
#[command(name = "bench", about = "exchange simulator load generator")]
enum Cli {
    /// Run a scenario.
    #[command(flatten)]
    Bench(Box<BenchCommand>),
    /// Serve the bare WebSocket echo until killed.
    ServeEcho {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8767)]
        port: u16,
    },
}

fn main() -> std::process::ExitCode {
    let result = match Cli::parse() {
        Cli::Bench(cmd) => exchange_loadgen::run(*cmd).map(drop),
        Cli::ServeEcho { port } => EchoServer::bind(([127, 0, 0, 1], port).into()).map(|server| {
            eprintln!("echo server on ws://{}/ws", server.addr());
            server.wait();
        }),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
