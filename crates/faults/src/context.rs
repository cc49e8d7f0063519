//! What every fault decision of one call needs to know about its connection, and how it records
//! a fault it injects.

use crate::mode::Mode;
use crate::modes::Modes;
use crate::rng::Stream;
use crate::shared::Shared;
use crate::stats::FaultLogEntry;
use crate::Direction;

/// What every decision of one call needs.
pub(crate) struct Context<'a> {
    pub shared: &'a Shared,
    pub conn_id: u64,
    pub key: &'a str,
    /// How many connections with the same key came before this one.
    pub key_ordinal: u64,
    pub account: Option<&'a str>,
    pub stream: &'a Stream,
    pub modes: &'a Modes,
}

impl Context<'_> {
    /// Counts and logs one fault on this connection.
    pub(crate) fn record(
        &self,
        mode: Mode,
        direction: Option<Direction>,
        seq: Option<u64>,
        message_type: Option<&str>,
        time_ms: u64,
        detail: Option<String>,
    ) {
        self.shared.record(FaultLogEntry {
            conn_id: self.conn_id,
            connection_key: self.key.to_owned(),
            connection_ordinal: self.key_ordinal,
            mode,
            direction,
            seq,
            message_type: message_type.map(str::to_owned),
            time_ms,
            detail,
        });
    }
}

/// The [`Context`] of a call, borrowing only the identity fields (so the stages stay mutable).
macro_rules! context {
    ($faults:expr, $modes:expr) => {
        Context {
            shared: &$faults.shared,
            conn_id: $faults.conn_id,
            key: &$faults.key,
            key_ordinal: $faults.key_ordinal,
            account: $faults.account.as_deref(),
            stream: &$faults.stream,
            modes: $modes,
        }
    };
}

pub(crate) use context;
