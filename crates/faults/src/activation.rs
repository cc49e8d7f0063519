//! When a mode's current settings began to apply, for the modes whose effect depends on time
//! rather than on a frame: `clock_skew` drifts from that moment and `rate_limit_storm` counts
//! its recurring storms from it.
//!
//! The moment is the latest of: the start of the scenario run in which the mode has these
//! settings (server start for the config file's base modes), the mode's `start_s`, and, for a
//! configuration changed at run time (admin API), the first call after the change (the crate
//! has no clock of its own to note the change's time). A change to another mode leaves it be.

use crate::filter::Filter;
use crate::modes::{ModeConfig, ModeParams, Modes};
use crate::FaultConfig;

/// Seconds of a validated window bound to milliseconds.
fn bound_ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round() as u64
}

/// The settings of one mode that apply now, and their time span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Active {
    /// When they began to apply.
    pub since_ms: u64,
    /// When they stop (`None`: no end is known).
    pub until_ms: Option<u64>,
    /// True for the first call that sees them (the time to record the fault once).
    pub fresh: bool,
}

/// One mode's activation, as seen by successive calls.
#[derive(Debug)]
pub(crate) struct Activation<P> {
    /// The configuration generation last seen, and the first call's time under it.
    generation: u64,
    generation_seen_ms: u64,
    /// The settings last seen applying, and since when.
    current: Option<(ModeConfig<P>, u64)>,
}

impl<P> Default for Activation<P> {
    fn default() -> Self {
        Self {
            generation: 0,
            generation_seen_ms: 0,
            current: None,
        }
    }
}

impl<P: ModeParams> Activation<P> {
    /// The mode `select` picks, if it is on and inside its window at `now_ms`, with its span.
    pub(crate) fn update(
        &mut self,
        generation: u64,
        config: &FaultConfig,
        now_ms: u64,
        select: fn(&Modes) -> &Option<ModeConfig<P>>,
    ) -> Option<Active> {
        if generation != self.generation {
            self.generation = generation;
            self.generation_seen_ms = now_ms;
        }
        let mode = select(config.modes_at(now_ms))
            .as_ref()
            .filter(|mode| mode.enabled && mode.filter.in_window(now_ms));
        let Some(mode) = mode else {
            self.current = None;
            return None;
        };
        let (run_start_ms, run_end_ms) = config.settled(now_ms, select);
        let Filter { start_s, end_s, .. } = &mode.filter;
        let since_ms = run_start_ms
            .max(start_s.map_or(0, bound_ms))
            .max(self.generation_seen_ms);
        let until_ms = match (run_end_ms, end_s.map(bound_ms)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let known = self
            .current
            .as_ref()
            .filter(|(seen, seen_since_ms)| seen == mode && *seen_since_ms >= run_start_ms);
        if let Some((_, seen_since_ms)) = known {
            return Some(Active {
                since_ms: *seen_since_ms,
                until_ms,
                fresh: false,
            });
        }
        self.current = Some((mode.clone(), since_ms));
        Some(Active {
            since_ms,
            until_ms,
            fresh: true,
        })
    }
}
