//! `exchange-sim faults ...`: the admin API from the command line, as toxiproxy-cli is for
//! Toxiproxy. Readable tables by default, the server's JSON with `--json`. Exit code 0 on
//! success, 1 when the server refuses or cannot be reached (with its code and message), 2 for a
//! mistaken command line.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// Options every `faults` command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// The server's HTTP address.
    #[arg(
        long,
        global = true,
        env = "EXCHANGE_SIM_URL",
        default_value = "http://127.0.0.1:8765"
    )]
    url: String,
    /// The admin token (needed when the server listens beyond loopback).
    #[arg(long, global = true, env = "EXCHANGE_SIM_ADMIN_TOKEN")]
    token: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

/// `exchange-sim faults <command>`.
#[derive(clap::Args, Debug)]
pub struct FaultsArgs {
    #[command(subcommand)]
    command: FaultsCommand,
    #[command(flatten)]
    connection: Connection,
}

#[derive(clap::Subcommand, Debug)]
enum FaultsCommand {
    /// The fault layer's switch and every configured mode with its settings.
    List,
    /// One mode's settings, every default written out.
    Show {
        /// The mode, e.g. drop_messages.
        mode: String,
    },
    /// Replaces the whole configuration with a file (a `failures` object, or a whole config
    /// file such as examples/faults/flaky_mobile.json), `-` for stdin, or inline JSON.
    Set {
        /// A file, `-`, or JSON text.
        source: String,
    },
    /// Changes one mode: `key=value` pairs (lists comma-separated), or a JSON object; `--remove`
    /// takes the mode away.
    Patch {
        /// The mode, e.g. drop_messages.
        mode: String,
        /// `probability=0.2 message_types=ORDER_FILL,ORDER_ACK` or `'{"probability": 0.2}'`.
        settings: Vec<String>,
        /// Remove the mode instead.
        #[arg(long, conflicts_with = "settings")]
        remove: bool,
        /// Also turn the fault layer on, if it is off.
        #[arg(long)]
        enable: bool,
    },
    /// Clears the statistics and the log.
    Reset,
    /// Faults injected so far, by mode and direction.
    Stats,
    /// The latest faults injected.
    Log {
        /// Only this mode.
        #[arg(long)]
        mode: Option<String>,
        /// Only this connection key (an account, or anon-N).
        #[arg(long)]
        account: Option<String>,
        /// Only this connection id.
        #[arg(long)]
        connection: Option<u64>,
        /// Only from then on: milliseconds since the server started, or an ISO-8601 time.
        #[arg(long)]
        since: Option<String>,
        /// Only the latest N.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The open WebSocket connections.
    Connections,
}

/// Why a command failed: said on stderr, exit code 1.
struct Failure(String);

/// The admin API over HTTP.
struct Admin {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

/// An answer: status, headers we care about, and the JSON body.
struct Answer {
    status: u16,
    dropped: Option<u64>,
    body: Value,
}

impl Admin {
    fn new(connection: &Connection) -> Admin {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build();
        Admin {
            agent: ureq::Agent::new_with_config(config),
            base: connection.url.trim_end_matches('/').to_owned(),
            token: connection.token.clone(),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, Failure> {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        macro_rules! with_auth {
            ($request:expr) => {{
                let request = $request;
                match &auth {
                    Some(value) => request.header("Authorization", value),
                    None => request,
                }
            }};
        }
        let text = body.map(Value::to_string).unwrap_or_default();
        let result = match method {
            "GET" => with_auth!(self.agent.get(&url)).call(),
            "PUT" => with_auth!(self.agent.put(&url)).send(text.as_str()),
            "PATCH" => with_auth!(self.agent.patch(&url)).send(text.as_str()),
            _ => with_auth!(self.agent.post(&url)).send(text.as_str()),
        };
        let mut response = result.map_err(|e| {
            Failure(format!(
                "cannot reach {}: {e} (is the server running? `exchange-sim` starts one; \
                 --url or EXCHANGE_SIM_URL names another)",
                self.base
            ))
        })?;
        let status = response.status().as_u16();
        let dropped = response
            .headers()
            .get("x-fault-log-dropped")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| Failure(format!("{method} {path}: cannot read the answer: {e}")))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 400 {
            let code = body["code"].as_str().unwrap_or("HTTP_ERROR");
            let message = body["message"].as_str().unwrap_or("");
            let path_note = body["path"]
                .as_str()
                .map(|p| format!(" (at {p})"))
                .unwrap_or_default();
            return Err(Failure(format!(
                "{method} {path}: {status} {code}{path_note}: {message}"
            )));
        }
        Ok(Answer {
            status,
            dropped,
            body,
        })
    }
}

/// Runs a `faults` command.
pub fn run(args: FaultsArgs) -> ExitCode {
    let admin = Admin::new(&args.connection);
    let json_out = args.connection.json;
    match execute(&admin, args.command, json_out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            crate::complain(&format!("exchange-sim faults: {message}"));
            ExitCode::FAILURE
        }
    }
}

fn execute(admin: &Admin, command: FaultsCommand, json_out: bool) -> Result<(), Failure> {
    match command {
        FaultsCommand::List => {
            let answer = admin.call("GET", "/admin/faults", None)?;
            print_or(json_out, &answer.body, list_table)
        }
        FaultsCommand::Show { mode } => {
            let answer = admin.call("GET", &format!("/admin/faults/{mode}"), None)?;
            print_or(json_out, &answer.body, |v| settings_table(&mode, v))
        }
        FaultsCommand::Set { source } => {
            let body = read_source(&source)?;
            let answer = admin.call("PUT", "/admin/faults", Some(&body))?;
            print_or(json_out, &answer.body, |v| {
                format!("{}{}", warnings(v), list_table(v))
            })
        }
        FaultsCommand::Patch {
            mode,
            settings,
            remove,
            enable,
        } => {
            if enable {
                let current = admin.call("GET", "/admin/faults", None)?.body;
                if current["enabled"] != json!(true) {
                    let mut on = current.clone();
                    on["enabled"] = json!(true);
                    admin.call("PUT", "/admin/faults", Some(&on))?;
                }
            }
            let body = if remove {
                Value::Null
            } else {
                settings_json(&settings)?
            };
            let answer = admin.call("PATCH", &format!("/admin/faults/{mode}"), Some(&body))?;
            print_or(json_out, &answer.body, |v| {
                let shown = match v["modes"].get(&mode) {
                    Some(settings) => settings_table(&mode, settings),
                    None => format!("{mode} removed\n"),
                };
                format!("{}{shown}", warnings(v))
            })
        }
        FaultsCommand::Reset => {
            let answer = admin.call("POST", "/admin/faults/reset", None)?;
            print_or(json_out, &answer.body, |_| {
                "statistics and log cleared\n".to_owned()
            })
        }
        FaultsCommand::Stats => {
            let answer = admin.call("GET", "/admin/faults/stats", None)?;
            print_or(json_out, &answer.body, stats_table)
        }
        FaultsCommand::Log {
            mode,
            account,
            connection,
            since,
            limit,
        } => {
            let mut query = vec![format!("limit={limit}")];
            let mut add = |key: &str, value: Option<String>| {
                if let Some(value) = value {
                    query.push(format!("{key}={}", percent_encode(&value)));
                }
            };
            add("mode", mode);
            add("account", account);
            add("connection", connection.map(|c| c.to_string()));
            add("since", since);
            let path = format!("/admin/faults/log?{}", query.join("&"));
            let answer = admin.call("GET", &path, None)?;
            let dropped = answer.dropped;
            print_or(json_out, &answer.body, |v| log_table(v, dropped))
        }
        FaultsCommand::Connections => {
            let answer = admin.call("GET", "/admin/connections", None)?;
            debug_assert!(answer.status == 200);
            print_or(json_out, &answer.body, connections_table)
        }
    }
}

/// Prints the JSON, or the table made of it.
fn print_or(json_out: bool, body: &Value, table: impl Fn(&Value) -> String) -> Result<(), Failure> {
    if json_out {
        let text = serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string());
        crate::say(&text);
    } else {
        crate::say(table(body).trim_end());
    }
    Ok(())
}

/// The JSON a `set` sends: a file, stdin (`-`), or the text itself when it is JSON.
fn read_source(source: &str) -> Result<Value, Failure> {
    let text = if source.trim_start().starts_with('{') {
        source.to_owned()
    } else if source == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Failure(format!("cannot read stdin: {e}")))?;
        text
    } else {
        std::fs::read_to_string(source).map_err(|e| Failure(format!("{source}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| Failure(format!("{source}: not JSON: {e}")))
}

/// Settings that are lists of names, given comma-separated on the command line.
const LIST_KEYS: [&str; 4] = ["accounts", "message_types", "channels", "at_s"];

/// `key=value` pairs (or one JSON object) as the JSON of a PATCH.
fn settings_json(settings: &[String]) -> Result<Value, Failure> {
    if let [only] = settings {
        if only.trim_start().starts_with('{') {
            return serde_json::from_str(only)
                .map_err(|e| Failure(format!("the settings are not JSON: {e}")));
        }
    }
    if settings.is_empty() {
        return Err(Failure(
            "give settings (probability=0.2 ...), a JSON object, or --remove".into(),
        ));
    }
    let mut map = Map::new();
    for pair in settings {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Failure(format!(
                "{pair:?} is not key=value (e.g. probability=0.2)"
            )));
        };
        let parse = |v: &str| serde_json::from_str(v).unwrap_or_else(|_| json!(v));
        let value = if LIST_KEYS.contains(&key) {
            Value::Array(
                value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(parse)
                    .collect(),
            )
        } else {
            parse(value)
        };
        map.insert(key.to_owned(), value);
    }
    Ok(Value::Object(map))
}

/// Percent-encodes a query value.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A table: headers, then rows, columns padded to their widest cell.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A JSON value as a cell: strings bare, lists comma-separated.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// The keys of a mode that aim it rather than say what it does.
const FILTER_KEYS: [&str; 6] = [
    "direction",
    "message_types",
    "channels",
    "accounts",
    "start_s",
    "end_s",
];

fn list_table(config: &Value) -> String {
    let on = if config["enabled"] == json!(true) {
        "on"
    } else {
        "OFF (no mode acts; `exchange-sim faults patch MODE ... --enable` turns it on)"
    };
    let mut out = format!("fault layer: {on}\n");
    if let Some(seed) = config.get("seed") {
        out.push_str(&format!("seed: {seed}\n"));
    }
    if let Some(latency) = config.get("latency") {
        out.push_str(&format!("latency: {}\n", cell(&latency["mode"])));
    }
    let modes = config["modes"].as_object().cloned().unwrap_or_default();
    if modes.is_empty() {
        out.push_str("no mode configured\n");
        return out;
    }
    let rows: Vec<Vec<String>> = modes
        .iter()
        .map(|(name, settings)| {
            let pairs = |filter: bool| -> String {
                settings
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| k.as_str() != "enabled")
                            .filter(|(k, _)| FILTER_KEYS.contains(&k.as_str()) == filter)
                            .map(|(k, v)| format!("{k}={}", cell(v)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default()
            };
            vec![
                name.clone(),
                if settings["enabled"] == json!(true) {
                    "yes".into()
                } else {
                    "no".into()
                },
                pairs(false),
                pairs(true),
            ]
        })
        .collect();
    out.push_str(&table(&["MODE", "ON", "SETTINGS", "AIMED AT"], &rows));
    if let Some(steps) = config["scenario"].as_array() {
        out.push_str(&format!("scenario: {} step(s)\n", steps.len()));
    }
    out
}

fn settings_table(mode: &str, settings: &Value) -> String {
    let rows: Vec<Vec<String>> = settings
        .as_object()
        .map(|m| m.iter().map(|(k, v)| vec![k.clone(), cell(v)]).collect())
        .unwrap_or_default();
    format!("{mode}\n{}", table(&["SETTING", "VALUE"], &rows))
}

fn warnings(answer: &Value) -> String {
    answer["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| format!("warning: {}\n", cell(w)))
        .collect()
}

/// The statistics counter names, by mode (as the server writes them).
fn stats_table(stats: &Value) -> String {
    let total = stats["total_count"].as_u64().unwrap_or(0);
    let mut rows = Vec::new();
    let directions = ["inbound", "outbound", "connection"];
    let counters: BTreeMap<String, u64> = stats
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.ends_with("_count") && k.as_str() != "total_count")
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    for (counter, count) in &counters {
        if *count == 0 {
            continue;
        }
        let mut row = vec![
            counter.trim_end_matches("_count").to_owned(),
            count.to_string(),
        ];
        for d in directions {
            row.push(cell(&stats["by_direction"][d][counter]));
        }
        rows.push(row);
    }
    let mut out = format!("{total} fault(s) injected\n");
    if !rows.is_empty() {
        out.push_str(&table(
            &["FAULT", "TOTAL", "INBOUND", "OUTBOUND", "CONNECTION"],
            &rows,
        ));
    }
    let log = &stats["log"];
    if log.is_object() {
        out.push_str(&format!(
            "log: {} entries held of {} recorded ({} dropped, capacity {})\n",
            cell(&log["entries"]),
            cell(&log["recorded"]),
            cell(&log["dropped"]),
            cell(&log["capacity"])
        ));
    }
    out
}

fn log_table(log: &Value, dropped: Option<u64>) -> String {
    let entries = log.as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                cell(&e["time"]),
                cell(&e["conn_id"]),
                format!(
                    "{}#{}",
                    cell(&e["connection_key"]),
                    cell(&e["connection_ordinal"])
                ),
                cell(&e["mode"]),
                cell(&e["direction"]),
                cell(&e["seq"]),
                cell(&e["message_type"]),
                cell(&e["detail"]),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "TIME",
            "CONN",
            "KEY",
            "MODE",
            "DIRECTION",
            "SEQ",
            "TYPE",
            "DETAIL",
        ],
        &rows,
    );
    let n = rows.len();
    out.push_str(&format!("{n} {}", if n == 1 { "entry" } else { "entries" }));
    if let Some(dropped) = dropped.filter(|d| *d > 0) {
        out.push_str(&format!(
            "; {dropped} older entries were dropped from the log"
        ));
    }
    out.push('\n');
    out
}

fn connections_table(rows: &Value) -> String {
    let rows: Vec<Vec<String>> = rows
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let age_ms = c["age_ms"].as_u64().unwrap_or(0);
            vec![
                cell(&c["id"]),
                cell(&c["account"]),
                cell(&c["address"]),
                format!("{:.1}s", age_ms as f64 / 1000.0),
                cell(&c["frames_in"]),
                cell(&c["frames_out"]),
            ]
        })
        .collect();
    let count = rows.len();
    format!(
        "{}{count} connection(s)\n",
        table(&["ID", "ACCOUNT", "ADDRESS", "AGE", "IN", "OUT"], &rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_settings_become_json() {
        let settings: Vec<String> = [
            "probability=0.2",
            "message_types=ORDER_FILL,ORDER_ACK",
            "clean=false",
            "direction=outbound",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            settings_json(&settings).ok(),
            Some(
                json!({"probability": 0.2, "message_types": ["ORDER_FILL", "ORDER_ACK"],
                        "clean": false, "direction": "outbound"})
            )
        );
        assert_eq!(
            settings_json(&[r#"{"probability": 1}"#.to_string()]).ok(),
            Some(json!({"probability": 1}))
        );
        assert!(settings_json(&["probability".to_string()]).is_err());
    }

    #[test]
    fn tables_line_up() {
        let text = table(&["A", "LONGER"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(text, "A    LONGER\nxyz  1\n");
        assert_eq!(
            percent_encode("2026-12-03T13:00:00Z"),
            "2026-12-03T13%3A00%3A00Z"
        );
    }
}
