//! A tiny mock exchange for the scenario tests: it answers PLACE_ORDER with ORDER_ACK (echoing
//! `request_id`, and following every second order with a BALANCE_UPDATE, which clients must
//! count and skip; a garbling mock also follows every order with an unparsable text frame and a
//! binary frame), SUBSCRIBE with SUBSCRIBED, and then sends one channel frame per subscription
//! every millisecond: MARKET_DATA (price 41234.56) for TICKER, TRADE for TRADES, ORDERBOOK_UPDATE for the books.
//! A limiting mock acknowledges only one order in five, rejects one (INSUFFICIENT_FUNDS) and
//! answers the other three RATE_LIMITED, as a server at its default rate limit would.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// A running mock exchange; it lives as long as the test process.
pub struct MockExchange {
    pub addr: SocketAddr,
}

impl MockExchange {
    /// Starts the mock on 127.0.0.1 on its own thread and runtime.
    pub fn start() -> MockExchange {
        MockExchange::start_with(false)
    }

    /// Starts a mock that also sends malformed frames after every order's answer.
    pub fn start_garbling() -> MockExchange {
        MockExchange::start_with(true)
    }

    /// Starts a mock that mostly answers RATE_LIMITED.
    #[allow(dead_code)]
    pub fn start_limiting() -> MockExchange {
        MockExchange::spawn(Quirks {
            garble: false,
            limit: true,
        })
    }

    fn start_with(garble: bool) -> MockExchange {
        MockExchange::spawn(Quirks {
            garble,
            limit: false,
        })
    }

    fn spawn(quirks: Quirks) -> MockExchange {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the mock");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("mock address");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("mock runtime");
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(connection(stream, quirks));
                }
            })
        });
        MockExchange { addr }
    }

    /// The URL to point the load generator at.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

/// How the mock misbehaves.
#[derive(Clone, Copy)]
struct Quirks {
    /// Malformed frames after every order's answer.
    garble: bool,
    /// Mostly RATE_LIMITED answers.
    limit: bool,
}

async fn connection(stream: TcpStream, quirks: Quirks) {
    let Quirks { garble, limit } = quirks;
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let mut seq: u64 = 0;
    let mut orders: u64 = 0;
    let mut channels: Vec<(String, &'static str)> = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    loop {
        let mut replies = Vec::new();
        let mut garbage = false;
        tokio::select! {
            frame = ws.next() => {
                let Some(Ok(Message::Text(text))) = frame else { return };
                let Ok(request) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                let request_id = request["request_id"].clone();
                match request["type"].as_str() {
                    Some("PLACE_ORDER") if limit && orders % 5 != 0 => {
                        orders += 1;
                        replies.push(if orders % 5 == 2 {
                            serde_json::json!({
                                "type": "ORDER_REJECT", "request_id": request_id,
                                "status": "REJECTED", "code": "INSUFFICIENT_FUNDS",
                            })
                        } else {
                            serde_json::json!({
                                "type": "ERROR", "request_id": request_id, "code": "RATE_LIMITED",
                            })
                        });
                    }
                    Some("PLACE_ORDER") => {
                        orders += 1;
                        replies.push(serde_json::json!({
                            "type": "ORDER_ACK", "request_id": request_id,
                            "order_id": orders.to_string(),
                            "client_order_id": request["client_order_id"], "status": "OPEN",
                        }));
                        garbage = garble;
                        if orders % 2 == 0 {
                            replies.push(serde_json::json!({
                                "type": "BALANCE_UPDATE", "asset": "USD", "available": "1.00",
                            }));
                        }
                    }
                    Some("SUBSCRIBE") => {
                        let channel = request["channel"].as_str().unwrap_or("").to_owned();
                        replies.push(serde_json::json!({
                            "type": "SUBSCRIBED", "request_id": request_id,
                            "channel": channel, "symbol": request["symbol"],
                        }));
                        let kind = match channel.as_str() {
                            "TICKER" => "MARKET_DATA",
                            "TRADES" => "TRADE",
                            _ => "ORDERBOOK_UPDATE",
                        };
                        channels.push((channel, kind));
                    }
                    _ => replies.push(serde_json::json!({
                        "type": "ERROR", "request_id": request_id, "code": "UNKNOWN_TYPE",
                    })),
                }
            }
            _ = ticks.tick(), if !channels.is_empty() => {
                for (channel, kind) in &channels {
                    replies.push(serde_json::json!({
                        "type": kind, "channel": channel, "symbol": "BTC/USD", "price": "41234.56",
                    }));
                }
            }
        }
        for mut reply in replies {
            seq += 1;
            reply["seq"] = seq.into();
            if ws.feed(Message::text(reply.to_string())).await.is_err() {
                return;
            }
        }
        if garbage {
            let bad = [
                Message::text("}{ not json \"request_id\":"),
                Message::binary(vec![0xff, 0x00, 0x7b]),
            ];
            for frame in bad {
                if ws.feed(frame).await.is_err() {
                    return;
                }
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}
