//! The names of the fault modes: config keys, statistics counters and log labels.

use serde::{Serialize, Serializer};

/// One fault mode. The config key, the statistics counter and the log label derive from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// `drop_messages`: frames lost on the wire.
    DropMessages,
    /// `delay_messages`: frames held back before delivery.
    DelayMessages,
    /// `duplicate_messages`: frames delivered more than once with the same `seq`.
    DuplicateMessages,
    /// `reorder_messages`: frames overtaken by later ones within a window.
    ReorderMessages,
    /// `corrupt_messages`: frames whose bytes are damaged.
    CorruptMessages,
    /// `throttle_messages`: frames over a rate limit (queued, dropped or rejected).
    ThrottleMessages,
    /// `disconnect`: the connection is closed, cleanly or abruptly.
    Disconnect,
    /// `silent_connection`: nothing flows in one or both directions for a while.
    SilentConnection,
    /// `slow_consumer`: the server stops reading the client's socket for a while.
    SlowConsumer,
    /// `phantom_fills`: an ORDER_FILL for an order that did not trade.
    PhantomFills,
    /// `duplicate_fills`: the same ORDER_FILL delivered again later as a new frame.
    DuplicateFills,
    /// `late_cancel_ack`: ORDER_CANCEL withheld for a while.
    LateCancelAck,
    /// `lost_cancel_ack`: ORDER_CANCEL never sent.
    LostCancelAck,
    /// `reject_orders`: PLACE_ORDER rejected with EXCHANGE_BUSY before the engine.
    RejectOrders,
    /// `unknown_outcome`: the order executes but the client gets UNKNOWN_OUTCOME instead of the ack.
    UnknownOutcome,
    /// `stale_orderbook`: book updates withheld for a while, then resumed.
    StaleOrderbook,
    /// `sequence_gap`: book updates skipped, leaving a gap in the book sequence.
    SequenceGap,
    /// `outage`: requests rejected with EXCHANGE_UNAVAILABLE and/or connections refused.
    Outage,
    /// A one-shot fault armed at run time through the admin API.
    OneShot,
    /// `rate_limit`: the original simulator's REST rate limit per session, with escalating bans.
    RateLimit,
    /// `clock_skew`: the server's clock is off by a set amount (Binance timestamps, -1021).
    ClockSkew,
    /// `http_errors`: a Binance REST request answered with an HTTP 5xx.
    HttpErrors,
    /// `rate_limit_storm`: every Binance REST request answered 429, and 418 bans for clients that
    /// keep going.
    RateLimitStorm,
}

impl Mode {
    /// Every mode, in a stable order (the order of statistics and metrics).
    pub const ALL: [Mode; 23] = [
        Mode::DropMessages,
        Mode::DelayMessages,
        Mode::DuplicateMessages,
        Mode::ReorderMessages,
        Mode::CorruptMessages,
        Mode::ThrottleMessages,
        Mode::Disconnect,
        Mode::SilentConnection,
        Mode::SlowConsumer,
        Mode::PhantomFills,
        Mode::DuplicateFills,
        Mode::LateCancelAck,
        Mode::LostCancelAck,
        Mode::RejectOrders,
        Mode::UnknownOutcome,
        Mode::StaleOrderbook,
        Mode::SequenceGap,
        Mode::Outage,
        Mode::OneShot,
        Mode::RateLimit,
        Mode::ClockSkew,
        Mode::HttpErrors,
        Mode::RateLimitStorm,
    ];

    /// The mode's key under `failures.modes` (and its label in logs and metrics).
    pub fn name(self) -> &'static str {
        match self {
            Mode::DropMessages => "drop_messages",
            Mode::DelayMessages => "delay_messages",
            Mode::DuplicateMessages => "duplicate_messages",
            Mode::ReorderMessages => "reorder_messages",
            Mode::CorruptMessages => "corrupt_messages",
            Mode::ThrottleMessages => "throttle_messages",
            Mode::Disconnect => "disconnect",
            Mode::SilentConnection => "silent_connection",
            Mode::SlowConsumer => "slow_consumer",
            Mode::PhantomFills => "phantom_fills",
            Mode::DuplicateFills => "duplicate_fills",
            Mode::LateCancelAck => "late_cancel_ack",
            Mode::LostCancelAck => "lost_cancel_ack",
            Mode::RejectOrders => "reject_orders",
            Mode::UnknownOutcome => "unknown_outcome",
            Mode::StaleOrderbook => "stale_orderbook",
            Mode::SequenceGap => "sequence_gap",
            Mode::Outage => "outage",
            Mode::OneShot => "one_shot",
            Mode::RateLimit => "rate_limit",
            Mode::ClockSkew => "clock_skew",
            Mode::HttpErrors => "http_errors",
            Mode::RateLimitStorm => "rate_limit_storm",
        }
    }

    /// The statistics counter of the mode (the original simulator's names for the first six).
    pub fn counter_name(self) -> &'static str {
        match self {
            Mode::DropMessages => "dropped_count",
            Mode::DelayMessages => "delayed_count",
            Mode::DuplicateMessages => "duplicated_count",
            Mode::ReorderMessages => "reordered_count",
            Mode::CorruptMessages => "corrupted_count",
            Mode::ThrottleMessages => "throttled_count",
            Mode::Disconnect => "disconnected_count",
            Mode::SilentConnection => "silenced_count",
            Mode::SlowConsumer => "slow_consumer_count",
            Mode::PhantomFills => "phantom_fill_count",
            Mode::DuplicateFills => "duplicate_fill_count",
            Mode::LateCancelAck => "late_cancel_ack_count",
            Mode::LostCancelAck => "lost_cancel_ack_count",
            Mode::RejectOrders => "rejected_order_count",
            Mode::UnknownOutcome => "unknown_outcome_count",
            Mode::StaleOrderbook => "stale_orderbook_count",
            Mode::SequenceGap => "sequence_gap_count",
            Mode::Outage => "outage_count",
            Mode::OneShot => "one_shot_count",
            Mode::RateLimit => "rate_limited_count",
            Mode::ClockSkew => "clock_skew_count",
            Mode::HttpErrors => "http_error_count",
            Mode::RateLimitStorm => "rate_limit_storm_count",
        }
    }

    /// The directions the mode's faults are counted under (the `by_direction` buckets of the
    /// statistics: `inbound`, `outbound`, `connection`), for metrics that list only the pairs
    /// that can occur.
    pub fn directions(self) -> &'static [&'static str] {
        match self {
            Mode::DropMessages
            | Mode::DelayMessages
            | Mode::DuplicateMessages
            | Mode::ReorderMessages
            | Mode::CorruptMessages
            | Mode::ThrottleMessages
            | Mode::OneShot => &["inbound", "outbound"],
            Mode::Disconnect | Mode::SilentConnection | Mode::SlowConsumer | Mode::PhantomFills => {
                &["connection"]
            }
            Mode::DuplicateFills
            | Mode::LateCancelAck
            | Mode::LostCancelAck
            | Mode::UnknownOutcome
            | Mode::StaleOrderbook
            | Mode::SequenceGap => &["outbound"],
            Mode::RejectOrders | Mode::RateLimit | Mode::RateLimitStorm => &["inbound"],
            Mode::Outage => &["inbound", "connection"],
            Mode::HttpErrors => &["inbound", "outbound"],
            Mode::ClockSkew => &["connection"],
        }
    }

    /// The mode named `name` under `failures.modes`, if any (one-shot faults are not a config key).
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL
            .into_iter()
            .find(|mode| *mode != Mode::OneShot && mode.name() == name)
    }

    /// A stable number for keyed draws and counter arrays.
    pub(crate) fn id(self) -> u64 {
        self.index() as u64
    }

    /// The mode's position in [`Mode::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_order() {
        for (position, mode) in Mode::ALL.into_iter().enumerate() {
            assert_eq!(mode.index(), position);
            if mode != Mode::OneShot {
                assert_eq!(Mode::from_name(mode.name()), Some(mode));
            }
        }
        assert_eq!(Mode::from_name("one_shot"), None);
        assert_eq!(Mode::from_name("nope"), None);
    }
}
