//! What the core does at a time rather than on a request: the market's steps, the dead man's
//! switch, the connection age limit and the periodic chores. The core asks to be woken with
//! [`Effect::Schedule`] and acts on [`crate::Input::Wake`]; it keeps the deadline itself, so a
//! wake that comes early (a clock that stepped) is scheduled again and a stale one (a switch
//! disarmed meanwhile) does nothing.

use engine::{AccountId, CloseReason, Command};
use serde::{Deserialize, Serialize};

use crate::core::Core;
use crate::effect::Effect;
use crate::message::Message;
use crate::request::RequestId;
use crate::{close_code, ConnId};

/// How often the chores run: expired resume tokens forgotten, idle anonymous accounts retired.
pub const HOUSEKEEPING_INTERVAL_NS: u64 = 1_000_000_000;

/// The longest dead man's switch timeout a client may ask for: a day.
pub const DEAD_MANS_SWITCH_MAX_MS: u64 = 86_400_000;

/// Something the core wants to be woken for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// The synthetic market's next step.
    MarketStep,
    /// The periodic chores.
    Housekeeping,
    /// An account's dead man's switch.
    DeadMansSwitch(AccountId),
    /// A connection's age notice, then its close.
    ConnectionAge(ConnId),
}

/// When the SERVER_NOTICE comes in a connection's life of `age_ns`: at 90% of it or 10 s before
/// its end, whichever is later (a day-long connection gets 10 s, a 10 s one gets 1 s).
pub fn age_notice_delay_ns(age_ns: u64) -> u64 {
    let ninety_percent = age_ns / 10 * 9 + age_ns % 10 * 9 / 10;
    ninety_percent.max(age_ns.saturating_sub(10_000_000_000))
}

impl Core {
    /// Asks to be woken with `timer` at `at_ns`.
    pub(crate) fn schedule(&mut self, at_ns: u64, timer: Timer) {
        self.emit(Effect::Schedule { at_ns, timer });
    }

    /// [`crate::Input::Wake`].
    pub(crate) fn wake(&mut self, timer: Timer) {
        match timer {
            Timer::MarketStep => self.on_step_timer(),
            Timer::Housekeeping => {
                self.sessions.sweep(self.now_ns);
                self.retire_orphans();
                self.schedule(self.now_ns + HOUSEKEEPING_INTERVAL_NS, Timer::Housekeeping);
            }
            Timer::DeadMansSwitch(account) => self.dead_mans_switch(account),
            Timer::ConnectionAge(conn) => self.connection_age(conn),
        }
    }

    /// CANCEL_ALL_AFTER: arms the account's switch for `timeout_ms` from now (0 disarms it). One
    /// switch per account: arming again replaces the deadline.
    pub(crate) fn arm_dead_mans_switch(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        timeout_ms: u64,
    ) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        let deadline = (timeout_ms > 0).then(|| {
            self.now_ns
                .saturating_add(timeout_ms.saturating_mul(1_000_000))
        });
        if let Some(info) = self.accounts.get_mut(account) {
            info.dead_mans_switch_ns = deadline;
        }
        if let Some(at_ns) = deadline {
            self.schedule(at_ns, Timer::DeadMansSwitch(account));
        }
        let message = Message::CancelAllAfterAck {
            rid,
            timeout_ms,
            trigger_at_ns: deadline,
        };
        self.answer(conn, message);
    }

    fn dead_mans_switch(&mut self, account: AccountId) {
        let Some(deadline) = self
            .accounts
            .get(account)
            .and_then(|info| info.dead_mans_switch_ns)
        else {
            return;
        };
        if self.now_ns < deadline {
            return self.schedule(deadline, Timer::DeadMansSwitch(account));
        }
        if let Some(info) = self.accounts.get_mut(account) {
            info.dead_mans_switch_ns = None;
        }
        let cancel_all = Command::CancelAll {
            account,
            symbol: None,
            reason: CloseReason::DeadMansSwitch,
        };
        let done = self.run_command(None, cancel_all);
        debug_assert!(done.is_ok(), "cancel-all of a live account refused");
    }

    /// The connection's age notice, or its end (close code 4000, reason "connection age").
    fn connection_age(&mut self, conn: ConnId) {
        let (Some(age_ns), Some(c)) = (
            self.config.max_connection_age_ns,
            self.connections.get(conn),
        ) else {
            return;
        };
        let notice_at = c.opened_ns.saturating_add(age_notice_delay_ns(age_ns));
        let close_at = c.opened_ns.saturating_add(age_ns);
        let due = if c.age_notice_sent {
            close_at
        } else {
            notice_at
        };
        if self.now_ns < due {
            return self.schedule(due, Timer::ConnectionAge(conn));
        }
        if c.age_notice_sent {
            return self.disconnect(conn, close_code::CONNECTION_AGE, "connection age");
        }
        if let Some(c) = self.connections.get_mut(conn) {
            c.age_notice_sent = true;
        }
        let left_ns = close_at.saturating_sub(notice_at);
        let message = Message::ServerNotice {
            seconds_left: left_ns.div_ceil(1_000_000_000),
            close_code: close_code::CONNECTION_AGE,
            at_ns: self.now_ns,
        };
        self.answer(conn, message);
        self.schedule(close_at, Timer::ConnectionAge(conn));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_notice_comes_at_90_percent_or_10_s_before_whichever_is_later() {
        let ms = |n: u64| n * 1_000_000;
        let s = |n: u64| n * 1_000_000_000;
        assert_eq!(age_notice_delay_ns(ms(500)), ms(450));
        assert_eq!(age_notice_delay_ns(s(60)), s(54));
        assert_eq!(age_notice_delay_ns(s(100)), s(90));
        assert_eq!(age_notice_delay_ns(s(86_400)), s(86_390));
        assert_eq!(age_notice_delay_ns(u64::MAX), u64::MAX - 10_000_000_000);
    }
}
