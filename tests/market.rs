//! End-to-end tests of the living market: the synthetic makers and takers trade through the real
//! engine, stepped by hand with the manual clock so that nothing depends on timing.

mod common;

use common::*;
use exchange_simulator::{Config, ExchangeServer};
use serde_json::{json, Value};

fn market_config(seed: u64) -> Config {
    let mut config = Config::from_json_str(
        r#"{
            "server": {"port": 0},
            "exchange": {
                "clock": "manual",
                "tick_interval": 0.1,
                "market_makers": {"levels": 8, "refresh_ms": 100},
                "taker_flow": {"rate_per_s": 20}
            }
        }"#,
    )
    .expect("config");
    config.seed = Some(seed);
    config
}

async fn trades_after(seed: u64, ticks: u64) -> Vec<Value> {
    let mut server = ExchangeServer::new(market_config(seed)).unwrap();
    let addr = server.start().await.unwrap();
    server.advance_market(ticks).await;
    let (_, trades) = rest(addr, "/api/v1/trades?symbol=BTC/USD&limit=1000", None).await;
    server.shutdown().await;
    trades
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!([t["trade_id"], t["price"], t["quantity"], t["taker_side"]]))
        .collect()
}

#[tokio::test]
async fn the_same_seed_gives_the_same_trades_and_another_seed_differs() {
    let first = trades_after(42, 150).await;
    let second = trades_after(42, 150).await;
    let other = trades_after(43, 150).await;
    assert!(
        first.len() > 50,
        "the taker flow trades: {} trades",
        first.len()
    );
    assert_eq!(first, second);
    assert_ne!(first, other);
}

#[tokio::test]
async fn the_book_has_depth_on_both_sides_and_a_market_buy_fills_on_the_ladder() {
    let mut config = market_config(5);
    config.exchange.taker_flow.enabled = false;
    let mut server = ExchangeServer::new(config).unwrap();
    let addr = server.start().await.unwrap();
    server.advance_market(3).await;
    let (_, book) = rest(addr, "/api/v1/orderbook?symbol=BTC/USD&depth=50", None).await;
    let bids = book["bids"].as_array().unwrap();
    let asks = book["asks"].as_array().unwrap();
    assert_eq!(bids.len(), 8, "{book}");
    assert_eq!(asks.len(), 8, "{book}");
    let best_bid: f64 = bids[0]["price"].as_str().unwrap().parse().unwrap();
    let best_ask: f64 = asks[0]["price"].as_str().unwrap().parse().unwrap();
    let worst_ask: f64 = asks[7]["price"].as_str().unwrap().parse().unwrap();
    assert!(best_bid < best_ask && best_ask < 50_100.0 && best_bid > 49_900.0);

    let mut c = Client::connect(addr).await;
    let ack = c
        .request(
            json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": "BUY",
                        "order_type": "MARKET", "quantity": "1.5"}),
        )
        .await;
    assert_eq!(ack["type"], "ORDER_ACK", "{ack}");
    let mut filled = 0.0;
    let mut skipped = Vec::new();
    while filled < 1.5 - 1e-9 {
        let fill = c.recv_until("ORDER_FILL", &mut skipped).await;
        let price: f64 = fill["price"].as_str().unwrap().parse().unwrap();
        assert!(
            (best_ask..=worst_ask).contains(&price),
            "fill at {price} outside the ladder"
        );
        filled += fill["quantity"].as_str().unwrap().parse::<f64>().unwrap();
    }
    let (_, accounts) = rest(addr, "/api/v1/accounts", None).await;
    let kinds: Vec<&str> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.iter().all(|k| *k == "system") && kinds.len() == 2,
        "{accounts}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn candles_stream_the_open_candle_as_trades_print() {
    let mut server = ExchangeServer::new(market_config(9)).unwrap();
    let addr = server.start().await.unwrap();
    let mut c = Client::connect(addr).await;
    let sub = c
        .request(json!({"type": "SUBSCRIBE", "channel": "CANDLES", "symbol": "BTC/USD", "interval": "1m"}))
        .await;
    assert_eq!(sub["type"], "SUBSCRIBED");
    assert_eq!(sub["interval"], "1m");
    let bad = c
        .request(json!({"type": "SUBSCRIBE", "channel": "CANDLES", "symbol": "BTC/USD", "interval": "7m"}))
        .await;
    assert_eq!(bad["code"], "INVALID_FIELD");
    server.advance_market(50).await;
    let candle = c.recv_until("CANDLE", &mut Vec::new()).await;
    assert_eq!(candle["interval"], "1m");
    assert_eq!(candle["closed"], false);
    let high: f64 = candle["high"].as_str().unwrap().parse().unwrap();
    let low: f64 = candle["low"].as_str().unwrap().parse().unwrap();
    assert!(high >= low);
    let (status, rest_candles) = rest(
        addr,
        "/api/v1/candles?symbol=BTC/USD&interval=1m&limit=5",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(rest_candles[0]["trades"].as_u64().unwrap() >= 1);
    let (status, err) = rest(addr, "/api/v1/candles?symbol=BTC/USD&interval=2h", None).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("INVALID_FIELD")));
    server.shutdown().await;
}
