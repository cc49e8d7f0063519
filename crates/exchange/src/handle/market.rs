//! The synthetic market: built at start, funded, stepped on its own clock; its orders go through
//! the engine like anyone's.

use std::cell::RefCell;
use std::collections::HashMap;

use engine::{AccountId, SymbolId};

use crate::accounts::AccountKind;
use crate::core::Core;
use crate::error::CoreError;
use crate::timers::Timer;

impl Core {
    /// Creates the system accounts, builds the market and funds it.
    pub(crate) fn start_market(
        &mut self,
        seed: u64,
        custom_models: HashMap<String, Box<dyn market::PriceModel>>,
    ) -> Result<(), CoreError> {
        let names = self.config.market.system_account_names();
        if names.is_empty() {
            return Ok(());
        }
        let accounts: Vec<AccountId> = names
            .into_iter()
            .map(|name| self.open_account(name, AccountKind::System, None, &[]))
            .collect();
        let catalog = self.catalog.clone();
        let mut symbols = Vec::new();
        for (i, symbol) in catalog.symbols().iter().enumerate() {
            let name = &symbol.spec.name;
            let path = format!("exchange.initial_prices.{name}");
            let text = self
                .config
                .initial_prices
                .iter()
                .find(|(s, _)| s == name)
                .map(|(_, p)| p.clone())
                .ok_or_else(|| CoreError::new(&path, "the market needs an initial price"))?;
            let initial_price = symbol
                .parse_price(&text)
                .map_err(|e| CoreError::new(&path, format!("{text:?}: {e}")))?;
            symbols.push(market::MarketSymbol {
                id: SymbolId(i as u32),
                symbol,
                initial_price,
            });
        }
        let custom = RefCell::new(custom_models);
        let market = self
            .config
            .market
            .build_with_models("exchange", &symbols, &accounts, seed, &|name: &str| {
                custom.borrow_mut().remove(name)
            })
            .map_err(|e| CoreError::new(e.path, e.reason))?;
        let mut sink = Vec::new();
        for cmd in market.funding_commands() {
            // Funding is not news to anyone: its events are not sent.
            let funded = self.engine.execute(&cmd, self.now_ns, &mut sink);
            debug_assert!(funded.is_ok(), "market funding refused: {funded:?}");
        }
        self.market.market = Some(market);
        Ok(())
    }

    /// At [`crate::Input::Start`]: the first timed step, unless the clock is manual.
    pub(crate) fn schedule_first_step(&mut self) {
        if self.config.manual_clock {
            return;
        }
        let at_ns = self.now_ns.saturating_add(self.market.step_ns);
        self.market.next_step_ns = Some(at_ns);
        self.schedule(at_ns, Timer::MarketStep);
    }

    /// A timed step is due: step, and schedule the next one a step after this one was due (or
    /// a step from now when the exchange fell behind).
    pub(crate) fn on_step_timer(&mut self) {
        let Some(due) = self.market.next_step_ns else {
            return;
        };
        if self.now_ns < due {
            return self.schedule(due, Timer::MarketStep);
        }
        self.step();
        let mut next = due.saturating_add(self.market.step_ns);
        if next <= self.now_ns {
            next = self.now_ns.saturating_add(self.market.step_ns);
        }
        self.market.next_step_ns = Some(next);
        self.schedule(next, Timer::MarketStep);
    }

    /// [`crate::Input::AdvanceMarket`]: `ticks` ticker intervals of steps at once.
    pub(crate) fn advance_market(&mut self, ticks: u64) {
        for _ in 0..ticks.saturating_mul(self.market.steps_per_tick) {
            self.step();
        }
    }

    /// One market step; every `steps_per_tick`-th also publishes the ticker.
    fn step(&mut self) {
        self.market.clock_ns += self.market.step_ns;
        self.market.steps += 1;
        if let Some(market) = &mut self.market.market {
            let mut commands = std::mem::take(&mut self.market.commands);
            commands.clear();
            market.step_into(self.market.clock_ns, &mut commands);
            for cmd in &commands {
                // The market's orders obey the same rules as anyone's; a refusal needs no answer.
                let _ = self.run_command(None, *cmd);
            }
            self.market.commands = commands;
        }
        let updates = self.market_data.candles.on_time(self.now_ns);
        self.publish_candles(&updates);
        if self.market.steps % self.market.steps_per_tick == 0 {
            self.publish_tickers();
        }
    }
}
