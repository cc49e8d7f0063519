//! The core's own invariants, beside the engine's: what the code believes always holds between
//! two inputs. The simulator checks them after every step, debug tests after every input.

use crate::core::Core;

impl Core {
    /// Checks every invariant of the core and of its engine; says which one is broken. Costly:
    /// for the simulator (after every step) and debug builds (after every input).
    pub fn check_invariants(&self) -> Result<(), String> {
        let core = self;
        core.engine.check_invariants()?;
        // Bindings: a bound connection's account is live and lists it; every listed connection is
        // open and bound back.
        for (conn, c) in core.connections.iter() {
            if let Some(account) = c.account {
                let info = core
                    .accounts
                    .get(account)
                    .ok_or(format!("connection {conn} is bound to a missing account"))?;
                if !info.conns.contains(&conn) {
                    return Err(format!(
                        "account {} does not list connection {conn}",
                        info.name
                    ));
                }
            }
            for account in &c.watching {
                let listed = core
                    .accounts
                    .get(*account)
                    .is_some_and(|info| info.watchers.contains(&conn));
                if !listed {
                    return Err(format!("connection {conn} watches {account:?} unlisted"));
                }
            }
            for topic in &c.topics {
                if !core.market_data.subscribers(*topic).contains(&conn) {
                    return Err(format!(
                        "connection {conn} subscribes to {topic:?} unlisted"
                    ));
                }
            }
        }
        for (id, info) in core.accounts.iter() {
            if !core.engine.is_active(id) {
                return Err(format!("account {} is retired in the engine", info.name));
            }
            for conn in &info.watchers {
                let watching = core
                    .connections
                    .get(*conn)
                    .is_some_and(|c| c.watching.contains(&id));
                if !watching {
                    return Err(format!("account {} lists watcher {conn} gone", info.name));
                }
            }
            for conn in &info.conns {
                let bound = core.connections.get(*conn).and_then(|c| c.account);
                if bound != Some(id) {
                    return Err(format!(
                        "account {} lists connection {conn} bound to {bound:?}",
                        info.name
                    ));
                }
            }
            if let Some(buffer) = &info.resume {
                if buffer.len() > core.config.history.resume_events_per_account {
                    return Err(format!("resume buffer of {} over its bound", info.name));
                }
                if buffer.newest_seq() != core.engine.account_seq(id) {
                    return Err(format!(
                        "resume buffer of {} at account_seq {} but the account is at {}",
                        info.name,
                        buffer.newest_seq(),
                        core.engine.account_seq(id)
                    ));
                }
            }
        }
        // Subscriptions: every subscriber is an open connection that lists the topic.
        for (topic, conns) in core.market_data.topics() {
            for conn in conns {
                let listed = core
                    .connections
                    .get(*conn)
                    .is_some_and(|c| c.topics.contains(&topic));
                if !listed {
                    return Err(format!(
                        "{topic:?} lists connection {conn}, which does not subscribe"
                    ));
                }
            }
        }
        // Sessions: a held token is held by an open connection bound to its account.
        for (conn, account) in core.sessions.holders() {
            let bound = core.connections.get(conn).and_then(|c| c.account);
            if bound != Some(account) {
                return Err(format!(
                    "connection {conn} holds a token of {account:?} but is bound to {bound:?}"
                ));
            }
        }
        // Orphans are anonymous accounts without a connection (or already retired).
        for id in core.accounts.orphans() {
            if let Some(info) = core.accounts.get(id) {
                if info.kind != crate::accounts::AccountKind::Anonymous {
                    return Err(format!("{} is an orphan but not anonymous", info.name));
                }
            }
        }
        Ok(())
    }
}
