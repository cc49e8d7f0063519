//! End-to-end tests of the native protocol: a real server on 127.0.0.1:0 and real WebSocket
//! clients. Every client checks that `seq` is gap-free on every frame it reads.

mod common;

use common::*;
use serde_json::{json, Value};

fn checksum_of(book: &Value) -> u32 {
    let side = |levels: &Value| -> Vec<String> {
        levels
            .as_array()
            .unwrap()
            .iter()
            .take(10)
            .map(|l| {
                format!(
                    "{}:{}",
                    l["price"].as_str().unwrap(),
                    l["quantity"].as_str().unwrap()
                )
            })
            .collect()
    };
    let mut parts = side(&book["asks"]);
    parts.extend(side(&book["bids"]));
    crc32fast::hash(parts.join("|").as_bytes())
}

/// A local L2 book maintained from a snapshot and deltas, as a client would.
#[derive(Default)]
struct L2Book {
    bids: std::collections::BTreeMap<i64, String>,
    asks: std::collections::BTreeMap<i64, String>,
    prices: std::collections::HashMap<i64, String>,
    sequence: u64,
}

impl L2Book {
    fn key(price: &str) -> i64 {
        (price.parse::<f64>().unwrap() * 100.0).round() as i64
    }

    fn apply_levels(&mut self, levels: &Value, bids: bool) {
        for l in levels.as_array().unwrap() {
            let price = l["price"].as_str().unwrap();
            let qty = l["quantity"].as_str().unwrap().to_string();
            let key = Self::key(price);
            self.prices.insert(key, price.to_string());
            let side = if bids { &mut self.bids } else { &mut self.asks };
            if qty.trim_start_matches(['0', '.']).is_empty() {
                side.remove(&key);
            } else {
                side.insert(key, qty);
            }
        }
    }

    fn snapshot(v: &Value) -> L2Book {
        let mut b = L2Book::default();
        b.apply_levels(&v["bids"], true);
        b.apply_levels(&v["asks"], false);
        b.sequence = v["sequence"].as_u64().unwrap();
        assert_eq!(
            b.checksum(),
            v["checksum"].as_u64().unwrap() as u32,
            "snapshot checksum"
        );
        b
    }

    fn delta(&mut self, v: &Value) {
        assert_eq!(
            v["prev_sequence"].as_u64().unwrap(),
            self.sequence,
            "book sequence gap: {v}"
        );
        assert_eq!(v["first_sequence"].as_u64().unwrap(), self.sequence + 1);
        self.apply_levels(&v["bids"], true);
        self.apply_levels(&v["asks"], false);
        self.sequence = v["sequence"].as_u64().unwrap();
        assert_eq!(
            self.checksum(),
            v["checksum"].as_u64().unwrap() as u32,
            "delta checksum: {v}"
        );
    }

    fn checksum(&self) -> u32 {
        let fmt = |(k, q): (&i64, &String)| format!("{}:{}", self.prices[k], q);
        let mut parts: Vec<String> = self.asks.iter().take(10).map(fmt).collect();
        parts.extend(self.bids.iter().rev().take(10).map(fmt));
        crc32fast::hash(parts.join("|").as_bytes())
    }
}

#[tokio::test]
async fn ping_is_answered_with_pong_echoing_request_id() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut c = Client::connect(addr).await;
    c.send(json!({"type": "PING", "request_id": "PING1"})).await;
    let pong = c.recv().await;
    assert_eq!(pong["type"], "PONG");
    assert_eq!(pong["request_id"], "PING1");
    assert_eq!(pong["seq"], 1);
    assert!(pong["timestamp"].as_str().unwrap().ends_with('Z'));
    server.shutdown().await;
}

#[tokio::test]
async fn a_cross_between_two_accounts_fills_both_and_prints_everywhere() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut watcher = Client::connect(addr).await;
    let mut firsts = Vec::new();
    for channel in ["TRADES", "ORDERBOOK", "ORDERBOOK_L2"] {
        let sub = watcher
            .request(json!({"type": "SUBSCRIBE", "channel": channel, "symbol": "BTC/USD"}))
            .await;
        assert_eq!(sub["type"], "SUBSCRIBED");
        assert_eq!(sub["channel"], channel);
        if channel != "TRADES" {
            firsts.push(watcher.recv().await);
        }
    }
    // ORDERBOOK starts with its picture, ORDERBOOK_L2 with its snapshot.
    let picture = &firsts[0];
    assert_eq!(
        (picture["type"].as_str(), picture["channel"].as_str()),
        (Some("ORDERBOOK_UPDATE"), Some("ORDERBOOK"))
    );
    let snap = &firsts[1];
    assert_eq!(snap["type"], "ORDERBOOK_SNAPSHOT");
    let mut book = L2Book::snapshot(snap);

    let mut alice = Client::login(addr, "alice").await;
    let mut bob = Client::login(addr, "bob").await;
    let ack = alice
        .request(json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": "SELL", "order_type": "LIMIT",
                        "price": "50000.00", "quantity": "0.5", "client_order_id": "ask-1"}))
        .await;
    assert_eq!(ack["type"], "ORDER_ACK", "{ack}");
    assert_eq!(ack["status"], "OPEN");
    assert_eq!(ack["price"], "50000.00");
    assert_eq!(ack["quantity"], "0.50000");
    assert_eq!(ack["client_order_id"], "ask-1");
    let maker_order = ack["order_id"].as_str().unwrap().to_string();

    let taker_ack = bob.request(limit("BUY", "50010", "0.2")).await;
    assert_eq!(taker_ack["type"], "ORDER_ACK");
    let mut skipped = Vec::new();
    let taker_fill = bob.recv_until("ORDER_FILL", &mut skipped).await;
    assert_eq!(taker_fill["price"], "50000.00", "the maker's price");
    assert_eq!(taker_fill["quantity"], "0.20000");
    assert_eq!(taker_fill["is_maker"], false);
    assert_eq!(taker_fill["status"], "FILLED");
    assert_eq!(taker_fill["fee_currency"], "BTC");
    let maker_fill = alice.recv_until("ORDER_FILL", &mut skipped).await;
    assert_eq!(maker_fill["order_id"], maker_order.as_str());
    assert_eq!(maker_fill["client_order_id"], "ask-1");
    assert_eq!(maker_fill["is_maker"], true);
    assert_eq!(maker_fill["status"], "PARTIALLY_FILLED");
    assert_eq!(maker_fill["filled_quantity"], "0.20000");
    assert_eq!(maker_fill["remaining_quantity"], "0.30000");
    assert_eq!(maker_fill["fee_currency"], "USD");
    assert_eq!(maker_fill["trade_id"], taker_fill["trade_id"]);
    // account_seq is gap-free per account.
    let mut seqs: Vec<u64> = skipped
        .iter()
        .chain([&taker_fill])
        .filter(|v| v["account_seq"].is_u64() && v["type"] != "ORDER_FILL" || v == &&taker_fill)
        .filter_map(|v| v["account_seq"].as_u64())
        .collect();
    seqs.dedup();

    // The watcher sees the ask rest, then the trade and the level shrink, on every channel.
    let mut trades = Vec::new();
    let mut pictures = Vec::new();
    while trades.is_empty() || book.sequence < 2 || pictures.len() < 2 {
        let v = watcher.recv().await;
        match (v["type"].as_str().unwrap(), v["channel"].as_str()) {
            ("TRADE", _) => trades.push(v),
            ("ORDERBOOK_UPDATE", Some("ORDERBOOK_L2")) => book.delta(&v),
            ("ORDERBOOK_UPDATE", Some("ORDERBOOK")) => {
                assert_eq!(checksum_of(&v), v["checksum"].as_u64().unwrap() as u32);
                pictures.push(v)
            }
            other => panic!("unexpected {other:?}: {v}"),
        }
    }
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0]["trade_id"], 1);
    assert_eq!(trades[0]["price"], "50000.00");
    assert_eq!(trades[0]["quantity"], "0.20000");
    assert_eq!(trades[0]["taker_side"], "BUY");
    assert_eq!(
        book.asks.values().next().map(String::as_str),
        Some("0.30000")
    );
    let last = pictures.last().unwrap();
    assert_eq!(last["asks"][0]["quantity"], "0.30000");
    assert_eq!(last["bids"].as_array().unwrap().len(), 0);

    // REST agrees with what the WebSocket said.
    let (status, rest_book) = rest(addr, "/api/v1/orderbook?symbol=BTC/USD&depth=5", None).await;
    assert_eq!(status, 200);
    assert_eq!(rest_book["sequence"].as_u64().unwrap(), book.sequence);
    assert_eq!(
        rest_book["checksum"].as_u64().unwrap() as u32,
        book.checksum()
    );
    let (_, rest_trades) = rest(addr, "/api/v1/trades?symbol=BTC/USD&limit=10", None).await;
    assert_eq!(rest_trades[0]["trade_id"], 1);
    let (_, fills) = rest(addr, "/api/v1/fills", Some("bob-key")).await;
    assert_eq!(fills["fills"][0]["fill_id"], taker_fill["fill_id"]);
    let (_, orders) = rest(
        addr,
        &format!("/api/v1/orders/{maker_order}"),
        Some("alice-key"),
    )
    .await;
    assert_eq!(orders["status"], "PARTIALLY_FILLED");
    assert_eq!(orders["remaining_quantity"], "0.30000");
    let ws_balance = bob.request(json!({"type": "GET_BALANCE"})).await;
    let (_, rest_balance) = rest(addr, "/api/v1/balances", Some("bob-key")).await;
    assert_eq!(ws_balance["balances"], rest_balance["balances"]);
    assert_eq!(ws_balance["account_seq"], rest_balance["account_seq"]);
    server.shutdown().await;
}

#[tokio::test]
async fn private_events_carry_a_gap_free_account_seq() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut alice = Client::login(addr, "alice").await;
    let mut bob = Client::login(addr, "bob").await;
    let start = alice.request(json!({"type": "GET_BALANCE"})).await["account_seq"]
        .as_u64()
        .unwrap();
    for i in 0..5 {
        alice
            .send(limit("SELL", &format!("{}", 50000 + i), "0.1"))
            .await;
    }
    bob.send(limit("BUY", "50010", "0.35")).await;
    alice.send(json!({"type": "CANCEL_ALL"})).await;
    let mut expected = start + 1;
    loop {
        let v = alice.recv().await;
        if let Some(seq) = v["account_seq"].as_u64() {
            if v["type"] == "CANCEL_ALL_ACK" {
                assert_eq!(seq, expected - 1);
                break;
            }
            assert_eq!(seq, expected, "account_seq gap at {v}");
            expected += 1;
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn every_request_type_has_its_answer() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut c = Client::login(addr, "alice").await;
    let ack = c.request(limit("BUY", "49000", "0.1")).await;
    assert_eq!(ack["type"], "ORDER_ACK");
    let id = ack["order_id"].as_str().unwrap().to_string();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"type": "GET_ORDER", "order_id": id}), "ORDER_STATUS"),
        (
            json!({"type": "GET_ORDERS", "symbol": "BTC/USD", "status": "OPEN"}),
            "ORDERS",
        ),
        (json!({"type": "GET_BALANCE"}), "BALANCE_UPDATE"),
        (
            json!({"type": "GET_POSITION", "symbol": "BTC/USD"}),
            "POSITION_UPDATE",
        ),
        (
            json!({"type": "GET_ORDERBOOK", "symbol": "BTC/USD", "depth": 5}),
            "ORDERBOOK_SNAPSHOT",
        ),
        (json!({"type": "GET_FILLS"}), "FILLS"),
        (
            json!({"type": "AMEND_ORDER", "order_id": id, "quantity": "0.05"}),
            "ORDER_AMENDED",
        ),
        (
            json!({"type": "CANCEL_ORDER", "order_id": id}),
            "ORDER_CANCEL",
        ),
        (
            json!({"type": "CANCEL_ALL", "symbol": "BTC/USD"}),
            "CANCEL_ALL_ACK",
        ),
        (
            json!({"type": "CANCEL_ALL_AFTER", "timeout_ms": 0}),
            "CANCEL_ALL_AFTER_ACK",
        ),
        (
            json!({"type": "SUBSCRIBE", "channel": "TICKER", "symbol": "ETH/USD"}),
            "SUBSCRIBED",
        ),
        (
            json!({"type": "UNSUBSCRIBE", "channel": "TICKER", "symbol": "ETH/USD"}),
            "UNSUBSCRIBED",
        ),
        (json!({"type": "PING"}), "PONG"),
        (json!({"type": "LOGOUT"}), "LOGGED_OUT"),
    ];
    for (request, answer_type) in cases {
        let answer = c.request(request.clone()).await;
        assert_eq!(answer["type"], answer_type, "{request} -> {answer}");
    }
    let orders = c.request(json!({"type": "GET_ORDERS"})).await;
    assert!(orders["orders"].as_array().unwrap().is_empty() || orders["type"] == "ORDERS");
    server.shutdown().await;
}

#[tokio::test]
async fn amend_keeps_priority_and_cancel_reports_the_reason() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut alice = Client::login(addr, "alice").await;
    let mut bob = Client::login(addr, "bob").await;
    let first = alice.request(limit("SELL", "50000", "0.5")).await;
    let second = bob.request(limit("SELL", "50000", "0.5")).await;
    let amended = alice
        .request(json!({"type": "AMEND_ORDER", "order_id": first["order_id"], "quantity": "0.2"}))
        .await;
    assert_eq!(amended["type"], "ORDER_AMENDED");
    assert_eq!(amended["remaining_quantity"], "0.20000");
    let up = alice
        .request(json!({"type": "AMEND_ORDER", "order_id": first["order_id"], "quantity": "0.9"}))
        .await;
    assert_eq!(up["code"], "INVALID_AMEND");
    // A buy of 0.2 takes the amended order first: it kept its place.
    let mut taker = Client::connect(addr).await;
    taker.request(limit("BUY", "50000", "0.2")).await;
    let mut skipped = Vec::new();
    let fill = alice.recv_until("ORDER_FILL", &mut skipped).await;
    assert_eq!(fill["order_id"], first["order_id"]);
    assert_eq!(fill["status"], "FILLED");
    let cancel = bob
        .request(json!({"type": "CANCEL_ORDER", "order_id": second["order_id"]}))
        .await;
    assert_eq!(cancel["type"], "ORDER_CANCEL");
    assert_eq!(cancel["status"], "CANCELLED");
    assert_eq!(cancel["reason"], "USER_CANCEL");
    let again = bob
        .request(json!({"type": "CANCEL_ORDER", "order_id": second["order_id"]}))
        .await;
    assert_eq!(again["code"], "ORDER_CLOSED");
    // IOC remainders expire with a reason.
    let ioc = bob
        .request(
            json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT",
                        "price": "40000", "quantity": "0.1", "time_in_force": "IOC"}),
        )
        .await;
    assert_eq!(ioc["type"], "ORDER_ACK");
    let expired = bob.recv_until("ORDER_CANCEL", &mut skipped).await;
    assert_eq!(expired["status"], "EXPIRED");
    assert_eq!(expired["reason"], "IOC_REMAINDER");
    server.shutdown().await;
}

#[tokio::test]
async fn one_account_cannot_touch_another_accounts_orders() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut alice = Client::login(addr, "alice").await;
    let mut bob = Client::login(addr, "bob").await;
    let ack = alice.request(limit("BUY", "49000", "0.1")).await;
    let id = ack["order_id"].clone();
    let missing = json!("999999");
    for target in [id.clone(), missing] {
        let cancel = bob
            .request(json!({"type": "CANCEL_ORDER", "order_id": target}))
            .await;
        let get = bob
            .request(json!({"type": "GET_ORDER", "order_id": target}))
            .await;
        let amend = bob
            .request(json!({"type": "AMEND_ORDER", "order_id": target, "quantity": "0.01"}))
            .await;
        for answer in [&cancel, &get, &amend] {
            assert_eq!(answer["type"], "ERROR");
            assert_eq!(answer["code"], "ORDER_NOT_FOUND");
            assert_eq!(answer["message"], "order not found");
        }
    }
    let orders = bob.request(json!({"type": "GET_ORDERS"})).await;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 0);
    let (_, alice_order) = rest(
        addr,
        &format!("/api/v1/orders/{}", id.as_str().unwrap()),
        Some("bob-key"),
    )
    .await;
    assert_eq!(alice_order["code"], "ORDER_NOT_FOUND");
    let still = alice
        .request(json!({"type": "GET_ORDER", "order_id": id}))
        .await;
    assert_eq!(still["status"], "OPEN");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_the_connection_goes_on() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut c = Client::connect(addr).await;
    let cases: Vec<(&str, &str)> = vec![
        ("this is not json", "INVALID_JSON"),
        ("[1,2,3]", "INVALID_MESSAGE"),
        (r#"{"request_id": 5}"#, "MISSING_FIELD"),
        (r#"{"type": 12, "request_id": 5}"#, "INVALID_FIELD"),
        (
            r#"{"type": "FLY_TO_MOON", "request_id": 5}"#,
            "UNKNOWN_TYPE",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT", "price": "50000"}"#,
            "MISSING_FIELD",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "UP", "order_type": "LIMIT", "price": "1", "quantity": "1"}"#,
            "INVALID_FIELD",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT", "price": 50000, "quantity": "1"}"#,
            "INVALID_FIELD",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT", "price": "abc", "quantity": "1"}"#,
            "INVALID_FIELD",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT", "price": "50000.001", "quantity": "1"}"#,
            "TICK_SIZE",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT", "price": "50000", "quantity": "0.000001"}"#,
            "LOT_SIZE",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT", "price": "-5", "quantity": "1"}"#,
            "NOT_POSITIVE",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT", "price": "99999999999999999999", "quantity": "1"}"#,
            "OVERFLOW",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "DOGE/USD", "side": "BUY", "order_type": "LIMIT", "price": "1", "quantity": "1"}"#,
            "UNKNOWN_SYMBOL",
        ),
        (
            r#"{"type": "PLACE_ORDER", "request_id": 5, "symbol": "BTC/USD", "side": "BUY", "order_type": "LIMIT", "price": "1", "quantity": "1", "client_order_id": "has space"}"#,
            "INVALID_FIELD",
        ),
        (
            r#"{"type": "SUBSCRIBE", "request_id": 5, "channel": "GOSSIP", "symbol": "BTC/USD"}"#,
            "UNKNOWN_CHANNEL",
        ),
        (
            r#"{"type": "UNSUBSCRIBE", "request_id": 5, "channel": "TRADES", "symbol": "BTC/USD"}"#,
            "NOT_SUBSCRIBED",
        ),
        (
            r#"{"type": "CANCEL_ORDER", "request_id": 5, "order_id": "12345"}"#,
            "ORDER_NOT_FOUND",
        ),
        (
            r#"{"type": "CANCEL_ORDER", "request_id": 5}"#,
            "MISSING_FIELD",
        ),
        (
            r#"{"type": "LOGIN", "request_id": 5, "account": "alice", "api_key": "wrong"}"#,
            "AUTH_FAILED",
        ),
    ];
    for (text, code) in cases {
        c.send_text(text).await;
        let answer = c.recv().await;
        assert!(
            answer["type"] == "ERROR" || answer["type"] == "ORDER_REJECT",
            "{text} -> {answer}"
        );
        assert_eq!(answer["code"], code, "{text} -> {answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty());
        if text.contains("\"request_id\": 5") && code != "INVALID_JSON" {
            assert_eq!(answer["request_id"], 5, "{text} -> {answer}");
        }
    }
    // Unknown extra fields are ignored; a binary frame is refused; the connection still works.
    c.send_text(r#"{"type": "PING", "request_id": "x", "extra": {"nested": [1, 2]}}"#)
        .await;
    assert_eq!(c.recv().await["type"], "PONG");
    use futures_util::SinkExt;
    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![
        1u8, 2, 3,
    ]))
    .await
    .unwrap();
    assert_eq!(c.recv().await["code"], "INVALID_MESSAGE");
    // Engine refusals come as ORDER_REJECT and change nothing.
    let reject = c.request(limit("BUY", "50000", "1000")).await;
    assert_eq!(reject["type"], "ORDER_REJECT");
    assert_eq!(reject["code"], "INSUFFICIENT_FUNDS");
    let balance = c.request(json!({"type": "GET_BALANCE"})).await;
    assert_eq!(
        balance["balances"]["USD"]["locked"]
            .as_str()
            .unwrap()
            .trim_end_matches('0'),
        "0."
    );
    let pong = c.request(json!({"type": "PING"})).await;
    assert_eq!(pong["type"], "PONG");
    server.shutdown().await;
}

#[tokio::test]
async fn duplicate_client_order_id_names_the_live_order() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut c = Client::login(addr, "alice").await;
    let mut order = limit("BUY", "49000", "0.1");
    order["client_order_id"] = json!("my-order-1");
    let ack = c.request(order.clone()).await;
    let dup = c.request(order.clone()).await;
    assert_eq!(dup["type"], "ORDER_REJECT");
    assert_eq!(dup["code"], "DUPLICATE_CLIENT_ORDER_ID");
    assert_eq!(dup["details"]["existing_order_id"], ack["order_id"]);
    let by_client = c
        .request(json!({"type": "GET_ORDER", "client_order_id": "my-order-1"}))
        .await;
    assert_eq!(by_client["order_id"], ack["order_id"]);
    let cancel = c
        .request(json!({"type": "CANCEL_ORDER", "client_order_id": "my-order-1"}))
        .await;
    assert_eq!(cancel["type"], "ORDER_CANCEL");
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_frames_close_with_1009_and_others_go_on() {
    let mut config = quiet_config();
    config.server.limits.max_frame_bytes = 1024;
    let (mut server, addr) = start(config).await;
    let mut victim = Client::connect(addr).await;
    let mut bystander = Client::connect(addr).await;
    let big = format!(r#"{{"type":"PING","pad":"{}"}}"#, "x".repeat(4096));
    victim.send_text(&big).await;
    let error = victim.recv().await;
    assert_eq!(error["code"], "MESSAGE_TOO_LARGE", "{error}");
    assert_eq!(victim.close_code().await, Some(1009));
    assert_eq!(
        bystander.request(json!({"type": "PING"})).await["type"],
        "PONG"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_messages_per_second_are_rate_limited() {
    let mut config = quiet_config();
    config.server.limits.max_messages_per_second = 5;
    let (mut server, addr) = start(config).await;
    let mut c = Client::connect(addr).await;
    for i in 0..20 {
        c.send(json!({"type": "PING", "request_id": i})).await;
    }
    let mut limited = 0;
    for _ in 0..20 {
        let v = c.recv().await;
        if v["code"] == "RATE_LIMITED" {
            limited += 1;
        } else {
            assert_eq!(v["type"], "PONG");
        }
    }
    assert!(
        limited >= 1,
        "some of 20 pings in a burst must be refused at 5/s"
    );
    server.shutdown().await;
}

/// Sends every frame in one write, so that the server reads them as one burst.
async fn burst(c: &mut Client, frames: &[String]) {
    use futures_util::SinkExt;
    for frame in frames {
        c.ws.feed(tokio_tungstenite::tungstenite::Message::text(frame.clone()))
            .await
            .expect("feed");
    }
    c.ws.flush().await.expect("flush");
}

#[tokio::test]
async fn rate_limited_answers_leave_after_the_answers_before_them() {
    let mut config = quiet_config();
    config.server.limits.max_messages_per_second = 3;
    let (mut server, addr) = start(config).await;
    let mut c = Client::connect(addr).await;
    for round in 0..3 {
        // A fresh rate window for each round.
        if round > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        let pings: Vec<String> = (1..=5)
            .map(|i| json!({"type": "PING", "request_id": i}).to_string())
            .collect();
        burst(&mut c, &pings).await;
        let mut answers = Vec::new();
        for _ in 0..5 {
            let v = c.recv().await;
            answers.push((
                v["request_id"].clone(),
                v["type"].clone(),
                v["code"].clone(),
            ));
        }
        assert_eq!(
            answers,
            vec![
                (json!(1), json!("PONG"), Value::Null),
                (json!(2), json!("PONG"), Value::Null),
                (json!(3), json!("PONG"), Value::Null),
                (json!(4), json!("ERROR"), json!("RATE_LIMITED")),
                (json!(5), json!("ERROR"), json!("RATE_LIMITED")),
            ],
            "round {round}: answers in request order"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_invalid_frame_is_answered_after_the_requests_before_it() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut c = Client::connect(addr).await;
    let frames = vec![
        json!({"type": "PING", "request_id": 1}).to_string(),
        json!({"type": "GET_BALANCE", "request_id": 2}).to_string(),
        "{not json".to_string(),
        json!({"type": "NO_SUCH_TYPE", "request_id": 4}).to_string(),
        json!({"type": "PING", "request_id": 5}).to_string(),
    ];
    burst(&mut c, &frames).await;
    let mut order = Vec::new();
    while order.len() < 5 {
        let v = c.recv().await;
        if v["type"] == "BALANCE_UPDATE" && v["request_id"].is_null() {
            continue;
        }
        order.push(
            v["code"]
                .as_str()
                .map_or_else(|| v["type"].as_str().unwrap().to_string(), str::to_string),
        );
    }
    assert_eq!(
        order,
        [
            "PONG",
            "BALANCE_UPDATE",
            "INVALID_JSON",
            "UNKNOWN_TYPE",
            "PONG"
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_limit_are_refused_cleanly() {
    let mut config = quiet_config();
    config.server.limits.max_connections = 2;
    let (mut server, addr) = start(config).await;
    let mut a = Client::connect(addr).await;
    let _b = Client::connect(addr).await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503)
        }
        other => panic!("expected HTTP 503, got {:?}", other.map(|_| ())),
    }
    assert_eq!(a.request(json!({"type": "PING"})).await["type"], "PONG");
    server.shutdown().await;
}

#[tokio::test]
async fn login_binds_a_connection_so_a_reconnect_finds_the_same_orders() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut first = Client::login(addr, "alice").await;
    let ack = first.request(limit("BUY", "49000", "0.1")).await;
    drop(first);
    let mut second = Client::login(addr, "alice").await;
    let orders = second
        .request(json!({"type": "GET_ORDERS", "status": "OPEN"}))
        .await;
    assert_eq!(orders["orders"][0]["order_id"], ack["order_id"]);
    // Two connections of one account both receive its private events.
    let mut third = Client::login(addr, "alice").await;
    let cancel = second
        .request(json!({"type": "CANCEL_ORDER", "order_id": ack["order_id"]}))
        .await;
    assert_eq!(cancel["type"], "ORDER_CANCEL");
    let mut skipped = Vec::new();
    let seen = third.recv_until("ORDER_CANCEL", &mut skipped).await;
    assert_eq!(seen["order_id"], ack["order_id"]);
    assert!(
        seen.get("request_id").is_none(),
        "only the asker's copy echoes request_id"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn heartbeat_channel_reports_latest_sequences_during_silence() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut c = Client::connect(addr).await;
    let sub = c
        .request(json!({"type": "SUBSCRIBE", "channel": "HEARTBEAT"}))
        .await;
    assert_eq!(sub["type"], "SUBSCRIBED");
    let mut trader = Client::connect(addr).await;
    trader.request(limit("BUY", "49000", "0.1")).await;
    let beat = c.recv().await;
    assert_eq!(beat["type"], "HEARTBEAT");
    assert_eq!(beat["symbols"]["BTC/USD"]["book_sequence"], 1);
    assert_eq!(beat["symbols"]["BTC/USD"]["trade_id"], 0);
    server.shutdown().await;
}

#[tokio::test]
async fn ticker_carries_best_bid_and_ask() {
    let mut config = quiet_config();
    config.exchange.tick_interval = 0.05;
    let (mut server, addr) = start(config).await;
    let mut c = Client::connect(addr).await;
    c.request(limit("BUY", "49000", "0.1")).await;
    c.request(limit("SELL", "51000", "0.2")).await;
    c.request(json!({"type": "SUBSCRIBE", "channel": "TICKER", "symbol": "BTC/USD"}))
        .await;
    let first = c.recv_until("MARKET_DATA", &mut Vec::new()).await;
    assert_eq!(first["bid"], "49000.00");
    assert_eq!(first["ask"], "51000.00");
    assert_eq!(first["ask_size"], "0.20000");
    let next = c.recv_until("MARKET_DATA", &mut Vec::new()).await;
    assert!(next["sequence_id"].as_u64() > first["sequence_id"].as_u64());
    let (_, t) = rest(addr, "/api/v1/ticker?symbol=BTC/USD", None).await;
    assert_eq!(t["bid"], "49000.00");
    server.shutdown().await;
}

#[tokio::test]
async fn rest_endpoints_answer_and_refuse_clearly() {
    let (mut server, addr) = start(quiet_config()).await;
    let (status, health) = rest(addr, "/api/v1/health", None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (_, symbols) = rest(addr, "/api/v1/symbols", None).await;
    assert_eq!(symbols[0]["symbol"], "BTC/USD");
    assert_eq!(symbols[0]["tick_size"], "0.01");
    assert_eq!(symbols[0]["lot_size"], "0.00001");
    let (status, err) = rest(addr, "/api/v1/orderbook?symbol=NOPE", None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (404, Some("UNKNOWN_SYMBOL"))
    );
    let (status, err) = rest(addr, "/api/v1/balances", None).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("NOT_LOGGED_IN")));
    let (status, err) = rest(addr, "/api/v1/balances", Some("nope")).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("AUTH_FAILED")));
    let (status, err) = rest(addr, "/api/v1/orderbook?symbol=BTC/USD&depth=x", None).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("INVALID_FIELD")));
    // An anonymous account is reachable by name.
    let mut c = Client::connect(addr).await;
    let balance = c.request(json!({"type": "GET_BALANCE"})).await;
    assert_eq!(
        balance["balances"]["USD"]["total"]
            .as_str()
            .unwrap()
            .split('.')
            .next(),
        Some("100000")
    );
    let (status, b) = rest(addr, "/api/v1/balances?account=anon-1", None).await;
    assert_eq!(status, 200);
    assert_eq!(b["balances"], balance["balances"]);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_connections_with_1001() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut c = Client::connect(addr).await;
    assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");
    let closing = tokio::spawn(async move { c.close_code().await });
    server.shutdown().await;
    assert_eq!(closing.await.unwrap(), Some(1001));
}

#[tokio::test]
async fn order_rules_over_the_wire_post_only_fok_ids_logins_and_fills_since() {
    let (mut server, addr) = start(quiet_config()).await;
    // The WebSocket on `/` is the same as on `/ws`.
    let mut alice = Client::connect_to(addr, "/").await;
    let logged = alice
        .request(json!({"type": "LOGIN", "account": "alice", "api_key": "alice-key"}))
        .await;
    assert_eq!(logged["type"], "LOGGED_IN", "{logged}");
    let mut bob = Client::login(addr, "bob").await;
    let ask = bob.request(limit("SELL", "50000", "1")).await;
    assert_eq!(ask["status"], "OPEN", "{ask}");

    // Post-only that would take: refused, nothing placed.
    let mut post_only = limit("BUY", "50000", "0.1");
    post_only["post_only"] = json!(true);
    let refused = alice.request(post_only).await;
    assert_eq!(refused["type"], "ORDER_REJECT", "{refused}");
    assert_eq!(refused["code"], "WOULD_TAKE");

    // FOK for more than the book holds: expires whole, nothing traded.
    let mut fok = limit("BUY", "50000", "2");
    fok["time_in_force"] = json!("FOK");
    let ack = alice.request(fok).await;
    assert_eq!(ack["type"], "ORDER_ACK", "{ack}");
    let closed = alice.recv_until("ORDER_CANCEL", &mut Vec::new()).await;
    assert_eq!(closed["status"], "EXPIRED", "{closed}");
    assert_eq!(closed["reason"], "FOK_UNFILLED");
    assert_eq!(closed["filled_quantity"], "0.00000");

    // A client_order_id longer than 36 characters is a field error.
    let mut long_id = limit("BUY", "49000", "0.1");
    long_id["client_order_id"] = json!("x".repeat(37));
    let error = alice.request(long_id).await;
    assert_eq!(error["type"], "ERROR", "{error}");
    assert_eq!(error["code"], "INVALID_FIELD");
    assert_eq!(error["details"]["field"], "client_order_id");

    // Logged in to alice, LOGIN as bob is refused; alice again is accepted.
    let other = alice
        .request(json!({"type": "LOGIN", "account": "bob", "api_key": "bob-key"}))
        .await;
    assert_eq!(other["code"], "ALREADY_LOGGED_IN", "{other}");
    let again = alice
        .request(json!({"type": "LOGIN", "account": "alice", "api_key": "alice-key"}))
        .await;
    assert_eq!(again["type"], "LOGGED_IN", "{again}");

    // Two fills, then GET_FILLS since the first gives only the second.
    for _ in 0..2 {
        let taken = alice.request(limit("BUY", "50000", "0.3")).await;
        assert_eq!(taken["type"], "ORDER_ACK", "{taken}");
        alice.recv_until("ORDER_FILL", &mut Vec::new()).await;
    }
    let all = alice.request(json!({"type": "GET_FILLS"})).await;
    let fills = all["fills"].as_array().expect("fills");
    assert_eq!(fills.len(), 2, "{all}");
    let first = fills[0]["fill_id"].clone();
    let since = alice
        .request(json!({"type": "GET_FILLS", "since": first}))
        .await;
    let later = since["fills"].as_array().expect("fills");
    assert_eq!(later.len(), 1, "{since}");
    assert_eq!(later[0]["fill_id"], fills[1]["fill_id"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed_after_two_intervals() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = quiet_config();
    config.server.heartbeat_interval = 0.2;
    let (mut server, addr) = start(config).await;
    // A bare WebSocket handshake, then only reading: no pong ever goes back.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(handshake.as_bytes())
        .await
        .expect("handshake");
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = tcp.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed during the handshake");
        received.extend_from_slice(&buf[..n]);
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    assert!(received.starts_with(b"HTTP/1.1 101"), "upgraded");
    let mut frames = received.split_off(head_end);
    let mut pings = 0;
    loop {
        // Server frames are unmasked; pings and the close carry short payloads.
        while frames.len() >= 2 && frames.len() >= 2 + usize::from(frames[1] & 0x7f) {
            let opcode = frames[0] & 0x0f;
            let len = usize::from(frames[1] & 0x7f);
            assert!(len < 126, "only short control frames are expected");
            let payload: Vec<u8> = frames.drain(..2 + len).skip(2).collect();
            match opcode {
                0x9 => pings += 1,
                0x8 => {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    assert_eq!(code, 1001);
                    assert_eq!(&payload[2..], b"heartbeat timeout");
                    assert!(pings >= 1, "pinged before being closed");
                    server.shutdown().await;
                    return;
                }
                other => panic!("unexpected opcode {other}"),
            }
        }
        let n = tcp.read(&mut buf).await.expect("read");
        assert!(n > 0, "the connection ended without a close frame");
        frames.extend_from_slice(&buf[..n]);
    }
}
