//! The live connections as the admin API sees them: who they are, how long they have been open,
//! how many frames went each way, and a control channel into each connection's task (so the
//! admin API can close one). Connection tasks register on open and leave on close.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc;

use exchange::ConnId;

use crate::outbound::QueueProbe;

/// An instruction to a connection's task from outside the engine thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Close with a close frame carrying `code`.
    CloseClean {
        /// The close frame's code.
        code: u16,
    },
    /// End with a TCP reset, without a close frame.
    Reset,
}

/// How many control messages may wait for one connection.
pub const CONTROL_QUEUE: usize = 4;

/// What a connection shares with the registry.
#[derive(Debug)]
pub struct ConnHandle {
    /// The client's address.
    pub addr: SocketAddr,
    /// When the connection opened.
    pub opened: Instant,
    /// The account it is bound to, once known.
    pub account: Mutex<Option<String>>,
    /// Frames read from the client.
    pub frames_in: AtomicU64,
    /// Frames written to the client.
    pub frames_out: AtomicU64,
    /// The wire dialect it speaks (`native`).
    pub dialect: &'static str,
    /// Its outbound queue, for the metrics.
    queue: QueueProbe,
    control: mpsc::Sender<Control>,
}

impl ConnHandle {
    /// Records the account the connection is bound to (`None`: logged out).
    pub fn set_account(&self, account: Option<&str>) {
        *lock(&self.account) = account.map(str::to_owned);
    }
}

/// One row of `GET /admin/connections`.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    /// The connection's id.
    pub id: ConnId,
    /// Its account, once bound (anonymous accounts are bound on their first order or query).
    pub account: Option<String>,
    /// The client's address.
    pub address: String,
    /// Milliseconds since it opened.
    pub age_ms: u64,
    /// Frames read from the client.
    pub frames_in: u64,
    /// Frames written to the client.
    pub frames_out: u64,
}

/// Every live connection.
#[derive(Debug, Default)]
pub struct Registry {
    conns: Mutex<HashMap<ConnId, Arc<ConnHandle>>>,
    /// Connections ever opened, by dialect.
    opened_by_dialect: Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    /// Registers a connection; its task reads the returned receiver.
    pub fn register(
        &self,
        id: ConnId,
        addr: SocketAddr,
        dialect: &'static str,
        queue: QueueProbe,
    ) -> (Arc<ConnHandle>, mpsc::Receiver<Control>) {
        let (control, rx) = mpsc::channel(CONTROL_QUEUE);
        let handle = Arc::new(ConnHandle {
            addr,
            opened: Instant::now(),
            account: Mutex::new(None),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            dialect,
            queue,
            control,
        });
        lock(&self.conns).insert(id, handle.clone());
        *lock(&self.opened_by_dialect).entry(dialect).or_default() += 1;
        (handle, rx)
    }

    /// Removes a closed connection.
    pub fn remove(&self, id: ConnId) {
        lock(&self.conns).remove(&id);
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        lock(&self.conns).len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Open connections by dialect.
    pub fn by_dialect(&self) -> Vec<(&'static str, u64)> {
        let mut counts: std::collections::BTreeMap<&'static str, u64> =
            lock(&self.opened_by_dialect)
                .keys()
                .map(|d| (*d, 0))
                .collect();
        for handle in lock(&self.conns).values() {
            *counts.entry(handle.dialect).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    /// Connections ever opened, by dialect.
    pub fn opened_by_dialect(&self) -> Vec<(&'static str, u64)> {
        lock(&self.opened_by_dialect)
            .iter()
            .map(|(d, n)| (*d, *n))
            .collect()
    }

    /// The items waiting in the fullest outbound queue, and in all of them.
    pub fn queue_depths(&self) -> (u64, u64) {
        let probes: Vec<QueueProbe> = lock(&self.conns)
            .values()
            .map(|h| h.queue.clone())
            .collect();
        probes.iter().fold((0, 0), |(max, total), probe| {
            let len = probe.len() as u64;
            (max.max(len), total + len)
        })
    }

    /// The open connections, by id.
    pub fn list(&self) -> Vec<ConnectionInfo> {
        let mut rows: Vec<ConnectionInfo> = lock(&self.conns)
            .iter()
            .map(|(&id, handle)| ConnectionInfo {
                id,
                account: lock(&handle.account).clone(),
                address: handle.addr.to_string(),
                age_ms: u64::try_from(handle.opened.elapsed().as_millis()).unwrap_or(u64::MAX),
                frames_in: handle.frames_in.load(Ordering::Relaxed),
                frames_out: handle.frames_out.load(Ordering::Relaxed),
            })
            .collect();
        rows.sort_by_key(|row| row.id);
        rows
    }

    /// Sends `control` to connection `id`; false when there is no such connection.
    pub fn control(&self, id: ConnId, control: Control) -> bool {
        let Some(handle) = lock(&self.conns).get(&id).cloned() else {
            return false;
        };
        // A full queue already holds a close: this one is redundant.
        !matches!(
            handle.control.try_send(control),
            Err(mpsc::error::TrySendError::Closed(_))
        )
    }
}
