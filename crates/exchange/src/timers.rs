//! What the core does at a time rather than on a request: the market's steps, the dead man's
//! switch, the connection age limit and the periodic chores. The core asks to be woken with
//! [`Effect::Schedule`] and acts on [`crate::Input::Wake`]; it keeps the deadline itself, so a
//! wake that comes early (a clock that stepped) is scheduled again and a stale one (a switch
//! disarmed meanwhile) does nothing.

use engine::AccountId;
use serde::{Deserialize, Serialize};

use crate::ConnId;

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
