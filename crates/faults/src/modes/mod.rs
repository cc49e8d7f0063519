//! The fault modes, one per file: each file holds the mode's parameters (read from and written to
//! JSON) and the pure decision it makes. The schedulers in `scheduler.rs` and `connection.rs` call
//! them in a fixed order.

use std::fmt::Debug;

use serde_json::{Map, Value};

use crate::filter::{DirectionFilter, Filter, Target};
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::FaultConfigError;

pub mod clock_skew;
pub mod corrupt;
pub mod delay;
pub mod disconnect;
pub mod drop;
pub mod duplicate;
pub mod duplicate_fills;
pub mod http_errors;
pub mod late_cancel_ack;
pub mod lost_cancel_ack;
pub mod outage;
pub mod phantom_fills;
pub mod rate_limit;
pub mod rate_limit_storm;
pub mod reject_orders;
pub mod reorder;
pub mod sequence_gap;
pub mod silent;
pub mod slow_consumer;
pub mod stale_orderbook;
pub mod throttle;
pub mod trigger;
pub mod unknown_outcome;

/// The parameters of one mode: how they are read from and written to JSON.
pub trait ModeParams: Sized + Clone + PartialEq + Debug {
    /// The mode these parameters belong to.
    const MODE: Mode;
    /// The direction filter when `direction` is absent.
    const DEFAULT_DIRECTION: DirectionFilter = DirectionFilter::Both;
    /// The message types the mode touches when `message_types` is absent (empty: all).
    const DEFAULT_TYPES: &'static [&'static str] = &[];
    /// What the mode's firings act on. [`Scope::Message`] modes act on frames and take every
    /// filter; the others fire on a connection at trigger times, so no message or channel is
    /// there to match: `message_types` and `channels` are refused rather than silently matching
    /// nothing, and so is a `direction` the mode would ignore.
    const SCOPE: Scope = Scope::Message;

    /// Reads the mode's own keys (the filter keys are read by [`ModeConfig`]).
    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError>;

    /// Writes the mode's own keys.
    fn write(&self, map: &mut Map<String, Value>);
}

/// What a mode's firings act on (see [`ModeParams::SCOPE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Frames: every filter applies.
    Message,
    /// A whole connection, in the directions `direction` names (`silent_connection`).
    ConnectionDirections,
    /// A whole connection; `direction` does not apply.
    Connection,
    /// REST requests (the original's `rate_limit`): only `enabled`, `start_s` and `end_s` apply;
    /// its sessions are not accounts.
    Rest,
    /// Binance REST requests (`http_errors`, `rate_limit_storm`): no channel exists to match.
    /// `outbound` says whether the mode can act after the request was carried out; without it
    /// `direction: outbound` would never match and is refused.
    Http {
        /// Whether `direction: outbound` means something.
        outbound: bool,
    },
    /// The server's whole clock (`clock_skew`): only `enabled`, `start_s` and `end_s` apply.
    Clock,
}

/// One mode's configuration: on or off, its filter and its parameters (one flat JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct ModeConfig<P> {
    /// `enabled` (default true when the mode's object is present).
    pub enabled: bool,
    /// The filters: direction, message types, channels, accounts, time window.
    pub filter: Filter,
    /// The mode's own parameters.
    pub params: P,
}

impl<P: ModeParams> ModeConfig<P> {
    /// Reads the mode object found at `path`.
    pub(crate) fn read(path: &str, value: &Value) -> Result<Self, FaultConfigError> {
        let mut reader = ObjectReader::new(path, value)?;
        let enabled = reader.bool_or("enabled", true)?;
        let filter = Filter::read(&mut reader, P::DEFAULT_DIRECTION)?;
        if matches!(P::SCOPE, Scope::ConnectionDirections | Scope::Connection) {
            let what = format!(
                "{} acts on whole connections at its trigger times: filter it with accounts, \
                 start_s and end_s",
                P::MODE.name()
            );
            if filter.message_types.is_some() {
                return Err(reader.error("message_types", what));
            }
            if filter.channels.is_some() {
                return Err(reader.error("channels", what));
            }
            if P::SCOPE == Scope::Connection && filter.direction != DirectionFilter::Both {
                return Err(reader.error("direction", format!("{what} (direction does not apply)")));
            }
        }
        if P::SCOPE == Scope::Rest {
            let what = format!(
                "{} acts on REST requests per session (X-Session-ID): only start_s and end_s \
                 filter it",
                P::MODE.name()
            );
            if filter.message_types.is_some() {
                return Err(reader.error("message_types", what));
            }
            if filter.channels.is_some() {
                return Err(reader.error("channels", what));
            }
            if filter.accounts.is_some() {
                return Err(reader.error("accounts", what));
            }
            if filter.direction != DirectionFilter::Both {
                return Err(reader.error("direction", what));
            }
        }
        if let Scope::Http { outbound } = P::SCOPE {
            if filter.channels.is_some() {
                let what = format!(
                    "{} acts on Binance REST requests, which have no channel: aim it with \
                     message_types (REST paths), accounts, start_s and end_s",
                    P::MODE.name()
                );
                return Err(reader.error("channels", what));
            }
            if !outbound && filter.direction == DirectionFilter::Outbound {
                let what = format!(
                    "{} acts when a request arrives: direction may be inbound or both",
                    P::MODE.name()
                );
                return Err(reader.error("direction", what));
            }
        }
        if P::SCOPE == Scope::Clock {
            let what = format!(
                "{} moves the server's whole clock: only start_s and end_s aim it",
                P::MODE.name()
            );
            let aimed = [
                ("message_types", filter.message_types.is_some()),
                ("channels", filter.channels.is_some()),
                ("accounts", filter.accounts.is_some()),
                ("direction", filter.direction != DirectionFilter::Both),
            ];
            if let Some((key, _)) = aimed.into_iter().find(|(_, set)| *set) {
                return Err(reader.error(key, what));
            }
        }
        let params = P::read(&mut reader)?;
        reader.finish()?;
        Ok(Self {
            enabled,
            filter,
            params,
        })
    }

    /// The mode object as JSON, every default written out.
    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("enabled".into(), Value::Bool(self.enabled));
        self.filter.write(&mut map);
        self.params.write(&mut map);
        Value::Object(map)
    }

    /// The mode this configuration belongs to.
    pub fn mode(&self) -> Mode {
        P::MODE
    }

    /// Whether the mode is on and its filter covers `target`.
    pub(crate) fn applies(&self, target: &Target<'_>) -> bool {
        self.enabled && self.filter.matches(target, P::DEFAULT_TYPES)
    }
}

/// Declares [`Modes`]: one optional field per mode, read from and written to `failures.modes`.
macro_rules! declare_modes {
    ($($field:ident : $params:ty),* $(,)?) => {
        /// Every mode's configuration; `None` when the mode's key is absent.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct Modes {
            $(
                #[doc = concat!("`", stringify!($field), "`")]
                pub $field: Option<ModeConfig<$params>>,
            )*
        }

        impl Modes {
            /// Reads `failures.modes` (at `path`), rejecting unknown modes.
            pub(crate) fn read(path: &str, value: &Value) -> Result<Self, FaultConfigError> {
                let reader = ObjectReader::new(path, value)?;
                let mut modes = Modes::default();
                let Value::Object(map) = value else {
                    return Err(FaultConfigError::new(path, "must be an object"));
                };
                for (key, mode_value) in map {
                    let key_path = reader.key_path(key);
                    if mode_value.is_null() {
                        continue;
                    }
                    match key.as_str() {
                        $(
                            stringify!($field) => {
                                modes.$field = Some(ModeConfig::<$params>::read(&key_path, mode_value)?);
                            }
                        )*
                        _ => {
                            let names = [$(stringify!($field)),*];
                            let message = crate::reader::unknown_message("fault mode", key, &names);
                            return Err(FaultConfigError::new(&key_path, message));
                        }
                    }
                }
                Ok(modes)
            }

            /// `failures.modes` as JSON.
            pub(crate) fn to_json(&self) -> Value {
                let mut map = Map::new();
                $(
                    if let Some(mode) = &self.$field {
                        map.insert(stringify!($field).into(), mode.to_json());
                    }
                )*
                Value::Object(map)
            }
        }
    };
}

declare_modes! {
    drop_messages: drop::DropParams,
    delay_messages: delay::DelayParams,
    duplicate_messages: duplicate::DuplicateParams,
    reorder_messages: reorder::ReorderParams,
    corrupt_messages: corrupt::CorruptParams,
    throttle_messages: throttle::ThrottleParams,
    disconnect: disconnect::DisconnectParams,
    silent_connection: silent::SilentParams,
    slow_consumer: slow_consumer::SlowConsumerParams,
    phantom_fills: phantom_fills::PhantomFillsParams,
    duplicate_fills: duplicate_fills::DuplicateFillsParams,
    late_cancel_ack: late_cancel_ack::LateCancelAckParams,
    lost_cancel_ack: lost_cancel_ack::LostCancelAckParams,
    reject_orders: reject_orders::RejectOrdersParams,
    unknown_outcome: unknown_outcome::UnknownOutcomeParams,
    stale_orderbook: stale_orderbook::StaleOrderbookParams,
    sequence_gap: sequence_gap::SequenceGapParams,
    outage: outage::OutageParams,
    rate_limit: rate_limit::RateLimitParams,
    clock_skew: clock_skew::ClockSkewParams,
    http_errors: http_errors::HttpErrorsParams,
    rate_limit_storm: rate_limit_storm::RateLimitStormParams,
}

/// The configuration of a mode when it is on and covers `target`.
pub(crate) fn active<'a, P: ModeParams>(
    mode: &'a Option<ModeConfig<P>>,
    target: &Target<'_>,
) -> Option<&'a ModeConfig<P>> {
    mode.as_ref().filter(|config| config.applies(target))
}
