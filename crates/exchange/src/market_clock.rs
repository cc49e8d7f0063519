//! The synthetic market's clock and steps. The market has its own clock, advanced by exactly one
//! step per step whatever the real time between steps, so that the same seed gives the same
//! market at any speed. With the timer the steps come every `market_step_ns` (a late step does
//! not make the next one early); with a manual clock only [`crate::Input::AdvanceMarket`] steps.

use engine::{Command, Event, SymbolId};
use market::Market;

use crate::config::CoreConfig;

/// The market and its clock.
pub(crate) struct MarketClock {
    /// The synthetic market, if any part of it is enabled.
    pub market: Option<Market>,
    pub clock_ns: u64,
    pub step_ns: u64,
    pub steps_per_tick: u64,
    pub steps: u64,
    /// When the next timed step is due (none on a manual clock).
    pub next_step_ns: Option<u64>,
    /// The market's orders of the current step (reused).
    pub commands: Vec<Command>,
}

impl MarketClock {
    pub fn new(config: &CoreConfig, start_ns: u64) -> MarketClock {
        MarketClock {
            market: None,
            clock_ns: start_ns,
            step_ns: config.market_step_ns.max(1),
            steps_per_tick: config.steps_per_tick.max(1),
            steps: 0,
            next_step_ns: None,
            commands: Vec::new(),
        }
    }

    pub fn model_price(&self, symbol: SymbolId) -> Option<engine::Price> {
        self.market.as_ref()?.model_price(symbol)
    }

    /// Lets the market's participants see what happened (their fills, the trades).
    pub fn on_events(&mut self, events: &[Event]) {
        if let Some(market) = &mut self.market {
            for event in events {
                market.on_event(event);
            }
        }
    }
}
