//! End-to-end tests of recovery: session resume, cancel-on-disconnect, the dead man's switch,
//! slow consumers and the maximum connection age. A real server on 127.0.0.1:0 and real
//! WebSocket clients; every wait is for a message (or for the server's REST ground truth), never
//! a timing assertion.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::*;
use exchange_simulator::Config;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

// ----- helpers ------------------------------------------------------------------------------

/// LOGIN with options; returns the client and the LOGGED_IN answer.
async fn login_with(
    addr: SocketAddr,
    account: &str,
    cancel_on_disconnect: bool,
) -> (Client, Value) {
    let mut c = Client::connect(addr).await;
    let answer = c
        .request(json!({"type": "LOGIN", "account": account,
                        "api_key": format!("{account}-key"),
                        "cancel_on_disconnect": cancel_on_disconnect}))
        .await;
    assert_eq!(answer["type"], "LOGGED_IN", "{answer}");
    (c, answer)
}

/// A PING round trip: every frame before the PONG, in order.
async fn drain(c: &mut Client) -> Vec<Value> {
    let mut seen = Vec::new();
    c.send(json!({"type": "PING", "request_id": "drain"})).await;
    loop {
        let v = c.recv().await;
        if v["type"] == "PONG" && v["request_id"] == "drain" {
            return seen;
        }
        seen.push(v);
    }
}

/// The account_seq of each private event among `frames`.
fn account_seqs(frames: &[Value]) -> Vec<u64> {
    frames
        .iter()
        .filter(|v| v.get("channel").is_none())
        .filter_map(|v| v["account_seq"].as_u64())
        .collect()
}

/// Waits until the server counts `n` open WebSocket connections (it forgets a closed one once
/// the close reaches the engine thread).
async fn until_connections(addr: SocketAddr, n: u64) {
    for _ in 0..10_000 {
        let (_, health) = rest(addr, "/api/v1/health", None).await;
        if health["connections"].as_u64() == Some(n) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the server never counted {n} connections");
}

/// The account's order with this id, from REST (ground truth).
async fn rest_order(addr: SocketAddr, key: &str, order_id: &str) -> Value {
    let (status, order) = rest(addr, &format!("/api/v1/orders/{order_id}"), Some(key)).await;
    assert_eq!(status, 200, "{order}");
    order
}

async fn rest_account_seq(addr: SocketAddr, key: &str) -> u64 {
    let (_, orders) = rest(addr, "/api/v1/orders", Some(key)).await;
    orders["account_seq"].as_u64().expect("account_seq")
}

/// Places a resting limit order and returns its id.
async fn rest_on_book(c: &mut Client, side: &str, price: &str, qty: &str) -> String {
    let ack = c.request(limit(side, price, qty)).await;
    assert_eq!(ack["type"], "ORDER_ACK", "{ack}");
    ack["order_id"].as_str().unwrap().to_string()
}

/// A WebSocket client that stops reading when told: a small receive buffer so that the
/// server's writes block early.
struct SlowClient {
    ws: WebSocketStream<TcpStream>,
    last_seq: u64,
}

impl SlowClient {
    async fn connect(addr: SocketAddr) -> SlowClient {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
            .await
            .unwrap();
        SlowClient { ws, last_seq: 0 }
    }

    async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next text frame (seq checked gap-free), or the close frame's code and reason.
    async fn recv(&mut self) -> Result<Value, (u16, String)> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("connection ended without a close frame")
                .expect("read error");
            match frame {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    let seq = v["seq"].as_u64().unwrap();
                    assert_eq!(seq, self.last_seq + 1, "seq gap before {v}");
                    self.last_seq = seq;
                    return Ok(v);
                }
                Message::Close(frame) => {
                    let frame = frame.expect("a close frame with a code");
                    return Err((u16::from(frame.code), frame.reason.to_string()));
                }
                _ => continue,
            }
        }
    }
}

fn config_with(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = quiet_config();
    config.server.limits.max_messages_per_second = 1_000_000;
    edit(&mut config);
    config.validate().unwrap();
    config
}

// ----- session resume -----------------------------------------------------------------------

#[tokio::test]
async fn resume_replays_what_was_missed_exactly_once_then_continues_live() {
    let (mut server, addr) = start(quiet_config()).await;
    let (mut a1, logged_in) = login_with(addr, "alice", false).await;
    let token = logged_in["resume_token"].as_str().unwrap().to_string();
    let opening = logged_in["account_seq"].as_u64().unwrap();
    let ack = a1.request(limit("BUY", "49000", "0.01")).await;
    let resting = ack["order_id"].as_str().unwrap().to_string();
    let mut seen = vec![ack["account_seq"].as_u64().unwrap()];
    seen.extend(account_seqs(&drain(&mut a1).await));
    let last_seen = *seen.last().unwrap();
    assert_eq!(seen, (opening + 1..=last_seen).collect::<Vec<_>>());
    a1.ws.close(None).await.unwrap();

    // While alice is away: bob fills her order, and she is charged and credited.
    let mut bob = Client::login(addr, "bob").await;
    bob.request(limit("SELL", "49000", "0.01")).await;
    let current = rest_account_seq(addr, "alice-key").await;
    assert!(current > last_seen + 2, "alice missed events");

    let mut a2 = Client::connect(addr).await;
    a2.send(
        json!({"type": "RESUME", "request_id": "r1", "resume_token": token,
                   "last_account_seq": last_seen}),
    )
    .await;
    let mut replayed = Vec::new();
    let resumed = a2.recv_until("RESUMED", &mut replayed).await;
    assert_eq!(resumed["request_id"], "r1");
    assert_eq!(resumed["account"], "alice");
    assert_eq!(resumed["from"], last_seen + 1);
    assert_eq!(resumed["to"], current);
    let replayed_seqs = account_seqs(&replayed);
    assert_eq!(
        replayed_seqs,
        (last_seen + 1..=current).collect::<Vec<_>>(),
        "every missed event once, in order: {replayed:?}"
    );
    assert!(replayed.iter().all(|v| v.get("request_id").is_none()));
    let fill = replayed
        .iter()
        .find(|v| v["type"] == "ORDER_FILL")
        .expect("the fill is replayed");
    assert_eq!(fill["order_id"], resting.as_str());
    let (_, fills) = rest(addr, "/api/v1/fills", Some("alice-key")).await;
    assert_eq!(fills["fills"][0]["fill_id"], fill["fill_id"]);

    // Live again, with the next account_seq.
    let ack = a2.request(limit("BUY", "48000", "0.01")).await;
    assert_eq!(ack["type"], "ORDER_ACK");
    assert_eq!(ack["account_seq"], current + 1);

    // Resuming with nothing missed: an empty range, RESUMED first.
    let now = rest_account_seq(addr, "alice-key").await;
    let mut a3 = Client::connect(addr).await;
    let resumed = a3
        .request(json!({"type": "RESUME", "resume_token": token, "last_account_seq": now}))
        .await;
    assert_eq!(resumed["type"], "RESUMED", "{resumed}");
    assert_eq!(resumed["from"], now + 1);
    assert_eq!(resumed["to"], now);
    assert_eq!(resumed["seq"], 1, "nothing before RESUMED");
    server.shutdown().await;
}

#[tokio::test]
async fn resume_from_the_start_skips_the_opening_deposits() {
    let (mut server, addr) = start(quiet_config()).await;
    let (mut a1, logged_in) = login_with(addr, "alice", false).await;
    let opening = logged_in["account_seq"].as_u64().unwrap();
    assert!(opening > 0, "the opening balances took account_seq");
    rest_on_book(&mut a1, "BUY", "49000", "0.01").await;
    let current = rest_account_seq(addr, "alice-key").await;
    let mut a2 = Client::connect(addr).await;
    a2.send(
        json!({"type": "RESUME", "account": "alice", "api_key": "alice-key",
                   "last_account_seq": 0, "request_id": 1}),
    )
    .await;
    let mut replayed = Vec::new();
    let resumed = a2.recv_until("RESUMED", &mut replayed).await;
    assert_eq!(resumed["from"], opening + 1);
    assert_eq!(
        account_seqs(&replayed),
        (opening + 1..=current).collect::<Vec<_>>()
    );
    assert!(resumed["resume_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    server.shutdown().await;
}

#[tokio::test]
async fn resume_past_a_small_buffer_is_a_gap_and_leaves_the_connection_logged_in() {
    let config = config_with(|c| c.exchange.history.resume_events_per_account = 3);
    let (mut server, addr) = start(config).await;
    let (mut a1, logged_in) = login_with(addr, "alice", false).await;
    let opening = logged_in["account_seq"].as_u64().unwrap();
    for price in ["49000", "48900", "48800"] {
        rest_on_book(&mut a1, "BUY", price, "0.01").await;
    }
    drain(&mut a1).await;
    let current = rest_account_seq(addr, "alice-key").await;
    assert!(
        current >= opening + 6,
        "an ack and a balance update per order"
    );

    let mut a2 = Client::connect(addr).await;
    let gap = a2
        .request(
            json!({"type": "RESUME", "account": "alice", "api_key": "alice-key",
                        "last_account_seq": opening}),
        )
        .await;
    assert_eq!(gap["type"], "ERROR", "{gap}");
    assert_eq!(gap["code"], "RESUME_GAP");
    assert_eq!(gap["details"]["oldest_available"], current - 2);
    assert_eq!(gap["details"]["current"], current);
    // Still logged in: the client rebuilds from the queries, which carry account_seq.
    let orders = a2
        .request(json!({"type": "GET_ORDERS", "status": "OPEN"}))
        .await;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 3);
    assert_eq!(orders["account_seq"], current);
    let ack = a2.request(limit("BUY", "48700", "0.01")).await;
    assert_eq!(ack["account_seq"], current + 1);
    let current = current + 2;
    drain(&mut a2).await;

    // What the buffer still holds can be resumed.
    let mut a3 = Client::connect(addr).await;
    a3.send(
        json!({"type": "RESUME", "account": "alice", "api_key": "alice-key",
                   "last_account_seq": current - 3, "request_id": 1}),
    )
    .await;
    let mut replayed = Vec::new();
    let resumed = a3.recv_until("RESUMED", &mut replayed).await;
    assert_eq!(
        account_seqs(&replayed),
        vec![current - 2, current - 1, current]
    );
    assert_eq!(resumed["from"], current - 2);

    // Ahead of the account: refused.
    let mut a4 = Client::connect(addr).await;
    let ahead = a4
        .request(
            json!({"type": "RESUME", "account": "alice", "api_key": "alice-key",
                        "last_account_seq": current + 5}),
        )
        .await;
    assert_eq!(ahead["code"], "INVALID_FIELD", "{ahead}");
    assert_eq!(ahead["details"]["field"], "last_account_seq");
    assert_eq!(ahead["details"]["current"], current);
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_and_revoked_resume_tokens_are_refused() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut c = Client::connect(addr).await;
    let answer = c
        .request(json!({"type": "RESUME", "resume_token": "nope", "last_account_seq": 0}))
        .await;
    assert_eq!(answer["code"], "INVALID_RESUME_TOKEN", "{answer}");
    let answer = c
        .request(json!({"type": "RESUME", "account": "alice", "api_key": "wrong"}))
        .await;
    assert_eq!(answer["code"], "AUTH_FAILED", "{answer}");
    let answer = c.request(json!({"type": "RESUME"})).await;
    assert_eq!(answer["code"], "MISSING_FIELD", "{answer}");
    // Not bound by the failures: the connection still gets its own anonymous account.
    let balance = c.request(json!({"type": "GET_BALANCE"})).await;
    assert_eq!(balance["type"], "BALANCE_UPDATE");

    // LOGOUT ends the session: its token stops working.
    let (mut a1, logged_in) = login_with(addr, "alice", false).await;
    let token = logged_in["resume_token"].as_str().unwrap().to_string();
    let out = a1.request(json!({"type": "LOGOUT"})).await;
    assert_eq!(out["type"], "LOGGED_OUT");
    let mut a2 = Client::connect(addr).await;
    let answer = a2
        .request(json!({"type": "RESUME", "resume_token": token}))
        .await;
    assert_eq!(answer["code"], "INVALID_RESUME_TOKEN", "{answer}");
    server.shutdown().await;
}

// ----- cancel-on-disconnect -----------------------------------------------------------------

#[tokio::test]
async fn cancel_on_disconnect_fires_when_the_last_protected_connection_drops() {
    let (mut server, addr) = start(quiet_config()).await;
    let (mut a1, logged_in) = login_with(addr, "alice", true).await;
    let token = logged_in["resume_token"].as_str().unwrap().to_string();
    let (mut a2, _) = login_with(addr, "alice", false).await;
    let set = a2
        .request(json!({"type": "SET_CANCEL_ON_DISCONNECT", "cancel_on_disconnect": true}))
        .await;
    assert_eq!(set["type"], "CANCEL_ON_DISCONNECT_SET");
    let order = rest_on_book(&mut a1, "BUY", "49000", "0.01").await;
    let mut seen = account_seqs(&drain(&mut a1).await);
    seen.push(rest_account_seq(addr, "alice-key").await);
    let last_seen = seen.into_iter().max().unwrap();

    // The first protected connection drops: another still protects the account.
    a1.ws.close(None).await.unwrap();
    until_connections(addr, 1).await;
    assert_eq!(
        rest_order(addr, "alice-key", &order).await["status"],
        "OPEN"
    );

    // The last one drops: the orders are cancelled.
    drop(a2);
    until_connections(addr, 0).await;
    let closed = rest_order(addr, "alice-key", &order).await;
    assert_eq!(closed["status"], "CANCELLED", "{closed}");

    // The cancels are in the resume buffer.
    let mut a3 = Client::connect(addr).await;
    a3.send(
        json!({"type": "RESUME", "resume_token": token, "last_account_seq": last_seen,
                   "request_id": 1}),
    )
    .await;
    let mut replayed = Vec::new();
    let resumed = a3.recv_until("RESUMED", &mut replayed).await;
    let cancel = replayed
        .iter()
        .find(|v| v["type"] == "ORDER_CANCEL")
        .expect("the cancel is replayed");
    assert_eq!(cancel["order_id"], order.as_str());
    assert_eq!(cancel["reason"], "CANCEL_ON_DISCONNECT");
    assert_eq!(resumed["to"], rest_account_seq(addr, "alice-key").await);
    server.shutdown().await;
}

#[tokio::test]
async fn logout_then_close_does_not_cancel() {
    let (mut server, addr) = start(quiet_config()).await;
    let (mut a1, _) = login_with(addr, "alice", true).await;
    let order = rest_on_book(&mut a1, "BUY", "49000", "0.01").await;
    let out = a1.request(json!({"type": "LOGOUT"})).await;
    assert_eq!(out["type"], "LOGGED_OUT");
    a1.ws.close(None).await.unwrap();
    until_connections(addr, 0).await;
    assert_eq!(
        rest_order(addr, "alice-key", &order).await["status"],
        "OPEN"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_resumed_connection_can_protect_the_orders() {
    let (mut server, addr) = start(quiet_config()).await;
    let (mut a1, logged_in) = login_with(addr, "alice", false).await;
    let token = logged_in["resume_token"].as_str().unwrap().to_string();
    let order = rest_on_book(&mut a1, "BUY", "49000", "0.01").await;
    drop(a1);
    let mut a2 = Client::connect(addr).await;
    let resumed = a2
        .request(
            json!({"type": "RESUME", "resume_token": token, "cancel_on_disconnect": true,
                        "last_account_seq": rest_account_seq(addr, "alice-key").await}),
        )
        .await;
    assert_eq!(resumed["type"], "RESUMED", "{resumed}");
    assert_eq!(resumed["cancel_on_disconnect"], true);
    drop(a2);
    until_connections(addr, 0).await;
    assert_eq!(
        rest_order(addr, "alice-key", &order).await["status"],
        "CANCELLED"
    );
    server.shutdown().await;
}

// ----- dead man's switch --------------------------------------------------------------------

#[tokio::test]
async fn dead_mans_switch_cancels_everything_when_it_fires() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut a = Client::login(addr, "alice").await;
    let first = rest_on_book(&mut a, "BUY", "49000", "0.01").await;
    let second = rest_on_book(&mut a, "SELL", "51000", "0.01").await;
    let ack = a
        .request(json!({"type": "CANCEL_ALL_AFTER", "timeout_ms": 100}))
        .await;
    assert_eq!(ack["type"], "CANCEL_ALL_AFTER_ACK");
    assert_eq!(ack["armed"], true);
    let mut cancelled = Vec::new();
    while cancelled.len() < 2 {
        let v = a.recv_until("ORDER_CANCEL", &mut Vec::new()).await;
        assert_eq!(v["reason"], "DEAD_MANS_SWITCH");
        cancelled.push(v["order_id"].as_str().unwrap().to_string());
    }
    cancelled.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(cancelled, expected);
    for id in [first, second] {
        assert_eq!(
            rest_order(addr, "alice-key", &id).await["status"],
            "CANCELLED"
        );
    }
    server.shutdown().await;
}

/// Bob's switch is a clock: once it fired, alice's original deadline (shorter) has passed too.
async fn witness_deadline(addr: SocketAddr, timeout_ms: u64) {
    let mut bob = Client::login(addr, "bob").await;
    rest_on_book(&mut bob, "SELL", "52000", "0.01").await;
    bob.request(json!({"type": "CANCEL_ALL_AFTER", "timeout_ms": timeout_ms}))
        .await;
    let v = bob.recv_until("ORDER_CANCEL", &mut Vec::new()).await;
    assert_eq!(v["reason"], "DEAD_MANS_SWITCH");
}

#[tokio::test]
async fn dead_mans_switch_re_arming_postpones_and_zero_disarms() {
    let (mut server, addr) = start(quiet_config()).await;
    let mut a = Client::login(addr, "alice").await;
    let order = rest_on_book(&mut a, "BUY", "49000", "0.01").await;

    // Disarm: armed for 100 ms, disarmed, and after bob's 300 ms switch fired nothing came.
    a.request(json!({"type": "CANCEL_ALL_AFTER", "timeout_ms": 100}))
        .await;
    let off = a
        .request(json!({"type": "CANCEL_ALL_AFTER", "timeout_ms": 0}))
        .await;
    assert_eq!(off["armed"], false);
    witness_deadline(addr, 300).await;
    let frames = drain(&mut a).await;
    assert!(
        frames.iter().all(|v| v["type"] != "ORDER_CANCEL"),
        "{frames:?}"
    );
    assert_eq!(
        rest_order(addr, "alice-key", &order).await["status"],
        "OPEN"
    );

    // Re-arm: 100 ms, then 1500 ms; at bob's 300 ms the order still stands, later it goes.
    a.request(json!({"type": "CANCEL_ALL_AFTER", "timeout_ms": 100}))
        .await;
    a.request(json!({"type": "CANCEL_ALL_AFTER", "timeout_ms": 1500}))
        .await;
    witness_deadline(addr, 300).await;
    let frames = drain(&mut a).await;
    assert!(
        frames.iter().all(|v| v["type"] != "ORDER_CANCEL"),
        "{frames:?}"
    );
    assert_eq!(
        rest_order(addr, "alice-key", &order).await["status"],
        "OPEN"
    );
    let v = a.recv_until("ORDER_CANCEL", &mut Vec::new()).await;
    assert_eq!(v["reason"], "DEAD_MANS_SWITCH");
    assert_eq!(v["order_id"], order.as_str());
    server.shutdown().await;
}

// ----- slow consumers -----------------------------------------------------------------------

/// Makes market data: alice takes 0.00001 from bob's resting ask `ops` times (a trade and a book
/// change each), reading her own events as she goes.
async fn flood(alice: &mut Client, ops: usize) {
    for _ in 0..ops {
        let ack = alice
            .request(
                json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": "BUY",
                            "order_type": "LIMIT", "price": "50000", "quantity": "0.00001",
                            "time_in_force": "IOC"}),
            )
            .await;
        assert_eq!(ack["type"], "ORDER_ACK", "{ack}");
    }
}

/// Bob rests a large ask, then leaves (his events go nowhere).
async fn liquidity(addr: SocketAddr) {
    let mut bob = Client::login(addr, "bob").await;
    rest_on_book(&mut bob, "SELL", "50000", "9").await;
    bob.ws.close(None).await.unwrap();
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_with_1008() {
    let config = config_with(|c| c.server.limits.outbound_queue_frames = 16);
    let (mut server, addr) = start(config).await;
    liquidity(addr).await;
    let mut slow = SlowClient::connect(addr).await;
    for channel in ["ORDERBOOK_L2", "TRADES"] {
        slow.send(json!({"type": "SUBSCRIBE", "channel": channel, "symbol": "BTC/USD"}))
            .await;
    }
    let mut alice = Client::login(addr, "alice").await;
    until_connections(addr, 2).await;
    // The slow client reads nothing until the server has let it go.
    let mut cut = false;
    for _ in 0..200 {
        flood(&mut alice, 100).await;
        let (_, health) = rest(addr, "/api/v1/health", None).await;
        if health["connections"] == 1 {
            cut = true;
            break;
        }
    }
    assert!(cut, "the slow consumer was never cut off");
    loop {
        match slow.recv().await {
            Ok(_) => continue,
            Err((code, reason)) => {
                assert_eq!(code, 1008);
                assert_eq!(reason, "slow consumer");
                break;
            }
        }
    }
    // The others go on.
    assert_eq!(alice.request(json!({"type": "PING"})).await["type"], "PONG");
    server.shutdown().await;
}

/// What a client keeps of the L2 stream and the trades, checking their integrity as it goes.
#[derive(Default)]
struct Streams {
    bids: BTreeMap<String, String>,
    asks: BTreeMap<String, String>,
    book_seq: Option<u64>,
    last_trade_id: Option<u64>,
    awaiting_snapshot: bool,
    l2_resets: usize,
    trade_resets: usize,
}

impl Streams {
    fn apply(&mut self, v: &Value) {
        let levels = |side: &Value, into: &mut BTreeMap<String, String>| {
            for l in side.as_array().unwrap() {
                let price = l["price"].as_str().unwrap().to_string();
                let qty = l["quantity"].as_str().unwrap().to_string();
                if qty.trim_start_matches(['0', '.']).is_empty() {
                    into.remove(&price);
                } else {
                    into.insert(price, qty);
                }
            }
        };
        match (v["type"].as_str().unwrap(), v["channel"].as_str()) {
            ("STREAM_RESET", Some("ORDERBOOK_L2")) => {
                self.l2_resets += 1;
                self.awaiting_snapshot = true;
            }
            ("STREAM_RESET", Some("TRADES")) => {
                self.trade_resets += 1;
                self.last_trade_id = None;
            }
            ("ORDERBOOK_SNAPSHOT", Some("ORDERBOOK_L2")) => {
                self.bids.clear();
                self.asks.clear();
                levels(&v["bids"], &mut self.bids);
                levels(&v["asks"], &mut self.asks);
                self.book_seq = v["sequence"].as_u64();
                self.awaiting_snapshot = false;
            }
            ("ORDERBOOK_UPDATE", Some("ORDERBOOK_L2")) => {
                assert!(
                    !self.awaiting_snapshot,
                    "a delta between reset and snapshot: {v}"
                );
                assert_eq!(
                    v["prev_sequence"].as_u64(),
                    self.book_seq,
                    "a book gap without a STREAM_RESET: {v}"
                );
                levels(&v["bids"], &mut self.bids);
                levels(&v["asks"], &mut self.asks);
                self.book_seq = v["sequence"].as_u64();
            }
            ("TRADE", Some("TRADES")) => {
                let id = v["trade_id"].as_u64().unwrap();
                if let Some(last) = self.last_trade_id {
                    assert_eq!(id, last + 1, "a trade gap without a STREAM_RESET: {v}");
                }
                self.last_trade_id = Some(id);
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_slow_consumer_loses_market_data_and_its_streams_are_reset() {
    let config = config_with(|c| {
        c.server.limits.outbound_queue_frames = 16;
        c.server.limits.slow_consumer = serde_json::from_value(json!("drop_market_data")).unwrap();
    });
    let (mut server, addr) = start(config).await;
    liquidity(addr).await;
    let mut slow = SlowClient::connect(addr).await;
    let mut streams = Streams::default();
    for channel in ["ORDERBOOK_L2", "TRADES"] {
        slow.send(json!({"type": "SUBSCRIBE", "channel": channel, "symbol": "BTC/USD"}))
            .await;
    }
    let mut alice = Client::login(addr, "alice").await;
    let mut ops = 100;
    for round in 0.. {
        assert!(round < 12, "market data was never dropped");
        // The slow client does not read while the market moves...
        flood(&mut alice, ops).await;
        // ...then catches up: everything before its first PONG, then, with room in its queue
        // again, its streams are reset before its second PONG.
        for ping in 0..2 {
            slow.send(json!({"type": "PING", "request_id": ping})).await;
            loop {
                let v = slow.recv().await.expect("still connected");
                if v["type"] == "PONG" {
                    break;
                }
                streams.apply(&v);
            }
        }
        if streams.l2_resets + streams.trade_resets > 0 {
            break;
        }
        ops *= 2;
    }
    // After the resets, the client's book is the exchange's.
    assert!(!streams.awaiting_snapshot);
    let (_, book) = rest(addr, "/api/v1/orderbook?symbol=BTC/USD&depth=1000", None).await;
    assert_eq!(streams.book_seq, book["sequence"].as_u64());
    let asks: BTreeMap<String, String> = book["asks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["price"].as_str().unwrap().into(),
                l["quantity"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(streams.asks, asks);
    // And both streams go on live.
    flood(&mut alice, 1).await;
    let mut got_delta = false;
    let mut got_trade = false;
    while !(got_delta && got_trade) {
        let v = slow.recv().await.expect("still connected");
        streams.apply(&v);
        got_delta |= v["type"] == "ORDERBOOK_UPDATE";
        got_trade |= v["type"] == "TRADE";
    }
    server.shutdown().await;
}

// ----- connection age -----------------------------------------------------------------------

#[tokio::test]
async fn an_old_connection_gets_a_notice_then_is_closed() {
    let config = config_with(|c| c.server.limits.max_connection_age_s = Some(0.5));
    let (mut server, addr) = start(config).await;
    let mut c = Client::login(addr, "alice").await;
    let notice = c.recv_until("SERVER_NOTICE", &mut Vec::new()).await;
    assert_eq!(notice["notice"], "RECONNECT");
    assert_eq!(notice["seconds_left"], 1, "0.05 s, rounded up");
    assert!(notice["message"].as_str().is_some());
    let close = loop {
        match tokio::time::timeout(WAIT, c.ws.next())
            .await
            .expect("timed out")
        {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame"),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 4000);
    assert_eq!(close.reason.as_str(), "connection age");
    server.shutdown().await;
}
