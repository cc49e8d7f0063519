//! The fault configuration: the object under `failures` in the config file (`enabled`, `seed`,
//! `modes`, `scenario`), validated whole, with every error naming its key path.
//!
//! A scenario step overrides modes during its window: at any time the effective modes are the base
//! `modes` with every active step's modes JSON-merged over them, in list order. Every combination
//! is compiled and validated when the config is read, so nothing can fail later.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::modes::Modes;
use crate::reader::ObjectReader;
use crate::rest::Latency;

/// The most scenario steps a config may hold.
pub const SCENARIO_STEPS_MAX: usize = 256;

/// An invalid fault configuration: the key's path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FaultConfigError {
    /// The full path of the offending key, e.g. `failures.modes.drop_messages.probability`.
    pub path: String,
    /// What is wrong, e.g. `must be between 0 and 1`.
    pub message: String,
}

impl FaultConfigError {
    /// An error about the key at `path`.
    pub(crate) fn new(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// The stable error code the admin API answers with.
    pub fn code(&self) -> &'static str {
        "INVALID_FAULT_CONFIG"
    }
}

/// One step of the scenario timeline: modes that apply from `start_s` until `end_s`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioStep {
    /// `name` (optional): a label for humans and logs.
    pub name: Option<String>,
    /// `start_s`: seconds after server start when the step begins.
    pub start_s: f64,
    /// `end_s` (optional): seconds after server start when the step ends (default: never).
    pub end_s: Option<f64>,
    /// `modes`: partial mode objects merged over the base modes while the step is active.
    pub modes: Map<String, Value>,
}

/// The effective modes from `start_ms` until the next segment.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    start_ms: u64,
    modes: Arc<Modes>,
}

/// The whole fault configuration, validated. Build it with [`FaultConfig::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    enabled: bool,
    seed: Option<u64>,
    /// The original's `latency` (REST, and WebSocket through `delay_messages`).
    latency: Option<Latency>,
    modes: Modes,
    scenario: Vec<ScenarioStep>,
    /// The effective modes from time 0.
    first: Arc<Modes>,
    /// Later changes of the effective modes, by start time.
    later: Vec<Segment>,
}

impl Default for FaultConfig {
    /// Faults off, no modes.
    fn default() -> Self {
        let modes = Modes::default();
        Self {
            enabled: false,
            seed: None,
            latency: None,
            first: Arc::new(modes.clone()),
            later: Vec::new(),
            modes,
            scenario: Vec::new(),
        }
    }
}

impl FaultConfig {
    /// Reads the object under `failures` (`enabled` default true, `seed`, `modes`, `scenario`).
    pub fn from_json(value: &Value) -> Result<Self, FaultConfigError> {
        let mut reader = ObjectReader::new("failures", value)?;
        let enabled = reader.bool_or("enabled", true)?;
        let seed = reader.integer_in("seed", 0, u64::MAX)?;
        let latency = reader.take("latency").map(Latency::read).transpose()?;
        let mut modes_value = reader
            .take("modes")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        // The original's latency reaches WebSocket frames as our delay_messages, unless that mode
        // is configured itself.
        if let (Some(latency), Value::Object(modes)) = (&latency, &mut modes_value) {
            if latency.enabled && !modes.contains_key("delay_messages") {
                modes.insert("delay_messages".into(), latency.delay_messages());
            }
        }
        let modes = Modes::read("failures.modes", &modes_value)?;
        let scenario = match reader.take("scenario") {
            None => Vec::new(),
            Some(Value::Array(steps)) if steps.len() > SCENARIO_STEPS_MAX => {
                return Err(reader.error("scenario", format!("at most {SCENARIO_STEPS_MAX} steps")))
            }
            Some(Value::Array(steps)) => steps
                .iter()
                .enumerate()
                .map(|(index, step)| read_step(index, step))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(reader.error("scenario", "must be a list of steps")),
        };
        reader.finish()?;
        let (first, later) = compile(&modes_value, &scenario)?;
        Ok(Self {
            enabled,
            seed,
            latency,
            modes,
            scenario,
            first,
            later,
        })
    }

    /// Reads a whole config file's JSON, taking its `failures` object (faults off when absent).
    pub fn from_file_json(value: &Value) -> Result<Self, FaultConfigError> {
        match value.get("failures") {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(failures) => Self::from_json(failures),
        }
    }

    /// The object under `failures`, every default written out; [`FaultConfig::from_json`] reads it
    /// back to an equal config.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("enabled".into(), Value::Bool(self.enabled));
        if let Some(seed) = self.seed {
            map.insert("seed".into(), Value::from(seed));
        }
        if let Some(latency) = &self.latency {
            map.insert("latency".into(), latency.to_json());
        }
        map.insert("modes".into(), self.modes.to_json());
        if !self.scenario.is_empty() {
            let steps = self.scenario.iter().map(step_to_json).collect();
            map.insert("scenario".into(), Value::Array(steps));
        }
        Value::Object(map)
    }

    /// A copy with `patch` JSON-merged into mode `name` (`null` removes the mode), validated whole.
    pub fn with_mode_patch(&self, name: &str, patch: &Value) -> Result<Self, FaultConfigError> {
        let mut whole = self.to_json();
        let mut mode_patch = Map::new();
        mode_patch.insert(name.to_owned(), patch.clone());
        let mut modes_patch = Map::new();
        modes_patch.insert("modes".into(), Value::Object(mode_patch));
        merge(&mut whole, &Value::Object(modes_patch));
        Self::from_json(&whole)
    }

    /// `enabled`: whether any fault applies at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `seed`: the seed given in the config, if any.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// `latency`: the original's REST latency, if configured.
    pub fn latency(&self) -> Option<&Latency> {
        self.latency.as_ref()
    }

    /// `modes`: the base modes (without scenario overrides).
    pub fn modes(&self) -> &Modes {
        &self.modes
    }

    /// `scenario`: the timeline of overrides.
    pub fn scenario(&self) -> &[ScenarioStep] {
        &self.scenario
    }

    /// Every account named in an `accounts` filter, with the filter's path
    /// (`failures.scenario[0].modes.drop_messages.accounts[1]`), base modes and scenario steps.
    pub fn filter_accounts(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut collect = |prefix: &str, modes: &Value| {
            let Value::Object(modes) = modes else {
                return;
            };
            for (mode, settings) in modes {
                let Some(Value::Array(accounts)) = settings.get("accounts") else {
                    continue;
                };
                for (i, account) in accounts.iter().enumerate() {
                    if let Some(name) = account.as_str() {
                        found.push((format!("{prefix}.{mode}.accounts[{i}]"), name.to_owned()));
                    }
                }
            }
        };
        collect("failures.modes", &self.modes.to_json());
        for (i, step) in self.scenario.iter().enumerate() {
            collect(
                &format!("failures.scenario[{i}].modes"),
                &Value::Object(step.modes.clone()),
            );
        }
        found
    }

    /// The base modes that act, by name, with every setting written out (for the start-up log):
    /// none while `enabled` is false.
    pub fn active_modes(&self) -> Vec<(String, Value)> {
        if !self.enabled {
            return Vec::new();
        }
        let Value::Object(modes) = self.modes.to_json() else {
            return Vec::new();
        };
        modes
            .into_iter()
            .filter(|(_, mode)| mode.get("enabled") == Some(&Value::Bool(true)))
            .collect()
    }

    /// The effective modes at `now_ms` (the base modes with active scenario steps applied).
    pub fn modes_at(&self, now_ms: u64) -> &Arc<Modes> {
        let count = self
            .later
            .partition_point(|segment| segment.start_ms <= now_ms);
        match count.checked_sub(1).and_then(|index| self.later.get(index)) {
            Some(segment) => &segment.modes,
            None => &self.first,
        }
    }
}

impl FaultConfig {
    /// The run of the timeline around `now_ms` in which `select` picks the same settings: when
    /// it began (0: from the start) and when it ends (`None`: never). A mode's time-dependent
    /// behaviour (a clock's drift, recurring storms) counts from the start of its run, so a
    /// scenario step that turns it on starts it afresh.
    pub(crate) fn settled<T: PartialEq>(
        &self,
        now_ms: u64,
        select: impl Fn(&Modes) -> &T,
    ) -> (u64, Option<u64>) {
        // Segment 0 is `first` from 0; segment i > 0 is `later[i - 1]`.
        let segment = |index: usize| -> Option<(u64, &Modes)> {
            match index.checked_sub(1) {
                None => Some((0, &*self.first)),
                Some(later) => self.later.get(later).map(|s| (s.start_ms, &*s.modes)),
            }
        };
        let current = self
            .later
            .partition_point(|segment| segment.start_ms <= now_ms);
        let Some((mut since_ms, modes)) = segment(current) else {
            return (0, None);
        };
        let settings = select(modes);
        let mut index = current;
        while let Some((start_ms, earlier)) = index.checked_sub(1).and_then(segment) {
            if select(earlier) != settings {
                break;
            }
            since_ms = start_ms;
            index -= 1;
        }
        let mut until_ms = None;
        let mut index = current + 1;
        while let Some((start_ms, later)) = segment(index) {
            if select(later) != settings {
                until_ms = Some(start_ms);
                break;
            }
            index += 1;
        }
        (since_ms, until_ms)
    }
}

/// Reads `failures.scenario[index]`.
fn read_step(index: usize, value: &Value) -> Result<ScenarioStep, FaultConfigError> {
    let path = format!("failures.scenario[{index}]");
    let mut reader = ObjectReader::new(&path, value)?;
    let name = match reader.take("name") {
        None => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(reader.error("name", "must be a string")),
    };
    let start_s = reader
        .number_in("start_s", 0.0, f64::MAX)?
        .ok_or_else(|| reader.error("start_s", "is required"))?;
    let end_s = reader.number_in("end_s", 0.0, f64::MAX)?;
    if matches!(end_s, Some(end) if end <= start_s) {
        return Err(reader.error("end_s", "must be greater than start_s"));
    }
    let modes = match reader.take("modes") {
        Some(Value::Object(modes)) => modes.clone(),
        Some(_) => return Err(reader.error("modes", "must be an object")),
        None => return Err(reader.error("modes", "is required")),
    };
    reader.finish()?;
    Ok(ScenarioStep {
        name,
        start_s,
        end_s,
        modes,
    })
}

/// The JSON form of a scenario step.
fn step_to_json(step: &ScenarioStep) -> Value {
    let mut map = Map::new();
    if let Some(name) = &step.name {
        map.insert("name".into(), Value::from(name.clone()));
    }
    map.insert("start_s".into(), Value::from(step.start_s));
    if let Some(end) = step.end_s {
        map.insert("end_s".into(), Value::from(end));
    }
    map.insert("modes".into(), Value::Object(step.modes.clone()));
    Value::Object(map)
}

/// Seconds to milliseconds for a validated, non-negative time.
fn to_ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round() as u64
}

/// Splits the timeline at every step boundary and validates the effective modes of each piece.
fn compile(
    base: &Value,
    scenario: &[ScenarioStep],
) -> Result<(Arc<Modes>, Vec<Segment>), FaultConfigError> {
    let mut bounds: Vec<u64> = vec![0];
    for step in scenario {
        bounds.push(to_ms(step.start_s));
        bounds.extend(step.end_s.map(to_ms));
    }
    bounds.sort_unstable();
    bounds.dedup();
    let mut first: Option<Arc<Modes>> = None;
    let mut later: Vec<Segment> = Vec::with_capacity(bounds.len());
    for start_ms in bounds {
        let mut merged = base.clone();
        let mut path = String::from("failures.modes");
        for (index, step) in scenario.iter().enumerate() {
            let active = to_ms(step.start_s) <= start_ms && ends_after(step.end_s, start_ms);
            if active {
                merge(&mut merged, &Value::Object(step.modes.clone()));
                path = format!("failures.scenario[{index}].modes");
            }
        }
        let modes = Modes::read(&path, &merged)?;
        let current = later
            .last()
            .map(|segment| &segment.modes)
            .or(first.as_ref());
        if current.is_some_and(|previous| **previous == modes) {
            continue;
        }
        if first.is_none() {
            first = Some(Arc::new(modes));
        } else {
            later.push(Segment {
                start_ms,
                modes: Arc::new(modes),
            });
        }
    }
    let first = first.unwrap_or_default();
    Ok((first, later))
}

/// Whether an optional end time lies after `now_ms` (no end: always).
fn ends_after(end_s: Option<f64>, now_ms: u64) -> bool {
    match end_s {
        None => true,
        Some(end_s) => to_ms(end_s) > now_ms,
    }
}

/// JSON merge patch (RFC 7396): objects merge key by key, `null` removes, anything else replaces.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                merge(target_map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}
