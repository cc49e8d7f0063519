//! The fault model of exchange-simulator: every decision about what goes wrong between the
//! exchange and a client, made purely. No clocks, threads or I/O: the server passes the time as
//! `now_ms` (milliseconds since server start) and does the I/O; this crate decides, schedules,
//! counts and logs. Decisions are keyed hashes of (seed, connection key, mode, frame), so a run
//! replays exactly from its seed at any speed.
//!
//! Entry points: [`FaultConfig::from_json`] reads the `failures` object; [`FaultInjector`] is the
//! shared handle; [`FaultInjector::connection`] gives each connection its [`ConnectionFaults`].
//! The Binance listener also asks [`FaultInjector::binance_rest`] about each REST request and
//! [`FaultInjector::clock_skew_ms`] for its clock. See `docs/FAULTS.md` for every mode and how
//! the server calls this crate.

#![forbid(unsafe_code)]

mod activation;
#[cfg(test)]
mod binance_tests;
mod clock;
mod config;
mod connection;
mod context;
mod exchange;
mod filter;
mod http;
mod injector;
mod mode;
pub mod modes;
mod names;
mod one_shot;
mod reader;
pub mod rest;
mod rng;
mod scheduler;
mod shared;
mod stats;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use config::{FaultConfig, FaultConfigError, ScenarioStep, SCENARIO_STEPS_MAX};
pub use connection::{ConnectionEvent, ConnectionFaults};
pub use exchange::{
    EventMeta, EventVerdict, HeldEvent, RejectCode, RequestVerdict, HELD_EVENTS_MAX,
};
pub use filter::{Direction, DirectionFilter, Filter};
pub use http::{
    HttpError, HttpOutcome, HttpRequestMeta, HttpVerdict, HTTP_CLIENTS_MAX, HTTP_CLIENT_KEY_PREFIX,
    HTTP_OPERATIONS_PER_CLIENT_MAX,
};
pub use injector::{anonymous_key, FaultInjector, ONE_SHOTS_MAX};
pub use mode::Mode;
pub use names::{
    binance_request_type, binance_rest_request_type, BINANCE_REST_PATHS, MESSAGE_TYPES,
    REQUEST_TYPES,
};
pub use one_shot::{OneShot, OneShotAction, ONE_SHOT_COUNT_MAX};
pub use reader::did_you_mean;
pub use rest::{Latency, LatencyMode, RestRefusal, RestVerdict, REST_SESSIONS_MAX};
pub use scheduler::{FrameMeta, Payload, PushOutcome, Released, PENDING_FRAMES_MAX};
pub use stats::{
    ConnectionCounters, Counters, FaultLogEntry, LogSummary, Statistics, LOG_CAPACITY,
    TRACKED_CONNECTIONS_MAX,
};
