//! The connection table: every open connection, the account it is bound to, whether its orders
//! are cancelled when it goes, what it subscribed to and when it opened.
//!
//! A connection the core closes itself (its maximum age) is forgotten at once, with the same
//! consequences as any other close: it is unbound, its subscriptions end, its session is
//! released and cancel-on-disconnect applies.

use engine::{CloseReason, Command};
use rustc_hash::FxHashMap;

use crate::core::Core;
use crate::effect::Effect;
use crate::request::Topic;
use crate::timers::Timer;
use crate::ConnId;

/// One open connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub account: Option<engine::AccountId>,
    pub cancel_on_disconnect: bool,
    /// What it subscribed to, in order.
    pub topics: Vec<Topic>,
    pub opened_ns: u64,
    /// Its maximum-age notice went out; the next age wake closes it.
    pub age_notice_sent: bool,
}

/// Every open connection by id (FxHash: the ids are the server's own counter).
#[derive(Debug, Default)]
pub(crate) struct Connections {
    map: FxHashMap<ConnId, Conn>,
}

impl Connections {
    pub fn get(&self, conn: ConnId) -> Option<&Conn> {
        self.map.get(&conn)
    }

    pub fn get_mut(&mut self, conn: ConnId) -> Option<&mut Conn> {
        self.map.get_mut(&conn)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Conn)> {
        self.map.iter().map(|(&id, c)| (id, c))
    }

    fn insert(&mut self, conn: ConnId, opened_ns: u64) -> bool {
        if self.map.contains_key(&conn) {
            return false;
        }
        self.map.insert(
            conn,
            Conn {
                account: None,
                cancel_on_disconnect: false,
                topics: Vec::new(),
                opened_ns,
                age_notice_sent: false,
            },
        );
        true
    }

    fn remove(&mut self, conn: ConnId) -> Option<Conn> {
        self.map.remove(&conn)
    }
}

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
