//! `examples/grafana/`: the dashboard parses, and every series and label it asks Prometheus for
//! is one a running server exports at `/metrics`; the scrape configuration points at the default
//! port's `/metrics`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{http, limit, quiet_config, start, Client};
use serde_json::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every PromQL expression of the dashboard's panels.
fn expressions(dashboard: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                found.push(expr.to_string());
            }
        }
    }
    found
}

/// The metric names of an expression (words starting `exchange_` or `process_`) and the label
/// names it groups or filters by.
fn names_and_labels(expr: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut metrics = BTreeSet::new();
    let mut labels = BTreeSet::new();
    let words: Vec<&str> = expr
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    for w in &words {
        if w.starts_with("exchange_") || w.starts_with("process_") {
            metrics.insert(w.to_string());
        }
    }
    // `by (a, b)` and `{a="..."}`.
    for part in expr.split("by (").skip(1) {
        if let Some(list) = part.split(')').next() {
            labels.extend(list.split(',').map(|l| l.trim().to_string()));
        }
    }
    for part in expr.split('{').skip(1) {
        if let Some(inner) = part.split('}').next() {
            for pair in inner.split(',') {
                if let Some((key, _)) = pair.split_once('=') {
                    labels.insert(key.trim().to_string());
                }
            }
        }
    }
    (metrics, labels)
}

#[tokio::test]
async fn the_dashboard_asks_only_for_what_the_server_exports() {
    let dashboard: Value =
        serde_json::from_str(&read("examples/grafana/dashboard.json")).expect("valid JSON");
    assert_eq!(dashboard["title"], "exchange-simulator");
    let exprs = expressions(&dashboard);
    assert!(exprs.len() >= 10, "{exprs:?}");

    let (mut server, addr) = start(quiet_config()).await;
    // Some traffic, so that labelled families have members.
    let mut alice = Client::login(addr, "alice").await;
    let mut bob = Client::login(addr, "bob").await;
    alice.request(limit("BUY", "49000", "0.1")).await;
    bob.request(limit("SELL", "49000", "0.1")).await;
    alice.request(limit("BUY", "49000", "100000")).await;
    alice.send_text("{not json").await;
    alice.recv_until("ERROR", &mut Vec::new()).await;
    let (_, text) = http(addr, "GET", "/metrics", None, &[]).await;
    server.shutdown().await;
    // Exported: metric name -> the label names seen on it.
    let mut exported: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let series = line.rsplit_once(' ').map_or(line, |(s, _)| s);
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        let keys = exported.entry(name.to_string()).or_default();
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            if let Some((key, _)) = pair.split_once('=') {
                keys.insert(key.to_string());
            }
        }
    }
    for expr in &exprs {
        let (metrics, labels) = names_and_labels(expr);
        assert!(!metrics.is_empty(), "no metric in {expr}");
        for metric in &metrics {
            let keys = exported
                .get(metric)
                .unwrap_or_else(|| panic!("{expr}: the server exports no {metric}"));
            for label in &labels {
                assert!(
                    keys.contains(label),
                    "{expr}: {metric} has no label {label} (it has {keys:?})"
                );
            }
        }
    }
}

#[test]
fn the_scrape_configuration_points_at_the_servers_metrics() {
    let config = read("examples/grafana/prometheus.yml");
    assert!(config.contains("metrics_path: /metrics"), "{config}");
    assert!(config.contains("\"127.0.0.1:8765\""), "{config}");
}
