//! `bench echo`: the ceiling. A minimal WebSocket echo server runs in-process on its own thread
//! and runtime (as a separate server would), and the very client code of roundtrip (or of
//! pipeline, with `--pipeline`) measures it: each order frame comes back unchanged and, carrying
//! its own `request_id`, counts as its own acknowledgement.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{measure_orders, trader_config, LoadShape};
use crate::common::CommonArgs;
use crate::report::Report;
use crate::BenchError;

/// `DEFAULT_PRICE` in ticks.
const DEFAULT_PRICE_TICKS: i64 = 5_000_000;
/// Frames echoed after one wake-up before the replies are flushed.
const ECHO_BATCH_MAX: usize = 256;

/// Flags of `bench echo` (`--url` is ignored: the echo server's own address is used).
#[derive(Debug, Clone, clap::Args)]
pub struct EchoArgs {
    /// Flags shared by every scenario (`--connections` defaults to 1).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Pipeline instead of a closed loop (the ceiling of `bench pipeline`).
    #[arg(long)]
    pub pipeline: bool,
    /// With `--pipeline`: offered rate in orders per second; unpaced when absent.
    #[arg(long = "rate", value_name = "ORDERS_PER_S", requires = "pipeline")]
    pub rate_per_s: Option<f64>,
    /// With `--pipeline`: most orders outstanding per connection.
    #[arg(long = "inflight", default_value_t = 64)]
    pub inflight_max: usize,
}

/// Starts the echo server, measures it, stops it.
pub(crate) async fn run(args: &EchoArgs) -> Result<Report, BenchError> {
    let server = EchoServer::start()?;
    let url = format!("ws://{}/ws", server.addr());
    let shape = LoadShape {
        label: "echo",
        connections: args.common.connections_or(1)?,
        inflight_max: if args.pipeline { args.inflight_max } else { 1 },
        rate_per_s: args.rate_per_s.filter(|_| args.pipeline),
        ack_type: "PLACE_ORDER",
    };
    // The echo has no market to ask: `--price auto` means the default price here.
    let spec = match args.common.discovers_price() {
        true => args.common.order_spec_at(DEFAULT_PRICE_TICKS),
        false => args.common.order_spec(),
    }?;
    let report = measure_orders(&url, &args.common, spec, shape).await;
    drop(server);
    Ok(Report::Echo(report?))
}

/// A minimal WebSocket echo server with its own thread and current-thread runtime: every text
/// or binary frame comes back unchanged. Stops when dropped.
pub struct EchoServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Starts serving on an ephemeral port of 127.0.0.1.
    pub fn start() -> Result<EchoServer, BenchError> {
        EchoServer::bind(([127, 0, 0, 1], 0).into())
    }

    /// Starts serving on `addr`.
    pub fn bind(addr: SocketAddr) -> Result<EchoServer, BenchError> {
        let listener = std::net::TcpListener::bind(addr).map_err(BenchError::Echo)?;
        listener.set_nonblocking(true).map_err(BenchError::Echo)?;
        let addr = listener.local_addr().map_err(BenchError::Echo)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BenchError::Echo)?;
        let (shutdown, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("echo-server".into())
            .spawn(move || runtime.block_on(serve(listener, stopped)))
            .map_err(BenchError::Echo)?;
        Ok(EchoServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: std::net::TcpListener, mut stopped: oneshot::Receiver<()>) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(echo_connection(stream));
                }
            }
        }
    }
}

async fn echo_connection(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) =
        tokio_tungstenite::accept_async_with_config(stream, Some(trader_config())).await
    else {
        return;
    };
    while let Some(Ok(first)) = ws.next().await {
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(message) = next.take() {
            match message {
                Message::Text(_) | Message::Binary(_) => {
                    if ws.feed(message).await.is_err() {
                        return;
                    }
                }
                Message::Close(_) => return,
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
            handled += 1;
            if handled < ECHO_BATCH_MAX {
                next = match ws.next().now_or_never() {
                    Some(Some(Ok(message))) => Some(message),
                    Some(Some(Err(_)) | None) => return,
                    None => None,
                };
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_echo_default_price_is_the_flag_default() {
        assert_eq!(
            crate::common::parse_price_ticks(crate::common::DEFAULT_PRICE),
            Some(DEFAULT_PRICE_TICKS)
        );
    }
}
