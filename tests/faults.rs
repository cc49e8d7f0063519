//! End-to-end tests of the fault layer: a real server on 127.0.0.1:0, real WebSocket clients, the
//! admin API over HTTP, and the exchange's truth over REST. Clients here record `seq` gaps and
//! repeats instead of asserting them away. Tests synchronise on messages; they sleep only where
//! a fault's own timing is the subject (silence, pauses, scheduled faults), and then assert on
//! order and presence.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{admin, http, limit, quiet_config, rest, start, Client, WAIT};
use exchange_simulator::Config;
use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

// ----- harness -------------------------------------------------------------------------------

/// The quiet test config with `failures` set.
fn config_with(failures: Value) -> Config {
    let mut config = quiet_config();
    config.failures = failures;
    config.validate().expect("valid failures");
    config
}

/// Faults on, no mode yet: tests turn modes on through the admin API.
fn faults_on() -> Config {
    config_with(json!({"enabled": true, "modes": {}}))
}

/// What a client read.
#[derive(Debug)]
enum Got {
    Text(String),
    Close(Option<u16>),
    Error(tungstenite::Error),
    End,
}

/// A WebSocket client that records every frame and its `seq` without judging them.
struct Raw {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_request: u64,
    /// Every `seq` read, in arrival order.
    seqs: Vec<u64>,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("connect");
        Raw {
            ws,
            next_request: 1,
            seqs: Vec::new(),
        }
    }

    async fn login(addr: SocketAddr, account: &str) -> Raw {
        let mut c = Raw::connect(addr).await;
        let answer = c
            .request(
                json!({"type": "LOGIN", "account": account, "api_key": format!("{account}-key")}),
            )
            .await;
        assert_eq!(answer["type"], "LOGGED_IN", "{answer}");
        c
    }

    /// Sends `v` with a fresh request_id, returned.
    async fn send(&mut self, mut v: Value) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        v["request_id"] = json!(id);
        self.ws
            .send(Message::text(v.to_string()))
            .await
            .expect("send");
        id
    }

    /// The next frame (pings and pongs skipped).
    async fn next(&mut self) -> Got {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame");
            match frame {
                None => return Got::End,
                Some(Err(e)) => return Got::Error(e),
                Some(Ok(Message::Text(t))) => return Got::Text(t.to_string()),
                Some(Ok(Message::Close(f))) => return Got::Close(f.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next text frame as JSON (recording its `seq`); corrupted frames are `Value::String`.
    async fn recv(&mut self) -> Value {
        match self.next().await {
            Got::Text(t) => match serde_json::from_str::<Value>(&t) {
                Ok(v) => {
                    if let Some(seq) = v["seq"].as_u64() {
                        self.seqs.push(seq);
                    }
                    v
                }
                Err(_) => Value::String(t),
            },
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Frames until the one answering `id` (returned), with the frames read before it.
    async fn answer(&mut self, id: u64) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let v = self.recv().await;
            if v["request_id"] == json!(id) {
                return (v, before);
            }
            before.push(v);
        }
    }

    async fn request(&mut self, v: Value) -> Value {
        let id = self.send(v).await;
        self.answer(id).await.0
    }
}

async fn patch(addr: SocketAddr, mode: &str, body: Value) {
    let (status, answer) = admin(addr, "PATCH", &format!("/admin/faults/{mode}"), Some(body)).await;
    assert_eq!(status, 200, "{answer}");
}

async fn fault_log(addr: SocketAddr) -> Vec<Value> {
    let (status, log) = admin(addr, "GET", "/admin/faults/log", None).await;
    assert_eq!(status, 200);
    log.as_array().expect("log is a list").clone()
}

fn modes_in(log: &[Value]) -> BTreeSet<String> {
    log.iter()
        .filter_map(|e| e["mode"].as_str().map(str::to_owned))
        .collect()
}

/// Seconds on the server's clock at least `delay` from now: the server's clock started after
/// `before_start`, so it reads less than this.
fn server_time_s(before_start: Instant, delay: Duration) -> f64 {
    (before_start.elapsed() + delay).as_secs_f64()
}

/// The `seq` values missing up to the last seen (a connection's first frame is `seq` 1).
fn missing(seqs: &[u64]) -> Vec<u64> {
    let seen: BTreeSet<u64> = seqs.iter().copied().collect();
    let Some(&hi) = seen.last() else {
        return Vec::new();
    };
    (1..=hi).filter(|s| !seen.contains(s)).collect()
}

/// Sends `n` PINGs, then a GET_BALANCE barrier; returns the frames read up to its answer.
async fn pings_then_barrier(c: &mut Raw, n: usize) -> Vec<Value> {
    for _ in 0..n {
        c.send(json!({"type": "PING"})).await;
    }
    let barrier = c.send(json!({"type": "GET_BALANCE"})).await;
    let (answer, before) = c.answer(barrier).await;
    assert_eq!(answer["type"], "BALANCE_UPDATE", "{answer}");
    before
}

// ----- message faults ------------------------------------------------------------------------

#[tokio::test]
async fn dropped_frames_leave_seq_gaps() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "drop_messages": {"probability": 0.5, "message_types": ["PONG"], "direction": "outbound"}
    }})))
    .await;
    let mut c = Raw::connect(addr).await;
    let before = pings_then_barrier(&mut c, 40).await;
    let pongs = before.iter().filter(|v| v["type"] == "PONG").count();
    assert!(pongs > 0 && pongs < 40, "{pongs} of 40 PONGs arrived");
    assert_eq!(
        missing(&c.seqs).len(),
        40 - pongs,
        "each drop leaves one gap"
    );
    assert!(c.seqs.windows(2).all(|w| w[0] < w[1]), "still in order");
    let stats = server.failure_injector().statistics();
    assert_eq!(
        stats
            .totals
            .get(exchange_simulator::faults::Mode::DropMessages),
        40 - pongs as u64
    );
    server.shutdown().await;
}

#[tokio::test]
async fn duplicated_frames_repeat_their_seq() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "duplicate_messages": {"probability": 0.5, "message_types": ["PONG"]}
    }})))
    .await;
    let mut c = Raw::connect(addr).await;
    let before = pings_then_barrier(&mut c, 30).await;
    let distinct: BTreeSet<u64> = c.seqs.iter().copied().collect();
    assert!(missing(&c.seqs).is_empty(), "a duplicate replaces nothing");
    let repeats = c.seqs.len() - distinct.len();
    assert!(repeats > 0, "some seq repeated: {:?}", c.seqs);
    let ids: BTreeSet<u64> = before
        .iter()
        .filter_map(|v| v["request_id"].as_u64())
        .collect();
    assert_eq!(ids.len(), 30, "every PONG arrived at least once");
    server.shutdown().await;
}

#[tokio::test]
async fn reordered_frames_arrive_out_of_order_and_complete() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "reorder_messages": {"probability": 0.3, "window_size": 4, "message_types": ["PONG"]}
    }})))
    .await;
    let mut c = Raw::connect(addr).await;
    for _ in 0..30 {
        c.send(json!({"type": "PING"})).await;
    }
    let mut ids = BTreeSet::new();
    while ids.len() < 30 {
        let v = c.recv().await;
        assert_eq!(v["type"], "PONG", "{v}");
        ids.insert(v["request_id"].as_u64().unwrap());
    }
    assert!(
        c.seqs.windows(2).any(|w| w[0] > w[1]),
        "some frame overtaken: {:?}",
        c.seqs
    );
    let sorted: BTreeSet<u64> = c.seqs.iter().copied().collect();
    assert_eq!(sorted.len(), 30, "nothing lost or repeated");
    server.shutdown().await;
}

#[tokio::test]
async fn a_damaged_client_frame_is_never_carried_out() {
    // Light damage to every PLACE_ORDER on its way in: many still read as an order, none is one
    // the client sent, so none may trade.
    let (mut server, addr) = start(config_with(json!({"modes": {
        "corrupt_messages": {"probability": 1, "corruption_level": 0.001, "direction": "inbound",
                             "message_types": ["PLACE_ORDER"]}
    }})))
    .await;
    let mut alice = Raw::login(addr, "alice").await;
    for i in 0..60 {
        alice
            .send(
                json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": "BUY",
                         "order_type": "LIMIT", "price": "40000.00", "quantity": "0.10000",
                         "client_order_id": format!("c{i}")}),
            )
            .await;
    }
    let barrier = alice.send(json!({"type": "PING"})).await;
    let (_, before) = alice.answer(barrier).await;
    let answered = before.iter().filter(|v| v["type"] == "ERROR").count();
    let damaged = before
        .iter()
        .filter(|v| {
            v["code"] == "INVALID_MESSAGE"
                && v["message"].as_str().is_some_and(|m| m.contains("damaged"))
        })
        .count();
    assert!(
        damaged > 0,
        "some damaged frames still read as requests: {before:?}"
    );
    assert!(
        before.iter().all(|v| v["type"] != "ORDER_ACK"),
        "{before:?}"
    );
    assert!(answered >= damaged);
    let (status, orders) = rest(addr, "/api/v1/orders", Some("alice-key")).await;
    assert_eq!(status, 200);
    assert_eq!(orders["orders"], json!([]), "nothing was carried out");
    server.shutdown().await;
}

#[tokio::test]
async fn corrupted_frames_are_still_text_frames() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "corrupt_messages": {"probability": 1, "corruption_level": 0.3, "message_types": ["PONG"]}
    }})))
    .await;
    let mut c = Raw::connect(addr).await;
    for _ in 0..10 {
        c.send(json!({"type": "PING"})).await;
    }
    let barrier = c.send(json!({"type": "GET_BALANCE"})).await;
    let mut damaged = 0;
    loop {
        // `next` fails the test on anything but a text frame.
        let Got::Text(text) = c.next().await else {
            panic!("a corrupted frame must stay a text frame");
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(v) if v["request_id"] == json!(barrier) => break,
            Ok(v) if v["type"] == "PONG" && v["seq"].is_u64() && v["request_id"].is_u64() => {
                panic!("an intact PONG: {v}")
            }
            _ => damaged += 1,
        }
    }
    assert_eq!(damaged, 10, "every PONG damaged");
    server.shutdown().await;
}

#[tokio::test]
async fn throttle_reject_answers_rate_limited_with_the_request_id() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "throttle_messages": {"direction": "inbound", "max_messages_per_second": 1, "burst": 3,
                              "action": "reject", "message_types": ["PING"]}
    }})))
    .await;
    let mut c = Raw::connect(addr).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(c.send(json!({"type": "PING"})).await);
    }
    let mut answers = BTreeMap::new();
    while answers.len() < 10 {
        let v = c.recv().await;
        answers.insert(v["request_id"].as_u64().unwrap(), v);
    }
    let limited: Vec<&Value> = answers
        .values()
        .filter(|v| v["type"] == "ERROR" && v["code"] == "RATE_LIMITED")
        .collect();
    let pongs = answers.values().filter(|v| v["type"] == "PONG").count();
    assert!(pongs >= 3, "the burst passes");
    assert_eq!(limited.len() + pongs, 10);
    assert!(!limited.is_empty(), "beyond the burst: RATE_LIMITED");
    server.shutdown().await;
}

#[tokio::test]
async fn delayed_frames_keep_their_order() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "delay_messages": {"min_ms": 1, "max_ms": 40, "message_types": ["PONG"]}
    }})))
    .await;
    let mut c = Raw::connect(addr).await;
    let before = pings_then_barrier(&mut c, 20).await;
    let order: Vec<u64> = before
        .iter()
        .filter_map(|v| v["request_id"].as_u64())
        .collect();
    assert_eq!(order, (1..=20).collect::<Vec<_>>(), "in order, none lost");
    assert!(c.seqs.windows(2).all(|w| w[1] == w[0] + 1), "{:?}", c.seqs);
    let log = fault_log(addr).await;
    assert!(modes_in(&log).contains("delay_messages"));
    server.shutdown().await;
}

// ----- connection faults ---------------------------------------------------------------------

#[tokio::test]
async fn scheduled_clean_disconnect_sends_the_close_code() {
    let before_start = Instant::now();
    let (mut server, addr) = start(faults_on()).await;
    let mut c = Raw::connect(addr).await;
    assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");
    let at = server_time_s(before_start, Duration::from_millis(100));
    patch(
        addr,
        "disconnect",
        json!({"at_s": [at], "clean": true, "close_code": 4001}),
    )
    .await;
    loop {
        match c.next().await {
            Got::Close(code) => {
                assert_eq!(code, Some(4001));
                break;
            }
            Got::Text(_) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    server.shutdown().await;
}

/// Reads until the connection ends; asserts it ended by a TCP reset, without a close frame.
async fn expect_reset(c: &mut Raw) {
    loop {
        match c.next().await {
            Got::Text(_) => continue,
            Got::Close(code) => panic!("a close frame ({code:?}) instead of a reset"),
            Got::End => panic!("an orderly end instead of a reset"),
            Got::Error(tungstenite::Error::Io(e)) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
                return;
            }
            Got::Error(e) => panic!("expected a TCP reset, got {e}"),
        }
    }
}

#[tokio::test]
async fn abrupt_disconnect_is_a_tcp_reset_without_close_frame() {
    let before_start = Instant::now();
    let (mut server, addr) = start(faults_on()).await;
    let mut c = Raw::connect(addr).await;
    assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");
    let at = server_time_s(before_start, Duration::from_millis(100));
    patch(addr, "disconnect", json!({"at_s": [at], "clean": false})).await;
    expect_reset(&mut c).await;
    let log = fault_log(addr).await;
    assert!(modes_in(&log).contains("disconnect"));
    server.shutdown().await;
}

#[tokio::test]
async fn silent_connection_stays_open_then_flows_again() {
    let before_start = Instant::now();
    let (mut server, addr) = start(faults_on()).await;
    let c = Raw::connect(addr).await;
    let at = server_time_s(before_start, Duration::from_millis(250));
    patch(
        addr,
        "silent_connection",
        json!({"at_s": [at], "duration_ms": 500, "direction": "outbound"}),
    )
    .await;
    let (mut sink, mut stream) = c.ws.split();
    const PINGS: u64 = 30;
    // A steady stream of requests across the silence (its timing is the subject here).
    let sender = tokio::spawn(async move {
        for id in 1..=PINGS {
            let ping = json!({"type": "PING", "request_id": id}).to_string();
            sink.send(Message::text(ping)).await.expect("send");
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        sink
    });
    let mut answered = Vec::new();
    let mut seqs = Vec::new();
    while answered.last() != Some(&PINGS) {
        let frame = tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("the connection stays open")
            .expect("not ended")
            .expect("no error");
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            seqs.push(v["seq"].as_u64().unwrap());
            answered.push(v["request_id"].as_u64().unwrap());
        }
    }
    let _sink = sender.await.unwrap();
    let lost: Vec<u64> = (1..=PINGS).filter(|id| !answered.contains(id)).collect();
    assert!(lost.len() >= 3, "a silence: {lost:?}");
    assert!(
        lost.windows(2).all(|w| w[1] == w[0] + 1),
        "one contiguous silence: {lost:?}"
    );
    assert!(
        answered.first() < lost.first(),
        "traffic before the silence"
    );
    assert_eq!(missing(&seqs).len(), lost.len(), "the lost frames had seqs");
    let log = fault_log(addr).await;
    assert!(modes_in(&log).contains("silent_connection"));
    server.shutdown().await;
}

#[tokio::test]
async fn slow_consumer_pause_holds_requests_until_reading_resumes() {
    let before_start = Instant::now();
    let (mut server, addr) = start(faults_on()).await;
    let mut c = Raw::connect(addr).await;
    assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");
    let at = server_time_s(before_start, Duration::from_millis(100));
    patch(
        addr,
        "slow_consumer",
        // Long, so that a slow PATCH on a busy machine still leaves most of it to observe.
        json!({"at_s": [at], "duration_ms": 1500}),
    )
    .await;
    // Into the pause (its timing is the subject).
    tokio::time::sleep(Duration::from_millis(250)).await;
    let log = fault_log(addr).await;
    assert!(modes_in(&log).contains("slow_consumer"), "{log:?}");
    let sent = Instant::now();
    let answer = c.request(json!({"type": "PING"})).await;
    assert_eq!(answer["type"], "PONG", "answered once reading resumes");
    assert!(
        sent.elapsed() >= Duration::from_millis(200),
        "not read during the pause"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn admin_disconnects_a_connection_cleanly_or_abruptly() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut alice = Raw::login(addr, "alice").await;
    let mut anon = Raw::connect(addr).await;
    assert_eq!(anon.request(json!({"type": "PING"})).await["type"], "PONG");
    let (status, list) = admin(addr, "GET", "/admin/connections", None).await;
    assert_eq!(status, 200);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    let alice_row = rows
        .iter()
        .find(|r| r["account"] == "alice")
        .expect("alice listed");
    assert!(alice_row["frames_in"].as_u64().unwrap() >= 1);
    assert!(alice_row["frames_out"].as_u64().unwrap() >= 1);
    assert!(alice_row["address"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    let anon_id = rows.iter().find(|r| r["id"] != alice_row["id"]).unwrap()["id"].clone();
    let (status, _) = admin(
        addr,
        "POST",
        &format!("/admin/connections/{}/disconnect", alice_row["id"]),
        Some(json!({"mode": "clean", "code": 4000})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(matches!(alice.next().await, Got::Close(Some(4000))));
    let (status, _) = admin(
        addr,
        "POST",
        &format!("/admin/connections/{anon_id}/disconnect"),
        Some(json!({"mode": "abrupt"})),
    )
    .await;
    assert_eq!(status, 200);
    expect_reset(&mut anon).await;
    let (status, _) = admin(addr, "POST", "/admin/connections/999/disconnect", None).await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

// ----- exchange faults -----------------------------------------------------------------------

/// alice's resting buy at 40 000.
async fn resting_buy(alice: &mut Raw, client_order_id: &str) -> Value {
    let mut order = limit("BUY", "40000", "0.2");
    order["client_order_id"] = json!(client_order_id);
    let ack = alice.request(order).await;
    assert_eq!(ack["type"], "ORDER_ACK", "{ack}");
    ack
}

#[tokio::test]
async fn phantom_fill_looks_real_but_the_truth_is_untouched() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "phantom_fills": {"mean_interval_s": 0.1, "accounts": ["alice"]}
    }})))
    .await;
    let mut alice = Raw::login(addr, "alice").await;
    let ack = resting_buy(&mut alice, "rest-1").await;
    let fill = loop {
        let v = alice.recv().await;
        if v["type"] == "ORDER_FILL" {
            break v;
        }
    };
    assert_eq!(fill["order_id"], ack["order_id"]);
    assert_eq!(fill["client_order_id"], "rest-1");
    assert_eq!(fill["price"], "40000.00");
    assert_eq!(fill["quantity"], "0.10000", "half the open quantity");
    let (_, fills) = rest(addr, "/api/v1/fills", Some("alice-key")).await;
    let real: Vec<&Value> = fills["fills"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fill_id"] == fill["fill_id"])
        .collect();
    assert!(real.is_empty(), "the phantom's fill_id is no real fill's");
    let (_, orders) = rest(addr, "/api/v1/orders", Some("alice-key")).await;
    let order = &orders["orders"][0];
    assert_eq!(order["status"], "OPEN");
    assert_eq!(order["filled_quantity"], "0.00000");
    server.shutdown().await;
}

/// alice rests a buy, bob sells into it; returns both clients.
async fn cross(addr: SocketAddr) -> (Raw, Raw) {
    let mut alice = Raw::login(addr, "alice").await;
    let mut bob = Raw::login(addr, "bob").await;
    resting_buy(&mut alice, "bid-1").await;
    let ack = bob.request(limit("SELL", "40000", "0.2")).await;
    assert_eq!(ack["type"], "ORDER_ACK", "{ack}");
    (alice, bob)
}

#[tokio::test]
async fn duplicate_fill_repeats_the_fill_id_later() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "duplicate_fills": {"probability": 1, "min_ms": 10, "max_ms": 50, "accounts": ["alice"]}
    }})))
    .await;
    let (mut alice, _bob) = cross(addr).await;
    let mut fills = Vec::new();
    while fills.len() < 2 {
        let v = alice.recv().await;
        if v["type"] == "ORDER_FILL" {
            fills.push(v);
        }
    }
    assert_eq!(fills[0]["fill_id"], fills[1]["fill_id"]);
    assert_ne!(fills[0]["seq"], fills[1]["seq"], "a new frame");
    let (_, truth) = rest(addr, "/api/v1/fills", Some("alice-key")).await;
    assert_eq!(truth["fills"].as_array().unwrap().len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn filters_touch_only_what_they_name() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "drop_messages": {"probability": 1, "message_types": ["ORDER_FILL"], "accounts": ["alice"]}
    }})))
    .await;
    let (mut alice, mut bob) = cross(addr).await;
    let (_, bob_frames) = {
        let id = bob.send(json!({"type": "PING"})).await;
        bob.answer(id).await
    };
    assert!(
        bob_frames.iter().any(|v| v["type"] == "ORDER_FILL"),
        "bob's fill arrives"
    );
    assert!(missing(&bob.seqs).is_empty());
    let id = alice.send(json!({"type": "PING"})).await;
    let (_, alice_frames) = alice.answer(id).await;
    assert!(alice_frames.iter().all(|v| v["type"] != "ORDER_FILL"));
    assert!(
        alice_frames.iter().any(|v| v["type"] == "BALANCE_UPDATE"),
        "other types pass"
    );
    assert_eq!(missing(&alice.seqs).len(), 1, "one gap where the fill was");
    server.shutdown().await;
}

#[tokio::test]
async fn late_cancel_ack_is_overtaken_by_a_later_answer() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "late_cancel_ack": {"probability": 1, "min_ms": 500, "max_ms": 500}
    }})))
    .await;
    let mut alice = Raw::login(addr, "alice").await;
    let ack = resting_buy(&mut alice, "late-1").await;
    let cancel = alice
        .send(json!({"type": "CANCEL_ORDER", "order_id": ack["order_id"]}))
        .await;
    let ping = alice.send(json!({"type": "PING"})).await;
    let mut order = Vec::new();
    while !order.contains(&cancel) {
        let v = alice.recv().await;
        if let Some(id) = v["request_id"].as_u64() {
            order.push(id);
        }
    }
    let pos = |id| order.iter().position(|&x| x == id).unwrap();
    assert!(
        pos(ping) < pos(cancel),
        "the PONG overtook the ORDER_CANCEL"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn lost_cancel_ack_never_arrives_but_the_order_is_cancelled() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "lost_cancel_ack": {"probability": 1}
    }})))
    .await;
    let mut alice = Raw::login(addr, "alice").await;
    let ack = resting_buy(&mut alice, "lost-1").await;
    alice
        .send(json!({"type": "CANCEL_ORDER", "order_id": ack["order_id"]}))
        .await;
    let status = alice
        .send(json!({"type": "GET_ORDER", "client_order_id": "lost-1"}))
        .await;
    let (answer, before) = alice.answer(status).await;
    assert_eq!(answer["status"], "CANCELLED", "{answer}");
    assert!(
        before.iter().all(|v| v["type"] != "ORDER_CANCEL"),
        "{before:?}"
    );
    let (_, orders) = rest(addr, "/api/v1/orders", Some("alice-key")).await;
    assert_eq!(orders["orders"][0]["status"], "CANCELLED");
    server.shutdown().await;
}

#[tokio::test]
async fn reject_orders_answers_exchange_busy_before_the_engine() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "reject_orders": {"probability": 1}
    }})))
    .await;
    let mut alice = Raw::login(addr, "alice").await;
    let answer = alice.request(limit("BUY", "40000", "0.2")).await;
    assert_eq!(answer["type"], "ERROR");
    assert_eq!(answer["code"], "EXCHANGE_BUSY");
    let (_, orders) = rest(addr, "/api/v1/orders", Some("alice-key")).await;
    assert_eq!(orders["orders"], json!([]), "nothing reached the engine");
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_outcome_hides_the_ack_of_an_executed_order() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "unknown_outcome": {"probability": 1}
    }})))
    .await;
    let mut alice = Raw::login(addr, "alice").await;
    let mut order = limit("BUY", "40000", "0.2");
    order["client_order_id"] = json!("maybe-1");
    let answer = alice.request(order).await;
    assert_eq!(answer["type"], "ERROR", "{answer}");
    assert_eq!(answer["code"], "UNKNOWN_OUTCOME");
    assert_eq!(answer["details"]["client_order_id"], "maybe-1");
    let status = alice
        .request(json!({"type": "GET_ORDER", "client_order_id": "maybe-1"}))
        .await;
    assert_eq!(status["type"], "ORDER_STATUS", "{status}");
    assert_eq!(status["status"], "OPEN");
    let (_, orders) = rest(addr, "/api/v1/orders", Some("alice-key")).await;
    assert_eq!(orders["orders"][0]["client_order_id"], "maybe-1");
    server.shutdown().await;
}

#[tokio::test]
async fn an_announced_sequence_gap_restarts_the_stream_with_a_snapshot() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "sequence_gap": {"probability": 1.0, "gap_size": 1, "announce": true,
                         "message_types": ["ORDERBOOK_UPDATE"], "channels": ["ORDERBOOK_L2"]}
    }})))
    .await;
    let mut watcher = Raw::connect(addr).await;
    let id = watcher
        .send(json!({"type": "SUBSCRIBE", "channel": "ORDERBOOK_L2", "symbol": "BTC/USD"}))
        .await;
    let (sub, _) = watcher.answer(id).await;
    assert_eq!(sub["type"], "SUBSCRIBED");
    let first = watcher.recv().await;
    assert_eq!(first["type"], "ORDERBOOK_SNAPSHOT", "{first}");
    let mut alice = Raw::login(addr, "alice").await;
    let ack = alice.request(limit("BUY", "40000", "0.01")).await;
    assert_eq!(ack["type"], "ORDER_ACK");
    // The update is skipped, and the gap is announced instead.
    let reset = watcher.recv().await;
    assert_eq!(reset["type"], "STREAM_RESET", "{reset}");
    assert_eq!(reset["channel"], "ORDERBOOK_L2");
    assert_eq!(reset["symbol"], "BTC/USD");
    let snapshot = watcher.recv().await;
    assert_eq!(snapshot["type"], "ORDERBOOK_SNAPSHOT", "{snapshot}");
    assert!(
        snapshot["sequence"].as_u64() > first["sequence"].as_u64(),
        "a newer book: {snapshot}"
    );
    assert_eq!(snapshot["bids"][0]["price"], "40000.00", "{snapshot}");
    server.shutdown().await;
}

#[tokio::test]
async fn sequence_gap_shows_on_orderbook_l2() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "sequence_gap": {"probability": 0.3, "gap_size": 1, "channels": ["ORDERBOOK_L2"]}
    }})))
    .await;
    let mut watcher = Raw::connect(addr).await;
    let sub = watcher
        .request(json!({"type": "SUBSCRIBE", "channel": "ORDERBOOK_L2", "symbol": "BTC/USD"}))
        .await;
    assert_eq!(sub["type"], "SUBSCRIBED");
    let mut alice = Raw::login(addr, "alice").await;
    for i in 0..12 {
        let ack = alice
            .request(limit("BUY", &format!("{}", 40000 + i * 10), "0.01"))
            .await;
        assert_eq!(ack["type"], "ORDER_ACK");
    }
    let id = watcher.send(json!({"type": "PING"})).await;
    let (_, frames) = watcher.answer(id).await;
    let mut last: Option<u64> = None;
    let mut gaps = 0;
    for v in &frames {
        match v["type"].as_str() {
            Some("ORDERBOOK_SNAPSHOT") => last = v["sequence"].as_u64(),
            Some("ORDERBOOK_UPDATE") => {
                let prev = v["prev_sequence"].as_u64().unwrap();
                if last.is_some_and(|l| l != prev) {
                    gaps += 1;
                }
                last = v["sequence"].as_u64();
            }
            _ => {}
        }
    }
    assert!(gaps > 0, "a book sequence gap: {frames:?}");
    let log = fault_log(addr).await;
    assert!(modes_in(&log).contains("sequence_gap"));
    server.shutdown().await;
}

#[tokio::test]
async fn stale_orderbook_withholds_book_updates_then_delivers_them_late() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "stale_orderbook": {"probability": 1, "duration_ms": 300, "resume": "deliver",
                            "channels": ["ORDERBOOK_L2"]}
    }})))
    .await;
    let mut watcher = Raw::connect(addr).await;
    let sub = watcher
        .request(json!({"type": "SUBSCRIBE", "channel": "ORDERBOOK_L2", "symbol": "BTC/USD"}))
        .await;
    assert_eq!(sub["type"], "SUBSCRIBED");
    let snapshot = watcher.recv().await;
    assert_eq!(snapshot["type"], "ORDERBOOK_SNAPSHOT");
    let mut alice = Raw::login(addr, "alice").await;
    resting_buy(&mut alice, "stale-1").await;
    let ping = watcher.send(json!({"type": "PING"})).await;
    let (pong, before) = watcher.answer(ping).await;
    assert_eq!(pong["type"], "PONG");
    assert!(before.is_empty(), "the book update is withheld: {before:?}");
    let delta = watcher.recv().await;
    assert_eq!(delta["type"], "ORDERBOOK_UPDATE", "delivered late: {delta}");
    assert_eq!(
        delta["prev_sequence"], snapshot["sequence"],
        "late, not lost"
    );
    let log = fault_log(addr).await;
    assert!(modes_in(&log).contains("stale_orderbook"));
    server.shutdown().await;
}

#[tokio::test]
async fn outage_patched_in_and_out_rejects_requests_and_refuses_connections() {
    let (mut server, addr) = start(faults_on()).await;
    let mut c = Raw::connect(addr).await;
    assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");

    patch(addr, "outage", json!({})).await;
    let answer = c.request(json!({"type": "PING"})).await;
    assert_eq!(answer["code"], "EXCHANGE_UNAVAILABLE", "{answer}");
    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await;
    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }

    patch(addr, "outage", Value::Null).await;
    assert_eq!(c.request(json!({"type": "PING"})).await["type"], "PONG");
    let mut again = Raw::connect(addr).await;
    assert_eq!(again.request(json!({"type": "PING"})).await["type"], "PONG");
    server.shutdown().await;
}

// ----- admin API -----------------------------------------------------------------------------

#[tokio::test]
async fn patch_mid_stream_starts_and_stops_a_fault() {
    let (mut server, addr) = start(faults_on()).await;
    let mut c = Raw::connect(addr).await;
    let before = pings_then_barrier(&mut c, 3).await;
    assert_eq!(before.len(), 3, "no fault yet");

    patch(
        addr,
        "drop_messages",
        json!({"probability": 1, "message_types": ["PONG"]}),
    )
    .await;
    let during = pings_then_barrier(&mut c, 3).await;
    assert!(during.is_empty(), "every PONG dropped: {during:?}");

    patch(addr, "drop_messages", json!({"enabled": false})).await;
    let after = pings_then_barrier(&mut c, 3).await;
    assert_eq!(after.len(), 3, "the fault stopped");

    let (_, stats) = admin(addr, "GET", "/admin/faults/stats", None).await;
    assert_eq!(stats["dropped_count"], 3);
    let (status, text) = http(addr, "GET", "/metrics", None, &[]).await;
    assert_eq!(status, 200);
    assert!(text.contains("exchange_faults_enabled 1"), "{text}");
    assert!(
        text.contains("exchange_connections{dialect=\"native\"} 1"),
        "{text}"
    );
    let (status, _) = admin(addr, "POST", "/admin/faults/reset", None).await;
    assert_eq!(status, 200);
    let (_, stats) = admin(addr, "GET", "/admin/faults/stats", None).await;
    assert_eq!(stats["total_count"], 0);
    server.shutdown().await;
}

#[tokio::test]
async fn faults_turned_on_from_rust_reach_an_open_connection_on_its_next_request() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut alice = Raw::login(addr, "alice").await;
    server
        .failure_injector()
        .replace_json(&json!({"modes": {"reject_orders": {"probability": 1}}}))
        .unwrap();
    let answer = alice.request(limit("BUY", "40000", "0.2")).await;
    assert_eq!(answer["code"], "EXCHANGE_BUSY", "{answer}");
    let stats = server.failure_injector().statistics();
    assert_eq!(stats.totals.total(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn one_shot_drops_exactly_the_next_matching_frames() {
    let (mut server, addr) = start(faults_on()).await;
    let mut c = Raw::connect(addr).await;
    let (status, answer) = admin(
        addr,
        "POST",
        "/admin/faults/one_shot",
        Some(json!({"action": "drop", "count": 2, "message_types": ["PONG"]})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let frames = pings_then_barrier(&mut c, 5).await;
    let ids: Vec<u64> = frames
        .iter()
        .filter_map(|v| v["request_id"].as_u64())
        .collect();
    assert_eq!(ids, vec![3, 4, 5]);
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_put_is_refused_with_its_path_and_nothing_changes() {
    let (mut server, addr) = start(config_with(json!({"modes": {
        "drop_messages": {"probability": 0.1}
    }})))
    .await;
    let (_, before) = admin(addr, "GET", "/admin/faults", None).await;
    let (status, error) = admin(
        addr,
        "PUT",
        "/admin/faults",
        Some(json!({"modes": {"delay_messages": {"min_ms": 10},
                              "drop_messages": {"probability": 2}}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], "INVALID_FAULT_CONFIG");
    assert_eq!(error["path"], "failures.modes.drop_messages.probability");
    let (_, after) = admin(addr, "GET", "/admin/faults", None).await;
    assert_eq!(before, after, "nothing applied");
    let (status, error) = admin(
        addr,
        "PATCH",
        "/admin/faults/drop_messages",
        Some(json!({"probabilty": 0.5})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["path"], "failures.modes.drop_messages.probabilty");
    let (status, _) = admin(
        addr,
        "PUT",
        "/admin/faults",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!server.failure_injector().is_enabled());
    server.shutdown().await;
}

#[tokio::test]
async fn every_example_scenario_file_can_be_put_as_it_is() {
    let (mut server, addr) = start(quiet_config()).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/faults");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("examples/faults")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let whole: Value = serde_json::from_str(&text).expect("JSON");
        let (status, wrapped) = admin(addr, "PUT", "/admin/faults", Some(whole.clone())).await;
        assert_eq!(status, 200, "{}: {wrapped}", file.display());
        let (status, bare) = admin(
            addr,
            "PUT",
            "/admin/faults",
            Some(whole["failures"].clone()),
        )
        .await;
        assert_eq!(status, 200, "{}: {bare}", file.display());
        assert_eq!(
            wrapped,
            bare,
            "{}: the file is its failures section",
            file.display()
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn admin_needs_a_token_beyond_loopback() {
    let mut config = quiet_config();
    config.server.host = "0.0.0.0".into();
    let (mut server, bound) = start(config.clone()).await;
    let addr = SocketAddr::from(([127, 0, 0, 1], bound.port()));
    let (status, _) = http(addr, "GET", "/admin/faults", None, &[]).await;
    assert_eq!(status, 403, "no token configured: refused");
    server.shutdown().await;

    config.server.admin_token = Some("s3cret".into());
    let (mut server, bound) = start(config).await;
    let addr = SocketAddr::from(([127, 0, 0, 1], bound.port()));
    let (status, _) = http(addr, "GET", "/admin/faults", None, &[]).await;
    assert_eq!(status, 401);
    let (status, _) = http(
        addr,
        "GET",
        "/admin/faults",
        None,
        &[("X-Admin-Token", "nope")],
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = http(
        addr,
        "GET",
        "/admin/faults",
        None,
        &[("Authorization", "Bearer s3cret")],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = http(
        addr,
        "GET",
        "/metrics",
        None,
        &[("X-Admin-Token", "s3cret")],
    )
    .await;
    assert_eq!(status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_failures_in_the_config_name_their_path() {
    let text = r#"{"failures": {"modes": {"delay_messages": {"min_ms": 50, "max_ms": 10}}}}"#;
    let error = Config::from_json_str(text).expect_err("invalid");
    assert_eq!(error.path, "failures.modes.delay_messages.max_ms");
}

#[test]
fn the_ready_made_scenarios_are_valid_server_configs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/faults");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let config =
            Config::from_json_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!config.failures.is_null());
        checked += 1;
    }
    assert!(checked >= 4);
}

// ----- determinism ---------------------------------------------------------------------------

/// One scripted session under message faults; the fault log without its times.
async fn scripted_session() -> Vec<Value> {
    let (mut server, addr) = start(config_with(json!({"seed": 99, "modes": {
        "drop_messages": {"probability": 0.2, "message_types": ["PING", "PONG"]},
        "duplicate_messages": {"probability": 0.2, "message_types": ["PONG"]},
        "corrupt_messages": {"probability": 0.2, "message_types": ["PONG"], "method": "truncate"},
        "delay_messages": {"probability": 0.3, "min_ms": 1, "max_ms": 20, "message_types": ["PONG"]}
    }})))
    .await;
    let mut alice = Raw::login(addr, "alice").await;
    pings_then_barrier(&mut alice, 40).await;
    let log = fault_log(addr).await;
    server.shutdown().await;
    // The two directions interleave as the scheduler pleases: compare the decisions, sorted.
    let mut decisions: Vec<Value> = log
        .into_iter()
        .map(|mut e| {
            let entry = e.as_object_mut().unwrap();
            entry.remove("time_ms");
            entry.remove("time");
            e
        })
        .collect();
    decisions.sort_by_key(Value::to_string);
    decisions
}

#[tokio::test]
async fn the_same_seed_and_session_give_the_same_fault_log() {
    let first = scripted_session().await;
    let second = scripted_session().await;
    assert!(first.len() > 10, "faults were injected: {first:?}");
    assert_eq!(first, second);
    // Each entry names the key its decision was drawn from: the account, the ordinal of its
    // connection, the mode, the direction and the frame.
    for entry in &first {
        let key = entry["decision_key"].as_str().expect("a decision key");
        let expected = format!(
            "alice#{}/{}/{}/{}",
            entry["connection_ordinal"],
            entry["mode"].as_str().unwrap(),
            entry["direction"].as_str().unwrap(),
            entry["seq"]
        );
        assert_eq!(key, expected);
    }
}

// ----- truth ---------------------------------------------------------------------------------

const TRADERS: [&str; 3] = ["alice", "bob", "carol"];

fn truth_config(failures: Value) -> Config {
    let mut config = Config::from_json_str(
        r#"{
            "server": {"host": "127.0.0.1", "port": 0},
            "exchange": {"market_makers": {"enabled": false}, "taker_flow": {"enabled": false}},
            "accounts": {
                "alice": {"api_key": "alice-key", "balances": {"USD": "100000", "BTC": "10"}},
                "bob": {"api_key": "bob-key", "balances": {"USD": "100000", "BTC": "10"}},
                "carol": {"api_key": "carol-key", "balances": {"USD": "100000", "BTC": "10"}}
            },
            "seed": 11
        }"#,
    )
    .unwrap();
    config.failures = failures;
    config.validate().unwrap();
    config
}

/// Every mode at a high rate (connection faults often, an outage window).
fn chaos() -> Value {
    json!({"modes": {
        "drop_messages": {"probability": 0.2},
        "delay_messages": {"probability": 0.3, "min_ms": 1, "max_ms": 30},
        "duplicate_messages": {"probability": 0.2},
        "reorder_messages": {"probability": 0.2, "window_size": 3, "max_hold_ms": 20},
        "corrupt_messages": {"probability": 0.1},
        "throttle_messages": {"max_messages_per_second": 400, "action": "reject"},
        "disconnect": {"mean_interval_s": 0.4, "clean": false},
        "silent_connection": {"mean_interval_s": 0.5, "duration_ms": 50},
        "slow_consumer": {"mean_interval_s": 0.5, "duration_ms": 50},
        "phantom_fills": {"mean_interval_s": 0.05},
        "duplicate_fills": {"probability": 0.5, "min_ms": 1, "max_ms": 20},
        "late_cancel_ack": {"probability": 0.5, "min_ms": 1, "max_ms": 20},
        "lost_cancel_ack": {"probability": 0.5},
        "reject_orders": {"probability": 0.2},
        "unknown_outcome": {"probability": 0.3},
        "stale_orderbook": {"probability": 0.2, "duration_ms": 30},
        "sequence_gap": {"probability": 0.2},
        "outage": {"start_s": 0.5, "end_s": 0.7}
    }})
}

/// A seeded random order flow from one trader, reconnecting whenever the connection breaks;
/// after each order, with probability `cancel_rate`, it cancels one of its earlier orders (by
/// `client_order_id`), now and then all of them.
async fn trade_randomly(
    addr: SocketAddr,
    account: &'static str,
    seed: u64,
    orders: usize,
    cancel_rate: f64,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sent = 0;
    while sent < orders {
        let Ok((ws, _)) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await else {
            // Refused during the outage: try again (timing is not asserted).
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let (mut sink, mut stream) = ws.split();
        // Read everything so the server never blocks on us; the answers are not trusted.
        let reader = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        let login =
            json!({"type": "LOGIN", "account": account, "api_key": format!("{account}-key")});
        let mut alive = sink.send(Message::text(login.to_string())).await.is_ok();
        while alive && sent < orders {
            let side = if rng.gen_bool(0.5) { "BUY" } else { "SELL" };
            let price = 49_900 + 10 * rng.gen_range(0..20);
            let qty = rng.gen_range(1..=20);
            let tif = if rng.gen_bool(0.2) { "IOC" } else { "GTC" };
            let order = json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": side,
                "order_type": "LIMIT", "price": price.to_string(),
                "quantity": format!("0.{qty:02}"), "time_in_force": tif,
                "client_order_id": format!("{account}-{sent}")});
            alive = sink.send(Message::text(order.to_string())).await.is_ok();
            sent += 1;
            if alive && rng.gen_bool(cancel_rate) {
                let cancel = if rng.gen_bool(0.1) {
                    json!({"type": "CANCEL_ALL"})
                } else {
                    let earlier = rng.gen_range(0..sent);
                    json!({"type": "CANCEL_ORDER", "client_order_id": format!("{account}-{earlier}")})
                };
                alive = sink.send(Message::text(cancel.to_string())).await.is_ok();
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let _ = sink.close().await;
        reader.abort();
    }
}

/// The exchange's truth for `account` over REST, without ids and times: balances, orders and
/// fills as sorted lists of their essential fields.
async fn truth(addr: SocketAddr, account: &str) -> Value {
    let key = format!("{account}-key");
    let (_, balances) = rest(addr, "/api/v1/balances", Some(&key)).await;
    let (_, orders) = rest(addr, "/api/v1/orders", Some(&key)).await;
    let (_, fills) = rest(addr, "/api/v1/fills", Some(&key)).await;
    let pick = |v: &Value, keys: &[&str]| -> Value {
        keys.iter()
            .map(|k| (k.to_string(), v[*k].clone()))
            .collect()
    };
    let mut orders: Vec<Value> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            pick(
                o,
                &[
                    "client_order_id",
                    "symbol",
                    "side",
                    "price",
                    "quantity",
                    "filled_quantity",
                    "status",
                    "time_in_force",
                ],
            )
        })
        .collect();
    orders.sort_by_key(Value::to_string);
    let mut fills: Vec<Value> = fills["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            pick(
                f,
                &[
                    "client_order_id",
                    "side",
                    "price",
                    "quantity",
                    "is_maker",
                    "fee",
                ],
            )
        })
        .collect();
    fills.sort_by_key(Value::to_string);
    json!({"balances": balances["balances"], "orders": orders, "fills": fills})
}

/// Every order the exchange accepted, in the engine's order (by order id), with its owner: the
/// traders, and the anonymous accounts of connections whose LOGIN the faults destroyed (their
/// orders moved the book too).
async fn accepted_orders(addr: SocketAddr) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for account in TRADERS {
        let (_, orders) = rest(addr, "/api/v1/orders", Some(&format!("{account}-key"))).await;
        for o in orders["orders"].as_array().unwrap() {
            all.push((account.to_string(), o.clone()));
        }
    }
    for n in 1.. {
        let account = format!("anon-{n}");
        let (status, orders) = rest(addr, &format!("/api/v1/orders?account={account}"), None).await;
        if status != 200 {
            break;
        }
        for o in orders["orders"].as_array().unwrap() {
            all.push((account.clone(), o.clone()));
        }
    }
    all.sort_by_key(|(_, o)| o["order_id"].as_str().unwrap().parse::<u64>().unwrap());
    all
}

/// Runs every trader's flow of 60 orders (seeds from `first_seed` on), then waits until every
/// connection is gone: nothing held in the fault layer can reach the engine any more, so what
/// REST answers next is one settled state.
async fn trade_until_settled(addr: SocketAddr, first_seed: u64, cancel_rate: f64) {
    let flows: Vec<_> = TRADERS
        .iter()
        .zip(first_seed..)
        .map(|(&account, seed)| tokio::spawn(trade_randomly(addr, account, seed, 60, cancel_rate)))
        .collect();
    for flow in flows {
        flow.await.unwrap();
    }
    loop {
        let (_, list) = admin(addr, "GET", "/admin/connections", None).await;
        if list.as_array().unwrap().is_empty() {
            break;
        }
        tokio::task::yield_now().await;
    }
}

/// A decimal string as an integer of `scale` decimals ("1.5", 3 -> 1500).
fn scaled(text: &str, scale: usize) -> i128 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    assert!(frac.len() <= scale, "{text} has more than {scale} decimals");
    let digits = format!("{whole}{frac:0<scale$}");
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{text} is a decimal"))
}

#[tokio::test]
async fn under_every_fault_with_cancels_every_account_balances_to_the_cent() {
    let (mut server, addr) = start(truth_config(chaos())).await;
    trade_until_settled(addr, 21, 0.4).await;
    let stats = server.failure_injector().statistics();
    for mode in [
        "lost_cancel_ack",
        "late_cancel_ack",
        "unknown_outcome",
        "disconnect",
    ] {
        let count = stats.totals.get(
            faults::Mode::ALL
                .into_iter()
                .find(|m| m.name() == mode)
                .unwrap(),
        );
        assert!(count > 0, "{mode} was injected");
    }
    // USD in 7 decimals (price 2 x quantity 5), BTC in 5.
    const USD: usize = 7;
    const BTC: usize = 5;
    let (mut cancelled, mut filled) = (0, 0);
    for account in TRADERS {
        let key = format!("{account}-key");
        let (_, balances) = rest(addr, "/api/v1/balances", Some(&key)).await;
        let (_, orders) = rest(addr, "/api/v1/orders", Some(&key)).await;
        let (_, fills) = rest(addr, "/api/v1/fills", Some(&key)).await;
        let (mut usd, mut btc) = (scaled("100000", USD), scaled("10", BTC));
        for f in fills["fills"].as_array().unwrap() {
            filled += 1;
            let price = scaled(f["price"].as_str().unwrap(), 2);
            let qty = scaled(f["quantity"].as_str().unwrap(), BTC);
            let fee = f["fee"].as_str().unwrap();
            let (usd_fee, btc_fee) = match f["fee_currency"].as_str().unwrap() {
                "USD" => (scaled(fee, USD), 0),
                _ => (0, scaled(fee, BTC)),
            };
            let sign = if f["side"] == "BUY" { 1 } else { -1 };
            usd -= sign * price * qty + usd_fee;
            btc += sign * qty - btc_fee;
        }
        let (mut usd_held, mut btc_held) = (0, 0);
        for o in orders["orders"].as_array().unwrap() {
            match o["status"].as_str().unwrap() {
                "OPEN" | "PARTIALLY_FILLED" => {
                    let remaining = scaled(o["remaining_quantity"].as_str().unwrap(), BTC);
                    if o["side"] == "BUY" {
                        usd_held += scaled(o["price"].as_str().unwrap(), 2) * remaining;
                    } else {
                        btc_held += remaining;
                    }
                }
                "CANCELLED" => cancelled += 1,
                _ => {}
            }
        }
        let b = &balances["balances"];
        let amount =
            |asset: &str, part: &str, scale| scaled(b[asset][part].as_str().unwrap(), scale);
        let checks = [
            ("USD from the fills", amount("USD", "total", USD), usd),
            ("BTC from the fills", amount("BTC", "total", BTC), btc),
            (
                "USD held by open buys",
                amount("USD", "locked", USD),
                usd_held,
            ),
            (
                "BTC held by open sells",
                amount("BTC", "locked", BTC),
                btc_held,
            ),
            (
                "USD available",
                amount("USD", "available", USD),
                usd - usd_held,
            ),
        ];
        for (what, exchange, expected) in checks {
            assert_eq!(exchange, expected, "{account}: {what}");
        }
    }
    // Cancels race the fills and the faults: how many land varies with timing, that some do not.
    assert!(cancelled > 0, "orders were cancelled: {cancelled}");
    assert!(filled > 10, "orders traded: {filled}");
    server.shutdown().await;
}

#[tokio::test]
async fn under_every_fault_the_truth_equals_a_faultless_replay() {
    let (mut server, addr) = start(truth_config(chaos())).await;
    trade_until_settled(addr, 1, 0.0).await;
    let stats = server.failure_injector().statistics();
    assert!(stats.totals.total() > 50, "faults were injected");
    let accepted = accepted_orders(addr).await;
    assert!(
        accepted.len() > 30,
        "orders went through: {}",
        accepted.len()
    );
    let mut faulty_truth = Vec::new();
    for account in TRADERS {
        faulty_truth.push(truth(addr, account).await);
    }
    server.shutdown().await;

    // The same accepted orders, in the same order, on a server without faults.
    let (mut clean, clean_addr) = start(truth_config(Value::Null)).await;
    let mut clients = BTreeMap::new();
    for account in TRADERS {
        clients.insert(
            account.to_string(),
            Client::login(clean_addr, account).await,
        );
    }
    for (account, o) in &accepted {
        if !clients.contains_key(account) {
            // An anonymous account: a fresh connection opens one with the same default balance.
            clients.insert(account.clone(), Client::connect(clean_addr).await);
        }
        let mut order = json!({"type": "PLACE_ORDER", "symbol": o["symbol"], "side": o["side"],
            "order_type": o["order_type"], "price": o["price"], "quantity": o["quantity"],
            "time_in_force": o["time_in_force"]});
        if o["client_order_id"].is_string() {
            order["client_order_id"] = o["client_order_id"].clone();
        }
        let answer = clients.get_mut(account).unwrap().request(order).await;
        assert_eq!(answer["type"], "ORDER_ACK", "{answer}");
    }
    for (i, account) in TRADERS.iter().enumerate() {
        let replayed = truth(clean_addr, account).await;
        for part in ["balances", "orders", "fills"] {
            assert_eq!(
                replayed[part], faulty_truth[i][part],
                "{account}'s {part}: replayed (left) against faulty (right)"
            );
        }
    }
    clean.shutdown().await;
}
