//! The `exchange-sim` binary itself: start-up errors, what goes to stdout, and SIGTERM.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;

use common::*;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

fn exchange_sim() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_exchange-sim"));
    command.kill_on_drop(true);
    command
}

/// Runs `exchange-sim serve --config <file with text>` and returns its exit code and stderr.
async fn start_with_config(name: &str, text: &str) -> (Option<i32>, String) {
    let path =
        std::env::temp_dir().join(format!("exchange-sim-{}-{name}.json", std::process::id()));
    std::fs::write(&path, text).expect("write the config");
    let output = exchange_sim()
        .args(["serve", "--port", "0", "--config"])
        .arg(&path)
        .output()
        .await
        .expect("run exchange-sim");
    let _ = std::fs::remove_file(&path);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_bad_configuration_stops_start_up_with_its_key_path_and_exit_code_2() {
    let cases = [
        ("array", "[]", "(top)"),
        ("fields-in-order", r#"[{"host": "127.0.0.1"}]"#, "(top)"),
        ("unknown-key", r#"{"server": {"prot": 1}}"#, "server.prot"),
        (
            "bad-value",
            r#"{"exchange": {"market_step_interval": 0}}"#,
            "exchange.market_step_interval",
        ),
        (
            "bad-fault",
            r#"{"failures": {"modes": {"drop_messages": {"probability": 2}}}}"#,
            "failures.modes.drop_messages.probability",
        ),
    ];
    for (name, text, path) in cases {
        let (code, stderr) = start_with_config(name, text).await;
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.contains(path), "{name}: {stderr:?} names {path}");
    }
}

/// Starts the binary on a free port; stdout is returned for the caller to read on.
async fn start_binary() -> (Child, SocketAddr, BufReader<ChildStdout>) {
    let mut child = exchange_sim()
        .args(["--port", "0", "--seed", "7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn exchange-sim");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = Vec::new();
    loop {
        let mut line = String::new();
        let n = stdout.read_line(&mut line).await.expect("read stdout");
        assert!(n > 0, "exchange-sim ended before listening: {printed:?}");
        if let Some(rest) = line.trim().strip_prefix("exchange-sim: listening on ws://") {
            let addr = rest.trim_end_matches("/ws").parse().expect("an address");
            // The Binance listener's line follows at once.
            let mut binance = String::new();
            stdout.read_line(&mut binance).await.expect("read stdout");
            assert!(
                binance.starts_with("exchange-sim: binance spot on http://"),
                "{binance:?}"
            );
            return (child, addr, stdout);
        }
        printed.push(line);
        // Only the seed line comes first: logs go to stderr.
        assert_eq!(printed.len(), 1, "stdout: {printed:?}");
        assert!(
            printed[0].starts_with("exchange-sim: seed 7"),
            "{printed:?}"
        );
    }
}

#[tokio::test]
async fn sigterm_closes_every_connection_with_1001_and_exits_0() {
    // The close races the engine's own shutdown; a few rounds make a lost close frame show.
    for _ in 0..3 {
        let (mut child, addr, mut stdout) = start_binary().await;
        let mut subscriber = Client::connect(addr).await;
        let answer = subscriber
            .request(json!({"type": "SUBSCRIBE", "channel": "TICKER", "symbol": "BTC/USD"}))
            .await;
        assert_eq!(answer["type"], "SUBSCRIBED", "{answer}");
        let mut trader = Client::connect(addr).await;
        assert_eq!(
            trader.request(json!({"type": "PING"})).await["type"],
            "PONG"
        );
        let pid = child.id().expect("a running child").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(killed.success());
        assert_eq!(subscriber.close_code().await, Some(1001));
        assert_eq!(trader.close_code().await, Some(1001));
        let status = child.wait().await.expect("wait for exchange-sim");
        assert_eq!(status.code(), Some(0));
        let mut rest = String::new();
        while stdout.read_line(&mut rest).await.expect("read stdout") > 0 {}
        assert_eq!(rest, "", "nothing but the start-up lines on stdout");
    }
}

/// Runs `exchange-sim` with `args` to its end (at most [`WAIT`]): exit code, stdout, stderr.
async fn run_to_end(args: &[&str]) -> (Option<i32>, String, String) {
    let output = tokio::time::timeout(WAIT, exchange_sim().args(args).output())
        .await
        .unwrap_or_else(|_| panic!("exchange-sim {args:?} did not end: it ignored its options"))
        .expect("run exchange-sim");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn options_before_serve_are_used_not_dropped() {
    // `--seed 5 serve --port 0`: the seed counts.
    let mut child = exchange_sim()
        .args(["--seed", "5", "serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn exchange-sim");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    tokio::time::timeout(WAIT, stdout.read_line(&mut line))
        .await
        .expect("a seed line")
        .expect("read stdout");
    assert_eq!(line.trim(), "exchange-sim: seed 5");
    let _ = child.kill().await;

    // `--config <missing file> serve`: the file counts, so start-up fails on it.
    let (code, _, stderr) =
        run_to_end(&["--config", "/no/such/typo.json", "serve", "--port", "0"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/no/such/typo.json"), "{stderr}");
}

#[tokio::test]
async fn server_options_elsewhere_or_twice_are_refused_clearly() {
    let (code, _, stderr) = run_to_end(&["--seed", "5", "bench", "engine", "--orders", "10"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--seed only apply to `serve`"), "{stderr}");
    let (code, _, stderr) = run_to_end(&["--port", "1", "serve", "--port", "2"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--port is given twice"), "{stderr}");
}

#[tokio::test]
async fn a_closed_stdout_does_not_stop_the_server() {
    // `exchange-sim --port 0 | head -0`: nobody reads stdout, the pipe is closed before the
    // server says anything. It must serve anyway; its address is in the log on stderr.
    let mut child = exchange_sim()
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "info")
        .spawn()
        .expect("spawn exchange-sim");
    drop(child.stdout.take());
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let addr: SocketAddr = loop {
        let mut line = String::new();
        let n = tokio::time::timeout(WAIT, stderr.read_line(&mut line))
            .await
            .expect("a log line")
            .expect("read stderr");
        assert!(n > 0, "exchange-sim ended: {:?}", child.try_wait());
        if let Some(rest) = line.split("address=").nth(1) {
            let addr = rest.split_whitespace().next().expect("an address");
            break addr.parse().expect("a socket address");
        }
    };
    let mut c = Client::connect(addr).await;
    assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");
    let pid = child.id().expect("a running child").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = child.wait().await.expect("wait for exchange-sim");
    assert_eq!(status.code(), Some(0), "not a panic (101)");
}

/// Reads JSON log lines from `stderr` until one satisfies `wanted`, which is returned.
async fn log_line(
    stderr: &mut BufReader<tokio::process::ChildStderr>,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(WAIT, stderr.read_line(&mut line))
            .await
            .expect("a log line in time")
            .expect("read stderr");
        assert!(n > 0, "the log ended before the line wanted");
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if wanted(&value) {
            return value;
        }
    }
}

#[tokio::test]
async fn json_logs_say_where_it_listens_which_faults_act_and_every_admin_change() {
    let path = std::env::temp_dir().join(format!("exchange-sim-{}-logs.json", std::process::id()));
    std::fs::write(
        &path,
        r#"{"accounts": {"alice": {"api_key": "alice-key"}},
            "failures": {"modes": {"drop_messages": {"probability": 0.01}}}}"#,
    )
    .expect("write the config");
    let mut child = exchange_sim()
        .args(["--port", "0", "--log-format", "json", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "info")
        .spawn()
        .expect("spawn exchange-sim");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let loaded = log_line(&mut stderr, |v| v["message"] == "configuration loaded").await;
    assert_eq!(loaded["source"], path.display().to_string());
    let listening = log_line(&mut stderr, |v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("exchange listening"))
    })
    .await;
    let addr: SocketAddr = listening["address"].as_str().unwrap().parse().unwrap();
    assert!(listening["seed"].is_u64());
    assert_eq!(listening["metrics"], format!("http://{addr}/metrics"));
    let active = log_line(&mut stderr, |v| v["message"] == "fault active").await;
    assert_eq!(active["mode"], "drop_messages");
    assert!(active["settings"].as_str().unwrap().contains("0.01"));

    let (status, _) = admin(
        addr,
        "PATCH",
        "/admin/faults/drop_messages",
        Some(json!({"probability": 0.5, "accounts": ["alice"]})),
    )
    .await;
    assert_eq!(status, 200);
    let change = log_line(&mut stderr, |v| v["message"] == "admin change").await;
    assert_eq!(change["target"], "audit");
    assert_eq!(change["action"], "patch drop_messages");
    assert!(
        change["who"].as_str().unwrap().contains("127.0.0.1"),
        "{change}"
    );
    let before: serde_json::Value =
        serde_json::from_str(change["before"].as_str().unwrap()).unwrap();
    let after: serde_json::Value = serde_json::from_str(change["after"].as_str().unwrap()).unwrap();
    assert_eq!(before["probability"], 0.01);
    assert_eq!(after["probability"], 0.5);
    assert_eq!(after["accounts"], json!(["alice"]));
    // A refused change is in the audit trail too, with the reason.
    let (status, _) = admin(
        addr,
        "PATCH",
        "/admin/faults/drop_messages",
        Some(json!({"accounts": ["carol"]})),
    )
    .await;
    assert_eq!(status, 400);
    let refused = log_line(&mut stderr, |v| v["message"] == "admin change refused").await;
    assert_eq!(refused["path"], "failures.modes.drop_messages.accounts[0]");
    assert!(
        refused["reason"].as_str().unwrap().contains("carol"),
        "{refused}"
    );

    let mut c = Client::connect(addr).await;
    assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");
    drop(c);
    let closed = log_line(&mut stderr, |v| v["message"] == "connection closed").await;
    assert!(closed["reason"].is_string(), "{closed}");
    let _ = child.kill().await;
    let _ = std::fs::remove_file(&path);
}
