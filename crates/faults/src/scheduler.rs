//! The per-direction message scheduler: applies the message faults to frames that already carry
//! their `seq`, and releases them in (release time, push order) order.
//!
//! Order of the faults on one frame: one-shot, drop, throttle, corrupt, delay, duplicate, reorder.
//! Without reordering, release times never decrease in push order (a frame with a short delay
//! waits behind an earlier one with a long delay), so no frame overtakes another. A reordered
//! frame is held until 1..`window_size` later frames have been pushed, then goes right after them.

use std::collections::BTreeMap;

use crate::context::Context;
use crate::filter::Target;
use crate::mode::Mode;
use crate::modes::throttle::{Admission, ThrottleAction, ThrottleState};
use crate::modes::{active, corrupt, delay, drop, duplicate, reorder, throttle};
use crate::one_shot::OneShotAction;
use crate::Direction;

/// The most frames one direction of one connection may hold; beyond it [`PushOutcome::Overflow`].
pub const PENDING_FRAMES_MAX: usize = 65_536;

/// What the server knows about a frame when it hands it to the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMeta<'a> {
    /// Outbound: the connection's `seq` of the frame. Inbound: the ordinal of the frame read from
    /// the client (1, 2, ...). Decisions are keyed on it.
    pub seq: u64,
    /// The frame's `type`, when known (the server peeks it; `None` for unparsable input).
    pub message_type: Option<&'a str>,
    /// The frame's `channel`, for market data.
    pub channel: Option<&'a str>,
}

/// A frame's content on its way out: the original, or a corrupted copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload<P> {
    /// The frame as pushed (shared bytes stay shared).
    Original(P),
    /// A damaged copy: still valid UTF-8, to be sent as a text frame.
    Corrupted(String),
}

impl<P: AsRef<[u8]>> AsRef<[u8]> for Payload<P> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Payload::Original(payload) => payload.as_ref(),
            Payload::Corrupted(text) => text.as_bytes(),
        }
    }
}

/// A frame released by the scheduler, to be written (outbound) or handled (inbound) now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released<P> {
    /// The content.
    pub payload: Payload<P>,
    /// The frame's `seq` (copies repeat it).
    pub seq: u64,
    /// 0 for the frame itself, 1.. for its duplicates.
    pub copy: u64,
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Queued: it comes out of `pop_*` at its release time (at once when nothing delays it).
    Queued,
    /// Lost: dropped, silenced or throttled away. Nothing to do.
    Dropped,
    /// Refused by the rate limit with `action: reject`: the server answers RATE_LIMITED.
    RateLimited,
    /// The connection holds [`PENDING_FRAMES_MAX`] frames in this direction: the server should
    /// close it as a slow consumer.
    Overflow,
}

/// A frame waiting for its release.
#[derive(Debug)]
struct Pending<P> {
    payload: Payload<P>,
    seq: u64,
    copy: u64,
}

/// A reordered frame waiting for later frames to overtake it.
#[derive(Debug)]
struct Held<P> {
    pending: Pending<P>,
    /// Its place in push order.
    ordinal: u64,
    release_ms: u64,
    /// How many more later frames must be pushed before it goes.
    remaining: u64,
    /// When it goes regardless.
    deadline_ms: u64,
}

/// The scheduler of one direction of one connection.
#[derive(Debug)]
pub(crate) struct Scheduler<P> {
    direction: Direction,
    /// Frames by (release time, push ordinal).
    queue: BTreeMap<(u64, u64), Pending<P>>,
    held: Vec<Held<P>>,
    next_ordinal: u64,
    last_release_ms: u64,
    throttle: ThrottleState,
    in_burst: bool,
}

impl<P: AsRef<[u8]> + Clone> Scheduler<P> {
    /// An empty scheduler for `direction`.
    pub(crate) fn new(direction: Direction) -> Self {
        Self {
            direction,
            queue: BTreeMap::new(),
            held: Vec::new(),
            next_ordinal: 0,
            last_release_ms: 0,
            throttle: ThrottleState::default(),
            in_burst: false,
        }
    }

    fn ordinal(&mut self) -> u64 {
        self.next_ordinal += 1;
        self.next_ordinal
    }

    /// How many frames wait.
    pub(crate) fn len(&self) -> usize {
        self.queue.len() + self.held.len()
    }

    /// Applies the message faults to one frame and queues what remains of it.
    pub(crate) fn push(
        &mut self,
        ctx: &Context<'_>,
        payload: P,
        meta: FrameMeta<'_>,
        now_ms: u64,
    ) -> PushOutcome {
        self.expire_held(now_ms);
        if self.len() >= PENDING_FRAMES_MAX {
            return PushOutcome::Overflow;
        }
        let direction = self.direction;
        let seq = meta.seq;
        let target = Target {
            direction: Some(direction),
            message_type: meta.message_type,
            channel: meta.channel,
            account: ctx.account,
            now_ms,
        };
        let record = |mode: Mode, detail: Option<String>| {
            ctx.record(
                mode,
                Some(direction),
                Some(seq),
                meta.message_type,
                now_ms,
                detail,
            )
        };
        let modes = ctx.modes;
        let stream = ctx.stream;

        let mut extra_delay_ms = 0;
        let mut extra_copies = 0;
        match ctx.shared.take_one_shot(&target) {
            Some(OneShotAction::Drop) => {
                record(Mode::OneShot, Some("action=drop".into()));
                return PushOutcome::Dropped;
            }
            Some(OneShotAction::Duplicate) => {
                record(Mode::OneShot, Some("action=duplicate".into()));
                extra_copies = 1;
            }
            Some(OneShotAction::Delay { delay_ms }) => {
                record(
                    Mode::OneShot,
                    Some(format!("action=delay delay_ms={delay_ms}")),
                );
                extra_delay_ms = delay_ms;
            }
            None => {}
        }

        if let Some(mode) = active(&modes.drop_messages, &target) {
            if drop::decide(&mode.params, stream, direction, seq, &mut self.in_burst) {
                record(Mode::DropMessages, None);
                return PushOutcome::Dropped;
            }
        }

        let mut release_ms = now_ms;
        if let Some(mode) = active(&modes.throttle_messages, &target) {
            match throttle::decide(&mode.params, &mut self.throttle, now_ms) {
                Admission::Now => {}
                Admission::At(at_ms) => {
                    record(
                        Mode::ThrottleMessages,
                        Some(format!("action=delay until_ms={at_ms}")),
                    );
                    release_ms = at_ms;
                }
                Admission::Refused => {
                    let reject = mode.params.action == ThrottleAction::Reject
                        && direction == Direction::Inbound;
                    record(
                        Mode::ThrottleMessages,
                        Some(
                            if reject {
                                "action=reject"
                            } else {
                                "action=drop"
                            }
                            .into(),
                        ),
                    );
                    return if reject {
                        PushOutcome::RateLimited
                    } else {
                        PushOutcome::Dropped
                    };
                }
            }
        }

        let payload = match active(&modes.corrupt_messages, &target).and_then(|mode| {
            corrupt::decide(&mode.params, stream, direction, seq, payload.as_ref())
        }) {
            Some(text) => {
                record(Mode::CorruptMessages, None);
                Payload::Corrupted(text)
            }
            None => Payload::Original(payload),
        };

        if let Some(delay_ms) = active(&modes.delay_messages, &target)
            .and_then(|mode| delay::decide(&mode.params, stream, direction, seq))
        {
            record(Mode::DelayMessages, Some(format!("delay_ms={delay_ms}")));
            release_ms = release_ms.saturating_add(delay_ms);
        }
        release_ms = release_ms
            .saturating_add(extra_delay_ms)
            .max(self.last_release_ms);
        self.last_release_ms = release_ms;

        let copies = extra_copies
            + active(&modes.duplicate_messages, &target)
                .map(|mode| duplicate::decide(&mode.params, stream, direction, seq))
                .inspect(|copies| {
                    if *copies > 0 {
                        record(Mode::DuplicateMessages, Some(format!("copies={copies}")));
                    }
                })
                .unwrap_or(0);
        let hold = active(&modes.reorder_messages, &target).and_then(|mode| {
            reorder::decide(&mode.params, stream, direction, seq)
                .map(|overtakers| (overtakers, mode.params.max_hold_ms))
        });

        let ordinal = self.ordinal();
        self.count_overtake(ordinal, release_ms);
        for copy in 1..=copies {
            let copy_ordinal = self.ordinal();
            let pending = Pending {
                payload: payload.clone(),
                seq,
                copy,
            };
            self.queue.insert((release_ms, copy_ordinal), pending);
        }
        let pending = Pending {
            payload,
            seq,
            copy: 0,
        };
        match hold {
            Some((overtakers, max_hold_ms)) => {
                record(
                    Mode::ReorderMessages,
                    Some(format!("overtaken_by={overtakers}")),
                );
                self.held.push(Held {
                    pending,
                    ordinal,
                    release_ms,
                    remaining: overtakers,
                    deadline_ms: release_ms.saturating_add(max_hold_ms),
                });
            }
            None => {
                self.queue.insert((release_ms, ordinal), pending);
            }
        }
        PushOutcome::Queued
    }

    /// A frame with push ordinal `ordinal` and release `release_ms` was pushed: every held frame
    /// pushed before it has one more overtaker; those that have all theirs go right after it.
    fn count_overtake(&mut self, ordinal: u64, release_ms: u64) {
        let mut index = 0;
        while let Some(held) = self.held.get_mut(index) {
            if held.ordinal < ordinal {
                held.remaining = held.remaining.saturating_sub(1);
            }
            if held.remaining == 0 {
                let held = self.held.remove(index);
                let key = (held.release_ms.max(release_ms), self.ordinal());
                self.queue.insert(key, held.pending);
            } else {
                index += 1;
            }
        }
    }

    /// Releases held frames whose deadline has passed into the queue, at their deadline.
    fn expire_held(&mut self, now_ms: u64) {
        let mut index = 0;
        while let Some(held) = self.held.get(index) {
            if held.deadline_ms <= now_ms {
                let held = self.held.remove(index);
                let key = (held.deadline_ms, self.ordinal());
                self.queue.insert(key, held.pending);
            } else {
                index += 1;
            }
        }
    }

    /// The next frame due at `now_ms`, if any.
    pub(crate) fn pop_due(&mut self, now_ms: u64) -> Option<Released<P>> {
        self.expire_held(now_ms);
        let entry = self.queue.first_entry()?;
        if entry.key().0 > now_ms {
            return None;
        }
        let pending = entry.remove();
        Some(Released {
            payload: pending.payload,
            seq: pending.seq,
            copy: pending.copy,
        })
    }

    /// When the next frame falls due (queued or held), if any frame waits.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let queued = self.queue.keys().next().map(|key| key.0);
        let held = self.held.iter().map(|held| held.deadline_ms).min();
        queued.into_iter().chain(held).min()
    }
}
