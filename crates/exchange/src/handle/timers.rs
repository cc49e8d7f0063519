//! Waking at a time: the dead man's switch, the connection age limit, the periodic chores.

use engine::{AccountId, CloseReason, Command};

use crate::core::Core;
use crate::effect::Effect;
use crate::message::Message;
use crate::request::RequestId;
use crate::timers::{age_notice_delay_ns, Timer, HOUSEKEEPING_INTERVAL_NS};
use crate::{close_code, ConnId};

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
