//! The per-connection fault state, owned by the server's connection task: the exchange stage, the
//! two message schedulers and the connection-level triggers. Every call takes the time as
//! `now_ms` (milliseconds since server start) and picks up configuration changes first.

use std::sync::Arc;

use crate::context::{context, Context};
use crate::exchange::{EventMeta, EventVerdict, ExchangeStage, HeldEvent, RequestVerdict};
use crate::filter::{DirectionFilter, Target};
use crate::mode::Mode;
use crate::modes::trigger::{Trigger, TriggerState};
use crate::modes::{ModeConfig, ModeParams, Modes};
use crate::rng::Stream;
use crate::scheduler::{FrameMeta, PushOutcome, Released, Scheduler};
use crate::shared::Shared;
use crate::{Direction, FaultConfig};

/// How many trigger firings one poll may skip (outside their window or account filter).
const SKIPPED_FIRINGS_MAX: usize = 1024;

/// A connection-level fault the server must act on now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// Close the connection: with a close frame carrying `close_code` when `clean`, else by a TCP
    /// reset without a close frame.
    Disconnect {
        /// Whether to send a close frame.
        clean: bool,
        /// The close frame's code.
        close_code: u16,
    },
    /// Nothing flows in `direction` until `until_ms`. The schedulers already drop those frames;
    /// the event is for the server's own bookkeeping.
    Silence {
        /// The silenced direction(s).
        direction: DirectionFilter,
        /// When the silence ends.
        until_ms: u64,
    },
    /// Stop reading the client's socket until `until_ms`.
    PauseReading {
        /// When to read again.
        until_ms: u64,
    },
    /// Fabricate an ORDER_FILL for one of the client's resting orders (none if it has none).
    PhantomFill,
}

/// The connection-level triggers of one connection.
#[derive(Debug)]
struct Triggers {
    disconnect: TriggerState,
    silent: TriggerState,
    slow_consumer: TriggerState,
    phantom_fills: TriggerState,
}

impl Triggers {
    fn new(from_ms: u64) -> Self {
        Self {
            disconnect: TriggerState::new(from_ms),
            silent: TriggerState::new(from_ms),
            slow_consumer: TriggerState::new(from_ms),
            phantom_fills: TriggerState::new(from_ms),
        }
    }
}

/// The fault state of one connection. `P` is the frame payload (e.g. `Arc<[u8]>` or `String`);
/// it is only cloned for duplicates, and corruption makes an owned copy.
#[derive(Debug)]
pub struct ConnectionFaults<P> {
    shared: Arc<Shared>,
    conn_id: u64,
    key: String,
    /// How many connections with the same key came before this one.
    key_ordinal: u64,
    account: Option<String>,
    stream: Stream,
    generation: u64,
    config: Arc<FaultConfig>,
    exchange: ExchangeStage<P>,
    inbound: Scheduler<P>,
    outbound: Scheduler<P>,
    triggers: Triggers,
    silent_inbound_until_ms: u64,
    silent_outbound_until_ms: u64,
}

impl<P: AsRef<[u8]> + Clone> ConnectionFaults<P> {
    pub(crate) fn new(
        shared: Arc<Shared>,
        conn_id: u64,
        key: &str,
        account: Option<&str>,
        opened_ms: u64,
    ) -> Self {
        let (generation, config) = shared.config();
        let key_ordinal = shared.key_ordinal(key);
        let stream = Stream::new(shared.seed_for(&config), key, key_ordinal);
        Self {
            conn_id,
            key: key.to_owned(),
            key_ordinal,
            account: account.map(str::to_owned),
            stream,
            generation,
            config,
            exchange: ExchangeStage::new(),
            inbound: Scheduler::new(Direction::Inbound),
            outbound: Scheduler::new(Direction::Outbound),
            triggers: Triggers::new(opened_ms),
            silent_inbound_until_ms: 0,
            silent_outbound_until_ms: 0,
            shared,
        }
    }

    /// The connection key the draws are keyed on.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Binds the connection to `account` after LOGIN: filters see the account, and draws from
    /// now on are keyed on its name.
    pub fn set_account(&mut self, account: &str) {
        self.account = Some(account.to_owned());
        self.key = account.to_owned();
        self.key_ordinal = self.shared.key_ordinal(account);
        self.stream = Stream::new(
            self.shared.seed_for(&self.config),
            account,
            self.key_ordinal,
        );
    }

    /// Picks up a configuration change; connection triggers restart from `now_ms`.
    fn refresh(&mut self, now_ms: u64) {
        if self.shared.generation() == self.generation {
            return;
        }
        let (generation, config) = self.shared.config();
        let seed = self.shared.seed_for(&config);
        if seed != self.shared.seed_for(&self.config) {
            self.stream = Stream::new(seed, &self.key, self.key_ordinal);
        }
        self.generation = generation;
        self.config = config;
        self.triggers = Triggers::new(now_ms);
    }

    /// The modes in force at `now_ms` (none when faults are off).
    fn modes(&self, now_ms: u64) -> Arc<Modes> {
        if self.config.enabled() {
            Arc::clone(self.config.modes_at(now_ms))
        } else {
            self.shared.no_modes()
        }
    }

    /// Exchange stage, inbound: decides on a request of `message_type` before the engine sees it.
    pub fn on_request(&mut self, message_type: &str, now_ms: u64) -> RequestVerdict {
        self.refresh(now_ms);
        let modes = self.modes(now_ms);
        self.exchange
            .on_request(&context!(self, &modes), message_type, now_ms)
    }

    /// Exchange stage, outbound: decides on an event before it gets its `seq`.
    pub fn on_event(&mut self, payload: P, meta: EventMeta<'_>, now_ms: u64) -> EventVerdict<P> {
        self.refresh(now_ms);
        let modes = self.modes(now_ms);
        self.exchange
            .on_event(&context!(self, &modes), payload, meta, now_ms)
    }

    /// The next withheld or repeated event due at `now_ms`: give it a `seq` and push it outbound.
    pub fn pop_due_event(&mut self, now_ms: u64) -> Option<HeldEvent<P>> {
        self.exchange.pop_due(now_ms)
    }

    /// Message stage: a frame from the client (`meta.seq` = its inbound ordinal).
    pub fn push_inbound(&mut self, payload: P, meta: FrameMeta<'_>, now_ms: u64) -> PushOutcome {
        self.push(Direction::Inbound, payload, meta, now_ms)
    }

    /// Message stage: a frame to the client, after its `seq` was assigned.
    pub fn push_outbound(&mut self, payload: P, meta: FrameMeta<'_>, now_ms: u64) -> PushOutcome {
        self.push(Direction::Outbound, payload, meta, now_ms)
    }

    fn push(
        &mut self,
        direction: Direction,
        payload: P,
        meta: FrameMeta<'_>,
        now_ms: u64,
    ) -> PushOutcome {
        self.refresh(now_ms);
        let silent_until_ms = match direction {
            Direction::Inbound => self.silent_inbound_until_ms,
            Direction::Outbound => self.silent_outbound_until_ms,
        };
        if silent_until_ms > now_ms {
            return PushOutcome::Dropped;
        }
        let modes = self.modes(now_ms);
        let ctx = context!(self, &modes);
        match direction {
            Direction::Inbound => self.inbound.push(&ctx, payload, meta, now_ms),
            Direction::Outbound => self.outbound.push(&ctx, payload, meta, now_ms),
        }
    }

    /// The next client frame due at `now_ms`, to be handled now.
    pub fn pop_inbound(&mut self, now_ms: u64) -> Option<Released<P>> {
        self.inbound.pop_due(now_ms)
    }

    /// The next frame due at `now_ms`, to be written to the client now.
    pub fn pop_outbound(&mut self, now_ms: u64) -> Option<Released<P>> {
        self.outbound.pop_due(now_ms)
    }

    /// The next connection-level fault due at `now_ms`, if any; call until `None`.
    pub fn next_connection_event(&mut self, now_ms: u64) -> Option<ConnectionEvent> {
        self.refresh(now_ms);
        let modes = self.modes(now_ms);
        if let Some(mode) = &modes.disconnect {
            if let Some(time_ms) = self.fire(
                &mode.params.trigger,
                Mode::Disconnect,
                mode,
                now_ms,
                Self::disconnect_state,
            ) {
                self.record_connection(
                    Mode::Disconnect,
                    time_ms,
                    Some(format!(
                        "clean={} close_code={}",
                        mode.params.clean, mode.params.close_code
                    )),
                );
                return Some(ConnectionEvent::Disconnect {
                    clean: mode.params.clean,
                    close_code: mode.params.close_code,
                });
            }
        }
        if let Some(mode) = &modes.silent_connection {
            if let Some(time_ms) = self.fire(
                &mode.params.trigger,
                Mode::SilentConnection,
                mode,
                now_ms,
                Self::silent_state,
            ) {
                let until_ms = time_ms.saturating_add(mode.params.duration_ms);
                if mode.filter.direction.covers(Direction::Inbound) {
                    self.silent_inbound_until_ms = self.silent_inbound_until_ms.max(until_ms);
                }
                if mode.filter.direction.covers(Direction::Outbound) {
                    self.silent_outbound_until_ms = self.silent_outbound_until_ms.max(until_ms);
                }
                self.record_connection(
                    Mode::SilentConnection,
                    time_ms,
                    Some(format!("until_ms={until_ms}")),
                );
                return Some(ConnectionEvent::Silence {
                    direction: mode.filter.direction,
                    until_ms,
                });
            }
        }
        if let Some(mode) = &modes.slow_consumer {
            if let Some(time_ms) = self.fire(
                &mode.params.trigger,
                Mode::SlowConsumer,
                mode,
                now_ms,
                Self::slow_state,
            ) {
                let until_ms = time_ms.saturating_add(mode.params.duration_ms);
                self.record_connection(
                    Mode::SlowConsumer,
                    time_ms,
                    Some(format!("until_ms={until_ms}")),
                );
                return Some(ConnectionEvent::PauseReading { until_ms });
            }
        }
        if let Some(mode) = &modes.phantom_fills {
            if let Some(time_ms) = self.fire(
                &mode.params.trigger,
                Mode::PhantomFills,
                mode,
                now_ms,
                Self::phantom_state,
            ) {
                self.record_connection(Mode::PhantomFills, time_ms, None);
                return Some(ConnectionEvent::PhantomFill);
            }
        }
        None
    }

    fn disconnect_state(&mut self) -> &mut TriggerState {
        &mut self.triggers.disconnect
    }

    fn silent_state(&mut self) -> &mut TriggerState {
        &mut self.triggers.silent
    }

    fn slow_state(&mut self) -> &mut TriggerState {
        &mut self.triggers.slow_consumer
    }

    fn phantom_state(&mut self) -> &mut TriggerState {
        &mut self.triggers.phantom_fills
    }

    /// Advances one trigger up to `now_ms`; the firing time of the first firing its filter
    /// covers (firings outside the window or for other accounts are skipped).
    fn fire<T: ModeParams>(
        &mut self,
        trigger: &Trigger,
        mode: Mode,
        config: &ModeConfig<T>,
        now_ms: u64,
        state: fn(&mut Self) -> &mut TriggerState,
    ) -> Option<u64> {
        if !config.enabled {
            return None;
        }
        let stream = self.stream;
        for _ in 0..SKIPPED_FIRINGS_MAX {
            let time_ms = state(self).next_ms(trigger, &stream, mode)?;
            if time_ms > now_ms {
                return None;
            }
            state(self).fire();
            let target = Target {
                direction: None,
                message_type: None,
                channel: None,
                account: self.account.as_deref(),
                now_ms: time_ms,
            };
            if config.applies(&target) {
                return Some(time_ms);
            }
        }
        None
    }

    fn record_connection(&self, mode: Mode, time_ms: u64, detail: Option<String>) {
        context!(self, &self.shared.no_modes()).record(mode, None, None, None, time_ms, detail);
    }

    /// The earliest time anything is due (a queued frame, a withheld event, a connection
    /// fault): the server sleeps until then or until new traffic.
    pub fn next_deadline(&mut self, now_ms: u64) -> Option<u64> {
        self.refresh(now_ms);
        let modes = self.modes(now_ms);
        let stream = self.stream;
        let pending = [
            self.inbound.next_deadline(),
            self.outbound.next_deadline(),
            self.exchange.next_deadline(),
        ];
        let triggers = &mut self.triggers;
        let next = |trigger: Option<&Trigger>, mode: Mode, state: &mut TriggerState| {
            trigger.and_then(|trigger| state.next_ms(trigger, &stream, mode))
        };
        let connection = [
            next(
                enabled(&modes.disconnect).map(|m| &m.params.trigger),
                Mode::Disconnect,
                &mut triggers.disconnect,
            ),
            next(
                enabled(&modes.silent_connection).map(|m| &m.params.trigger),
                Mode::SilentConnection,
                &mut triggers.silent,
            ),
            next(
                enabled(&modes.slow_consumer).map(|m| &m.params.trigger),
                Mode::SlowConsumer,
                &mut triggers.slow_consumer,
            ),
            next(
                enabled(&modes.phantom_fills).map(|m| &m.params.trigger),
                Mode::PhantomFills,
                &mut triggers.phantom_fills,
            ),
        ];
        pending.into_iter().chain(connection).flatten().min()
    }
}

/// The configuration of a mode when it is present and enabled.
fn enabled<P>(mode: &Option<ModeConfig<P>>) -> Option<&ModeConfig<P>> {
    mode.as_ref().filter(|config| config.enabled)
}
