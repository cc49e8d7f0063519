//! The market driver: every symbol's price model, makers and taker flow, with their random
//! streams, stepped by the server on its engine thread.
//!
//! Determinism: every stream is a `ChaCha8Rng` seeded from the master seed and the stream's name
//! (`model/BTC/USD`, `maker/BTC/USD/0`, `taker/BTC/USD`), so the same seed and the same engine
//! events give the same commands, and adding a symbol or a maker never shifts another's draws.

use std::collections::HashMap;

use engine::{AccountId, Amount, AssetId, Command, Event, Increment, Price, SymbolId};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::maker::{MakerParams, MakerStats, MarketMaker, QuoteGrid};
use crate::models::{PriceModel, PriceTrack};
use crate::taker::{TakerFlow, TakerParams, TakerStats};

/// What each system account is credited per asset at start-up ([`Market::funding_commands`]), in
/// the asset's smallest unit: far more than any run can trade (10^16 BTC at 8 decimals) while
/// sums over many accounts still fit the engine's `i128`.
pub const SYSTEM_FUNDING: Amount = Amount(1_000_000_000_000_000_000_000_000);

/// One symbol as the market runs it: its rules, model and (optional) liquidity settings.
pub struct SymbolSetup {
    /// The engine's id for the symbol.
    pub id: SymbolId,
    /// The wire name; it names the symbol's random streams.
    pub name: String,
    /// The tick size prices are rounded to.
    pub tick: Increment,
    /// The base asset (funded for the makers' asks and the sells).
    pub base: AssetId,
    /// The quote asset (funded for the bids and the buys).
    pub quote: AssetId,
    /// Where the price starts, in ticks (a replay starts from its first row instead).
    pub initial_price: Price,
    /// The price process.
    pub model: Box<dyn PriceModel>,
    /// Market makers' settings; `None` quotes nothing.
    pub maker: Option<MakerParams>,
    /// Taker flow settings; `None` sends nothing.
    pub taker: Option<TakerParams>,
}

/// The engine accounts the market trades with (created and funded by the server).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemAccounts {
    /// One per market maker; each quotes every symbol that has maker settings.
    pub makers: Vec<AccountId>,
    /// The taker flow's account; `None` sends no taker orders.
    pub taker: Option<AccountId>,
}

struct SymbolState {
    id: SymbolId,
    base: AssetId,
    quote: AssetId,
    track: PriceTrack,
    model_rng: ChaCha8Rng,
    /// Shared by the symbol's makers, so their quotes sit on the same prices.
    grid: Option<QuoteGrid>,
    makers: Vec<(MarketMaker, ChaCha8Rng)>,
    taker: Option<(TakerFlow, ChaCha8Rng)>,
}

/// The whole simulated market. Drive it from the engine thread:
///
/// 1. at start-up, execute [`Market::funding_commands`];
/// 2. every `tick_interval`, call [`Market::step`] with the current time and execute the commands
///    it returns, in order, before the next step (a refused command needs no answer);
/// 3. feed every event the engine emits, for any command, to [`Market::on_event`].
pub struct Market {
    symbols: Vec<SymbolState>,
    /// (maker account, symbol) to (symbol index, maker index), for routing events.
    routes: HashMap<(AccountId, SymbolId), (usize, usize)>,
    accounts: SystemAccounts,
}

impl Market {
    /// A market over `setups`, trading with `accounts`, its random streams derived from `seed`.
    pub fn new(setups: Vec<SymbolSetup>, accounts: SystemAccounts, seed: u64) -> Market {
        let mut routes = HashMap::new();
        let mut symbols = Vec::with_capacity(setups.len());
        for (index, setup) in setups.into_iter().enumerate() {
            let makers: Vec<(MarketMaker, ChaCha8Rng)> = match &setup.maker {
                Some(params) => {
                    let count = accounts.makers.len().max(1) as u64;
                    accounts
                        .makers
                        .iter()
                        .enumerate()
                        .map(|(i, &account)| {
                            // Spread the makers' refreshes evenly over the cadence.
                            let offset_ms = params.refresh_ms.saturating_mul(i as u64) / count;
                            let maker =
                                MarketMaker::new(setup.id, account, params.clone(), offset_ms);
                            let rng = stream(seed, &format!("maker/{}/{i}", setup.name));
                            (maker, rng)
                        })
                        .collect()
                }
                None => Vec::new(),
            };
            for (m, (maker, _)) in makers.iter().enumerate() {
                routes.insert((maker.account(), setup.id), (index, m));
            }
            let taker = match (&setup.taker, accounts.taker) {
                (Some(params), Some(account)) => Some((
                    TakerFlow::new(setup.id, account, params.clone()),
                    stream(seed, &format!("taker/{}", setup.name)),
                )),
                _ => None,
            };
            let track = PriceTrack::new(setup.model, setup.initial_price, setup.tick);
            symbols.push(SymbolState {
                id: setup.id,
                grid: setup
                    .maker
                    .as_ref()
                    .map(|p| QuoteGrid::new(track.price(), p)),
                base: setup.base,
                quote: setup.quote,
                track,
                model_rng: stream(seed, &format!("model/{}", setup.name)),
                makers,
                taker,
            });
        }
        Market {
            symbols,
            routes,
            accounts,
        }
    }

    /// Deposits of [`SYSTEM_FUNDING`] in every asset of every symbol to every system account that
    /// trades it, for the server to execute once before the first step.
    pub fn funding_commands(&self) -> Vec<Command> {
        let mut pairs: Vec<(AccountId, AssetId)> = Vec::new();
        for s in &self.symbols {
            let traders = s
                .makers
                .iter()
                .map(|(m, _)| m.account())
                .chain(s.taker.as_ref().and(self.accounts.taker));
            for account in traders {
                for asset in [s.base, s.quote] {
                    if !pairs.contains(&(account, asset)) {
                        pairs.push((account, asset));
                    }
                }
            }
        }
        pairs
            .into_iter()
            .map(|(account, asset)| Command::Deposit {
                account,
                asset,
                amount: SYSTEM_FUNDING,
            })
            .collect()
    }

    /// Every system account: the makers, then the taker.
    pub fn system_accounts(&self) -> &SystemAccounts {
        &self.accounts
    }

    /// Advances every model to `now_ns` and returns the commands due: per symbol, the makers'
    /// re-quotes, then the taker orders (which then meet fresh quotes).
    pub fn step(&mut self, now_ns: u64) -> Vec<Command> {
        let mut out = Vec::new();
        self.step_into(now_ns, &mut out);
        out
    }

    /// [`Market::step`], appending to a buffer the caller reuses.
    pub fn step_into(&mut self, now_ns: u64, out: &mut Vec<Command>) {
        for s in &mut self.symbols {
            let price = s.track.advance(now_ns, &mut s.model_rng);
            if let Some(grid) = &mut s.grid {
                grid.follow(price);
                for (maker, rng) in &mut s.makers {
                    maker.on_tick(now_ns, price, grid, rng, out);
                }
            }
            if let Some((taker, rng)) = &mut s.taker {
                taker.due(now_ns, price, rng, out);
            }
        }
    }

    /// Tells the makers what became of their orders. Cheap for events of other accounts.
    pub fn on_event(&mut self, event: &Event) {
        let (account, symbol) = match event {
            Event::Accepted(e) => (e.order.account, e.order.symbol),
            Event::Fill(e) => (e.account, e.symbol),
            Event::Closed(e) => (e.account, e.symbol),
            Event::Amended(e) => (e.account, e.symbol),
            _ => return,
        };
        if let Some(&(s, m)) = self.routes.get(&(account, symbol)) {
            if let Some((maker, _)) = self.symbols.get_mut(s).and_then(|s| s.makers.get_mut(m)) {
                maker.on_event(event);
            }
        }
    }

    /// The model's current price of a symbol, in ticks.
    pub fn model_price(&self, symbol: SymbolId) -> Option<Price> {
        self.state(symbol).map(|s| s.track.price())
    }

    /// Each maker's counters on a symbol, in account order.
    pub fn maker_stats(&self, symbol: SymbolId) -> Vec<MakerStats> {
        self.state(symbol)
            .map(|s| s.makers.iter().map(|(m, _)| m.stats()).collect())
            .unwrap_or_default()
    }

    /// The taker flow's counters on a symbol.
    pub fn taker_stats(&self, symbol: SymbolId) -> Option<TakerStats> {
        self.state(symbol)?.taker.as_ref().map(|(t, _)| t.stats())
    }

    fn state(&self, symbol: SymbolId) -> Option<&SymbolState> {
        self.symbols.iter().find(|s| s.id == symbol)
    }
}

/// A ChaCha stream for `name` under `seed` (see [`seed::derive_seed`]).
pub fn stream(seed: u64, name: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed::derive_seed(seed, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{GbmConfig, GbmModel};
    use crate::taker::SizeDistribution;
    use engine::{OrderAccepted, OrderStatus, Qty, StpMode};

    const MS: u64 = 1_000_000;
    const CENT: Increment = Increment { units: 1, scale: 2 };

    fn setup(id: u32, name: &str, price: i64) -> SymbolSetup {
        SymbolSetup {
            id: SymbolId(id),
            name: name.into(),
            tick: CENT,
            base: AssetId(id + 1),
            quote: AssetId(0),
            initial_price: Price(price),
            model: Box::new(GbmModel::new(&GbmConfig {
                drift: 0.0,
                volatility: 2.0,
            })),
            maker: Some(MakerParams {
                levels: 10,
                spread_bps: 4.0,
                level_spacing_bps: 2.0,
                size: Qty(50_000),
                size_jitter: 0.3,
                refresh_ms: 500,
                min_qty: Qty(1),
                max_qty: Qty(1_000_000_000),
            }),
            taker: Some(TakerParams {
                rate_per_s: 5.0,
                size_min: Qty(100),
                size_max: Qty(10_000),
                size_distribution: SizeDistribution::LogUniform,
                market_fraction: 0.5,
                ioc_slippage_bps: 10.0,
                max_orders_per_step: 1_000,
            }),
        }
    }

    fn market(seed: u64) -> Market {
        let accounts = SystemAccounts {
            makers: vec![AccountId(0), AccountId(1)],
            taker: Some(AccountId(2)),
        };
        Market::new(
            vec![setup(0, "BTC/USD", 5_000_000), setup(1, "ETH/USD", 300_000)],
            accounts,
            seed,
        )
    }

    /// Steps a market for `seconds` at 100 ms, accepting every place as if an engine had (so the
    /// makers track their quotes), and returns every command.
    fn run(market: &mut Market, seconds: u64) -> Vec<Command> {
        let mut all = Vec::new();
        let mut next_id = 1;
        for step in 0..=seconds * 10 {
            let commands = market.step(step * 100 * MS);
            for cmd in &commands {
                if let Command::Place(new) = cmd {
                    if new.order_type == engine::OrderType::Limit
                        && new.time_in_force == engine::TimeInForce::Gtc
                    {
                        market.on_event(&Event::Accepted(accepted(new, next_id)));
                        next_id += 1;
                    }
                }
            }
            all.extend(commands);
        }
        all
    }

    fn accepted(new: &engine::NewOrder, id: u64) -> OrderAccepted {
        OrderAccepted {
            order: engine::Order {
                id: engine::OrderId(id),
                account: new.account,
                symbol: new.symbol,
                side: new.side,
                order_type: new.order_type,
                price: new.price,
                qty: new.qty,
                filled_qty: Qty(0),
                time_in_force: new.time_in_force,
                post_only: false,
                client_order_id: new.client_order_id,
                stp: StpMode::ExpireTaker,
                status: OrderStatus::Open,
                close_reason: None,
                cum_quote: Amount(0),
                quote_budget: None,
                created_ns: 0,
                updated_ns: 0,
            },
            account_seq: 0,
        }
    }

    #[test]
    fn same_seed_same_commands() {
        let a = run(&mut market(42), 60);
        let b = run(&mut market(42), 60);
        assert!(a.len() > 1_000, "{} commands", a.len());
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_differ() {
        let a = run(&mut market(1), 30);
        let b = run(&mut market(2), 30);
        assert_ne!(a, b);
    }

    #[test]
    fn funding_covers_every_account_and_asset_once() {
        let commands = market(1).funding_commands();
        // Three accounts, BTC/USD and ETH/USD: USD, BTC, ETH for each.
        assert_eq!(commands.len(), 9);
        for account in 0..3 {
            for asset in 0..3 {
                let wanted = Command::Deposit {
                    account: AccountId(account),
                    asset: AssetId(asset),
                    amount: SYSTEM_FUNDING,
                };
                assert!(commands.contains(&wanted), "{wanted:?}");
            }
        }
    }

    #[test]
    fn makers_are_staggered_and_both_symbols_move() {
        let mut market = market(3);
        let first = market.step(0);
        // At t=0 only maker 0 quotes (maker 1 is offset by half the cadence), on both symbols.
        let makers: Vec<AccountId> = first
            .iter()
            .filter_map(|c| match c {
                Command::Place(new) if new.client_order_id.is_some() => Some(new.account),
                _ => None,
            })
            .collect();
        assert_eq!(makers.len(), 40);
        assert!(makers.iter().all(|&a| a == AccountId(0)));
        let second = market.step(250 * MS);
        assert!(second
            .iter()
            .any(|c| matches!(c, Command::Place(n) if n.account == AccountId(1))));
        run(&mut market, 600);
        assert_ne!(market.model_price(SymbolId(0)), Some(Price(5_000_000)));
        assert_ne!(market.model_price(SymbolId(1)), Some(Price(300_000)));
        assert_eq!(market.model_price(SymbolId(9)), None);
        assert_eq!(market.maker_stats(SymbolId(0)).len(), 2);
        assert!(market
            .taker_stats(SymbolId(0))
            .is_some_and(|t| t.market_orders > 0));
    }

    #[test]
    fn the_market_can_move_to_the_engine_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Market>();
        assert_send::<crate::Candles>();
    }

    #[test]
    fn streams_are_independent_of_each_other() {
        use rand::RngCore;
        let mut a = stream(7, "model/BTC/USD");
        let mut b = stream(7, "model/ETH/USD");
        let mut c = stream(8, "model/BTC/USD");
        let (x, y, z) = (a.next_u64(), b.next_u64(), c.next_u64());
        assert!(x != y && x != z && y != z);
        assert_eq!(stream(7, "model/BTC/USD").next_u64(), x);
    }
}
