//! The original simulator's later version, as its users run it: its config file (with
//! `failures.latency` and `failures.modes.rate_limit`) loads, and its documented REST flow works
//! over HTTP: health, symbols, ticker with `last_price`, an order placed and cancelled over REST
//! in a session (`X-Session-ID`), its orders, balance and position, the price history; with the
//! REST faults it had: 429 with escalating bans, and latency.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{admin, http, start, Client, WAIT};
use exchange_simulator::Config;
use serde_json::{json, Value};

/// The original's later config format: its keys only (plus a free port).
fn original_config(failures: Value) -> Config {
    let text = json!({
        "server": {"host": "127.0.0.1", "port": 0, "heartbeat_interval": 30},
        "exchange": {
            "symbols": ["BTC/USD", "ETH/USD"],
            "initial_prices": {"BTC/USD": 50000.0, "ETH/USD": 3000.0},
            "tick_interval": 0.1,
            "default_balance": {"USD": 100000, "BTC": 10, "ETH": 100},
            "pricing_model": {"model_type": "gbm", "drift": 0.0, "volatility": 0.2}
        },
        "failures": failures
    });
    Config::from_json_str(&text.to_string()).expect("the original's config loads")
}

/// An HTTP call in session `session` (`None`: no X-Session-ID), answering status and JSON.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
    session: Option<&str>,
) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = session.map(|s| ("X-Session-ID", s)).into_iter().collect();
    let (status, text) = http(addr, method, path, body.as_ref(), &headers).await;
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, value)
}

#[tokio::test]
async fn the_documented_rest_flow_works() {
    let (mut server, addr) = start(original_config(json!({"enabled": false, "modes": {}}))).await;
    let s = Some("bot-1");

    let (status, health) = call(addr, "GET", "/health", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "crypto-exchange-simulator");

    // The ticker, with the original's fields.
    let (status, ticker) = call(addr, "GET", "/api/v1/ticker?symbol=BTC/USD", None, s).await;
    assert_eq!(status, 200, "{ticker}");
    for key in [
        "symbol",
        "last_price",
        "bid",
        "ask",
        "high_24h",
        "low_24h",
        "volume_24h",
        "timestamp",
    ] {
        assert!(ticker.get(key).is_some(), "ticker has {key}: {ticker}");
    }
    let (status, _) = call(addr, "GET", "/api/v1/ticker?symbol=XRP/USD", None, s).await;
    assert_eq!(status, 404);

    // A limit order far below the market rests: 201, the original's fields.
    let order = json!({"symbol": "BTC/USD", "side": "BUY", "type": "LIMIT",
                       "price": "20000.00", "quantity": "0.5", "time_in_force": "GTC"});
    let (status, placed) = call(addr, "POST", "/api/v1/orders", Some(order), s).await;
    assert_eq!(status, 201, "{placed}");
    for key in [
        "order_id",
        "symbol",
        "side",
        "type",
        "status",
        "price",
        "quantity",
        "filled_quantity",
        "created_at",
    ] {
        assert!(placed.get(key).is_some(), "order has {key}: {placed}");
    }
    assert_eq!(placed["type"], "LIMIT");
    assert_eq!(placed["status"], "OPEN");
    assert_eq!(placed["price"], "20000.00");
    let id = placed["order_id"]
        .as_str()
        .expect("an order id")
        .to_string();

    // It is the session's, and only the session's.
    let (status, got) = call(addr, "GET", &format!("/api/v1/orders/{id}"), None, s).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["order_id"], id.as_str());
    assert!(got["updated_at"].is_string());
    let (status, _) = call(
        addr,
        "GET",
        &format!("/api/v1/orders/{id}"),
        None,
        Some("bot-2"),
    )
    .await;
    assert_eq!(status, 404);
    let (_, listed) = call(
        addr,
        "GET",
        "/api/v1/orders?symbol=BTC/USD&status=OPEN",
        None,
        s,
    )
    .await;
    assert_eq!(listed["orders"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["orders"][0]["order_id"], id.as_str());

    // The funds it holds: 10000 USD of the default 100000.
    let (status, balance) = call(addr, "GET", "/api/v1/balance", None, s).await;
    assert_eq!(status, 200, "{balance}");
    let usd = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
    assert_eq!(usd(&balance["balances"]["USD"]), 100_000.0);
    assert_eq!(usd(&balance["available"]["USD"]), 90_000.0);
    assert_eq!(usd(&balance["locked"]["USD"]), 10_000.0);
    let (status, position) = call(addr, "GET", "/api/v1/position?symbol=BTC/USD", None, s).await;
    assert_eq!(status, 200);
    assert_eq!(
        (position["symbol"].as_str(), position["asset"].as_str()),
        (Some("BTC/USD"), Some("BTC"))
    );
    assert_eq!(usd(&position["quantity"]), 10.0);
    let (status, _) = call(addr, "GET", "/api/v1/position", None, s).await;
    assert_eq!(status, 400);

    // Cancelled over REST; a second cancel is a 404.
    let (status, cancelled) = call(addr, "DELETE", &format!("/api/v1/orders/{id}"), None, s).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(
        (cancelled["order_id"].as_str(), cancelled["status"].as_str()),
        (Some(id.as_str()), Some("cancelled"))
    );
    let (status, again) = call(addr, "DELETE", &format!("/api/v1/orders/{id}"), None, s).await;
    assert_eq!(status, 404);
    assert!(again["error"].is_string());
    let (_, balance) = call(addr, "GET", "/api/v1/balance", None, s).await;
    assert_eq!(usd(&balance["available"]["USD"]), 100_000.0);

    // A market order trades against the synthetic makers, once they quote.
    let deadline = Instant::now() + WAIT;
    while call(addr, "GET", "/api/v1/ticker?symbol=BTC/USD", None, s)
        .await
        .1["bid"]
        .is_null()
    {
        assert!(Instant::now() < deadline, "the makers never quoted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let market = json!({"symbol": "BTC/USD", "side": "SELL", "type": "MARKET", "quantity": 0.01});
    let (status, sold) = call(addr, "POST", "/api/v1/orders", Some(market), s).await;
    assert_eq!(status, 201, "{sold}");
    assert_eq!(sold["status"], "FILLED");
    assert_eq!(sold["filled_quantity"], "0.01000");

    // Bad orders are 400 with the original's `error`.
    for bad in [
        json!({"symbol": "BTC/USD", "side": "BUY", "type": "LIMIT", "quantity": "1"}),
        json!({"symbol": "BTC/USD", "side": "BUY", "quantity": "1"}),
        json!({"symbol": "BTC/USD", "side": "BUY", "type": "LIMIT", "price": "1", "quantity": "1000000"}),
    ] {
        let (status, refused) = call(addr, "POST", "/api/v1/orders", Some(bad.clone()), s).await;
        assert_eq!(status, 400, "{bad}: {refused}");
        assert!(
            refused["error"].is_string() && refused["code"].is_string(),
            "{refused}"
        );
    }

    // Without X-Session-ID: the original's default session.
    let order = json!({"symbol": "ETH/USD", "side": "BUY", "type": "LIMIT", "price": "100", "quantity": "1"});
    let (status, _) = call(addr, "POST", "/api/v1/orders", Some(order), None).await;
    assert_eq!(status, 201);
    let (_, listed) = call(addr, "GET", "/api/v1/orders", None, None).await;
    assert_eq!(listed["session"], "rest-session");
    assert_eq!(listed["orders"].as_array().unwrap().len(), 1);

    // The price history fills once the ticker has ticked.
    let deadline = Instant::now() + WAIT;
    let prices = loop {
        let (status, prices) = call(
            addr,
            "GET",
            "/api/v1/prices?symbol=BTC/USD&limit=5",
            None,
            s,
        )
        .await;
        assert_eq!(status, 200, "{prices}");
        if prices["prices"].as_array().is_some_and(|p| p.len() >= 2) {
            break prices;
        }
        assert!(Instant::now() < deadline, "no price history: {prices}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let sample = &prices["prices"][0];
    for key in ["timestamp", "price", "bid", "ask"] {
        assert!(sample.get(key).is_some(), "{sample}");
    }
    let (status, _) = call(
        addr,
        "GET",
        "/api/v1/prices?symbol=BTC/USD&start=yesterday",
        None,
        s,
    )
    .await;
    assert_eq!(status, 400);
    let (_, none) = call(
        addr,
        "GET",
        "/api/v1/prices?symbol=BTC/USD&end=2000-01-01T00:00:00Z",
        None,
        s,
    )
    .await;
    assert_eq!(none["prices"], json!([]));

    // The native REST ground truth sees the session's account.
    let (_, accounts) = call(addr, "GET", "/api/v1/accounts", None, None).await;
    assert!(
        accounts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["account"] == "bot-1" && a["kind"] == "session"),
        "{accounts}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_order_over_rest_reaches_the_accounts_websocket() {
    let mut config = common::quiet_config();
    config.failures = Value::Null;
    let (mut server, addr) = start(config).await;
    let mut alice = Client::login(addr, "alice").await;
    let order = json!({"symbol": "BTC/USD", "side": "BUY", "type": "LIMIT", "price": "1000", "quantity": "0.1"});
    let headers = [("X-API-KEY", "alice-key")];
    let (status, text) = http(addr, "POST", "/api/v1/orders", Some(&order), &headers).await;
    assert_eq!(status, 201, "{text}");
    let ack = alice.recv_until("ORDER_ACK", &mut Vec::new()).await;
    assert_eq!(ack["price"], "1000.00");
    server.shutdown().await;
}

#[tokio::test]
async fn rest_sessions_are_rate_limited_with_escalating_bans_and_delayed() {
    let failures = json!({
        "enabled": true,
        "latency": {"mode": "stable"},
        "modes": {"rate_limit": {"enabled": true, "baseline_rps": 5,
                                 "wait_period_seconds": 1, "second_violation_ban_seconds": 1}}
    });
    let (mut server, addr) = start(original_config(failures)).await;
    // The latency reaches WebSocket frames as delay_messages.
    let (_, faults) = admin(addr, "GET", "/admin/faults", None).await;
    assert_eq!(
        faults["modes"]["delay_messages"]["distribution"],
        "lognormal"
    );
    assert_eq!(faults["latency"]["mode"], "stable");

    // Every REST request waits a draw before and after: about 45 ms each.
    let began = Instant::now();
    let (status, _) = call(addr, "GET", "/api/v1/symbols", None, Some("calm")).await;
    assert_eq!(status, 200);
    assert!(
        began.elapsed() >= Duration::from_millis(30),
        "{:?}",
        began.elapsed()
    );

    // Over 5 requests a second: 429 with Retry-After, then a ban, then a ban for good.
    let burst = |session: &'static str| async move {
        let mut refused = None;
        for _ in 0..8 {
            let headers = [("X-Session-ID", session)];
            let (status, text) = raw(addr, "/api/v1/balance", &headers).await;
            if status == 429 {
                refused = Some(text);
                break;
            }
            assert_eq!(status, 200, "{text}");
        }
        refused.expect("a 429 within 8 requests")
    };
    let first = burst("greedy").await;
    assert!(first.contains("retry-after: 1"), "{first}");
    assert!(first.contains("\"violation_count\":1"), "{first}");
    // Another session is not affected.
    let (status, _) = call(addr, "GET", "/api/v1/balance", None, Some("polite")).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let second = burst("greedy").await;
    assert!(second.contains("\"violation_count\":2"), "{second}");
    assert!(second.contains("temporarily banned"), "{second}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let third = burst("greedy").await;
    assert!(third.contains("permanently banned"), "{third}");
    assert!(
        !third.contains("retry-after"),
        "no Retry-After for good: {third}"
    );
    // Health checks are never limited; the fault log names the session.
    let (status, _) = raw(addr, "/health", &[("X-Session-ID", "greedy")]).await;
    assert_eq!(status, 200);
    let (_, log) = admin(addr, "GET", "/admin/faults/log?mode=rate_limit", None).await;
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["connection_key"] == "rest:greedy"));
    let (_, stats) = admin(addr, "GET", "/admin/faults/stats", None).await;
    assert!(
        stats["rate_limited_count"].as_u64().unwrap() >= 3,
        "{stats}"
    );
    server.shutdown().await;
}

/// A GET with headers: status and the whole answer (head lower-cased, then body).
async fn raw(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, format!("{}\r\n\r\n{body}", head.to_lowercase()))
}
