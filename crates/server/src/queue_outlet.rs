//! The server's [`Outlet`]: a connection's queue, and the switch that closes the connection at
//! once even while its writer waits for a peer that stopped reading.

use crate::delivery::Outlet;
use crate::outbound::{CloseNow, Outbound, OutboundSender, Refused};

/// A connection's queue and its kill switch.
pub struct QueueOutlet {
    tx: OutboundSender,
    kill: Option<tokio::sync::oneshot::Sender<CloseNow>>,
    runtime: tokio::runtime::Handle,
    /// How long a queued close may wait for a peer that does not read.
    close_flush_timeout: std::time::Duration,
}

impl QueueOutlet {
    pub fn new(
        tx: OutboundSender,
        kill: tokio::sync::oneshot::Sender<CloseNow>,
        runtime: tokio::runtime::Handle,
        close_flush_timeout: std::time::Duration,
    ) -> QueueOutlet {
        QueueOutlet {
            tx,
            kill: Some(kill),
            runtime,
            close_flush_timeout,
        }
    }
}

impl Outlet for QueueOutlet {
    fn try_push(&mut self, item: Outbound) -> Result<(), Refused> {
        self.tx.try_send(item)
    }

    fn force_push(&mut self, item: Outbound) -> Result<(), Refused> {
        self.tx.force_send(item)
    }

    fn room(&self) -> (usize, usize) {
        (self.tx.capacity(), self.tx.max_capacity())
    }

    fn kill(&mut self, code: u16, reason: &'static str) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(CloseNow { code, reason });
        }
    }

    fn kill_unless_closed_soon(&mut self, code: u16, reason: &'static str) {
        if let Some(kill) = self.kill.take() {
            let wait = self.close_flush_timeout;
            self.runtime.spawn(async move {
                tokio::time::sleep(wait).await;
                // Gone already when the close was written: then this does nothing.
                let _ = kill.send(CloseNow { code, reason });
            });
        }
    }
}
