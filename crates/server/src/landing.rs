//! What a browser finds on the server's port: a landing page at `GET /` (the WebSocket endpoint
//! answers it when the request is no WebSocket upgrade) with the endpoints, the admin API and the
//! documentation, which is served from the binary itself under `/docs/`. And the rule that every
//! error the HTTP stack makes on its own (a bad upgrade, a body too large, a path parameter of
//! the wrong kind) is JSON like every other answer.

use axum::extract::Path;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use protocol::rest::rest_error;
use protocol::ErrorCode;

use crate::rest::json_response;

/// The documentation pages served under `/docs/`, by file name.
const DOCS: [(&str, &str, &str); 8] = [
    (
        "README.md",
        "Start here: running it, faults, recovery",
        include_str!("../../../README.md"),
    ),
    (
        "PROTOCOL.md",
        "Every message, channel, error code and REST route",
        include_str!("../../../docs/PROTOCOL.md"),
    ),
    (
        "CONFIG.md",
        "Every configuration key",
        include_str!("../../../docs/CONFIG.md"),
    ),
    (
        "FAULTS.md",
        "Every fault mode, the admin API",
        include_str!("../../../docs/FAULTS.md"),
    ),
    (
        "OPERATIONS.md",
        "Metrics, Grafana, the fault CLI, logs",
        include_str!("../../../docs/OPERATIONS.md"),
    ),
    (
        "MARKET.md",
        "Price models, market makers, taker flow",
        include_str!("../../../docs/MARKET.md"),
    ),
    (
        "ARCHITECTURE.md",
        "How the code is laid out",
        include_str!("../../../docs/ARCHITECTURE.md"),
    ),
    (
        "BENCHMARKS.md",
        "How fast, measured how",
        include_str!("../../../docs/BENCHMARKS.md"),
    ),
];

/// `/docs/` and its pages.
pub fn routes() -> Router {
    Router::new()
        .route("/docs", get(docs_index))
        .route("/docs/", get(docs_index))
        .route("/docs/{page}", get(doc_page))
}

/// `text` with the characters HTML gives a meaning escaped (the Host header is the client's).
fn escape_html(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The landing page: where everything is. `host` is the one the browser asked for.
pub fn page(host: &str) -> Response {
    let host = escape_html(host);
    let version = env!("CARGO_PKG_VERSION");
    let docs: String = DOCS
        .iter()
        .map(|(name, what, _)| format!("<li><a href=\"/docs/{name}\">{name}</a>: {what}</li>"))
        .collect();
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>exchange-simulator</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
code{{background:#f3f3f3;padding:0 .2rem}}</style></head>
<body>
<h1>exchange-simulator {version}</h1>
<p>A crypto exchange with a fault layer between it and every client. This port speaks WebSocket,
REST and the admin API.</p>
<h2>Trading</h2>
<ul>
<li>WebSocket: <code>ws://{host}/ws</code> (JSON frames; see <a href="/docs/PROTOCOL.md">PROTOCOL.md</a>)</li>
<li>REST ground truth: <a href="/api/v1/health">/api/v1/health</a>, <a href="/api/v1/symbols">/api/v1/symbols</a>,
<a href="/api/v1/ticker">/api/v1/ticker</a>, <a href="/api/v1/orderbook?symbol=BTC/USD">/api/v1/orderbook?symbol=BTC/USD</a>,
<a href="/api/v1/trades?symbol=BTC/USD">/api/v1/trades?symbol=BTC/USD</a>, <a href="/api/v1/accounts">/api/v1/accounts</a></li>
</ul>
<h2>Faults and operations</h2>
<p>Open on loopback; beyond it every admin route needs the admin token.</p>
<ul>
<li><a href="/admin/faults">/admin/faults</a>: the fault configuration (PUT replaces, PATCH /admin/faults/MODE changes one mode)</li>
<li><a href="/admin/faults/stats">/admin/faults/stats</a> and <a href="/admin/faults/log">/admin/faults/log</a>: what was injected</li>
<li><a href="/admin/connections">/admin/connections</a>: who is connected</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics; a Grafana dashboard for them is <code>examples/grafana/dashboard.json</code> in the repository</li>
<li>From a terminal: <code>exchange-sim faults list</code> (see <a href="/docs/OPERATIONS.md">OPERATIONS.md</a>)</li>
</ul>
<h2>Documentation</h2>
<ul>{docs}</ul>
</body></html>
"#
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

async fn docs_index() -> Response {
    let mut text = String::from("exchange-simulator documentation (Markdown):\n\n");
    for (name, what, _) in DOCS {
        text.push_str(&format!("/docs/{name}  {what}\n"));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn doc_page(Path(page): Path<String>) -> Response {
    match DOCS.iter().find(|(name, _, _)| *name == page) {
        Some((_, _, text)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            *text,
        )
            .into_response(),
        None => {
            let names: Vec<&str> = DOCS.iter().map(|(name, _, _)| *name).collect();
            json_response(rest_error(
                404,
                ErrorCode::UnknownEndpoint,
                &format!("no page {page:?}; pages: {}", names.join(", ")),
            ))
        }
    }
}

/// `/ws` asked without a WebSocket upgrade.
pub fn not_an_upgrade(uri: &Uri, host: &str) -> Response {
    json_response(rest_error(
        426,
        ErrorCode::InvalidMessage,
        &format!(
            "{} is the WebSocket endpoint: connect with a WebSocket client to ws://{host}{}; \
             a browser finds the overview at http://{host}/",
            uri.path(),
            uri.path()
        ),
    ))
}

/// The most of an error body read to carry it over into JSON.
const ERROR_BODY_MAX: usize = 4096;

/// Turns an error the HTTP stack wrote as plain text (a rejected extractor, a body over the
/// limit) into the JSON error every other route answers with, keeping its status.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, ERROR_BODY_MAX).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let code = match status.as_u16() {
        404 => ErrorCode::UnknownEndpoint,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::MessageTooLarge,
        503 => ErrorCode::ExchangeUnavailable,
        s if s >= 500 => ErrorCode::InternalError,
        _ => ErrorCode::InvalidMessage,
    };
    let mut json = json_response(rest_error(status.as_u16(), code, &message));
    // Headers such as Retry-After or Allow stay.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    json
}
