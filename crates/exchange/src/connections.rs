//! The connection table: every open connection, the account it is bound to, whether its orders
//! are cancelled when it goes, what it subscribed to and when it opened.
//!
//! A connection the core closes itself (its maximum age) is forgotten at once, with the same
//! consequences as any other close: it is unbound, its subscriptions end, its session is
//! released and cancel-on-disconnect applies.

use rustc_hash::FxHashMap;

use crate::request::Topic;
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
    /// The accounts whose private events it receives without being bound to them.
    pub watching: Vec<engine::AccountId>,
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

    pub(crate) fn insert(&mut self, conn: ConnId, opened_ns: u64) -> bool {
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
                watching: Vec::new(),
            },
        );
        true
    }

    pub(crate) fn remove(&mut self, conn: ConnId) -> Option<Conn> {
        self.map.remove(&conn)
    }
}
