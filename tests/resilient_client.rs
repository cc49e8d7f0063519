//! The proof that recovery works: `examples/resilient_client.py` trades through heavy faults
//! (drops, duplicates, reordering, corruption, disconnects, phantom and duplicate fills, unknown
//! outcomes), and its final view must equal the exchange's ground truth over REST, with every
//! intended order placed exactly once. The same client with its recovery turned off must end up
//! wrong: that shows the faults bite.
//!
//! It needs Python 3 with the `websockets` package: `RESILIENT_PYTHON` names the interpreter
//! (`.ci/run` points it at a virtual environment it prepares). Without one that can import
//! `websockets`, the test says so and passes without running, unless `RESILIENT_REQUIRED=1`.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use common::{admin, rest};
use exchange_simulator::{Config, ExchangeServer};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// How long one client run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(150);

fn python() -> Option<String> {
    let python = std::env::var("RESILIENT_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import websockets"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("RESILIENT_REQUIRED").is_err(),
        "RESILIENT_REQUIRED is set but {python} cannot import websockets"
    );
    eprintln!("skipped: {python} cannot import websockets (pip install websockets)");
    None
}

fn config(seed: u64) -> Config {
    let mut config = Config::from_json_str(
        r#"{
            "server": {"port": 0, "heartbeat_interval": 5},
            "exchange": {
                "clock": "manual",
                "tick_interval": 0.1,
                "market_makers": {"levels": 10, "refresh_ms": 100},
                "taker_flow": {"enabled": false},
                "history": {"resume_events_per_account": 100000}
            },
            "accounts": {"alice": {"api_key": "alice-key",
                                   "balances": {"USD": "1000000", "BTC": "100"}}},
            "failures": {
                "enabled": true,
                "modes": {
                    "drop_messages": {"probability": 0.03},
                    "duplicate_messages": {"probability": 0.03, "max_duplicates": 1},
                    "reorder_messages": {"probability": 0.05, "window_size": 3, "max_hold_ms": 100},
                    "corrupt_messages": {"probability": 0.01, "corruption_level": 0.05},
                    "disconnect": {"mean_interval_s": 4},
                    "phantom_fills": {"mean_interval_s": 0.5},
                    "duplicate_fills": {"probability": 0.2, "min_ms": 10, "max_ms": 300},
                    "unknown_outcome": {"probability": 0.1}
                }
            }
        }"#,
    )
    .expect("config");
    config.seed = Some(seed);
    config
}

/// Runs the client to its end, stepping the market while it trades; returns its final view.
async fn run_client(
    python: &str,
    server: &ExchangeServer,
    addr: SocketAddr,
    recovery: bool,
) -> Value {
    let mut args = vec![
        "examples/resilient_client.py".to_string(),
        "--url".into(),
        format!("ws://{addr}/ws"),
        "--account".into(),
        "alice".into(),
        "--api-key".into(),
        "alice-key".into(),
        "--orders".into(),
        "80".into(),
    ];
    if !recovery {
        args.push("--no-recovery".into());
    }
    let mut child = Command::new(python)
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the client");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let run = async {
        // The market moves while the client trades: one tick per 50 ms.
        loop {
            tokio::select! {
                line = lines.next_line() => match line.expect("read the client") {
                    Some(l) if l == "TRADING_DONE" => break,
                    Some(_) => {}
                    None => panic!("the client ended before it finished trading"),
                },
                _ = tokio::time::sleep(Duration::from_millis(50)) => server.advance_market(1).await,
            }
        }
        // Calm the network, freeze the market, and let the client settle.
        let (status, answer) = admin(
            addr,
            "PUT",
            "/admin/faults",
            Some(json!({"enabled": false})),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"settle\n").await.expect("write");
        let line = lines
            .next_line()
            .await
            .expect("read the client")
            .expect("the final view");
        serde_json::from_str::<Value>(&line).expect("the view is JSON")
    };
    let view = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .expect("the client finished in time");
    let _ = child.wait().await;
    view
}

/// The exchange's truth for alice, in the client's view's shape.
async fn truth(addr: SocketAddr) -> Value {
    let key = Some("alice-key");
    let (_, orders) = rest(addr, "/api/v1/orders", key).await;
    let (_, fills) = rest(addr, "/api/v1/fills", key).await;
    let (_, balances) = rest(addr, "/api/v1/balances", key).await;
    let (_, book) = rest(addr, "/api/v1/orderbook?symbol=BTC/USD&depth=1", None).await;
    let working = ["PENDING", "OPEN", "PARTIALLY_FILLED"];
    let open_orders: BTreeMap<String, Value> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| working.contains(&o["status"].as_str().unwrap()))
        .map(|o| {
            (
                o["order_id"].as_str().unwrap().to_string(),
                o["remaining_quantity"].clone(),
            )
        })
        .collect();
    let fills: BTreeMap<String, Value> = fills["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["fill_id"].as_str().unwrap().to_string(),
                json!([f["price"], f["quantity"]]),
            )
        })
        .collect();
    let balances: BTreeMap<String, Value> = balances["balances"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(a, b)| (a.clone(), json!([b["total"], b["available"], b["locked"]])))
        .collect();
    let top = |side: &str| {
        book[side]
            .get(0)
            .map_or(Value::Null, |l| json!([l["price"], l["quantity"]]))
    };
    json!({
        "open_orders": open_orders,
        "fills": fills,
        "balances": balances,
        "book_top": {"bid": top("bids"), "ask": top("asks")},
        "orders": orders["orders"],
    })
}

/// Where the client's view and the truth differ.
fn differences(view: &Value, truth: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    for key in ["open_orders", "fills", "balances", "book_top"] {
        if view[key] != truth[key] {
            diffs.push(format!(
                "{key}: client {} / exchange {}",
                view[key], truth[key]
            ));
        }
    }
    if view["fill_count"].as_u64() != Some(truth["fills"].as_object().map_or(0, |f| f.len()) as u64)
    {
        diffs.push(format!(
            "fills applied: client {} / exchange {}",
            view["fill_count"],
            truth["fills"].as_object().map_or(0, |f| f.len())
        ));
    }
    diffs
}

/// How many exchange orders carry each intended client_order_id.
fn placements(view: &Value, truth: &Value) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = view["intended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c.as_str().unwrap().to_string(), 0))
        .collect();
    for order in truth["orders"].as_array().unwrap() {
        if let Some(n) = order["client_order_id"]
            .as_str()
            .and_then(|c| counts.get_mut(c))
        {
            *n += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_client_survives_every_fault_and_agrees_with_the_truth() {
    let Some(python) = python() else { return };
    let mut server = ExchangeServer::new(config(11)).unwrap();
    let addr = server.start().await.unwrap();
    let view = run_client(&python, &server, addr, true).await;
    let truth = truth(addr).await;
    let injected = server.failure_injector().statistics();
    server.shutdown().await;

    let diffs = differences(&view, &truth);
    eprintln!("client stats: {}", view["stats"]);
    assert!(
        diffs.is_empty(),
        "the client's view differs from the truth:\n{}",
        diffs.join("\n")
    );
    for (coid, n) in placements(&view, &truth) {
        assert_eq!(n, 1, "{coid} was placed {n} times");
    }
    // The faults really happened, and the client saw them.
    let stats = &view["stats"];
    assert!(stats["reconnects"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["duplicate_events"].as_u64().unwrap() > 0, "{stats}");
    let injected = serde_json::to_value(injected).unwrap();
    for counter in [
        "dropped_count",
        "duplicated_count",
        "reordered_count",
        "corrupted_count",
        "disconnected_count",
        "phantom_fill_count",
        "duplicate_fill_count",
        "unknown_outcome_count",
    ] {
        assert!(
            injected[counter].as_u64() > Some(0),
            "no {counter}: {injected}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_recovery_the_same_client_ends_up_wrong() {
    let Some(python) = python() else { return };
    let mut server = ExchangeServer::new(config(11)).unwrap();
    let addr = server.start().await.unwrap();
    let view = run_client(&python, &server, addr, false).await;
    let truth = truth(addr).await;
    server.shutdown().await;
    let diffs = differences(&view, &truth);
    eprintln!("without recovery: {}", diffs.join("\n"));
    assert!(
        !diffs.is_empty(),
        "under these faults a client that trusts every frame must diverge; it did not"
    );
}
