//! Counting and logging what was injected: counters per mode, direction and connection, and a
//! bounded ring of the latest faults, so a test can assert on exactly what was done to it.

use std::collections::{BTreeMap, VecDeque};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::mode::Mode;
use crate::Direction;

/// How many fault log entries are kept (the oldest are dropped first).
pub const LOG_CAPACITY: usize = 10_000;
/// How many connections get their own counters (the lowest connection ids are dropped first).
pub const TRACKED_CONNECTIONS_MAX: usize = 10_000;

/// One counter per mode. Serialises as `{"dropped_count": .., "delayed_count": .., ..,
/// "total_count": ..}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    counts: [u64; Mode::ALL.len()],
}

impl Counters {
    /// The count of `mode`.
    pub fn get(&self, mode: Mode) -> u64 {
        self.counts.get(mode.index()).copied().unwrap_or_default()
    }

    /// The sum over every mode.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn add(&mut self, mode: Mode) {
        if let Some(count) = self.counts.get_mut(mode.index()) {
            *count += 1;
        }
    }
}

impl Serialize for Counters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Mode::ALL.len() + 1))?;
        for mode in Mode::ALL {
            map.serialize_entry(mode.counter_name(), &self.get(mode))?;
        }
        map.serialize_entry("total_count", &self.total())?;
        map.end()
    }
}

/// The counters of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionCounters {
    /// The server's connection id.
    pub conn_id: u64,
    /// The connection key the draws are keyed on (account name or `anon-<ordinal>`).
    pub connection_key: String,
    /// Counters per mode.
    #[serde(flatten)]
    pub counters: Counters,
}

/// A snapshot of the fault statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Statistics {
    /// Totals per mode, with the original names at the top level (`dropped_count`, ...).
    #[serde(flatten)]
    pub totals: Counters,
    /// Per direction: `inbound`, `outbound`, and `connection` for connection-level faults.
    pub by_direction: BTreeMap<String, Counters>,
    /// Per connection id (the most recent [`TRACKED_CONNECTIONS_MAX`] connections).
    pub by_connection: BTreeMap<u64, ConnectionCounters>,
    /// How full the fault log is, and how many entries it dropped.
    pub log: LogSummary,
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultLogEntry {
    /// The server's connection id (0 for faults not tied to a connection, e.g. refused ones).
    pub conn_id: u64,
    /// The connection key the draws are keyed on.
    pub connection_key: String,
    /// How many connections with the same key were opened before this one: with the key, the
    /// mode, the direction and `seq` it names the decision, so two runs of the same traffic can
    /// be compared entry by entry ([`FaultLogEntry::decision_key`]).
    pub connection_ordinal: u64,
    /// The mode that acted.
    pub mode: Mode,
    /// The frame's direction (`None` for connection-level faults).
    pub direction: Option<Direction>,
    /// The frame's `seq` (message faults), or the per-type ordinal (exchange faults).
    pub seq: Option<u64>,
    /// The frame's `type`, when known.
    pub message_type: Option<String>,
    /// Milliseconds since server start.
    pub time_ms: u64,
    /// What exactly was done, e.g. `delay_ms=120` or `copies=2`.
    pub detail: Option<String>,
}

impl FaultLogEntry {
    /// What the decision was keyed on, as one string: `alice#0/drop_messages/outbound/42`
    /// (connection key, its ordinal, mode, direction or `connection`, frame key or `-`). The
    /// same traffic gives the same keys in every run with the same seed.
    pub fn decision_key(&self) -> String {
        let (_, direction) = direction_bucket(self.direction);
        let frame = self
            .seq
            .map_or_else(|| "-".to_owned(), |seq| seq.to_string());
        format!(
            "{}#{}/{}/{direction}/{frame}",
            self.connection_key,
            self.connection_ordinal,
            self.mode.name()
        )
    }
}

/// How full the fault log is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LogSummary {
    /// Entries held now (at most [`LOG_CAPACITY`]).
    pub entries: u64,
    /// Entries recorded since the last reset; `recorded - entries` were dropped, oldest first.
    pub recorded: u64,
    /// Entries dropped when the ring was full.
    pub dropped: u64,
    /// The most entries held.
    pub capacity: u64,
}

/// The counters and the log, behind the injector's lock.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    totals: Counters,
    by_direction: [Counters; 3],
    by_connection: BTreeMap<u64, ConnectionCounters>,
    log: VecDeque<FaultLogEntry>,
    /// Entries recorded since the last reset.
    recorded: u64,
}

/// The name of a direction bucket.
fn direction_bucket(direction: Option<Direction>) -> (usize, &'static str) {
    match direction {
        Some(Direction::Inbound) => (0, "inbound"),
        Some(Direction::Outbound) => (1, "outbound"),
        None => (2, "connection"),
    }
}

impl Recorder {
    /// Counts and logs one fault.
    pub(crate) fn record(&mut self, entry: FaultLogEntry) {
        self.totals.add(entry.mode);
        let (bucket, _) = direction_bucket(entry.direction);
        if let Some(counters) = self.by_direction.get_mut(bucket) {
            counters.add(entry.mode);
        }
        if !self.by_connection.contains_key(&entry.conn_id)
            && self.by_connection.len() >= TRACKED_CONNECTIONS_MAX
        {
            self.by_connection.pop_first();
        }
        self.by_connection
            .entry(entry.conn_id)
            .or_insert_with(|| ConnectionCounters {
                conn_id: entry.conn_id,
                connection_key: entry.connection_key.clone(),
                counters: Counters::default(),
            })
            .counters
            .add(entry.mode);
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(entry);
        self.recorded += 1;
    }

    /// How full the log is and how much it dropped.
    pub(crate) fn log_summary(&self) -> LogSummary {
        let entries = self.log.len() as u64;
        LogSummary {
            entries,
            recorded: self.recorded,
            dropped: self.recorded.saturating_sub(entries),
            capacity: LOG_CAPACITY as u64,
        }
    }

    /// A snapshot of the counters.
    pub(crate) fn statistics(&self) -> Statistics {
        let by_direction = [Some(Direction::Inbound), Some(Direction::Outbound), None]
            .into_iter()
            .map(|direction| {
                let (bucket, name) = direction_bucket(direction);
                (
                    name.to_owned(),
                    self.by_direction.get(bucket).cloned().unwrap_or_default(),
                )
            })
            .collect();
        Statistics {
            totals: self.totals.clone(),
            by_direction,
            by_connection: self.by_connection.clone(),
            log: self.log_summary(),
        }
    }

    /// The log, oldest first.
    pub(crate) fn log(&self) -> Vec<FaultLogEntry> {
        self.log.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(conn_id: u64, mode: Mode, direction: Option<Direction>) -> FaultLogEntry {
        FaultLogEntry {
            conn_id,
            connection_key: format!("anon-{conn_id}"),
            connection_ordinal: 0,
            mode,
            direction,
            seq: Some(1),
            message_type: None,
            time_ms: 0,
            detail: None,
        }
    }

    #[test]
    fn counts_per_mode_direction_and_connection() {
        let mut recorder = Recorder::default();
        recorder.record(entry(1, Mode::DropMessages, Some(Direction::Inbound)));
        recorder.record(entry(1, Mode::DropMessages, Some(Direction::Outbound)));
        recorder.record(entry(2, Mode::Disconnect, None));
        let stats = recorder.statistics();
        assert_eq!(stats.totals.get(Mode::DropMessages), 2);
        assert_eq!(stats.totals.total(), 3);
        assert_eq!(stats.by_direction["inbound"].get(Mode::DropMessages), 1);
        assert_eq!(stats.by_direction["connection"].get(Mode::Disconnect), 1);
        assert_eq!(stats.by_connection[&1].counters.get(Mode::DropMessages), 2);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["dropped_count"], 2);
        assert_eq!(json["total_count"], 3);
        assert_eq!(json["by_direction"]["outbound"]["dropped_count"], 1);
        assert_eq!(json["by_connection"]["2"]["disconnected_count"], 1);
        assert_eq!(json["by_connection"]["2"]["connection_key"], "anon-2");
    }

    #[test]
    fn log_and_connections_are_bounded() {
        let mut recorder = Recorder::default();
        for conn_id in 0..(LOG_CAPACITY as u64 + 5) {
            recorder.record(entry(
                conn_id,
                Mode::DuplicateMessages,
                Some(Direction::Outbound),
            ));
        }
        let log = recorder.log();
        assert_eq!(log.len(), LOG_CAPACITY);
        assert_eq!(
            recorder.log_summary(),
            LogSummary {
                entries: LOG_CAPACITY as u64,
                recorded: LOG_CAPACITY as u64 + 5,
                dropped: 5,
                capacity: LOG_CAPACITY as u64
            }
        );
        assert_eq!(
            log.first().map(FaultLogEntry::decision_key).as_deref(),
            Some("anon-5#0/duplicate_messages/outbound/1")
        );
        assert_eq!(log.first().map(|entry| entry.conn_id), Some(5));
        assert_eq!(
            recorder.statistics().by_connection.len(),
            TRACKED_CONNECTIONS_MAX
        );
        assert_eq!(
            recorder.statistics().totals.get(Mode::DuplicateMessages),
            LOG_CAPACITY as u64 + 5
        );
    }
}
