//! The admin API: the fault layer's configuration, statistics and log, the live connections, and
//! Prometheus metrics, on the server's own port. Bodies are JSON whatever their content type (so
//! `curl -d` works). When the server listens beyond loopback every route requires the configured
//! token (`Authorization: Bearer <token>` or `X-Admin-Token: <token>`), and without one the API is
//! refused; on loopback it is open.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use faults::{FaultConfigError, FaultInjector, OneShot};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::registry::{Control, Registry};

/// What the admin routes share.
#[derive(Clone)]
pub struct AdminState {
    /// The fault layer.
    pub injector: FaultInjector,
    /// The live connections.
    pub registry: Arc<Registry>,
    /// Bumped after every configuration change, so idle connections pick it up at once.
    pub faults_changed: Arc<watch::Sender<u64>>,
    /// The host the server listens on (`server.host`).
    pub host: String,
    /// The token required beyond loopback (`server.admin_token`).
    pub admin_token: Option<String>,
}

/// The admin routes, guarded by [`authorize`].
pub fn routes(state: AdminState) -> Router {
    Router::new()
        .route("/admin/faults", get(get_faults).put(put_faults))
        .route("/admin/faults/{mode}", patch(patch_mode))
        .route("/admin/faults/reset", post(reset))
        .route("/admin/faults/one_shot", post(one_shot))
        .route("/admin/faults/stats", get(stats))
        .route("/admin/faults/log", get(log))
        .route("/admin/connections", get(connections))
        .route("/admin/connections/{id}/disconnect", post(disconnect))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Whether `host` (as configured in `server.host`) only accepts local clients.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why an admin request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server listens beyond loopback and no admin token is configured: 403.
    NoTokenConfigured,
    /// The request carries no token or a wrong one: 401.
    BadToken,
}

/// Decides whether a request with `headers` may use the admin API of a server listening on
/// `host` with the admin token `token`.
pub fn authorize(host: &str, token: Option<&str>, headers: &HeaderMap) -> Result<(), Refusal> {
    if is_loopback_host(host) {
        return Ok(());
    }
    let Some(expected) = token.filter(|t| !t.is_empty()) else {
        return Err(Refusal::NoTokenConfigured);
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let direct = headers.get("x-admin-token").and_then(|v| v.to_str().ok());
    let given = bearer.or(direct).unwrap_or("");
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Refusal::BadToken)
    }
}

/// Compares without stopping at the first difference (the token is a secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn guard(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    match authorize(&state.host, state.admin_token.as_deref(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(Refusal::NoTokenConfigured) => error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "the admin API needs server.admin_token when the server listens beyond loopback",
        ),
        Err(Refusal::BadToken) => error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "missing or wrong admin token (Authorization: Bearer <token> or X-Admin-Token)",
        ),
    }
}

fn json_reply(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn ok(value: &Value) -> Response {
    json_reply(StatusCode::OK, value.to_string())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_reply(
        status,
        json!({"code": code, "message": message}).to_string(),
    )
}

fn invalid(e: &FaultConfigError) -> Response {
    json_reply(
        StatusCode::BAD_REQUEST,
        json!({"code": e.code(), "path": e.path, "message": e.message}).to_string(),
    )
}

/// The body as JSON (an empty body is `null`).
fn body_json(body: &Bytes) -> Result<Value, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            &format!("the body is not JSON: {e}"),
        ))
    })
}

impl AdminState {
    /// Tells every connection the configuration changed.
    fn changed(&self) {
        self.faults_changed
            .send_modify(|generation| *generation += 1);
    }

    /// `{"failures": ...}` as the admin API shows it.
    fn config_json(&self) -> Value {
        self.injector.config().to_json()
    }
}

async fn get_faults(State(state): State<AdminState>) -> Response {
    ok(&state.config_json())
}

async fn put_faults(State(state): State<AdminState>, body: Bytes) -> Response {
    let value = match body_json(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    // A whole config file's `{"failures": {...}}` (the files in examples/faults) is taken as
    // its `failures` section, so a scenario file can be PUT as it is.
    let section = match value.as_object() {
        Some(map) if map.len() == 1 && map.contains_key("failures") => &map["failures"],
        _ => &value,
    };
    match state.injector.replace_json(section) {
        Ok(()) => {
            state.changed();
            ok(&state.config_json())
        }
        Err(e) => invalid(&e),
    }
}

async fn patch_mode(
    State(state): State<AdminState>,
    Path(mode): Path<String>,
    body: Bytes,
) -> Response {
    let value = match body_json(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    match state.injector.patch_mode(&mode, &value) {
        Ok(()) => {
            state.changed();
            ok(&state.config_json())
        }
        Err(e) => invalid(&e),
    }
}

async fn reset(State(state): State<AdminState>) -> Response {
    state.injector.reset();
    ok(&json!({"reset": true}))
}

async fn one_shot(State(state): State<AdminState>, body: Bytes) -> Response {
    let value = match body_json(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let armed = OneShot::from_json(&value).and_then(|shot| state.injector.arm_one_shot(shot));
    match armed {
        Ok(()) => ok(&json!({"armed": true})),
        Err(e) => invalid(&e),
    }
}

async fn stats(State(state): State<AdminState>) -> Response {
    match serde_json::to_string(&state.injector.statistics()) {
        Ok(text) => json_reply(StatusCode::OK, text),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            &e.to_string(),
        ),
    }
}

async fn log(State(state): State<AdminState>) -> Response {
    match serde_json::to_string(&state.injector.log()) {
        Ok(text) => json_reply(StatusCode::OK, text),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            &e.to_string(),
        ),
    }
}

async fn connections(State(state): State<AdminState>) -> Response {
    match serde_json::to_string(&state.registry.list()) {
        Ok(text) => json_reply(StatusCode::OK, text),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            &e.to_string(),
        ),
    }
}

/// The body of `POST /admin/connections/{id}/disconnect`: `{"mode": "clean", "code": 4000}`
/// (code default 1000) or `{"mode": "abrupt"}`; an empty body is a clean close.
fn disconnect_control(value: &Value) -> Result<Control, String> {
    if value.is_null() {
        return Ok(Control::CloseClean { code: 1000 });
    }
    let Some(object) = value.as_object() else {
        return Err("must be an object".into());
    };
    if let Some(key) = object.keys().find(|k| *k != "mode" && *k != "code") {
        return Err(format!("{key}: unknown key"));
    }
    match object
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or("clean")
    {
        "abrupt" => Ok(Control::Reset),
        "clean" => {
            let code = match object.get("code") {
                None | Some(Value::Null) => 1000,
                Some(v) => v
                    .as_u64()
                    .and_then(|c| u16::try_from(c).ok())
                    .filter(|c| valid_close_code(*c))
                    .ok_or("code: must be 1000..=4999, not 1004, 1005, 1006 or 1015")?,
            };
            Ok(Control::CloseClean { code })
        }
        other => Err(format!("mode: {other:?} is not clean or abrupt")),
    }
}

/// Close codes a server may send.
fn valid_close_code(code: u16) -> bool {
    (1000..=4999).contains(&code) && !matches!(code, 1004 | 1005 | 1006 | 1015)
}

async fn disconnect(State(state): State<AdminState>, Path(id): Path<u64>, body: Bytes) -> Response {
    let value = match body_json(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let control = match disconnect_control(&value) {
        Ok(control) => control,
        Err(message) => return error(StatusCode::BAD_REQUEST, "INVALID_FIELD", &message),
    };
    if state.registry.control(id, control) {
        ok(&json!({"disconnected": id}))
    } else {
        error(
            StatusCode::NOT_FOUND,
            "CONNECTION_NOT_FOUND",
            &format!("no open connection {id}"),
        )
    }
}

async fn metrics(State(state): State<AdminState>) -> Response {
    let mut text = state.injector.prometheus_text();
    let _ = write!(
        text,
        "# HELP exchange_connections Open WebSocket connections.\n\
         # TYPE exchange_connections gauge\n\
         exchange_connections {}\n\
         # HELP exchange_connections_opened_total WebSocket connections opened since start.\n\
         # TYPE exchange_connections_opened_total counter\n\
         exchange_connections_opened_total {}\n",
        state.registry.len(),
        state.registry.opened_total(),
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn loopback_needs_no_token() {
        for host in ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"] {
            assert_eq!(authorize(host, None, &HeaderMap::new()), Ok(()), "{host}");
        }
    }

    #[test]
    fn beyond_loopback_without_a_configured_token_is_refused() {
        for host in ["0.0.0.0", "10.0.0.5", "::", "example.org"] {
            assert_eq!(
                authorize(host, None, &headers("x-admin-token", "anything")),
                Err(Refusal::NoTokenConfigured),
                "{host}"
            );
        }
    }

    #[test]
    fn beyond_loopback_the_token_is_required() {
        let token = Some("s3cret");
        assert_eq!(
            authorize("0.0.0.0", token, &HeaderMap::new()),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            authorize("0.0.0.0", token, &headers("x-admin-token", "wrong")),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            authorize("0.0.0.0", token, &headers("authorization", "Bearer s3cret")),
            Ok(())
        );
        assert_eq!(
            authorize("0.0.0.0", token, &headers("x-admin-token", "s3cret")),
            Ok(())
        );
    }

    #[test]
    fn disconnect_bodies() {
        assert_eq!(
            disconnect_control(&json!({"mode": "clean", "code": 4000})),
            Ok(Control::CloseClean { code: 4000 })
        );
        assert_eq!(
            disconnect_control(&json!({"mode": "abrupt"})),
            Ok(Control::Reset)
        );
        assert_eq!(
            disconnect_control(&Value::Null),
            Ok(Control::CloseClean { code: 1000 })
        );
        assert!(disconnect_control(&json!({"mode": "clean", "code": 1006})).is_err());
        assert!(disconnect_control(&json!({"mode": "later"})).is_err());
        assert!(disconnect_control(&json!({"mode": "clean", "cod": 4000})).is_err());
    }
}
