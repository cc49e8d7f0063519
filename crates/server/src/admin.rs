//! The admin API: the fault layer's configuration, statistics and log, the live connections, and
//! Prometheus metrics, on the server's own port. Bodies are JSON whatever their content type (so
//! `curl -d` works). When the server listens beyond loopback every route requires the configured
//! token (`Authorization: Bearer <token>` or `X-Admin-Token: <token>`), and without one the API is
//! refused; on loopback it is open.
//!
//! Every change is logged as an audit line (target `audit`): who asked (address, and whether by
//! loopback or token), what changed, the settings before and after.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use faults::{FaultConfig, FaultConfigError, FaultInjector, FaultLogEntry, OneShot};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::config::check_filter_accounts;
use crate::listener::Peer;
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
    /// The configured accounts' names: the only ones an `accounts` filter can match.
    pub accounts: Arc<Vec<String>>,
    /// The wall-clock time the fault layer's clock (`time_ms`) counts from, in ns since the epoch.
    pub started_unix_ns: u64,
    /// What `/metrics` reads.
    pub metrics: crate::metrics::MetricsState,
}

/// The admin routes, guarded by [`authorize`].
pub fn routes(state: AdminState) -> Router {
    Router::new()
        .route("/admin/faults", get(get_faults).put(put_faults))
        .route("/admin/faults/{mode}", patch(patch_mode).get(get_mode))
        .route("/admin/faults/reset", post(reset))
        .route("/admin/faults/one_shot", post(one_shot))
        .route("/admin/faults/stats", get(stats))
        .route("/admin/faults/log", get(log))
        .route("/admin/connections", get(connections))
        .route("/admin/connections/{id}/disconnect", post(disconnect))
        .route("/admin/connections/{id}", get(connection))
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

/// A refused admin change in the log (target `audit`), then its answer.
fn refused(who: &str, action: &str, e: &FaultConfigError) -> Response {
    tracing::warn!(
        target: "audit",
        who,
        action,
        path = %e.path,
        reason = %e.message,
        "admin change refused"
    );
    invalid(e)
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

    /// The configuration as answered after a change, with `warnings` when it will not act as
    /// the caller may think.
    fn answer_with_warnings(&self, warnings: &[String]) -> Response {
        let mut answer = self.config_json();
        if let (Value::Object(map), false) = (&mut answer, warnings.is_empty()) {
            map.insert("warnings".into(), json!(warnings));
        }
        ok(&answer)
    }

    /// Refuses accounts filters naming accounts this server does not have.
    fn check(&self, config: &FaultConfig) -> Result<(), FaultConfigError> {
        check_filter_accounts(config, &self.accounts)
    }

    /// Who made an admin request, for the audit line.
    fn who(&self, peer: &Peer) -> String {
        let via = if is_loopback_host(&self.host) {
            "loopback"
        } else {
            "admin token"
        };
        format!("{} ({via})", peer.addr)
    }
}

/// One admin change in the log: who, what, the settings before and after.
fn audit(who: &str, action: &str, before: &Value, after: &Value) {
    tracing::info!(
        target: "audit",
        who,
        action,
        before = %before,
        after = %after,
        "admin change"
    );
}

/// Why a mode that was just set will not act: the layer's master switch is off.
fn layer_off_warning(state: &AdminState, mode: &str) -> Vec<String> {
    if state.injector.is_enabled() {
        return Vec::new();
    }
    let warning = format!(
        "the fault layer is off (failures.enabled is false, as on a server started without \
         `failures`): {mode} is stored but does not act until PUT /admin/faults turns the layer \
         on, e.g. -d '{{\"enabled\": true, \"modes\": {{}}}}' before the PATCH"
    );
    tracing::warn!(mode, "{warning}");
    vec![warning]
}

async fn get_faults(State(state): State<AdminState>) -> Response {
    ok(&state.config_json())
}

async fn get_mode(State(state): State<AdminState>, Path(mode): Path<String>) -> Response {
    let config = state.config_json();
    match config.get("modes").and_then(|modes| modes.get(&mode)) {
        Some(settings) => ok(settings),
        None if faults::Mode::from_name(&mode).is_some() => error(
            StatusCode::NOT_FOUND,
            "MODE_NOT_SET",
            &format!("{mode} is not configured (PATCH /admin/faults/{mode} sets it)"),
        ),
        None => {
            let names: Vec<&str> = faults::Mode::ALL
                .into_iter()
                .filter(|m| *m != faults::Mode::OneShot)
                .map(faults::Mode::name)
                .collect();
            let near = faults::did_you_mean(&mode, &names)
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            error(
                StatusCode::NOT_FOUND,
                "UNKNOWN_FAULT_MODE",
                &format!("no fault mode {mode:?}{near}; modes: {}", names.join(", ")),
            )
        }
    }
}

async fn put_faults(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    body: Bytes,
) -> Response {
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
    let config = match FaultConfig::from_json(section).and_then(|c| {
        state.check(&c)?;
        Ok(c)
    }) {
        Ok(config) => config,
        Err(e) => return refused(&state.who(&peer), "replace faults", &e),
    };
    let before = state.config_json();
    state.injector.replace(config);
    state.changed();
    audit(
        &state.who(&peer),
        "replace faults",
        &before,
        &state.config_json(),
    );
    let warnings = if state.injector.is_enabled() {
        Vec::new()
    } else {
        vec!["the fault layer is off (\"enabled\": false): no mode acts".to_owned()]
    };
    state.answer_with_warnings(&warnings)
}

async fn patch_mode(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(mode): Path<String>,
    body: Bytes,
) -> Response {
    let value = match body_json(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let mode_json = |state: &AdminState| {
        state
            .config_json()
            .get("modes")
            .and_then(|m| m.get(&mode))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let before = mode_json(&state);
    match state
        .injector
        .patch_mode_checked(&mode, &value, |config| state.check(config))
    {
        Ok(()) => {
            state.changed();
            let after = mode_json(&state);
            audit(&state.who(&peer), &format!("patch {mode}"), &before, &after);
            let warnings = if after.is_null() {
                Vec::new()
            } else {
                layer_off_warning(&state, &mode)
            };
            state.answer_with_warnings(&warnings)
        }
        Err(e) => refused(&state.who(&peer), &format!("patch {mode}"), &e),
    }
}

async fn reset(State(state): State<AdminState>, ConnectInfo(peer): ConnectInfo<Peer>) -> Response {
    let before = serde_json::to_value(state.injector.statistics().totals).unwrap_or(Value::Null);
    state.injector.reset();
    audit(
        &state.who(&peer),
        "reset statistics and log",
        &before,
        &Value::Null,
    );
    ok(&json!({"reset": true}))
}

async fn one_shot(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    body: Bytes,
) -> Response {
    let value = match body_json(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let armed = OneShot::from_json(&value).and_then(|shot| {
        if let Some(name) = shot
            .filter
            .accounts
            .iter()
            .flatten()
            .find(|name| !state.accounts.contains(name))
        {
            return Err(FaultConfigError {
                path: "one_shot.accounts".into(),
                message: format!(
                    "no configured account {name:?}: an accounts filter only matches \
                     connections logged in to a configured account"
                ),
            });
        }
        state.injector.arm_one_shot(shot)
    });
    match armed {
        Ok(()) => {
            audit(&state.who(&peer), "arm one-shot", &Value::Null, &value);
            let mut warnings = Vec::new();
            if !state.injector.is_enabled() {
                warnings.push(
                    "the fault layer is off: the one-shot waits until it is turned on".to_owned(),
                );
            }
            let mut answer = json!({"armed": true});
            if !warnings.is_empty() {
                answer["warnings"] = json!(warnings);
            }
            ok(&answer)
        }
        Err(e) => refused(&state.who(&peer), "arm one-shot", &e),
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

/// Which fault log entries `GET /admin/faults/log` returns.
#[derive(Debug, Default, PartialEq)]
struct LogFilter {
    mode: Option<String>,
    account: Option<String>,
    connection: Option<u64>,
    /// Entries at or after this `time_ms`.
    since_ms: Option<u64>,
    /// The latest this many.
    limit: Option<usize>,
}

impl LogFilter {
    /// Reads `?mode=&account=&connection=&since=&limit=`; `since` is milliseconds since the
    /// server started or an ISO-8601 time.
    fn parse(params: &HashMap<String, String>, started_unix_ns: u64) -> Result<Self, String> {
        let mut filter = LogFilter::default();
        for (key, value) in params {
            match key.as_str() {
                "mode" => {
                    let known = faults::Mode::ALL.into_iter().any(|m| m.name() == value);
                    if !known {
                        return Err(format!("mode: no fault mode {value:?}"));
                    }
                    filter.mode = Some(value.clone());
                }
                "account" => filter.account = Some(value.clone()),
                "connection" => {
                    filter.connection = Some(
                        value
                            .parse()
                            .map_err(|_| "connection: must be a connection id (an integer)")?,
                    )
                }
                "since" => {
                    filter.since_ms = Some(match value.parse::<u64>() {
                        Ok(ms) => ms,
                        Err(_) => protocol::time::parse_iso8601(value)
                            .map(|ns| ns.saturating_sub(started_unix_ns) / 1_000_000)
                            .ok_or(
                                "since: milliseconds since the server started, or an ISO-8601 \
                                 time such as 2026-12-03T13:00:00Z",
                            )?,
                    })
                }
                "limit" => {
                    filter.limit = Some(
                        value
                            .parse()
                            .map_err(|_| "limit: must be a non-negative integer")?,
                    )
                }
                other => {
                    let keys = ["mode", "account", "connection", "since", "limit"];
                    return Err(crate::admin::unknown_parameter(other, &keys));
                }
            }
        }
        Ok(filter)
    }

    fn keeps(&self, entry: &FaultLogEntry) -> bool {
        self.mode.as_deref().is_none_or(|m| entry.mode.name() == m)
            && self
                .account
                .as_deref()
                .is_none_or(|a| entry.connection_key == a)
            && self.connection.is_none_or(|c| entry.conn_id == c)
            && self.since_ms.is_none_or(|s| entry.time_ms >= s)
    }
}

/// "unknown parameter `x`; parameters: ..." with the nearest named.
pub(crate) fn unknown_parameter(word: &str, valid: &[&str]) -> String {
    let near = faults::did_you_mean(word, valid)
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    format!(
        "unknown parameter `{word}`{near}; parameters: {}",
        valid.join(", ")
    )
}

/// One log entry as the admin API shows it: the crate's fields, the wall-clock `time` and the
/// `decision_key` that makes two runs comparable.
fn log_entry_json(entry: &FaultLogEntry, started_unix_ns: u64) -> Value {
    let mut value = serde_json::to_value(entry).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        let wall_ns = started_unix_ns.saturating_add(entry.time_ms.saturating_mul(1_000_000));
        map.insert("time".into(), json!(protocol::time::iso8601(wall_ns)));
        map.insert("decision_key".into(), json!(entry.decision_key()));
    }
    value
}

async fn log(
    State(state): State<AdminState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let filter = match LogFilter::parse(&params, state.started_unix_ns) {
        Ok(filter) => filter,
        Err(message) => return error(StatusCode::BAD_REQUEST, "INVALID_FIELD", &message),
    };
    let summary = state.injector.log_summary();
    let mut entries: Vec<Value> = state
        .injector
        .log()
        .iter()
        .filter(|entry| filter.keeps(entry))
        .map(|entry| log_entry_json(entry, state.started_unix_ns))
        .collect();
    if let Some(limit) = filter.limit {
        let skip = entries.len().saturating_sub(limit);
        entries.drain(..skip);
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::HeaderName::from_static("x-fault-log-dropped"),
                summary.dropped.to_string(),
            ),
            (
                header::HeaderName::from_static("x-fault-log-recorded"),
                summary.recorded.to_string(),
            ),
        ],
        Value::Array(entries).to_string(),
    )
        .into_response()
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

/// A connection id from the path: anything else is a JSON 400, not axum's text.
fn connection_id(id: &str) -> Result<u64, Box<Response>> {
    id.parse().map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD",
            &format!("{id:?} is not a connection id (an integer)"),
        ))
    })
}

async fn connection(State(state): State<AdminState>, Path(id): Path<String>) -> Response {
    let id = match connection_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    match state.registry.list().into_iter().find(|row| row.id == id) {
        Some(row) => match serde_json::to_value(&row) {
            Ok(mut value) => {
                let stats = state.injector.statistics();
                if let Some(counters) = stats.by_connection.get(&id) {
                    value["faults"] = serde_json::to_value(counters).unwrap_or(Value::Null);
                }
                ok(&value)
            }
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                &e.to_string(),
            ),
        },
        None => error(
            StatusCode::NOT_FOUND,
            "CONNECTION_NOT_FOUND",
            &format!("no open connection {id}"),
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

async fn disconnect(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match connection_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let value = match body_json(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let control = match disconnect_control(&value) {
        Ok(control) => control,
        Err(message) => return error(StatusCode::BAD_REQUEST, "INVALID_FIELD", &message),
    };
    if state.registry.control(id, control) {
        audit(
            &state.who(&peer),
            &format!("disconnect connection {id}"),
            &Value::Null,
            &json!(format!("{control:?}")),
        );
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
    crate::metrics::route(State(state.metrics)).await
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
