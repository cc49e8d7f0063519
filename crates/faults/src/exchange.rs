//! The exchange stage: lies about the exchange's state, decided before a frame gets its `seq`.
//! Requests may be refused before the engine; events may be suppressed, withheld, replaced or
//! repeated. The exchange's truth is never touched. Decisions are keyed on the per-type ordinal of
//! the message on this connection (the n-th ORDER_CANCEL, ...), so interleaving with market data
//! does not change them.

use std::collections::BTreeMap;

use crate::context::Context;
use crate::filter::Target;
use crate::mode::Mode;
use crate::modes::stale_orderbook::StaleResume;
use crate::modes::{
    active, duplicate_fills, late_cancel_ack, lost_cancel_ack, reject_orders, sequence_gap,
    stale_orderbook, unknown_outcome,
};
use crate::Direction;

/// The most events one connection may hold back; beyond it events are delivered at once.
pub const HELD_EVENTS_MAX: usize = 65_536;

/// What the server knows about an outbound event before it gets its `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMeta<'a> {
    /// The event's `type` (ORDER_FILL, ORDER_CANCEL, ORDERBOOK_UPDATE, ...).
    pub message_type: &'a str,
    /// The event's `channel`, for market data.
    pub channel: Option<&'a str>,
}

/// What to do with an outbound event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventVerdict<P> {
    /// Send it now (assign `seq`, push to the outbound scheduler).
    Deliver(P),
    /// Held back: it comes out of `pop_due_event` later.
    Withheld,
    /// Never sent.
    Suppressed,
    /// Never sent, and it ends an announced `sequence_gap`: restart the event's stream with
    /// STREAM_RESET and a fresh snapshot.
    GapEnded,
    /// An ORDER_ACK to replace with `ERROR` code UNKNOWN_OUTCOME (same `request_id`).
    UnknownOutcome(P),
}

/// An event coming back out of the exchange stage, to be sent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldEvent<P> {
    /// The event.
    pub payload: P,
    /// Its `type`.
    pub message_type: String,
    /// Its `channel`.
    pub channel: Option<String>,
    /// True for a repeat of an event already delivered (`duplicate_fills`).
    pub repeat: bool,
}

/// The error code a refused request is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectCode {
    /// `reject_orders`: EXCHANGE_BUSY.
    ExchangeBusy,
    /// `outage`: EXCHANGE_UNAVAILABLE.
    ExchangeUnavailable,
}

impl RejectCode {
    /// The protocol error code.
    pub fn code(self) -> &'static str {
        match self {
            RejectCode::ExchangeBusy => "EXCHANGE_BUSY",
            RejectCode::ExchangeUnavailable => "EXCHANGE_UNAVAILABLE",
        }
    }
}

/// What to do with an inbound request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestVerdict {
    /// Hand it to the engine.
    Pass,
    /// Answer with this error; the engine never sees it.
    Reject(RejectCode),
}

/// The exchange stage of one connection.
#[derive(Debug)]
pub(crate) struct ExchangeStage<P> {
    /// Withheld events by (release time, arrival ordinal).
    held: BTreeMap<(u64, u64), HeldEvent<P>>,
    next_ordinal: u64,
    /// Per message type, how many events (outbound) or requests (inbound) were seen.
    event_ordinals: BTreeMap<String, u64>,
    request_ordinals: BTreeMap<String, u64>,
    /// The end of the current book freeze.
    stale_until_ms: u64,
    /// How many book updates the current gap still skips.
    gap_remaining: u64,
    /// Whether the current gap ends with an announcement.
    gap_announced: bool,
}

/// Counts one more message of `message_type` and returns its ordinal (1, 2, ...).
fn next_of(ordinals: &mut BTreeMap<String, u64>, message_type: &str) -> u64 {
    match ordinals.get_mut(message_type) {
        Some(count) => {
            *count += 1;
            *count
        }
        None => {
            ordinals.insert(message_type.to_owned(), 1);
            1
        }
    }
}

impl<P: Clone> ExchangeStage<P> {
    /// An empty stage.
    pub(crate) fn new() -> Self {
        Self {
            held: BTreeMap::new(),
            next_ordinal: 0,
            event_ordinals: BTreeMap::new(),
            request_ordinals: BTreeMap::new(),
            stale_until_ms: 0,
            gap_remaining: 0,
            gap_announced: false,
        }
    }

    fn hold(&mut self, release_ms: u64, event: HeldEvent<P>) -> bool {
        if self.held.len() >= HELD_EVENTS_MAX {
            return false;
        }
        self.next_ordinal += 1;
        self.held.insert((release_ms, self.next_ordinal), event);
        true
    }

    /// Decides on an inbound request of `message_type`.
    pub(crate) fn on_request(
        &mut self,
        ctx: &Context<'_>,
        message_type: &str,
        now_ms: u64,
    ) -> RequestVerdict {
        let ordinal = next_of(&mut self.request_ordinals, message_type);
        let target = Target {
            direction: Some(Direction::Inbound),
            message_type: Some(message_type),
            channel: None,
            account: ctx.account,
            now_ms,
        };
        let record = |mode: Mode| {
            ctx.record(
                mode,
                Some(Direction::Inbound),
                Some(ordinal),
                Some(message_type),
                now_ms,
                None,
            )
        };
        if active(&ctx.modes.outage, &target).is_some_and(|outage| outage.params.reject_requests) {
            record(Mode::Outage);
            return RequestVerdict::Reject(RejectCode::ExchangeUnavailable);
        }
        if active(&ctx.modes.reject_orders, &target)
            .is_some_and(|mode| reject_orders::decide(&mode.params, ctx.stream, ordinal))
        {
            record(Mode::RejectOrders);
            return RequestVerdict::Reject(RejectCode::ExchangeBusy);
        }
        RequestVerdict::Pass
    }

    /// Decides on an outbound event.
    pub(crate) fn on_event(
        &mut self,
        ctx: &Context<'_>,
        payload: P,
        meta: EventMeta<'_>,
        now_ms: u64,
    ) -> EventVerdict<P> {
        let ordinal = next_of(&mut self.event_ordinals, meta.message_type);
        let target = Target {
            direction: Some(Direction::Outbound),
            message_type: Some(meta.message_type),
            channel: meta.channel,
            account: ctx.account,
            now_ms,
        };
        let record = |mode: Mode, detail: Option<String>| {
            ctx.record(
                mode,
                Some(Direction::Outbound),
                Some(ordinal),
                Some(meta.message_type),
                now_ms,
                detail,
            )
        };
        let modes = ctx.modes;
        let stream = ctx.stream;
        let held_event = |payload: P, repeat: bool| HeldEvent {
            payload,
            message_type: meta.message_type.to_owned(),
            channel: meta.channel.map(str::to_owned),
            repeat,
        };

        if active(&modes.lost_cancel_ack, &target)
            .is_some_and(|mode| lost_cancel_ack::decide(&mode.params, stream, ordinal))
        {
            record(Mode::LostCancelAck, None);
            return EventVerdict::Suppressed;
        }
        if let Some(wait_ms) = active(&modes.late_cancel_ack, &target)
            .and_then(|mode| late_cancel_ack::decide(&mode.params, stream, ordinal))
        {
            let release_ms = now_ms.saturating_add(wait_ms);
            if self.hold(release_ms, held_event(payload.clone(), false)) {
                record(Mode::LateCancelAck, Some(format!("until_ms={release_ms}")));
                return EventVerdict::Withheld;
            }
        }
        if active(&modes.unknown_outcome, &target)
            .is_some_and(|mode| unknown_outcome::decide(&mode.params, stream, ordinal))
        {
            record(Mode::UnknownOutcome, None);
            return EventVerdict::UnknownOutcome(payload);
        }
        if let Some(mode) = active(&modes.stale_orderbook, &target) {
            if self.stale_until_ms <= now_ms
                && stale_orderbook::decide(&mode.params, stream, ordinal)
            {
                self.stale_until_ms = now_ms.saturating_add(mode.params.duration_ms);
                record(
                    Mode::StaleOrderbook,
                    Some(format!("until_ms={}", self.stale_until_ms)),
                );
            }
            if self.stale_until_ms > now_ms {
                match mode.params.resume {
                    StaleResume::Skip => return EventVerdict::Suppressed,
                    StaleResume::Deliver => {
                        if self.hold(self.stale_until_ms, held_event(payload.clone(), false)) {
                            return EventVerdict::Withheld;
                        }
                    }
                }
            }
        }
        if let Some(mode) = active(&modes.sequence_gap, &target) {
            let snapshot = meta.message_type == "ORDERBOOK_SNAPSHOT";
            if !snapshot && self.gap_remaining > 0 {
                self.gap_remaining -= 1;
                return self.skipped();
            }
            if sequence_gap::decide(&mode.params, stream, ordinal) {
                record(
                    Mode::SequenceGap,
                    Some(format!(
                        "gap_size={} announce={}",
                        mode.params.gap_size, mode.params.announce
                    )),
                );
                self.gap_announced = mode.params.announce;
                if snapshot {
                    self.gap_remaining = mode.params.gap_size;
                } else {
                    self.gap_remaining = mode.params.gap_size.saturating_sub(1);
                    return self.skipped();
                }
            }
        }
        if let Some(wait_ms) = active(&modes.duplicate_fills, &target)
            .and_then(|mode| duplicate_fills::decide(&mode.params, stream, ordinal))
        {
            let release_ms = now_ms.saturating_add(wait_ms);
            if self.hold(release_ms, held_event(payload.clone(), true)) {
                record(
                    Mode::DuplicateFills,
                    Some(format!("repeat_at_ms={release_ms}")),
                );
            }
        }
        EventVerdict::Deliver(payload)
    }

    /// The verdict on a book update a gap skips: the last of an announced gap says so.
    fn skipped(&self) -> EventVerdict<P> {
        if self.gap_remaining == 0 && self.gap_announced {
            EventVerdict::GapEnded
        } else {
            EventVerdict::Suppressed
        }
    }

    /// The next withheld event due at `now_ms`.
    pub(crate) fn pop_due(&mut self, now_ms: u64) -> Option<HeldEvent<P>> {
        let entry = self.held.first_entry()?;
        if entry.key().0 > now_ms {
            return None;
        }
        Some(entry.remove())
    }

    /// When the next withheld event falls due.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.held.keys().next().map(|key| key.0)
    }
}
