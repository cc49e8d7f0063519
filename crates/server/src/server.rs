//! [`ExchangeServer`]: the library entry point that puts the engine thread, the WebSocket and REST
//! endpoints and the market clock together.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use exchange::{Answer, Core, CoreError};
use faults::FaultInjector;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use binance::Venue;

use crate::admin::AdminState;
use crate::binance_http::{BinanceState, ServerKeys};
use crate::binance_limits::RateLimits;
use crate::config::Config;
use crate::connection::ConnContext;
use crate::delivery::Delivery;
use crate::dialect::{Dialect, Wire};
use crate::engine_thread::{now_ns, serve_timers, EngineThread, Envelope, SharedSeqs};
use crate::listener::{Peer, ResetListener};
use crate::registry::Registry;

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Core(#[from] CoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("the server is already started")]
    AlreadyStarted,
}

/// The WebSocket read chunk per connection.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Outgoing bytes gathered before a write to the socket.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// The most outgoing bytes buffered for one connection before writes fail.
const MAX_WRITE_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// How many engine requests may wait before senders wait (back-pressure on connections).
const ENGINE_QUEUE: usize = 65_536;

/// How long [`ExchangeServer::shutdown`] waits for connections to send their close frames.
const SHUTDOWN_CLOSE_WAIT: Duration = Duration::from_secs(3);

struct Running {
    addr: SocketAddr,
    binance_addr: Option<SocketAddr>,
    binance_http: Option<tokio::task::JoinHandle<()>>,
    engine: mpsc::Sender<Envelope>,
    shutdown: watch::Sender<bool>,
    http: tokio::task::JoinHandle<()>,
    engine_thread: Option<std::thread::JoinHandle<()>>,
    timers: tokio::task::JoinHandle<()>,
    registry: Arc<Registry>,
}

/// The exchange simulator's server.
pub struct ExchangeServer {
    config: Arc<Config>,
    seed: u64,
    /// Price models supplied in code, by symbol; they replace the configured ones at start.
    custom_models: std::collections::HashMap<String, Box<dyn market::PriceModel>>,
    injector: FaultInjector,
    running: Option<Running>,
}

pub use seed::derive_seed;

#[derive(Clone)]
struct AppState {
    ctx: Arc<ConnContext>,
    next_conn: Arc<AtomicU64>,
    slots: Arc<Semaphore>,
}

impl ExchangeServer {
    /// Validates the configuration. Nothing listens until [`ExchangeServer::start`].
    pub fn new(config: Config) -> Result<ExchangeServer, ServerError> {
        config.validate()?;
        let seed = config.seed.unwrap_or_else(|| {
            // No seed given: take one from the clock, and log it so the run can be repeated.
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        // `failures.seed`, when given, takes precedence over this derived seed.
        let injector = FaultInjector::new(config.fault_config()?, derive_seed(seed, "faults"));
        Ok(ExchangeServer {
            config: Arc::new(config),
            seed,
            custom_models: std::collections::HashMap::new(),
            injector,
            running: None,
        })
    }

    /// Drives `symbol`'s price with a model of your own instead of the configured one (before
    /// [`ExchangeServer::start`]). Its randomness still comes from the run's seeded stream.
    pub fn set_price_model(&mut self, symbol: &str, model: Box<dyn market::PriceModel>) {
        self.custom_models.insert(symbol.to_string(), model);
    }

    /// The master seed of this run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The fault layer: its statistics, log and configuration (shared with the running server,
    /// so changes made through it apply at once).
    pub fn failure_injector(&self) -> FaultInjector {
        self.injector.clone()
    }

    /// Binds the listener and starts the engine thread, the endpoints and the market clock.
    /// Returns the address it listens on (port 0 in the config picks a free port).
    pub async fn start(&mut self) -> Result<SocketAddr, ServerError> {
        if self.running.is_some() {
            return Err(ServerError::AlreadyStarted);
        }
        let config = self.config.clone();
        let (engine_tx, engine_rx) = mpsc::channel(ENGINE_QUEUE);
        let core = Core::new(
            config.core_config()?,
            std::mem::take(&mut self.custom_models),
            derive_seed(self.seed, "market"),
            now_ns(),
        )?;
        let catalog = core.catalog();
        let seqs = Arc::new(SharedSeqs::new(catalog.symbols().len()));
        let engine_config = &config.core_config()?.engine;
        let b = &config.server.binance;
        let venue = Arc::new(Venue::new(
            catalog.clone(),
            engine_config.maker_fee,
            engine_config.taker_fee,
            binance::RateLimits {
                request_weight_per_minute: b.request_weight_per_minute,
                orders_per_10s: b.orders_per_10s,
                orders_per_day: b.orders_per_day,
            },
        ));
        let keys = Arc::new(ServerKeys::new(&config));
        let delivery = Delivery::new(config.server.limits.slow_consumer, venue.clone());
        let (schedules_tx, schedules_rx) = mpsc::unbounded_channel();
        let engine = EngineThread::new(core, delivery, schedules_tx, seqs.clone());
        let engine_thread = std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || engine.run(engine_rx))
            .map_err(|source| ServerError::Bind {
                addr: "engine thread".into(),
                source,
            })?;
        let timers = tokio::spawn(serve_timers(schedules_rx, engine_tx.clone()));

        let addr = format!("{}:{}", config.server.host, config.server.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let faults_changed = Arc::new(watch::channel(0u64).0);
        let registry = Arc::new(Registry::default());
        let started = Instant::now();
        let wire = Arc::new(Wire {
            venue,
            keys: keys.clone(),
            unix_ms_at_start: now_ns() / 1_000_000,
        });
        let seqs_for_metrics = seqs.clone();
        let ctx = Arc::new(ConnContext {
            engine: engine_tx.clone(),
            wire,
            config: config.clone(),
            seqs,
            shutdown: shutdown_rx.clone(),
            injector: self.injector.clone(),
            faults_changed: faults_changed.clone(),
            started,
            registry: registry.clone(),
        });
        let admin = AdminState {
            injector: self.injector.clone(),
            registry: registry.clone(),
            faults_changed,
            host: config.server.host.clone(),
            admin_token: config.server.admin_token.clone(),
            accounts: Arc::new(config.accounts.keys().cloned().collect()),
            started_unix_ns: now_ns().saturating_sub(started.elapsed().as_nanos() as u64),
            metrics: crate::metrics::MetricsState {
                injector: self.injector.clone(),
                connections: registry.clone(),
                engine: engine_tx.clone(),
                seqs: seqs_for_metrics,
                catalog: catalog.clone(),
                process_start_s: crate::metrics::process_start_s(),
            },
        };
        let state = AppState {
            ctx,
            next_conn: Arc::new(AtomicU64::new(1)),
            slots: Arc::new(Semaphore::new(config.server.limits.max_connections)),
        };
        let binance = if config.server.binance.enabled {
            let binance_state = BinanceState {
                ctx: state.ctx.clone(),
                next_conn: state.next_conn.clone(),
                slots: state.slots.clone(),
                limits: Arc::new(RateLimits::new(crate::binance_limits::LimitsConfig {
                    weight_per_minute: b.request_weight_per_minute,
                    orders_per_10s: b.orders_per_10s,
                    orders_per_day: b.orders_per_day,
                    ban_ms: b.ban_seconds.saturating_mul(1_000),
                })),
                keys,
            };
            let port = b.port_for(config.server.port);
            let addr = format!("{}:{port}", config.server.host);
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: addr.clone(),
                    source,
                })?;
            let local = listener
                .local_addr()
                .map_err(|source| ServerError::Bind { addr, source })?;
            let app = crate::binance_http::routes(binance_state);
            let mut stop = shutdown_rx.clone();
            let listener = ResetListener::new(listener);
            let task = tokio::spawn(async move {
                let served =
                    axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
                        .with_graceful_shutdown(async move {
                            let _ = stop.changed().await;
                        })
                        .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "binance listener failed");
                }
            });
            Some((local, task))
        } else {
            None
        };
        let mut app = Router::new()
            .route("/", get(ws_handler))
            .route("/ws", get(ws_handler));
        if config.server.echo_endpoint {
            app = app.route("/echo", get(echo_handler));
        }
        let app = app
            .with_state(state)
            .merge(crate::rest::routes(crate::rest::RestContext {
                engine: engine_tx.clone(),
                catalog,
                injector: self.injector.clone(),
                started,
                tick_interval: Duration::from_secs_f64(config.exchange.tick_interval),
            }))
            .merge(crate::admin::routes(admin))
            .merge(crate::landing::routes())
            .fallback(crate::rest::unknown_endpoint)
            .method_not_allowed_fallback(crate::rest::method_not_allowed)
            .layer(axum::middleware::map_response(crate::landing::json_errors));
        let mut stop = shutdown_rx.clone();
        let listener = ResetListener::new(listener);
        let http = tokio::spawn(async move {
            let served = axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "http server failed");
            }
        });
        crate::startup::log_started(
            &config,
            local,
            binance.as_ref().map(|(addr, _)| *addr),
            self.seed,
            &self.injector,
        );
        let (binance_addr, binance_http) = binance.unzip();
        self.running = Some(Running {
            addr: local,
            binance_addr,
            binance_http,
            engine: engine_tx,
            shutdown: shutdown_tx,
            http,
            engine_thread: Some(engine_thread),
            timers,
            registry,
        });
        Ok(local)
    }

    /// Advances the market and the ticker by `ticks` ticker intervals (`tick_interval`: that
    /// many TICKER messages, and the market steps in them) and returns once they are done (for `exchange.clock = "manual"`; with the wall clock these ticks come on top).
    pub async fn advance_market(&self, ticks: u64) {
        let Some(running) = &self.running else {
            return;
        };
        let (reply, answer) = oneshot::channel::<Answer>();
        let advance = Envelope::AdvanceMarket { ticks, reply };
        if running.engine.send(advance).await.is_ok() {
            let _ = answer.await;
        }
    }

    /// The address the server listens on, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|r| r.addr)
    }

    /// The address the Binance listener listens on, once started (if it is enabled).
    pub fn binance_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().and_then(|r| r.binance_addr)
    }

    /// Closes every connection (close code 1001), stops the endpoints and the engine thread.
    pub async fn shutdown(&mut self) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        let _ = running.shutdown.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut running.http).await;
        if let Some(binance) = running.binance_http.as_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(5), binance).await;
        }
        // The WebSocket connections outlive the HTTP server: let them send their close frames
        // (1001) before the engine stops, for at most a few seconds (a peer may not read).
        let deadline = tokio::time::Instant::now() + SHUTDOWN_CLOSE_WAIT;
        while !running.registry.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = running.engine.send(Envelope::Shutdown).await;
        if let Some(thread) = running.engine_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        running.timers.abort();
        tracing::info!("exchange stopped");
    }
}

async fn ws_handler(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    // A browser (or curl) without an upgrade: the landing page on `/`, a JSON hint on `/ws`.
    let Ok(ws) = ws else {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost:8765");
        return match uri.path() {
            "/" => crate::landing::page(host),
            _ => crate::landing::not_an_upgrade(&uri, host),
        };
    };
    if state.ctx.injector.is_enabled() && !state.ctx.injector.accept_connection(state.ctx.now_ms())
    {
        return crate::rest::json_response(protocol::rest::rest_error(
            503,
            protocol::ErrorCode::ExchangeUnavailable,
            "the exchange is unavailable: retry later",
        ));
    }
    let Ok(permit) = state.slots.clone().try_acquire_owned() else {
        return crate::rest::json_response(protocol::rest::rest_error(
            503,
            protocol::ErrorCode::ExchangeUnavailable,
            "too many connections",
        ));
    };
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let ctx = state.ctx.clone();
    sized(ws, &ctx.config).on_upgrade(move |socket| async move {
        crate::connection::run(socket, conn, peer, Dialect::Native, Vec::new(), ctx).await;
        drop(permit);
    })
}

/// A WebSocket upgrade with the server's frame limit and sized buffers, not the library's
/// 128 KiB defaults: an idle connection should cost a few KiB, so that ten thousand fit in a
/// small footprint. Writes beyond `write_buffer_size` are flushed, and a peer that does not read
/// makes the writer wait (and its queue fill up).
pub(crate) fn sized(ws: WebSocketUpgrade, config: &Config) -> WebSocketUpgrade {
    let limit = config.server.limits.max_frame_bytes;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES.max(limit * 2))
}

/// A bare echo on the server's own WebSocket stack and limits, for conformance suites.
async fn echo_handler(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let limit = state.ctx.config.server.limits.max_frame_bytes;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(|mut socket| async move {
            use axum::extract::ws::Message;
            while let Some(Ok(message)) = socket.recv().await {
                let reply = match message {
                    Message::Text(_) | Message::Binary(_) => message,
                    // The close reply is queued by the protocol layer; reading on completes the
                    // closing handshake cleanly.
                    Message::Close(_) | Message::Ping(_) | Message::Pong(_) => continue,
                };
                if socket.send(reply).await.is_err() {
                    break;
                }
            }
        })
}
