//! The Binance Spot dialect end to end: a real server on free ports, requests signed as Binance
//! clients sign them, answers and streams checked against Binance's documented behaviour. (The
//! real client libraries, ccxt, python-binance and freqtrade, run against the release binary in
//! CI: tests/binance/.)

mod common;

use std::net::SocketAddr;

use common::{http_raw, quiet_config, start, Client, WAIT};
use exchange_simulator::{Config, ExchangeServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A quiet exchange with alice's HMAC secret configured.
fn config() -> Config {
    let mut config = quiet_config();
    if let Some(alice) = config.accounts.get_mut("alice") {
        alice.api_secret = Some("alice-secret".into());
    }
    config
}

async fn started(config: Config) -> (ExchangeServer, SocketAddr, SocketAddr) {
    let (server, native) = start(config).await;
    let binance = server.binance_addr().expect("the Binance listener is on");
    (server, native, binance)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `params` with a timestamp and its signature under `secret`.
fn signed(params: &str, secret: &str) -> String {
    let params = format!("{params}&timestamp={}", now_ms());
    let signature = binance::signing::sign(secret, &params);
    format!("{params}&signature={signature}")
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A REST request: `query` in the URL, `form` as the body.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    query: &str,
    form: &str,
    key: Option<&str>,
) -> Reply {
    let path = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(key) = key {
        headers.push(("X-MBX-APIKEY", key));
    }
    let (status, headers, body) = http_raw(addr, method, &path, form, &headers).await;
    let body = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    Reply {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn a_signed_order_trades_and_both_dialects_see_it() {
    let (_server, native, addr) = started(config()).await;
    let info = call(
        addr,
        "GET",
        "/api/v3/exchangeInfo",
        "symbol=BTCUSD",
        "",
        None,
    )
    .await;
    assert_eq!(info.status, 200);
    assert_eq!(
        info.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    let symbol = &info.body["symbols"][0];
    assert_eq!(
        (symbol["symbol"].as_str(), symbol["status"].as_str()),
        (Some("BTCUSD"), Some("TRADING"))
    );
    assert_eq!(symbol["permissionSets"], json!([["SPOT"]]));
    let filters: Vec<&str> = symbol["filters"]
        .as_array()
        .expect("filters")
        .iter()
        .filter_map(|f| f["filterType"].as_str())
        .collect();
    assert_eq!(
        filters,
        ["PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL"]
    );

    // alice watches natively while her Binance client trades.
    let mut alice = Client::login(native, "alice").await;
    let order = signed(
        "symbol=BTCUSD&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.5&price=49000&newClientOrderId=b-1",
        "alice-secret",
    );
    let placed = call(addr, "POST", "/api/v3/order", "", &order, Some("alice-key")).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    assert_eq!(placed.body["status"], "NEW");
    assert_eq!(placed.body["clientOrderId"], "b-1");
    assert_eq!(placed.body["fills"], json!([]));
    assert_eq!(placed.header("x-mbx-order-count-10s"), Some("1"));
    assert!(placed.header("x-mbx-used-weight-1m").is_some());
    let ack = alice.recv_until("ORDER_ACK", &mut Vec::new()).await;
    assert_eq!(ack["client_order_id"], "b-1");
    // The native REST ground truth holds it too.
    let (status, orders) = common::rest(native, "/api/v1/orders", Some("alice-key")).await;
    assert_eq!(status, 200);
    assert!(orders["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .any(|o| o["client_order_id"] == "b-1"));

    // bob (an unknown key: its own account) sells into it with a market order.
    let sell = signed(
        "symbol=BTCUSD&side=SELL&type=MARKET&quantity=0.2",
        "bot-bob",
    );
    let sold = call(addr, "POST", "/api/v3/order", "", &sell, Some("bot-bob")).await;
    assert_eq!(sold.status, 200, "{}", sold.body);
    assert_eq!(sold.body["status"], "FILLED");
    assert_eq!(sold.body["fills"][0]["price"], "49000.00");
    assert_eq!(sold.body["fills"][0]["qty"], "0.20000");

    let query = signed("symbol=BTCUSD&origClientOrderId=b-1", "alice-secret");
    let got = call(addr, "GET", "/api/v3/order", &query, "", Some("alice-key")).await;
    assert_eq!(got.body["status"], "PARTIALLY_FILLED", "{}", got.body);
    assert_eq!(got.body["executedQty"], "0.20000");
    // DELETE with its parameters in the body, as python-binance sends them.
    let cancel = signed("symbol=BTCUSD&origClientOrderId=b-1", "alice-secret");
    let cancelled = call(
        addr,
        "DELETE",
        "/api/v3/order",
        "",
        &cancel,
        Some("alice-key"),
    )
    .await;
    assert_eq!(cancelled.body["status"], "CANCELED", "{}", cancelled.body);
    let again = call(
        addr,
        "DELETE",
        "/api/v3/order",
        "",
        &cancel,
        Some("alice-key"),
    )
    .await;
    assert_eq!(
        (again.status, again.body["code"].as_i64()),
        (400, Some(-2011))
    );
    let trades = signed("symbol=BTCUSD", "bot-bob");
    let mine = call(
        addr,
        "GET",
        "/api/v3/myTrades",
        &trades,
        "",
        Some("bot-bob"),
    )
    .await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1), "{}", mine.body);
    assert_eq!(mine.body[0]["isBuyer"], false);
}

#[tokio::test]
async fn keys_signatures_and_timestamps_are_checked_as_binance_checks_them() {
    let mut config = config();
    config.server.binance.open_accounts = false;
    let (_server, _, addr) = started(config).await;
    let path = "/api/v3/account";
    let good = signed("", "alice-secret");
    let ok = call(addr, "GET", path, &good, "", Some("alice-key")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body["balances"]
        .as_array()
        .is_some_and(|b| !b.is_empty()));
    let code = |r: &Reply| (r.status, r.body["code"].as_i64());
    let bad = signed("", "wrong-secret");
    assert_eq!(
        code(&call(addr, "GET", path, &bad, "", Some("alice-key")).await),
        (400, Some(-1022))
    );
    assert_eq!(
        code(&call(addr, "GET", path, &good, "", None).await),
        (401, Some(-2014))
    );
    let stranger = signed("", "nobody");
    let refused = call(addr, "GET", path, &stranger, "", Some("nobody")).await;
    assert_eq!(code(&refused), (401, Some(-2015)));
    let old = format!("timestamp={}", now_ms() - 10_000);
    let old = format!(
        "{old}&signature={}",
        binance::signing::sign("alice-secret", &old)
    );
    assert_eq!(
        code(&call(addr, "GET", path, &old, "", Some("alice-key")).await),
        (400, Some(-1021))
    );
    let wide = signed("recvWindow=70000", "alice-secret");
    assert_eq!(
        code(&call(addr, "GET", path, &wide, "", Some("alice-key")).await),
        (400, Some(-1131))
    );
    // Orders refused with Binance's words, which clients map to their own exceptions.
    let broke = signed(
        "symbol=BTCUSD&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1000&price=50000",
        "alice-secret",
    );
    let r = call(addr, "POST", "/api/v3/order", "", &broke, Some("alice-key")).await;
    assert_eq!(
        r.body["msg"],
        "Account has insufficient balance for requested action."
    );
    let off_tick = signed(
        "symbol=BTCUSD&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=50000.001",
        "alice-secret",
    );
    let r = call(
        addr,
        "POST",
        "/api/v3/order",
        "",
        &off_tick,
        Some("alice-key"),
    )
    .await;
    assert_eq!(
        (r.body["code"].as_i64(), r.body["msg"].as_str()),
        (Some(-1013), Some("Filter failure: PRICE_FILTER"))
    );
    let r = call(addr, "GET", "/api/v3/depth", "symbol=NOPE", "", None).await;
    assert_eq!(code(&r), (400, Some(-1121)));
    let r = call(addr, "GET", "/sapi/v1/capital/config/getall", "", "", None).await;
    assert_eq!(r.status, 404);
    assert!(
        r.body["msg"]
            .as_str()
            .is_some_and(|m| m.contains("fetchCurrencies")),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn over_the_weight_limit_is_429_and_going_on_is_418() {
    let mut config = config();
    config.server.binance.request_weight_per_minute = 30;
    config.server.binance.orders_per_10s = 2;
    let (_server, _, addr) = started(config).await;
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..16 {
        let r = call(addr, "GET", "/api/v3/depth", "symbol=BTCUSD", "", None).await;
        statuses.push(r.status);
        last = Some(r);
    }
    let Some(last) = last else { unreachable!() };
    // 5 each: six pass, the seventh is 429, and five more 429s earn the ban.
    assert_eq!(&statuses[..6], &[200; 6]);
    assert_eq!(statuses[6], 429);
    assert_eq!(statuses.last(), Some(&418), "{statuses:?}");
    assert_eq!(last.body["code"], -1003);
    assert!(last
        .header("retry-after")
        .is_some_and(|s| s.parse::<u64>().is_ok()));
}

#[tokio::test]
async fn new_orders_are_counted_per_account_in_ten_seconds() {
    let mut config = config();
    config.server.binance.orders_per_10s = 2;
    let (_server, _, addr) = started(config).await;
    let mut codes = Vec::new();
    for i in 0..3 {
        let order = signed(
            &format!(
                "symbol=BTCUSD&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price={}",
                40000 + i
            ),
            "counter",
        );
        let r = call(addr, "POST", "/api/v3/order", "", &order, Some("counter")).await;
        codes.push((r.status, r.body["code"].as_i64()));
    }
    assert_eq!(codes, [(200, None), (200, None), (429, Some(-1015))]);
}

/// A WebSocket on the Binance listener.
async fn ws(
    addr: SocketAddr,
    path: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .expect("connect")
        .0
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

/// The next frame `pick` accepts.
async fn until(ws: &mut Ws, pick: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = next_json(ws).await;
        if pick(&v) {
            return v;
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

/// A limit order through REST by an opened account.
async fn place(addr: SocketAddr, key: &str, side: &str, price: &str, qty: &str) -> Value {
    let order = signed(
        &format!(
            "symbol=BTCUSD&side={side}&type=LIMIT&timeInForce=GTC&quantity={qty}&price={price}"
        ),
        key,
    );
    call(addr, "POST", "/api/v3/order", "", &order, Some(key))
        .await
        .body
}

#[tokio::test]
async fn the_diff_stream_continues_the_depth_snapshot_without_gaps() {
    let (_server, _, addr) = started(config()).await;
    let mut stream = ws(addr, "/ws/btcusd@depth@100ms").await;
    // Subscribing again is answered once the core has the subscription: no diff is missed after.
    send(
        &mut stream,
        json!({"method": "SUBSCRIBE", "params": ["btcusd@depth@100ms"], "id": 1}),
    )
    .await;
    assert_eq!(
        until(&mut stream, |v| v.get("id").is_some()).await,
        json!({"result": null, "id": 1})
    );
    // A diff arrives for every order: wait for the first, then read the snapshot.
    place(addr, "key-maker", "BUY", "49000", "0.1").await;
    let first = until(&mut stream, |v| v["e"] == "depthUpdate").await;
    let snapshot = call(
        addr,
        "GET",
        "/api/v3/depth",
        "symbol=BTCUSD&limit=1000",
        "",
        None,
    )
    .await;
    let last_update = snapshot.body["lastUpdateId"]
        .as_u64()
        .expect("lastUpdateId");
    assert!(
        first["u"].as_u64() <= Some(last_update),
        "{first} vs {last_update}"
    );
    let mut previous = first["u"].as_u64().expect("u");
    for i in 0..20 {
        // Bids below and asks above: every order rests and changes the book.
        let (side, price) = if i % 2 == 0 {
            ("BUY", 48_000 - i * 10)
        } else {
            ("SELL", 51_000 + i * 10)
        };
        place(addr, "key-maker", side, &price.to_string(), "0.1").await;
        let diff = until(&mut stream, |v| v["e"] == "depthUpdate").await;
        assert_eq!(
            diff["U"].as_u64(),
            Some(previous + 1),
            "each diff's U is the last u + 1"
        );
        assert_eq!(diff["s"], "BTCUSD");
        previous = diff["u"].as_u64().expect("u");
    }
}

#[tokio::test]
async fn live_subscriptions_answer_once_subscribed_and_combined_streams_wrap() {
    let (_server, _, addr) = started(config()).await;
    let mut stream = ws(addr, "/stream?streams=btcusd@trade").await;
    send(
        &mut stream,
        json!({"method": "SUBSCRIBE", "params": ["btcusd@bookTicker", "btcusd@depth5"], "id": 7}),
    )
    .await;
    let ack = until(&mut stream, |v| v.get("id").is_some()).await;
    assert_eq!(ack, json!({"result": null, "id": 7}));
    // ccxt subscribes again to resynchronise: answered the same way.
    send(
        &mut stream,
        json!({"method": "SUBSCRIBE", "params": ["btcusd@bookTicker"], "id": 8}),
    )
    .await;
    assert_eq!(
        until(&mut stream, |v| v.get("id").is_some()).await,
        json!({"result": null, "id": 8})
    );
    send(
        &mut stream,
        json!({"method": "LIST_SUBSCRIPTIONS", "id": "list"}),
    )
    .await;
    let list = until(&mut stream, |v| v.get("id").is_some()).await;
    assert_eq!(list["id"], "list");
    assert_eq!(
        list["result"],
        json!(["btcusd@trade", "btcusd@bookTicker", "btcusd@depth5"])
    );
    send(
        &mut stream,
        json!({"method": "SUBSCRIBE", "params": ["btcusd@nonsense"], "id": 9}),
    )
    .await;
    let refused = until(&mut stream, |v| v.get("id").is_some()).await;
    assert_eq!(refused["error"]["code"], 2, "{refused}");
    place(addr, "key-maker", "SELL", "50100", "0.2").await;
    place(addr, "key-taker", "BUY", "50100", "0.1").await;
    let trade = until(&mut stream, |v| v["stream"] == "btcusd@trade").await;
    assert_eq!(trade["data"]["e"], "trade");
    assert_eq!(trade["data"]["p"], "50100.00");
    assert_eq!(trade["data"]["m"], false, "the buyer took");
    let top = until(&mut stream, |v| v["stream"] == "btcusd@bookTicker").await;
    assert!(
        top["data"]["u"].is_u64() && top["data"]["a"].is_string(),
        "{top}"
    );
    send(
        &mut stream,
        json!({"method": "UNSUBSCRIBE", "params": ["btcusd@trade"], "id": 10}),
    )
    .await;
    assert_eq!(
        until(&mut stream, |v| v.get("id").is_some()).await,
        json!({"result": null, "id": 10})
    );
}

/// A WebSocket API request signed with `secret` over its sorted parameters.
fn api_request(id: u64, method: &str, key: &str, secret: &str, params: Value) -> Value {
    let mut params = params.as_object().cloned().unwrap_or_default();
    params.insert("apiKey".into(), json!(key));
    params.insert("timestamp".into(), json!(now_ms()));
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    pairs.sort();
    let payload: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    params.insert(
        "signature".into(),
        json!(binance::signing::sign(secret, &payload.join("&"))),
    );
    json!({"id": id, "method": method, "params": params})
}

#[tokio::test]
async fn the_websocket_api_trades_and_streams_the_account() {
    let (_server, _, addr) = started(config()).await;
    let mut api = ws(addr, "/ws-api/v3").await;
    send(
        &mut api,
        api_request(
            1,
            "userDataStream.subscribe.signature",
            "alice-key",
            "alice-secret",
            json!({}),
        ),
    )
    .await;
    let subscribed = until(&mut api, |v| v["id"] == 1).await;
    assert_eq!(subscribed["status"], 200, "{subscribed}");
    let subscription = subscribed["result"]["subscriptionId"].clone();
    let params = json!({"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                        "quantity": "0.1", "price": "49500", "newClientOrderId": "ws-1"});
    send(
        &mut api,
        api_request(2, "order.place", "alice-key", "alice-secret", params),
    )
    .await;
    // The answer and the account's events, in whichever order they come.
    let (mut placed, mut report, mut position) = (None, None, None);
    while placed.is_none() || report.is_none() || position.is_none() {
        let v = next_json(&mut api).await;
        match v["event"]["e"].as_str() {
            Some("executionReport") => report = Some(v),
            Some("outboundAccountPosition") => position = Some(v),
            _ if v["id"] == 2 => placed = Some(v),
            _ => {}
        }
    }
    let (Some(placed), Some(report), Some(position)) = (placed, report, position) else {
        unreachable!()
    };
    assert_eq!(placed["status"], 200, "{placed}");
    assert_eq!(placed["result"]["clientOrderId"], "ws-1");
    assert_eq!(report["subscriptionId"], subscription);
    assert_eq!(
        (report["event"]["x"].as_str(), report["event"]["c"].as_str()),
        (Some("NEW"), Some("ws-1"))
    );
    assert!(position["event"]["B"][0]["a"].is_string());
    // A fill by another account reaches alice's stream as a TRADE report.
    place(addr, "key-taker", "SELL", "49500", "0.1").await;
    let trade = until(&mut api, |v| v["event"]["x"] == "TRADE").await;
    assert_eq!(
        (trade["event"]["X"].as_str(), trade["event"]["l"].as_str()),
        (Some("FILLED"), Some("0.10000"))
    );
    let status = json!({"symbol": "BTCUSD", "origClientOrderId": "ws-1"});
    send(
        &mut api,
        api_request(3, "order.status", "alice-key", "alice-secret", status),
    )
    .await;
    assert_eq!(
        until(&mut api, |v| v["id"] == 3).await["result"]["status"],
        "FILLED"
    );
    // A wrong signature is refused with Binance's code, the connection goes on.
    let mut bad = api_request(4, "account.status", "alice-key", "alice-secret", json!({}));
    bad["params"]["signature"] = json!("00".repeat(32));
    send(&mut api, bad).await;
    let refused = until(&mut api, |v| v["id"] == 4).await;
    assert_eq!(
        (
            refused["status"].as_u64(),
            refused["error"]["code"].as_i64()
        ),
        (Some(400), Some(-1022))
    );
    send(&mut api, json!({"id": 5, "method": "userDataStream.unsubscribe", "params": {"subscriptionId": subscription}})).await;
    let ended = until(&mut api, |v| v["event"]["e"] == "eventStreamTerminated").await;
    assert_eq!(ended["subscriptionId"], subscription);
    assert_eq!(until(&mut api, |v| v["id"] == 5).await["status"], 200);
}

#[tokio::test]
async fn cancel_replace_is_one_step_and_says_which_part_failed() {
    let (_server, _, addr) = started(config()).await;
    let placed = place(addr, "cr", "BUY", "48000", "0.1").await;
    let id = placed["orderId"].as_u64().expect("orderId");
    let replace = |cancel: u64| {
        signed(
            &format!("symbol=BTCUSD&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.2&price=48100&cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId={cancel}"),
            "cr",
        )
    };
    let ok = call(
        addr,
        "POST",
        "/api/v3/order/cancelReplace",
        "",
        &replace(id),
        Some("cr"),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        (
            ok.body["cancelResult"].as_str(),
            ok.body["newOrderResult"].as_str()
        ),
        (Some("SUCCESS"), Some("SUCCESS"))
    );
    assert_eq!(ok.body["cancelResponse"]["status"], "CANCELED");
    let failed = call(
        addr,
        "POST",
        "/api/v3/order/cancelReplace",
        "",
        &replace(id),
        Some("cr"),
    )
    .await;
    assert_eq!(
        (failed.status, failed.body["code"].as_i64()),
        (400, Some(-2022))
    );
    assert_eq!(failed.body["data"]["newOrderResult"], "NOT_ATTEMPTED");
    assert_eq!(failed.body["data"]["cancelResponse"]["code"], -2011);
}

/// The exchange with `failures` on.
fn config_with_faults(failures: Value) -> Config {
    let mut config = config();
    config.failures = failures;
    config
}

/// The server's clock as `/time` tells it.
async fn server_time(addr: SocketAddr) -> u64 {
    let time = call(addr, "GET", "/api/v3/time", "", "", None).await;
    time.body["serverTime"].as_u64().expect("serverTime")
}

/// `params` signed with the server's clock (as a bot that syncs its time does).
async fn signed_at_server_time(addr: SocketAddr, params: &str, secret: &str) -> String {
    let params = format!("{params}&timestamp={}", server_time(addr).await);
    let signature = binance::signing::sign(secret, &params);
    format!("{params}&signature={signature}")
}

#[tokio::test]
async fn rest_faults_answer_as_binance_does_and_unknown_outcomes_did_execute() {
    let failures = json!({"enabled": true, "seed": 5, "modes": {
        "unknown_outcome": {"probability": 1.0, "accounts": ["alice"]},
        "reject_orders": {"probability": 1.0, "accounts": ["bob"]},
        "clock_skew": {"offset_ms": -30000}
    }});
    let (_server, _, addr) = started(config_with_faults(failures)).await;
    // A bot that never syncs its clock is 30 s ahead of the server's.
    let order = "symbol=BTCUSD&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=45000&newClientOrderId=u-1";
    let unsynced = call(
        addr,
        "POST",
        "/api/v3/order",
        "",
        &signed(order, "alice-secret"),
        Some("alice-key"),
    )
    .await;
    assert_eq!(unsynced.body["code"], -1021, "{}", unsynced.body);
    assert!(
        server_time(addr).await + 25_000 < now_ms(),
        "the server's clock runs 30 s behind"
    );
    // alice's order: 503 -1007, yet it was carried out.
    let body = signed_at_server_time(addr, order, "alice-secret").await;
    let unknown = call(addr, "POST", "/api/v3/order", "", &body, Some("alice-key")).await;
    assert_eq!(
        (unknown.status, unknown.body["code"].as_i64()),
        (503, Some(-1007))
    );
    let query =
        signed_at_server_time(addr, "symbol=BTCUSD&origClientOrderId=u-1", "alice-secret").await;
    let found = call(addr, "GET", "/api/v3/order", &query, "", Some("alice-key")).await;
    assert_eq!(
        found.body["status"], "NEW",
        "the order exists: {}",
        found.body
    );
    // bob's: 503 -1008, and nothing was done.
    let body = signed_at_server_time(addr, order, "bob-key").await;
    let busy = call(addr, "POST", "/api/v3/order", "", &body, Some("bob-key")).await;
    assert_eq!(
        (busy.status, busy.body["code"].as_i64()),
        (503, Some(-1008))
    );
    let open = signed_at_server_time(addr, "symbol=BTCUSD", "bob-key").await;
    let open = call(
        addr,
        "GET",
        "/api/v3/openOrders",
        &open,
        "",
        Some("bob-key"),
    )
    .await;
    assert_eq!(open.body, json!([]));
}

#[tokio::test]
async fn a_storm_answers_429_then_bans_with_418() {
    let failures = json!({"enabled": true, "seed": 5, "modes": {
        "rate_limit_storm": {"ban_after_requests": 2, "ban_ms": 60000}
    }});
    let (_server, _, addr) = started(config_with_faults(failures)).await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        let r = call(addr, "GET", "/api/v3/ping", "", "", None).await;
        assert!(r.header("retry-after").is_some(), "{}", r.status);
        answers.push((r.status, r.body["code"].as_i64()));
    }
    assert_eq!(answers.first(), Some(&(429, Some(-1003))));
    assert_eq!(answers.last(), Some(&(418, Some(-1003))), "{answers:?}");
}

#[tokio::test]
async fn a_dropped_request_is_held_then_the_connection_closes_without_an_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let failures = json!({"enabled": true, "seed": 5, "modes": {
        "drop_messages": {"probability": 1.0, "direction": "inbound", "message_types": ["/api/v3/time"], "hold_ms": 50}
    }});
    let (_server, _, addr) = started(config_with_faults(failures)).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET /api/v3/time HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("ends");
    assert!(
        answer.is_empty(),
        "no answer: {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(read.is_err() || read.is_ok_and(|n| n == 0));
    // Other paths are untouched.
    assert_eq!(
        call(addr, "GET", "/api/v3/ping", "", "", None).await.status,
        200
    );
}
