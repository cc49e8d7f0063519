//! Every scenario, run for about half a second against the mock exchange (and `echo` against
//! itself), through the command line the integrator exposes. The assertions are on counts and on
//! the JSON last line, never on timing.

mod mock;

use clap::Parser;
use exchange_loadgen::{run_to, BenchCommand, Report};
use mock::MockExchange;
use serde_json::Value;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    bench: BenchCommand,
}

/// Runs `bench <args>` and returns the report and the parsed JSON last line of its output.
fn bench(args: &[&str]) -> (Report, Value) {
    let (report, json, _) = bench_text(args);
    (report, json)
}

/// [`bench`], with the whole output too.
fn bench_text(args: &[&str]) -> (Report, Value, String) {
    let cli = Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("bad arguments {args:?}: {e}"));
    let mut out = Vec::new();
    let report = run_to(cli.bench, &mut out).unwrap_or_else(|e| panic!("{args:?} failed: {e}"));
    let text = String::from_utf8(out).expect("utf-8 output");
    let last = text.lines().last().expect("some output");
    let json: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{last}: {e}"));
    assert!(
        text.lines().count() > 1,
        "a human summary precedes the JSON"
    );
    (report, json, text)
}

const LATENCY_KEYS: &[&str] = &[
    "scenario",
    "url",
    "connections",
    "connect_failures",
    "mid_price",
    "inflight_max",
    "offered_rate_per_s",
    "duration_s",
    "sent",
    "completed",
    "acks",
    "rejects",
    "errors",
    "unanswered",
    "unmatched",
    "other_frames",
    "malformed",
    "disconnects",
    "orders_per_s",
    "answers_per_s",
    "rejects_by_code",
    "errors_by_code",
    "warnings",
    "latency_samples",
    "p50_us",
    "p90_us",
    "p99_us",
    "p99_9_us",
    "max_us",
    "mean_us",
    "send_lag_p99_us",
    "send_lag_max_us",
];

fn u(json: &Value, key: &str) -> u64 {
    json[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {json}"))
}

fn f(json: &Value, key: &str) -> f64 {
    json[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {json}"))
}

/// The consistency every latency report must show.
fn assert_latency_report(json: &Value, scenario: &str, connections: u64) {
    for key in LATENCY_KEYS {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(json["scenario"], scenario);
    assert_eq!(u(json, "connections"), connections);
    assert_eq!(u(json, "connect_failures"), 0);
    let completed = u(json, "completed");
    assert!(completed > 0, "{json}");
    assert_eq!(completed, u(json, "latency_samples"));
    assert_eq!(
        completed,
        u(json, "acks") + u(json, "rejects") + u(json, "errors")
    );
    assert_eq!(
        u(json, "sent"),
        completed + u(json, "unanswered"),
        "every order is answered or counted as unanswered: {json}"
    );
    assert_eq!(u(json, "unmatched"), 0);
    assert_eq!(u(json, "malformed"), 0);
    assert!(f(json, "orders_per_s") > 0.0);
    assert!(f(json, "p50_us") > 0.0);
    assert!(f(json, "p50_us") <= f(json, "p99_us"));
    assert!(f(json, "p99_us") <= f(json, "p99_9_us"));
    assert!(f(json, "p99_9_us") <= f(json, "max_us"));
}

#[test]
fn roundtrip_against_the_mock() {
    let mock = MockExchange::start();
    let url = mock.url();
    let (report, json) = bench(&[
        "roundtrip",
        "--url",
        &url,
        "--duration",
        "0.5",
        "--connections",
        "2",
        "--json",
    ]);
    assert_latency_report(&json, "roundtrip", 2);
    assert_eq!(u(&json, "inflight_max"), 1);
    assert!(json["offered_rate_per_s"].is_null());
    assert_eq!(f(&json, "send_lag_max_us"), 0.0);
    assert_eq!(u(&json, "rejects"), 0);
    // The mock follows every second order with a BALANCE_UPDATE: counted, not mistaken.
    assert!(u(&json, "other_frames") > 0, "{json}");
    let Report::Roundtrip(typed) = report else {
        panic!("a roundtrip report")
    };
    assert_eq!(typed.completed, u(&json, "completed"));
}

#[test]
fn the_rate_counts_accepted_orders_and_rejects_and_errors_are_broken_down() {
    let mock = MockExchange::start_limiting();
    let url = mock.url();
    let (_, json, text) = bench_text(&["roundtrip", "--url", &url, "--duration", "0.5", "--json"]);
    assert_latency_report(&json, "roundtrip", 1);
    let (acks, rejects, errors) = (u(&json, "acks"), u(&json, "rejects"), u(&json, "errors"));
    assert!(acks > 0 && rejects > 0 && errors > 0, "{json}");
    // The rate is the accepted orders', not every answer's.
    let rate = f(&json, "orders_per_s");
    let expected = acks as f64 / f(&json, "duration_s");
    assert!(
        (rate - expected).abs() <= expected * 0.01 + 1.0,
        "{rate} vs {expected}"
    );
    assert!(f(&json, "answers_per_s") > rate * 3.0, "{json}");
    assert_eq!(
        json["rejects_by_code"],
        serde_json::json!({"INSUFFICIENT_FUNDS": rejects})
    );
    assert_eq!(
        json["errors_by_code"],
        serde_json::json!({"RATE_LIMITED": errors})
    );
    // Most answers were RATE_LIMITED: said in the JSON and the summary, with the way out.
    let warning = json["warnings"][0].as_str().expect("a warning");
    assert!(warning.contains("RATE_LIMITED"), "{warning}");
    assert!(warning.contains("examples/bench.json"), "{warning}");
    assert!(text.contains("errors by code: RATE_LIMITED"), "{text}");
    assert!(text.contains("WARNING: "), "{text}");
    // A server that accepts everything draws no warning.
    let quiet = MockExchange::start();
    let url = quiet.url();
    let (_, json) = bench(&["roundtrip", "--url", &url, "--duration", "0.3", "--json"]);
    assert_eq!(json["warnings"], serde_json::json!([]));
    assert_eq!(f(&json, "orders_per_s"), f(&json, "answers_per_s"));
}

#[test]
fn malformed_frames_are_counted_not_fatal() {
    let mock = MockExchange::start_garbling();
    let url = mock.url();
    let (_, json) = bench(&[
        "pipeline",
        "--url",
        &url,
        "--duration",
        "0.3",
        "--connections",
        "2",
        "--json",
    ]);
    let completed = u(&json, "completed");
    assert!(completed > 0, "{json}");
    assert_eq!(completed, u(&json, "latency_samples"));
    assert_eq!(u(&json, "disconnects"), 0);
    // Two bad frames follow every answer; the last few may be cut off by the end of the run.
    assert!(u(&json, "malformed") >= completed, "{json}");
}

#[test]
fn pipeline_unpaced_against_the_mock() {
    let mock = MockExchange::start();
    let url = mock.url();
    let (_, json) = bench(&[
        "pipeline",
        "--url",
        &url,
        "--duration",
        "0.5",
        "--connections",
        "3",
        "--inflight",
        "8",
        "--json",
    ]);
    assert_latency_report(&json, "pipeline", 3);
    assert_eq!(u(&json, "inflight_max"), 8);
}

#[test]
fn pipeline_paced_against_the_mock_sends_no_more_than_offered() {
    let mock = MockExchange::start();
    let url = mock.url();
    let (_, json) = bench(&[
        "pipeline",
        "--url",
        &url,
        "--duration",
        "0.5",
        "--connections",
        "2",
        "--rate",
        "400",
        "--json",
    ]);
    assert_latency_report(&json, "pipeline", 2);
    assert_eq!(f(&json, "offered_rate_per_s"), 400.0);
    // 400/s for 0.5 s: the schedule holds 200 intended sends, and none beyond it.
    assert!(u(&json, "sent") <= 200, "{json}");
    assert!(f(&json, "send_lag_max_us") >= f(&json, "send_lag_p99_us"));
}

#[test]
fn the_price_is_discovered_from_the_ticker() {
    let mock = MockExchange::start();
    let url = mock.url();
    let (_, json) = bench(&[
        "roundtrip",
        "--url",
        &url,
        "--duration",
        "0.3",
        "--price",
        "auto",
        "--json",
    ]);
    assert_latency_report(&json, "roundtrip", 1);
    assert_eq!(json["mid_price"], "41234.56");
    let (_, json) = bench(&["roundtrip", "--url", &url, "--duration", "0.3", "--json"]);
    assert_eq!(json["mid_price"], "50000.00");
}

#[test]
fn echo_measures_itself() {
    let (_, json) = bench(&["echo", "--duration", "0.5", "--json"]);
    assert_latency_report(&json, "echo", 1);
    assert_eq!(u(&json, "other_frames"), 0);
    let (_, json) = bench(&[
        "echo",
        "--pipeline",
        "--inflight",
        "16",
        "--connections",
        "2",
        "--duration",
        "0.5",
        "--json",
    ]);
    assert_latency_report(&json, "echo", 2);
    assert_eq!(u(&json, "inflight_max"), 16);
}

#[test]
fn connections_are_held_and_the_server_is_found_by_port() {
    let mock = MockExchange::start();
    let url = mock.url();
    let (_, json) = bench(&[
        "connections",
        "--url",
        &url,
        "--duration",
        "0.5",
        "--connections",
        "40",
        "--batch",
        "16",
        "--json",
    ]);
    for key in [
        "connections_requested",
        "connections_held",
        "connect_failures",
        "disconnects",
        "subscriptions_confirmed",
        "ramp_s",
        "duration_s",
        "messages",
        "messages_per_s",
        "malformed",
        "server_pid",
        "server_rss_before_kib",
        "server_rss_held_kib",
        "client_rss_kib",
        "nofile_limit",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(json["scenario"], "connections");
    assert_eq!(u(&json, "connections_held"), 40);
    assert_eq!(u(&json, "connect_failures"), 0);
    assert_eq!(u(&json, "subscriptions_confirmed"), 40);
    assert!(u(&json, "messages") > 0);
    assert!(f(&json, "messages_per_s") > 0.0);
    // The mock listens inside this very process.
    assert_eq!(u(&json, "server_pid"), u64::from(std::process::id()));
    assert!(u(&json, "server_rss_held_kib") > 0);
    assert!(u(&json, "nofile_limit") >= 40);
}

#[test]
fn fanout_delivers_market_data_to_every_subscriber() {
    let mock = MockExchange::start();
    let url = mock.url();
    let (_, json) = bench(&[
        "fanout",
        "--url",
        &url,
        "--duration",
        "0.5",
        "--subscribers",
        "6",
        "--json",
    ]);
    for key in [
        "subscribers_requested",
        "subscribers_held",
        "trader_connections",
        "market_data_messages",
        "market_data_per_s",
        "trade_messages",
        "orderbook_messages",
        "trades",
        "trades_per_s",
        "orders_sent",
        "order_rejects",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(json["scenario"], "fanout");
    assert_eq!(u(&json, "subscribers_held"), 6);
    assert_eq!(u(&json, "trader_connections"), 4);
    assert!(u(&json, "orders_sent") > 0);
    assert!(u(&json, "trades") > 0);
    assert_eq!(
        u(&json, "market_data_messages"),
        u(&json, "trade_messages") + u(&json, "orderbook_messages")
    );
    // Every subscriber sees every trade the first one sees, give or take the window's edges.
    assert!(u(&json, "trade_messages") >= u(&json, "trades"));
}

#[test]
fn bad_flags_are_refused_before_connecting() {
    let cli = Cli::try_parse_from(["bench", "roundtrip", "--duration", "0"]).expect("parses");
    let mut out = Vec::new();
    assert!(run_to(cli.bench, &mut out).is_err());
    let cli = Cli::try_parse_from(["bench", "roundtrip", "--price", "abc"]).expect("parses");
    assert!(run_to(cli.bench, &mut out).is_err());
    assert!(out.is_empty());
}
