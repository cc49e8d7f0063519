//! Opening accounts, binding connections to them, and retiring anonymous accounts nobody can
//! reach any more.

use engine::{AccountId, Amount, AssetId, Command};

use crate::accounts::{AccountInfo, AccountKind};
use crate::core::Core;
use crate::effect::{BoundAccount, Effect};
use crate::error::CoreError;
use crate::sessions::ResumeBuffer;
use crate::ConnId;

impl Core {
    /// Opens the configured accounts, funded.
    pub(crate) fn open_configured_accounts(&mut self) -> Result<(), CoreError> {
        let setups = self.config.accounts.clone();
        for setup in setups {
            let mut funds = Vec::new();
            for (asset, text) in &setup.balances {
                let path = format!("accounts.{}.balances.{asset}", setup.name);
                let id = self
                    .engine
                    .asset_id(asset)
                    .ok_or_else(|| CoreError::new(&path, "no symbol trades this asset"))?;
                let amount = self
                    .engine
                    .parse_amount(id, text)
                    .map_err(|e| CoreError::new(&path, e.to_string()))?;
                funds.push((id, amount));
            }
            self.open_account(
                setup.name.clone(),
                AccountKind::Configured,
                Some(setup.api_key.clone()),
                &funds,
            );
        }
        Ok(())
    }

    /// Creates an account in the engine, funds it and registers it.
    pub(crate) fn open_account(
        &mut self,
        name: String,
        kind: AccountKind,
        api_key: Option<String>,
        funds: &[(AssetId, Amount)],
    ) -> AccountId {
        let id = self.engine.create_account();
        let mut sink = Vec::new();
        for &(asset, amount) in funds {
            // Funding is not news to anyone: its events are not sent. An amount that parsed
            // cannot be refused.
            let deposit = Command::Deposit {
                account: id,
                asset,
                amount,
            };
            let funded = self.engine.execute(&deposit, self.now_ns, &mut sink);
            debug_assert!(funded.is_ok(), "funding refused: {funded:?}");
        }
        let history = self.config.history;
        let resume = (kind == AccountKind::Configured).then(|| {
            ResumeBuffer::new(
                self.engine.account_seq(id),
                history.resume_events_per_account,
                history.resume_max_age_ns,
            )
        });
        self.accounts.insert(
            id,
            AccountInfo {
                name: name.into(),
                kind,
                api_key,
                conns: Vec::new(),
                watchers: Vec::new(),
                dead_mans_switch_ns: None,
                resume,
            },
        );
        id
    }

    /// The connection's account, opening a fresh anonymous one with the default balances when it
    /// has none yet (the original simulator's behaviour). `None` for an unknown connection.
    pub(crate) fn account_of(&mut self, conn: ConnId) -> Option<AccountId> {
        let current = self.connections.get(conn)?.account;
        if current.is_some() {
            return current;
        }
        let name = self.accounts.next_anonymous_name();
        let funds = self.accounts.default_funds.clone();
        let id = self.open_account(name, AccountKind::Anonymous, None, &funds);
        self.bind(conn, id);
        Some(id)
    }

    /// Binds the connection to the account and tells the connection.
    pub(crate) fn bind(&mut self, conn: ConnId, account: AccountId) {
        let Some(c) = self.connections.get_mut(conn) else {
            return;
        };
        debug_assert!(c.account.is_none(), "bind over an existing binding");
        c.account = Some(account);
        self.accounts.attach(account, conn);
        let Some(info) = self.accounts.get(account) else {
            return;
        };
        let bound = BoundAccount {
            name: info.name.clone(),
            configured: info.kind == AccountKind::Configured,
            account_seq: self.engine.account_seq(account),
        };
        self.emit(Effect::Bind {
            conn,
            account: Some(bound),
        });
    }

    /// Unbinds the connection from its account, if it has one; returns the account.
    pub(crate) fn unbind(&mut self, conn: ConnId) -> Option<AccountId> {
        let account = self.connections.get_mut(conn)?.account.take()?;
        self.accounts.detach(account, conn, self.now_ns);
        Some(account)
    }

    /// Retires the anonymous accounts that have had no connection for the grace period and hold
    /// no open order; those with open orders are looked at again later.
    pub(crate) fn retire_orphans(&mut self) {
        let grace = self.config.history.anonymous_grace_ns;
        for id in self.accounts.due_orphans(self.now_ns, grace) {
            let still_orphan = self
                .accounts
                .get(id)
                .is_some_and(|info| info.conns.is_empty());
            if !still_orphan {
                continue;
            }
            if self.engine.has_open_orders(id) {
                self.accounts.keep_orphan(id, self.now_ns);
                continue;
            }
            match self.engine.retire_account(id) {
                Ok(()) => {
                    self.accounts.remove(id);
                }
                Err(reject) => {
                    debug_assert!(false, "retiring {id:?} refused: {reject}");
                }
            }
        }
    }
}
