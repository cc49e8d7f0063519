//! `/metrics` through Prometheus' eyes: every line parses, and the figures a dashboard shows
//! move with what clients do (orders by type and outcome, rejects and errors by code, trades and
//! fills, frames by type, connections by dialect, the engine's latency, the process, the build),
//! with faults listed only for the mode and direction pairs that can occur.

mod common;

use std::collections::BTreeMap;

use common::{http, limit, quiet_config, start, Client};
use serde_json::json;

/// The samples of a Prometheus text exposition: `name{labels}` to value. Panics on a line that
/// is neither a comment nor a sample.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line:?}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "labels not closed in {line:?}");
        }
        samples.insert(series.to_string(), value);
    }
    samples
}

fn get(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("{series} missing from /metrics"))
}

#[tokio::test]
async fn the_metrics_move_with_what_clients_do() {
    let mut config = quiet_config();
    config.failures = json!({"enabled": true, "modes": {}});
    let (mut server, addr) = start(config).await;
    let mut alice = Client::login(addr, "alice").await;
    let mut bob = Client::login(addr, "bob").await;
    // One accepted order resting, one rejected for funds, one trade.
    assert_eq!(
        alice.request(limit("BUY", "49000", "0.1")).await["type"],
        "ORDER_ACK"
    );
    let refused = alice.request(limit("BUY", "49000", "1000")).await;
    assert_eq!(refused["code"], "INSUFFICIENT_FUNDS");
    assert_eq!(
        bob.request(limit("SELL", "49000", "0.1")).await["type"],
        "ORDER_ACK"
    );
    // An invalid frame.
    alice.send_text("{not json").await;
    let error = alice.recv_until("ERROR", &mut Vec::new()).await;
    assert_eq!(error["code"], "INVALID_JSON");

    let (status, text) = http(addr, "GET", "/metrics", None, &[]).await;
    assert_eq!(status, 200);
    let m = parse(&text);
    // Counted where things happen (process-wide: other tests share the process, so at least).
    assert!(
        get(
            &m,
            r#"exchange_orders_total{order_type="LIMIT",outcome="accepted"}"#
        ) >= 2.0
    );
    assert!(
        get(
            &m,
            r#"exchange_orders_total{order_type="LIMIT",outcome="rejected"}"#
        ) >= 1.0
    );
    assert!(
        get(
            &m,
            r#"exchange_order_rejects_total{code="INSUFFICIENT_FUNDS"}"#
        ) >= 1.0
    );
    assert!(get(&m, r#"exchange_errors_total{code="INVALID_JSON"}"#) >= 1.0);
    assert!(
        get(
            &m,
            r#"exchange_frames_total{direction="in",type="PLACE_ORDER"}"#
        ) >= 3.0
    );
    assert!(
        get(
            &m,
            r#"exchange_frames_total{direction="in",type="INVALID"}"#
        ) >= 1.0
    );
    assert!(
        get(
            &m,
            r#"exchange_frames_total{direction="out",type="ORDER_FILL"}"#
        ) >= 2.0
    );
    assert!(get(&m, "exchange_engine_apply_seconds_count") >= 5.0);
    assert!(m
        .keys()
        .any(|k| k.starts_with("exchange_engine_apply_seconds_bucket{le=")));
    // Read from this server at the scrape: exact.
    assert_eq!(get(&m, r#"exchange_trades_total{symbol="BTC/USD"}"#), 1.0);
    assert_eq!(get(&m, r#"exchange_fills_total{symbol="BTC/USD"}"#), 2.0);
    assert_eq!(get(&m, r#"exchange_trades_total{symbol="ETH/USD"}"#), 0.0);
    assert_eq!(get(&m, r#"exchange_connections{dialect="native"}"#), 2.0);
    assert_eq!(
        get(&m, r#"exchange_connections_opened_total{dialect="native"}"#),
        2.0
    );
    assert!(get(&m, r#"exchange_outbound_queue_frames{stat="max"}"#) >= 0.0);
    assert!(get(&m, "exchange_engine_queue_capacity_inputs") > 0.0);
    assert_eq!(get(&m, "exchange_faults_enabled"), 1.0);
    assert_eq!(
        get(
            &m,
            r#"exchange_faults_injected_total{mode="drop_messages",direction="outbound"}"#
        ),
        0.0
    );
    assert!(m.contains_key(
        r#"exchange_faults_injected_total{mode="disconnect",direction="connection"}"#
    ));
    assert!(
        !m.contains_key(r#"exchange_faults_injected_total{mode="disconnect",direction="inbound"}"#)
    );
    assert!(!m
        .keys()
        .any(|k| k.contains(r#"mode="reject_orders",direction="outbound""#)));
    // The build and the process.
    assert!(m
        .keys()
        .any(|k| k.starts_with("exchange_build_info{version=")));
    if cfg!(target_os = "linux") {
        assert!(get(&m, "process_resident_memory_bytes") > 0.0);
        assert!(get(&m, "process_open_fds") > 0.0);
        assert!(get(&m, "process_threads") >= 2.0);
    }
    assert!(get(&m, "process_start_time_seconds") > 1.0e9);
    server.shutdown().await;
}
