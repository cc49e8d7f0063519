//! A connection's life as the core sees it: it opens (its age limit scheduled), it closes
//! (unbound, its subscriptions ended, its session released, cancel-on-disconnect applied), or
//! the core closes it itself.

use engine::{CloseReason, Command};

use crate::core::Core;
use crate::effect::Effect;
use crate::timers::Timer;
use crate::ConnId;

impl Core {
    /// [`crate::Input::Open`]: a new connection, with its age limit scheduled.
    pub(crate) fn open_connection(&mut self, conn: ConnId) {
        if !self.connections.insert(conn, self.now_ns) {
            debug_assert!(false, "connection {conn} opened twice");
            return;
        }
        if let Some(age_ns) = self.config.max_connection_age_ns {
            let notice = crate::timers::age_notice_delay_ns(age_ns);
            self.schedule(
                self.now_ns.saturating_add(notice),
                Timer::ConnectionAge(conn),
            );
        }
    }

    /// [`crate::Input::Close`]: the connection is gone. Also what happens when the core closes a
    /// connection itself. Unknown connections (closed by the core already) are ignored.
    pub(crate) fn close_connection(&mut self, conn: ConnId) {
        let cancel = self
            .connections
            .get(conn)
            .is_some_and(|c| c.cancel_on_disconnect);
        let account = self.unbind(conn);
        self.sessions.release(conn, self.now_ns);
        let Some(c) = self.connections.remove(conn) else {
            return;
        };
        for topic in c.topics {
            self.market_data.remove_subscriber(topic, conn);
        }
        self.forget_watcher(conn, &c.watching);
        let (true, Some(account)) = (cancel, account) else {
            return;
        };
        // Another connection of the account that also asked for it keeps the orders alive.
        let others_protect = self.accounts.get(account).is_some_and(|info| {
            info.conns.iter().any(|other| {
                self.connections
                    .get(*other)
                    .is_some_and(|c| c.cancel_on_disconnect)
            })
        });
        if !others_protect {
            let cancel_all = Command::CancelAll {
                account,
                symbol: None,
                reason: CloseReason::CancelOnDisconnect,
            };
            let done = self.run_command(None, cancel_all);
            debug_assert!(done.is_ok(), "cancel-all of a live account refused");
        }
    }

    /// Closes the connection from the exchange's side: the close goes after what is queued for
    /// it, and the core forgets it now.
    pub(crate) fn disconnect(&mut self, conn: ConnId, code: u16, reason: &'static str) {
        if self.connections.get(conn).is_none() {
            return;
        }
        self.emit(Effect::Close { conn, code, reason });
        self.close_connection(conn);
    }
}
