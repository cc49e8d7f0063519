//! Helpers for end-to-end tests: a real server on 127.0.0.1:0 and a real WebSocket client that
//! checks every frame's `seq` as it arrives.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use exchange_simulator::{Config, ExchangeServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a frame it expects before failing (never a synchronisation sleep).
pub const WAIT: Duration = Duration::from_secs(10);

/// A configuration for tests: a free port, a fixed seed, a quiet market, two named accounts.
pub fn quiet_config() -> Config {
    let mut config = Config::from_json_str(
        r#"{
            "server": {"host": "127.0.0.1", "port": 0},
            "exchange": {"market_makers": {"enabled": false}, "taker_flow": {"enabled": false}},
            "accounts": {
                "alice": {"api_key": "alice-key", "balances": {"USD": "100000", "BTC": "10"}},
                "bob": {"api_key": "bob-key", "balances": {"USD": "100000", "BTC": "10"}}
            },
            "seed": 7
        }"#,
    )
    .expect("test config");
    config.server.port = 0;
    config
}

/// Starts a server with `config`.
pub async fn start(config: Config) -> (ExchangeServer, SocketAddr) {
    let mut server = ExchangeServer::new(config).expect("config");
    let addr = server.start().await.expect("start");
    (server, addr)
}

/// A WebSocket client that asserts the server's `seq` is gap-free.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub last_seq: u64,
    next_request: u64,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::connect_to(addr, "/ws").await
    }

    /// A client of the WebSocket at `path` (`/ws` or `/`).
    pub async fn connect_to(addr: SocketAddr, path: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
            .await
            .expect("connect");
        Client {
            ws,
            last_seq: 0,
            next_request: 1,
        }
    }

    pub async fn login(addr: SocketAddr, account: &str) -> Client {
        let mut c = Client::connect(addr).await;
        let answer = c
            .request(
                json!({"type": "LOGIN", "account": account, "api_key": format!("{account}-key")}),
            )
            .await;
        assert_eq!(answer["type"], "LOGGED_IN", "{answer}");
        c
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::text(v.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// The next text frame, parsed; asserts `seq` follows the previous one.
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("connection ended")
                .expect("read error");
            match frame {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("server sent JSON");
                    let seq = v["seq"].as_u64().expect("every frame has seq");
                    assert_eq!(seq, self.last_seq + 1, "seq gap before {v}");
                    self.last_seq = seq;
                    return v;
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Frames until one of type `ty` (returned), collecting the others.
    pub async fn recv_until(&mut self, ty: &str, skipped: &mut Vec<Value>) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == ty {
                return v;
            }
            skipped.push(v);
        }
    }

    /// Sends `v` with a fresh request_id and returns the frame that echoes it.
    pub async fn request(&mut self, mut v: Value) -> Value {
        let id = self.next_request;
        self.next_request += 1;
        v["request_id"] = json!(id);
        self.send(v).await;
        loop {
            let answer = self.recv().await;
            if answer["request_id"] == json!(id) {
                return answer;
            }
        }
    }

    /// The close frame's code, after reading and discarding frames.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// A limit order message.
pub fn limit(side: &str, price: &str, qty: &str) -> Value {
    json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": side, "order_type": "LIMIT",
           "price": price, "quantity": qty})
}

/// GET on the REST API, returning status and JSON.
pub async fn rest(addr: SocketAddr, path_and_query: &str, api_key: Option<&str>) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = api_key.map(|k| ("X-API-KEY", k)).into_iter().collect();
    let (status, body) = http(addr, "GET", path_and_query, None, &headers).await;
    (
        status,
        serde_json::from_str(&body).expect("REST body is JSON"),
    )
}

/// An HTTP request to the server: status and body text.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let body = body.map(Value::to_string).unwrap_or_default();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("timed out")
        .expect("read");
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let start = text.find("\r\n\r\n").expect("headers end") + 4;
    let mut body = &text[start..];
    // Chunked transfer: the first chunk's data (answers are one chunk).
    if text[..start]
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let (len, rest) = body.split_once("\r\n").expect("chunk");
        let len = usize::from_str_radix(len.trim(), 16).expect("chunk size");
        body = &rest[..len];
    }
    (status, body.to_string())
}

/// An HTTP request with a raw body: status, the headers (lower-case names) and the body.
pub async fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("timed out")
        .expect("read");
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("headers end");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let (len, rest) = body.split_once("\r\n").expect("chunk");
        let len = usize::from_str_radix(len.trim(), 16).expect("chunk size");
        rest[..len].to_string()
    } else {
        body.to_string()
    };
    (status, headers, body)
}

/// An admin call answering JSON.
pub async fn admin(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, text) = http(addr, method, path, body.as_ref(), &[]).await;
    (
        status,
        serde_json::from_str(&text).expect("admin answers JSON"),
    )
}
