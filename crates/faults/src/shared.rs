//! The state every connection's fault layer shares: the configuration and its generation, the
//! statistics and the log, the armed one-shot faults and the key ordinals. Behind the public
//! handle [`crate::FaultInjector`]; each [`crate::ConnectionFaults`] holds an `Arc` of it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use crate::filter::Target;
use crate::modes::Modes;
use crate::one_shot::{self, Armed, OneShotAction};
use crate::rest::RestSessions;
use crate::stats::{FaultLogEntry, Recorder};
use crate::FaultConfig;

/// The state every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) enabled: AtomicBool,
    pub(crate) generation: AtomicU64,
    pub(crate) config: RwLock<Arc<FaultConfig>>,
    /// The seed given to [`FaultInjector::new`], used when the config names none.
    pub(crate) fallback_seed: u64,
    pub(crate) recorder: Mutex<Recorder>,
    pub(crate) armed_count: AtomicUsize,
    pub(crate) armed: Mutex<Vec<Armed>>,
    pub(crate) key_ordinals: Mutex<HashMap<String, u64>>,
    /// The REST sessions' rate-limit state and request counts.
    pub(crate) rest: Mutex<RestSessions>,
    /// The Binance listener's REST clients: request counts, burst losses, storms and bans.
    pub(crate) http: Mutex<crate::http::HttpClients>,
    /// When `clock_skew`'s current settings began to apply.
    pub(crate) clock:
        Mutex<crate::activation::Activation<crate::modes::clock_skew::ClockSkewParams>>,
    /// The modes in force when faults are off: none.
    pub(crate) no_modes: Arc<Modes>,
}

/// Locks a mutex, recovering the data if a thread panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The current configuration and its generation.
    pub(crate) fn config(&self) -> (u64, Arc<FaultConfig>) {
        let config = self.config.read().unwrap_or_else(PoisonError::into_inner);
        (self.generation.load(Ordering::Acquire), Arc::clone(&config))
    }

    /// The configuration generation: it changes with every replace or patch.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The seed in force for `config`.
    pub(crate) fn seed_for(&self, config: &FaultConfig) -> u64 {
        config.seed().unwrap_or(self.fallback_seed)
    }

    /// No modes at all (what applies while faults are off).
    pub(crate) fn no_modes(&self) -> Arc<Modes> {
        Arc::clone(&self.no_modes)
    }

    /// Counts and logs one fault (and says so at debug level, for `RUST_LOG=debug`).
    pub(crate) fn record(&self, entry: FaultLogEntry) {
        tracing::debug!(
            target: "faults",
            conn = entry.conn_id,
            key = %entry.connection_key,
            mode = entry.mode.name(),
            direction = ?entry.direction,
            seq = ?entry.seq,
            message_type = ?entry.message_type,
            detail = ?entry.detail,
            "fault injected"
        );
        lock(&self.recorder).record(entry);
    }

    /// Takes one frame for an armed one-shot fault covering `target`, if any (one atomic load
    /// when none is armed).
    pub(crate) fn take_one_shot(&self, target: &Target<'_>) -> Option<OneShotAction> {
        if self.armed_count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut armed = lock(&self.armed);
        let action = one_shot::take(&mut armed, target);
        self.armed_count.store(armed.len(), Ordering::Release);
        action
    }

    /// How many connections with `key` were opened before (anonymous keys are unique already).
    pub(crate) fn key_ordinal(&self, key: &str) -> u64 {
        if key.starts_with(ANONYMOUS_PREFIX) {
            return 0;
        }
        let mut ordinals = lock(&self.key_ordinals);
        let ordinal = ordinals.entry(key.to_owned()).or_insert(0);
        let current = *ordinal;
        *ordinal += 1;
        current
    }

    pub(crate) fn install(&self, config: FaultConfig) {
        let mut slot = self.config.write().unwrap_or_else(PoisonError::into_inner);
        self.enabled.store(config.enabled(), Ordering::Release);
        *slot = Arc::new(config);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// The prefix of anonymous connection keys.
pub(crate) const ANONYMOUS_PREFIX: &str = "anon-";
