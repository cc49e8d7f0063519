//! The admin API as a newcomer meets it: changes that would not act are refused or say so, the
//! README's fault example does what it says, and the fault log tells when and what.

mod common;

use std::net::SocketAddr;

use common::{admin, http, quiet_config, start, Client};
use exchange_simulator::Config;
use serde_json::{json, Value};

/// The quiet test config with `failures` set.
fn config_with(failures: Value) -> Config {
    let mut config = quiet_config();
    config.failures = failures;
    config.validate().expect("valid failures");
    config
}

/// A config file of the repository, on a free port.
fn example(path: &str) -> Config {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::from_file(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    config.server.port = 0;
    config
}

#[tokio::test]
async fn a_filter_naming_an_account_the_server_lacks_is_refused() {
    let (mut server, addr) = start(config_with(json!({"enabled": true, "modes": {}}))).await;
    let (status, answer) = admin(
        addr,
        "PATCH",
        "/admin/faults/drop_messages",
        Some(json!({"probability": 0.2, "accounts": ["alice", "carol"]})),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "INVALID_FAULT_CONFIG");
    assert_eq!(answer["path"], "failures.modes.drop_messages.accounts[1]");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("\"carol\""), "{message}");
    assert!(message.contains("configured: alice, bob"), "{message}");
    let (_, faults) = admin(addr, "GET", "/admin/faults", None).await;
    assert!(
        faults["modes"].get("drop_messages").is_none(),
        "nothing changed"
    );
    // The same for a whole configuration and a one-shot.
    let (status, answer) = admin(
        addr,
        "PUT",
        "/admin/faults",
        Some(json!({"modes": {"disconnect": {"accounts": ["dave"]}}})),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["path"], "failures.modes.disconnect.accounts[0]");
    let (status, answer) = admin(
        addr,
        "POST",
        "/admin/faults/one_shot",
        Some(json!({"action": "drop", "accounts": ["dave"]})),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    // A configured account is fine.
    let (status, answer) = admin(
        addr,
        "PATCH",
        "/admin/faults/drop_messages",
        Some(json!({"probability": 0.2, "accounts": ["alice"]})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("warnings").is_none(), "{answer}");
    server.shutdown().await;

    // flaky_mobile.json configures no account at all: no accounts filter can match.
    let (mut server, addr) = start(example("examples/faults/flaky_mobile.json")).await;
    let (status, answer) = admin(
        addr,
        "PATCH",
        "/admin/faults/drop_messages",
        Some(json!({"probability": 0.2, "accounts": ["alice"]})),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("none is configured"),
        "{answer}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_patch_while_the_layer_is_off_says_it_does_not_act() {
    // Started without `failures`: the layer is off.
    let (mut server, addr) = start(quiet_config()).await;
    let (status, answer) = admin(
        addr,
        "PATCH",
        "/admin/faults/drop_messages",
        Some(json!({"probability": 0.5})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["enabled"], false);
    let warning = answer["warnings"][0].as_str().expect("a warning");
    assert!(warning.contains("the fault layer is off"), "{warning}");
    assert!(warning.contains("PUT /admin/faults"), "{warning}");
    // Turned on, the same PATCH acts and says nothing more.
    let (status, _) = admin(
        addr,
        "PUT",
        "/admin/faults",
        Some(json!({"enabled": true, "modes": {}})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, answer) = admin(
        addr,
        "PATCH",
        "/admin/faults/drop_messages",
        Some(json!({"probability": 0.5})),
    )
    .await;
    assert_eq!(answer["enabled"], true);
    assert!(answer.get("warnings").is_none(), "{answer}");
    server.shutdown().await;
}

/// The Faults section of the README: the config file it starts the server with, and the admin
/// calls it shows (method, path, body).
fn readme_fault_example() -> (String, Vec<(String, String, Value)>) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let section = readme
        .split("\n## Faults\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Faults section");
    let config = section
        .split("--config ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the server's config file")
        .to_string();
    let mut calls = Vec::new();
    for line in section.lines() {
        let Some(rest) = line.trim().strip_prefix("curl -X ") else {
            continue;
        };
        let (method, rest) = rest.split_once(' ').expect("a method");
        let url = rest.split_whitespace().next().expect("a URL");
        let path = url
            .strip_prefix("localhost:8765")
            .expect("the default port");
        let body = rest
            .split_once("-d '")
            .and_then(|(_, b)| b.split_once('\''))
            .map(|(b, _)| serde_json::from_str(b).expect("the body is JSON"))
            .unwrap_or(Value::Null);
        calls.push((method.to_string(), path.to_string(), body));
    }
    (config, calls)
}

#[tokio::test]
async fn the_readme_fault_example_does_what_it_says() {
    let (config, calls) = readme_fault_example();
    assert!(
        calls.iter().any(|(method, _, _)| method == "PATCH"),
        "{calls:?}"
    );
    let server_config = example(&config);
    for (_, path, body) in &calls {
        // An accounts filter acts only on accounts the server has.
        for name in body["accounts"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            assert!(
                server_config.accounts.contains_key(name),
                "{path}: {config} has no account {name:?}, so the mode would never act"
            );
        }
    }
    let (mut server, addr) = start(server_config).await;
    for (method, path, body) in calls {
        let (status, answer) = admin(addr, &method, &path, Some(body.clone())).await;
        assert_eq!(status, 200, "{method} {path}: {answer}");
        assert!(
            answer.get("warnings").is_none(),
            "{method} {path} would not act: {answer}"
        );
        if method == "PATCH" {
            // What was sent is in force, on a layer that is on.
            assert_eq!(answer["enabled"], true, "{answer}");
            let mode = path.rsplit('/').next().unwrap();
            for (key, value) in body.as_object().unwrap() {
                assert_eq!(&answer["modes"][mode][key], value, "{mode}.{key}");
            }
        }
    }
    server.shutdown().await;
}

/// A fresh connection that pinged until `n` were answered, and its id.
async fn ping(addr: SocketAddr, n: usize) -> (Client, u64) {
    let mut c = Client::connect(addr).await;
    for _ in 0..n {
        assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");
    }
    let (_, rows) = admin(addr, "GET", "/admin/connections", None).await;
    let id = rows
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_u64())
        .max()
        .unwrap();
    (c, id)
}

/// How many fault log entries `?query` keeps.
async fn count(addr: SocketAddr, query: &str) -> usize {
    let (status, answer) = admin(addr, "GET", &format!("/admin/faults/log?{query}"), None).await;
    assert_eq!(status, 200, "{query}: {answer}");
    answer.as_array().unwrap().len()
}

#[tokio::test]
async fn the_fault_log_tells_when_and_filters() {
    // Every PONG is delayed by 1 ms: one log entry per answer.
    let failures = json!({"modes": {"delay_messages": {
        "distribution": "fixed", "min_ms": 1, "message_types": ["PONG"]}}});
    let (mut server, addr) = start(config_with(failures)).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (_a, first) = ping(addr, 3).await;
    let (_b, second) = ping(addr, 2).await;
    let (status, text) = http(addr, "GET", "/admin/faults/log", None, &[]).await;
    assert_eq!(status, 200);
    let log: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(log.len(), 5);
    for entry in &log {
        // Wall-clock time, as ISO-8601 UTC, next to the time since start.
        let time = entry["time"].as_str().expect("a wall-clock time");
        assert!(time.ends_with('Z'), "{time}");
        let year: u64 = time[..4].parse().unwrap();
        assert!(year >= 1970 + before / 31_557_600, "{time}");
        assert!(entry["time_ms"].is_u64());
        assert!(entry["decision_key"]
            .as_str()
            .unwrap()
            .contains("/delay_messages/outbound/"));
    }
    assert_eq!(count(addr, &format!("connection={first}")).await, 3);
    assert_eq!(count(addr, &format!("connection={second}")).await, 2);
    assert_eq!(count(addr, &format!("account=anon-{second}")).await, 2);
    assert_eq!(count(addr, "mode=delay_messages").await, 5);
    assert_eq!(count(addr, "mode=drop_messages").await, 0);
    assert_eq!(count(addr, "since=0").await, 5);
    assert_eq!(count(addr, "since=2400-01-01T00:00:00Z").await, 0);
    assert_eq!(count(addr, "limit=2").await, 2);
    // How many entries the ring dropped (none yet), in a header and in the statistics.
    let response = raw_get(addr, "/admin/faults/log").await;
    assert!(response.contains("x-fault-log-dropped: 0"), "{response}");
    let (_, stats) = admin(addr, "GET", "/admin/faults/stats", None).await;
    assert_eq!(stats["log"]["entries"], 5);
    assert_eq!(stats["log"]["dropped"], 0);
    assert_eq!(stats["log"]["capacity"], 10_000);
    // A mistaken filter is a JSON answer naming the parameters.
    let (status, answer) = admin(addr, "GET", "/admin/faults/log?mdoe=x", None).await;
    assert_eq!(status, 400);
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `mode`"));
    let (status, _) = admin(addr, "GET", "/admin/faults/log?since=yesterday", None).await;
    assert_eq!(status, 400);
    server.shutdown().await;
}

/// The raw HTTP answer (head and body), lower-cased, for header checks.
async fn raw_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).to_lowercase()
}
