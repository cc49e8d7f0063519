//! What a browser or curl meets on the server's port: a landing page at `/`, the documentation
//! under `/docs/`, and JSON for every error, even those the HTTP stack makes on its own.

mod common;

use std::net::SocketAddr;

use common::{quiet_config, start};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP request: status, content type and body.
async fn fetch(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    // A body over the server's limit may be refused before it is read: that is an answer too.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(common::WAIT, stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let (len, rest) = body.split_once("\r\n").unwrap();
        let len = usize::from_str_radix(len.trim(), 16).unwrap();
        rest[..len].to_string()
    } else {
        body.to_string()
    };
    (status, content_type, body)
}

#[tokio::test]
async fn a_browser_at_the_root_gets_a_landing_page() {
    let (mut server, addr) = start(quiet_config()).await;
    let (status, content_type, page) = fetch(addr, "GET", "/", b"").await;
    assert_eq!(status, 200, "{page}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    for link in [
        "ws://",
        "/api/v1/health",
        "/admin/faults",
        "/admin/faults/stats",
        "/metrics",
        "/docs/PROTOCOL.md",
        "/docs/OPERATIONS.md",
        "examples/grafana/dashboard.json",
    ] {
        assert!(page.contains(link), "the page links to {link}");
    }
    // The docs it links to are served from the binary.
    let (status, content_type, doc) = fetch(addr, "GET", "/docs/FAULTS.md", b"").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/markdown"), "{content_type}");
    assert!(doc.starts_with("# Faults"));
    let (status, _, index) = fetch(addr, "GET", "/docs/", b"").await;
    assert_eq!(status, 200);
    assert!(index.contains("/docs/CONFIG.md"));
    server.shutdown().await;
}

#[tokio::test]
async fn every_error_is_json() {
    let (mut server, addr) = start(quiet_config()).await;
    let big = vec![b'x'; 3 * 1024 * 1024];
    let cases: Vec<(&str, &str, &[u8], u16)> = vec![
        // The WebSocket endpoint without an upgrade.
        ("GET", "/ws", b"", 426),
        // A path parameter of the wrong kind.
        ("POST", "/admin/connections/abc/disconnect", b"", 400),
        // A body over the HTTP stack's limit.
        ("PUT", "/admin/faults", &big, 413),
        // Neither a page nor a route.
        ("GET", "/docs/NOPE.md", b"", 404),
        ("GET", "/nowhere", b"", 404),
        ("DELETE", "/api/v1/symbols", b"", 405),
        ("GET", "/api/v1/orderbook?symbol=%ZZ", b"", 404),
    ];
    for (method, path, body, expected) in cases {
        let (status, content_type, text) = fetch(addr, method, path, body).await;
        assert_eq!(status, expected, "{method} {path}: {text}");
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: {content_type}: {text}"
        );
        let error: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(error["code"].is_string(), "{method} {path}: {error}");
        assert!(error["message"].is_string(), "{method} {path}: {error}");
    }
    server.shutdown().await;
}
