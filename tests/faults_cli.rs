//! `exchange-sim faults ...` against a running server: readable tables, `--json`, changes that
//! act, refusals with the server's code and exit code 1.

mod common;

use std::net::SocketAddr;
use std::process::Output;

use common::{admin, quiet_config, start, Client};
use serde_json::{json, Value};

/// Runs `exchange-sim faults <args> --url http://addr`.
async fn faults(addr: SocketAddr, args: &[&str]) -> Output {
    let url = format!("http://{addr}");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_exchange-sim"));
    command
        .arg("faults")
        .args(args)
        .args(["--url", &url])
        .env_remove("EXCHANGE_SIM_URL")
        .env_remove("EXCHANGE_SIM_ADMIN_TOKEN");
    tokio::time::timeout(common::WAIT, command.output())
        .await
        .expect("the CLI ends")
        .expect("run the CLI")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_cli_lists_changes_and_explains_faults() {
    // Started without faults: the layer is off.
    let (mut server, addr) = start(quiet_config()).await;
    let out = faults(addr, &["list"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("fault layer: OFF"),
        "{}",
        stdout(&out)
    );

    // A patch while off says it will not act; --enable turns the layer on.
    let out = faults(
        addr,
        &[
            "patch",
            "duplicate_messages",
            "probability=1",
            "message_types=PONG",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("warning: the fault layer is off"),
        "{}",
        stdout(&out)
    );
    let out = faults(
        addr,
        &[
            "patch",
            "duplicate_messages",
            "probability=1",
            "message_types=PONG",
            "--enable",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains("warning"), "{}", stdout(&out));
    let (_, config) = admin(addr, "GET", "/admin/faults", None).await;
    assert_eq!(config["enabled"], true);
    assert_eq!(config["modes"]["duplicate_messages"]["probability"], 1.0);
    assert_eq!(
        config["modes"]["duplicate_messages"]["message_types"],
        json!(["PONG"])
    );

    // The table lists it; --json is the server's own JSON.
    let out = faults(addr, &["list"]).await;
    let table = stdout(&out);
    assert!(table.starts_with("fault layer: on"), "{table}");
    assert!(table.contains("MODE"), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("duplicate_messages"))
        .expect("a row for the mode");
    assert!(
        row.contains("probability=1.0") && row.contains("message_types=PONG"),
        "{row}"
    );
    let out = faults(addr, &["list", "--json"]).await;
    let listed: Value = serde_json::from_str(&stdout(&out)).expect("--json is JSON");
    assert_eq!(listed, config);
    let out = faults(addr, &["show", "duplicate_messages"]).await;
    assert!(stdout(&out).contains("max_duplicates"), "{}", stdout(&out));

    // Traffic: two PONGs, each duplicated.
    let mut c = Client::connect(addr).await;
    c.send(json!({"type": "PING", "request_id": 1})).await;
    c.send(json!({"type": "PING", "request_id": 2})).await;
    // Two PONGs and their copies (same seq: read raw, not through the gap check).
    let mut pongs = 0;
    while pongs < 4 {
        use futures_util::StreamExt;
        let frame = tokio::time::timeout(common::WAIT, c.ws.next())
            .await
            .expect("a frame")
            .expect("open")
            .expect("read");
        if frame.is_text() {
            pongs += 1;
        }
    }
    let out = faults(addr, &["stats"]).await;
    let stats = stdout(&out);
    assert!(stats.starts_with("2 fault(s) injected"), "{stats}");
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("duplicated") && l.contains('2')),
        "{stats}"
    );
    let out = faults(addr, &["log", "--mode", "duplicate_messages"]).await;
    let log = stdout(&out);
    assert!(
        log.contains("duplicate_messages") && log.contains("PONG"),
        "{log}"
    );
    assert!(log.trim_end().ends_with("2 entries"), "{log}");
    let out = faults(addr, &["log", "--json", "--limit", "1"]).await;
    let entries: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(entries.as_array().map(Vec::len), Some(1));
    let out = faults(addr, &["connections"]).await;
    assert!(stdout(&out).contains("1 connection(s)"), "{}", stdout(&out));

    // A refused change: exit code 1, the server's code and path.
    let out = faults(addr, &["patch", "drop_messages", "accounts=carol"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("INVALID_FAULT_CONFIG"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("failures.modes.drop_messages.accounts[0]"));
    let out = faults(addr, &["show", "drop_mesages"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean `drop_messages`"),
        "{}",
        stderr(&out)
    );

    // A whole scenario file, then the mode removed, then a reset.
    let file = format!(
        "{}/examples/faults/fill_chaos.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = faults(addr, &["set", &file]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("phantom_fills"), "{}", stdout(&out));
    let out = faults(addr, &["patch", "phantom_fills", "--remove"]).await;
    assert!(
        stdout(&out).contains("phantom_fills removed"),
        "{}",
        stdout(&out)
    );
    let out = faults(addr, &["reset"]).await;
    assert!(out.status.success());
    let (_, stats) = admin(addr, "GET", "/admin/faults/stats", None).await;
    assert_eq!(stats["total_count"], 0);
    server.shutdown().await;

    // Nobody there.
    let out = faults(addr, &["list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
}
