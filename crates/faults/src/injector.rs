//! The shared, thread-safe handle: holds the configuration, the statistics and the log, and hands
//! out the per-connection state. Cloning is cheap (an `Arc`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde_json::Value;

use crate::connection::ConnectionFaults;
use crate::filter::Target;
use crate::mode::Mode;
use crate::modes::{active, Modes};
use crate::one_shot::{Armed, OneShot};
use crate::shared::{lock, Shared, ANONYMOUS_PREFIX};
use crate::stats::{FaultLogEntry, Recorder, Statistics};
use crate::{FaultConfig, FaultConfigError};

/// The most one-shot faults armed at once.
pub const ONE_SHOTS_MAX: usize = 1024;

/// The connection key of the `ordinal`-th anonymous connection: `anon-<ordinal>`.
pub fn anonymous_key(ordinal: u64) -> String {
    format!("{ANONYMOUS_PREFIX}{ordinal}")
}

/// The fault layer's shared handle.
#[derive(Debug, Clone)]
pub struct FaultInjector {
    pub(crate) shared: Arc<Shared>,
}

impl FaultInjector {
    /// A fault layer with `config`; `seed` applies when the config names no `seed` (the server
    /// passes `--seed` here, or 0).
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        Self {
            shared: Arc::new(Shared {
                enabled: AtomicBool::new(config.enabled()),
                generation: AtomicU64::new(0),
                config: RwLock::new(Arc::new(config)),
                fallback_seed: seed,
                recorder: Mutex::new(Recorder::default()),
                armed_count: AtomicUsize::new(0),
                armed: Mutex::new(Vec::new()),
                key_ordinals: Mutex::new(HashMap::new()),
                rest: Mutex::new(crate::rest::RestSessions::default()),
                http: Mutex::new(crate::http::HttpClients::default()),
                clock: Mutex::new(crate::activation::Activation::default()),
                no_modes: Arc::new(Modes::default()),
            }),
        }
    }

    /// Whether faults are on: one atomic load. When false the server skips the layer entirely.
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled.load(Ordering::Acquire)
    }

    /// The current configuration.
    pub fn config(&self) -> Arc<FaultConfig> {
        self.shared.config().1
    }

    /// The seed in force (the config's `seed`, else the one given to [`FaultInjector::new`]).
    pub fn seed(&self) -> u64 {
        self.shared.seed_for(&self.config())
    }

    /// Replaces the whole configuration (already validated); existing connections pick it up on
    /// their next call.
    pub fn replace(&self, config: FaultConfig) {
        self.shared.install(config);
    }

    /// Replaces the whole configuration from the JSON under `failures` (`PUT /admin/faults`);
    /// nothing changes when it is invalid.
    pub fn replace_json(&self, value: &Value) -> Result<(), FaultConfigError> {
        self.replace(FaultConfig::from_json(value)?);
        Ok(())
    }

    /// JSON-merges `patch` into mode `name` (`PATCH /admin/faults/{mode}`); the result is
    /// validated whole before it applies.
    pub fn patch_mode(&self, name: &str, patch: &Value) -> Result<(), FaultConfigError> {
        self.patch_mode_checked(name, patch, |_| Ok(()))
    }

    /// [`FaultInjector::patch_mode`], applied only when `check` also accepts the result (the
    /// server refuses filters naming accounts it does not have).
    pub fn patch_mode_checked(
        &self,
        name: &str,
        patch: &Value,
        check: impl FnOnce(&FaultConfig) -> Result<(), FaultConfigError>,
    ) -> Result<(), FaultConfigError> {
        if Mode::from_name(name).is_none() {
            let names: Vec<&str> = Mode::ALL
                .into_iter()
                .filter(|mode| *mode != Mode::OneShot)
                .map(Mode::name)
                .collect();
            return Err(FaultConfigError::new(
                &format!("failures.modes.{name}"),
                crate::reader::unknown_message("fault mode", name, &names),
            ));
        }
        let mut slot = self
            .shared
            .config
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let patched = slot.with_mode_patch(name, patch)?;
        check(&patched)?;
        self.shared
            .enabled
            .store(patched.enabled(), Ordering::Release);
        *slot = Arc::new(patched);
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Clears the statistics and the log (`POST /admin/faults/reset`).
    pub fn reset(&self) {
        *lock(&self.shared.recorder) = Recorder::default();
    }

    /// A snapshot of the statistics (`GET /admin/faults/stats`).
    pub fn statistics(&self) -> Statistics {
        lock(&self.shared.recorder).statistics()
    }

    /// How full the fault log is and how many entries it dropped.
    pub fn log_summary(&self) -> crate::LogSummary {
        lock(&self.shared.recorder).log_summary()
    }

    /// The fault log, oldest first (`GET /admin/faults/log`).
    pub fn log(&self) -> Vec<FaultLogEntry> {
        lock(&self.shared.recorder).log()
    }

    /// Arms a one-shot fault; fails when [`ONE_SHOTS_MAX`] are already armed.
    pub fn arm_one_shot(&self, shot: OneShot) -> Result<(), FaultConfigError> {
        let mut armed = lock(&self.shared.armed);
        if armed.len() >= ONE_SHOTS_MAX {
            return Err(FaultConfigError::new(
                "one_shot",
                format!("at most {ONE_SHOTS_MAX} one-shot faults may be armed"),
            ));
        }
        armed.push(Armed {
            remaining: shot.count,
            shot,
        });
        self.shared
            .armed_count
            .store(armed.len(), Ordering::Release);
        Ok(())
    }

    /// Disarms every one-shot fault.
    pub fn clear_one_shots(&self) {
        let mut armed = lock(&self.shared.armed);
        armed.clear();
        self.shared.armed_count.store(0, Ordering::Release);
    }

    /// Whether a new connection may be accepted at `now_ms` (false during an `outage` with
    /// `refuse_connections`; the refusal is counted with connection id 0).
    pub fn accept_connection(&self, now_ms: u64) -> bool {
        if !self.is_enabled() {
            return true;
        }
        let config = self.config();
        let target = Target {
            direction: None,
            message_type: None,
            channel: None,
            account: None,
            now_ms,
        };
        let refused = active(&config.modes_at(now_ms).outage, &target)
            .is_some_and(|outage| outage.params.refuse_connections);
        if refused {
            self.shared.record(FaultLogEntry {
                conn_id: 0,
                connection_key: String::new(),
                connection_ordinal: 0,
                mode: Mode::Outage,
                direction: None,
                seq: None,
                message_type: None,
                time_ms: now_ms,
                detail: Some("connection refused".into()),
            });
        }
        !refused
    }

    /// What happens to a REST request of `session` (the original's `X-Session-ID`) at `now_ms`:
    /// the `rate_limit` mode's 429 with its escalating bans, else the `latency` section's delays
    /// before the request and before the response. Nothing while the layer is off.
    pub fn rest_request(&self, session: &str, now_ms: u64) -> crate::RestVerdict {
        let mut verdict = crate::RestVerdict::default();
        if !self.is_enabled() {
            return verdict;
        }
        let config = self.config();
        let key = crate::rest::rest_key(session);
        let target = Target {
            direction: Some(crate::Direction::Inbound),
            message_type: None,
            channel: None,
            account: None,
            now_ms,
        };
        let (ordinal, refusal) = {
            let mut sessions = lock(&self.shared.rest);
            let ordinal = sessions.next_request(session, now_ms);
            let refusal = active(&config.modes_at(now_ms).rate_limit, &target)
                .and_then(|limit| sessions.check(&limit.params, session, now_ms));
            (ordinal, refusal)
        };
        let entry = |mode, direction, detail: String| FaultLogEntry {
            conn_id: 0,
            connection_key: key.clone(),
            connection_ordinal: 0,
            mode,
            direction: Some(direction),
            seq: Some(ordinal),
            message_type: Some("REST".to_owned()),
            time_ms: now_ms,
            detail: Some(detail),
        };
        if let Some(refusal) = refusal {
            let retry = refusal
                .retry_after_s
                .map_or_else(|| "never".to_owned(), |s| format!("{s}s"));
            self.shared.record(entry(
                Mode::RateLimit,
                crate::Direction::Inbound,
                format!("violations={} retry_after={retry}", refusal.violation_count),
            ));
            verdict.refusal = Some(refusal);
            return verdict;
        }
        if let Some(latency) = config.latency().filter(|l| l.enabled) {
            let stream = crate::rng::Stream::new(self.shared.seed_for(&config), &key, 0);
            for (direction, delay) in [
                (crate::Direction::Inbound, &mut verdict.request_delay_ms),
                (crate::Direction::Outbound, &mut verdict.response_delay_ms),
            ] {
                let mut rng = stream.rng(Mode::DelayMessages, Some(direction), ordinal, 0);
                *delay = latency.draw(&mut rng);
                self.shared.record(entry(
                    Mode::DelayMessages,
                    direction,
                    format!("delay_ms={delay} latency", delay = *delay),
                ));
            }
        }
        verdict
    }

    /// The per-connection fault state for connection `conn_id`, keyed on `key` (the account name,
    /// or [`anonymous_key`]), opened at `opened_ms`. Owned by the connection's task.
    pub fn connection<P: AsRef<[u8]> + Clone>(
        &self,
        conn_id: u64,
        key: &str,
        account: Option<&str>,
        opened_ms: u64,
    ) -> ConnectionFaults<P> {
        ConnectionFaults::new(Arc::clone(&self.shared), conn_id, key, account, opened_ms)
    }
}
