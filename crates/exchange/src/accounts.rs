//! The account registry: every account by id, name and API key, what kind it is, which
//! connections are bound to it, its dead man's switch and its resume buffer.
//!
//! - Configured accounts come from the configuration; a connection binds to one with LOGIN or
//!   RESUME, and several connections may share one.
//! - Anonymous accounts are the original simulator's behaviour: a connection that trades without
//!   LOGIN gets a fresh `anon-N` account with the default balances, bound to it alone. Once that
//!   connection is gone and the account holds no open order, it is retired after
//!   [`crate::HistoryLimits::anonymous_grace_ns`], so that churning clients cannot grow the
//!   exchange without bound.
//! - System accounts are the synthetic market's makers and takers.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use engine::{AccountId, Amount, AssetId};

use crate::sessions::ResumeBuffer;
use crate::ConnId;

/// The prefix of anonymous account names: `anon-1`, `anon-2`, ...
pub const ANONYMOUS_PREFIX: &str = "anon-";

/// What kind of account it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountKind {
    Configured,
    Anonymous,
    System,
    Session,
}

impl AccountKind {
    /// The kind's name, as the account list shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Configured => "configured",
            AccountKind::Anonymous => "anonymous",
            AccountKind::System => "system",
            AccountKind::Session => "session",
        }
    }
}

/// One account as the core knows it beyond the engine.
#[derive(Debug)]
pub(crate) struct AccountInfo {
    pub name: Arc<str>,
    pub kind: AccountKind,
    pub api_key: Option<String>,
    /// The connections bound to it, in binding order.
    pub conns: Vec<ConnId>,
    /// Connections that receive its private events without being bound to it.
    pub watchers: Vec<ConnId>,
    /// When the armed dead man's switch fires.
    pub dead_mans_switch_ns: Option<u64>,
    /// Recent private events for RESUME (accounts a client can log in to again only).
    pub resume: Option<ResumeBuffer>,
}

/// Every account, by id; retired ones leave an empty slot.
#[derive(Debug)]
pub(crate) struct Accounts {
    infos: Vec<Option<AccountInfo>>,
    by_name: HashMap<Arc<str>, AccountId>,
    by_api_key: HashMap<String, AccountId>,
    anonymous_opened: u64,
    /// What a new anonymous account is funded with.
    pub default_funds: Vec<(AssetId, Amount)>,
    /// Anonymous accounts without a connection, oldest first, with the time they lost it.
    orphans: VecDeque<(AccountId, u64)>,
}

impl Accounts {
    pub fn new(default_funds: Vec<(AssetId, Amount)>) -> Accounts {
        Accounts {
            infos: Vec::new(),
            by_name: HashMap::new(),
            by_api_key: HashMap::new(),
            anonymous_opened: 0,
            default_funds,
            orphans: VecDeque::new(),
        }
    }

    pub fn get(&self, id: AccountId) -> Option<&AccountInfo> {
        self.infos.get(id.0 as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, id: AccountId) -> Option<&mut AccountInfo> {
        self.infos.get_mut(id.0 as usize)?.as_mut()
    }

    /// Every live account with its id.
    pub fn iter(&self) -> impl Iterator<Item = (AccountId, &AccountInfo)> {
        self.infos
            .iter()
            .enumerate()
            .filter_map(|(i, info)| Some((AccountId(i as u32), info.as_ref()?)))
    }

    /// How many accounts are live.
    pub fn live(&self) -> usize {
        self.by_name.len()
    }

    pub fn by_name(&self, name: &str) -> Option<AccountId> {
        self.by_name.get(name).copied()
    }

    pub fn by_api_key(&self, key: &str) -> Option<AccountId> {
        self.by_api_key.get(key).copied()
    }

    /// The configured account `name` if `api_key` is its key.
    pub fn configured(&self, name: &str, api_key: &str) -> Option<AccountId> {
        self.by_name(name).filter(|id| {
            self.get(*id).is_some_and(|info| {
                info.kind == AccountKind::Configured && info.api_key.as_deref() == Some(api_key)
            })
        })
    }

    /// The kind of an account, if it is live.
    pub fn kind(&self, id: AccountId) -> Option<AccountKind> {
        self.get(id).map(|info| info.kind)
    }

    /// Records an account the engine just created with id `id`.
    pub(crate) fn insert(&mut self, id: AccountId, info: AccountInfo) {
        let slot = id.0 as usize;
        assert_eq!(
            slot,
            self.infos.len(),
            "accounts are registered in id order"
        );
        if let Some(key) = &info.api_key {
            self.by_api_key.insert(key.clone(), id);
        }
        self.by_name.insert(info.name.clone(), id);
        self.infos.push(Some(info));
    }

    /// The name of the next anonymous account.
    pub(crate) fn next_anonymous_name(&mut self) -> String {
        self.anonymous_opened += 1;
        format!("{ANONYMOUS_PREFIX}{}", self.anonymous_opened)
    }

    /// Binds `conn` to the account (the connection must not be bound already).
    pub fn attach(&mut self, id: AccountId, conn: ConnId) {
        if let Some(info) = self.get_mut(id) {
            debug_assert!(!info.conns.contains(&conn), "connection bound twice");
            info.conns.push(conn);
        }
    }

    /// Unbinds `conn`; an anonymous account left without a connection becomes an orphan.
    pub fn detach(&mut self, id: AccountId, conn: ConnId, now_ns: u64) {
        let Some(info) = self.get_mut(id) else {
            return;
        };
        info.conns.retain(|&c| c != conn);
        if info.kind == AccountKind::Anonymous && info.conns.is_empty() {
            self.orphans.push_back((id, now_ns));
        }
    }

    /// Takes the orphans that lost their connection at least `grace_ns` before `now_ns`.
    pub(crate) fn due_orphans(&mut self, now_ns: u64, grace_ns: u64) -> Vec<AccountId> {
        let mut due = Vec::new();
        while let Some(&(id, since)) = self.orphans.front() {
            if now_ns.saturating_sub(since) < grace_ns {
                break;
            }
            self.orphans.pop_front();
            due.push(id);
        }
        due
    }

    /// Keeps an orphan that could not retire yet (it holds open orders) for another look later.
    pub(crate) fn keep_orphan(&mut self, id: AccountId, now_ns: u64) {
        self.orphans.push_back((id, now_ns));
    }

    /// Forgets a retired account.
    pub(crate) fn remove(&mut self, id: AccountId) -> Option<AccountInfo> {
        let info = self.infos.get_mut(id.0 as usize)?.take()?;
        self.by_name.remove(&info.name);
        if let Some(key) = &info.api_key {
            self.by_api_key.remove(key);
        }
        Some(info)
    }

    /// Every orphan, for the invariant check.
    pub fn orphans(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.orphans.iter().map(|&(id, _)| id)
    }
}
