//! What the server says when it starts: where it listens, with which seed, and which faults act,
//! so that a log read later tells what the run was.

use std::net::SocketAddr;

use faults::FaultInjector;

use crate::admin::is_loopback_host;
use crate::config::Config;

/// Logs the listeners, the seed and the fault layer's state at start-up.
pub fn log_started(
    config: &Config,
    local: SocketAddr,
    binance: Option<SocketAddr>,
    seed: u64,
    injector: &FaultInjector,
) {
    let admin = if is_loopback_host(&config.server.host) {
        "open on loopback"
    } else if config
        .server
        .admin_token
        .as_deref()
        .is_some_and(|t| !t.is_empty())
    {
        "token required"
    } else {
        "refused (no admin_token beyond loopback)"
    };
    tracing::info!(
        address = %local,
        seed,
        symbols = ?config.exchange.symbols,
        websocket = %format!("ws://{local}/ws"),
        rest = %format!("http://{local}/api/v1"),
        admin = %format!("http://{local}/admin/faults ({admin})"),
        metrics = %format!("http://{local}/metrics"),
        "exchange listening (WebSocket on / and /ws, REST under /api/v1)"
    );
    if let Some(addr) = binance {
        tracing::info!(
            address = %addr,
            rest = %format!("http://{addr}/api/v3"),
            streams = %format!("ws://{addr}/ws"),
            websocket_api = %format!("ws://{addr}/ws-api/v3"),
            open_accounts = config.server.binance.open_accounts,
            "binance spot listening"
        );
    }
    let fault_config = injector.config();
    if !injector.is_enabled() {
        tracing::info!(
            configured = !config.failures.is_null(),
            "fault layer off (turn it on with PUT /admin/faults and \"enabled\": true)"
        );
        return;
    }
    let active = fault_config.active_modes();
    tracing::info!(
        fault_seed = injector.seed(),
        modes = active.len(),
        scenario_steps = fault_config.scenario().len(),
        "fault layer on"
    );
    for (mode, settings) in active {
        tracing::info!(mode = %mode, settings = %settings, "fault active");
    }
}
