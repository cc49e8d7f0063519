//! A deterministic mixed order flow for benchmarks and load tests, pure and seeded by a `u64`.
//!
//! [`MixedFlow::new`] builds an engine with one symbol (`BTC/USD`, tick 0.01, lot 0.001, maker fee
//! 1 bp, taker fee 2 bp), 16 accounts with funds for billions of operations, and a book of
//! [`MixedFlow::TARGET_RESTING`] resting orders over about 750 price levels (passive orders land
//! 1-800 ticks from the touch, so about a thousand of them occupy about 750 distinct prices).
//! [`MixedFlow::next_command`] then draws, per command:
//! - 50% passive limit GTC: a bid 1-800 ticks below the current best ask, or an ask as far above
//!   the current best bid, 1-10 lots (it never crosses);
//! - 25% cancel of one of the flow's own resting orders (picked at random, still open);
//! - 15% crossing limit GTC: up to 20 ticks through the best opposite price, 5-35 lots (a
//!   remainder rests);
//! - 10% taking: half IOC limits priced like the crossing ones, half market orders, 5-35 lots.
//!
//! The counts balance: a taker meets about three resting orders, so what takers fill and cancels
//! remove is about what passive orders add. The book's center wanders as trades move it, pulled
//! gently back toward [`MixedFlow::MID_TICKS`] so that prices stay in range however long it runs.
//!
//! To keep the book near its target size the flow turns a passive place into a cancel when the
//! book holds more than 10% above the target, and a cancel into a passive place when it holds more
//! than 10% below, so the mix above is what runs in steady state, give or take a few percent.
//! Randomness is a SplitMix64 stream of the seed: the same seed gives the same commands against the
//! same engine state. Execute each command on the engine before asking for the next one (the flow
//! predicts the id of an order it places from [`Engine::last_order_id`]). Measured over 20,000
//! commands of seed 7: 50% passive, 25% cancel, 15% crossing, 10% IOC/market; 1,099 resting
//! orders on 770 levels at the end.
//!
//! ```
//! use exchange_engine::flow::MixedFlow;
//!
//! let (mut engine, mut flow) = MixedFlow::new(42);
//! let mut out = Vec::new();
//! for ts in 0..1_000 {
//!     let cmd = flow.next_command(&engine);
//!     out.clear();
//!     engine.execute(&cmd, ts, &mut out).expect("the flow's commands are valid");
//! }
//! assert!(engine.open_order_count() > 500);
//! ```

use crate::decimal::Increment;
use crate::engine::{Engine, EngineConfig};
use crate::symbol::SymbolSpec;
use crate::types::*;

/// A seeded generator of the mixed flow described in the module doc.
#[derive(Clone, Debug)]
pub struct MixedFlow {
    rng: seed::SplitMix64,
    accounts: Vec<AccountId>,
    /// Passive orders the flow placed, some since filled (dropped lazily when met).
    resting: Vec<(AccountId, OrderId)>,
    /// Best bid and ask (or the mid for an empty side) when the current command was drawn.
    touch: (i64, i64),
    /// What passive bids and asks are priced away from: at or inside the touch, near the mid.
    passive_ref: (i64, i64),
}

impl MixedFlow {
    /// The book size the flow steers toward.
    pub const TARGET_RESTING: usize = 1_000;
    /// The mid price, in ticks (1000.00).
    pub const MID_TICKS: i64 = 100_000;
    /// How far from the touch passive orders land, in ticks (1 to this).
    pub const PASSIVE_MAX_DISTANCE_TICKS: i64 = 800;
    /// How many accounts trade.
    pub const ACCOUNTS: u32 = 16;

    /// The symbol the flow trades.
    pub const SYMBOL: SymbolId = SymbolId(0);

    /// Builds the engine, funds the accounts and rests [`Self::TARGET_RESTING`] passive orders.
    pub fn new(seed: u64) -> (Engine, MixedFlow) {
        let inc =
            |s: &str| Increment::from_str_positive(s).unwrap_or(Increment { units: 1, scale: 0 });
        let config = EngineConfig {
            symbols: vec![SymbolSpec {
                name: "BTC/USD".into(),
                base: "BTC".into(),
                quote: "USD".into(),
                tick: inc("0.01"),
                lot: inc("0.001"),
                min_qty: Qty(1),
                max_qty: Qty(1_000_000),
                min_notional: Amount(0),
            }],
            maker_fee: FeeRate(10_000),
            taker_fee: FeeRate(20_000),
            ..EngineConfig::default()
        };
        let mut engine = match Engine::new(config) {
            Ok(engine) => engine,
            Err(e) => unreachable!("the flow's config is valid: {e}"),
        };
        let mut out = Vec::new();
        let accounts: Vec<AccountId> = (0..Self::ACCOUNTS)
            .map(|_| engine.create_account())
            .collect();
        for &account in &accounts {
            for asset in [AssetId(0), AssetId(1)] {
                let deposit = Command::Deposit {
                    account,
                    asset,
                    amount: Amount(1_000_000_000_000_000_000),
                };
                let _ = engine.execute(&deposit, 0, &mut out);
            }
        }
        let mut flow = MixedFlow {
            rng: seed::SplitMix64::new(seed),
            accounts,
            resting: Vec::with_capacity(4 * Self::TARGET_RESTING),
            touch: (Self::MID_TICKS, Self::MID_TICKS),
            passive_ref: (Self::MID_TICKS, Self::MID_TICKS),
        };
        while engine.open_order_count() < Self::TARGET_RESTING {
            flow.look(&engine);
            let cmd = flow.passive(&engine);
            out.clear();
            let _ = engine.execute(&cmd, 0, &mut out);
        }
        (engine, flow)
    }

    /// The next command for `engine` in its current state.
    pub fn next_command(&mut self, engine: &Engine) -> Command {
        self.look(engine);
        let open = engine.open_order_count();
        let roll = self.rng.below(100);
        let cmd = match roll {
            0..=49 if open > Self::TARGET_RESTING * 11 / 10 => self.cancel(engine),
            0..=49 => None,
            50..=74 if open < Self::TARGET_RESTING * 9 / 10 => None,
            50..=74 => self.cancel(engine),
            75..=89 => Some(self.taking(TimeInForce::Gtc, OrderType::Limit)),
            90..=94 => Some(self.taking(TimeInForce::Ioc, OrderType::Limit)),
            _ => Some(self.taking(TimeInForce::Ioc, OrderType::Market)),
        };
        match cmd {
            Some(cmd) => cmd,
            None => self.passive(engine),
        }
    }

    /// Notes the prices that the next command is drawn around.
    fn look(&mut self, engine: &Engine) {
        let (bid, ask) = engine.best_bid_ask(Self::SYMBOL);
        let (bid, ask) = (bid.map(|l| l.price.0), ask.map(|l| l.price.0));
        let mid = match (bid, ask) {
            (Some(b), Some(a)) => (b + a) / 2,
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => Self::MID_TICKS,
        };
        // The pull toward MID_TICKS: 1/64 of the distance.
        let mid = mid + (Self::MID_TICKS - mid) / 64;
        self.touch = (bid.unwrap_or(mid), ask.unwrap_or(mid));
        // Passive orders hang off these, which never cross the book.
        self.passive_ref = (
            ask.map_or(mid, |a| a.min(mid + 1)),
            bid.map_or(mid, |b| b.max(mid - 1)),
        );
    }

    fn account(&mut self) -> AccountId {
        let i = self.rng.below(self.accounts.len() as u64) as usize;
        self.accounts.get(i).copied().unwrap_or_default()
    }

    fn side(&mut self) -> Side {
        if self.rng.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }

    fn passive(&mut self, engine: &Engine) -> Command {
        let account = self.account();
        let side = self.side();
        let distance = 1 + self.rng.below(Self::PASSIVE_MAX_DISTANCE_TICKS as u64) as i64;
        let price = match side {
            Side::Buy => self.passive_ref.0 - distance,
            Side::Sell => self.passive_ref.1 + distance,
        };
        let qty = 1 + self.rng.below(10) as i64;
        self.resting
            .push((account, OrderId(engine.last_order_id().0 + 1)));
        if self.resting.len() > 4 * Self::TARGET_RESTING {
            self.resting.retain(|(_, id)| engine.is_open(*id));
        }
        Command::Place(self.order(
            account,
            side,
            OrderType::Limit,
            Some(Price(price)),
            qty,
            TimeInForce::Gtc,
        ))
    }

    fn cancel(&mut self, engine: &Engine) -> Option<Command> {
        for _ in 0..8 {
            if self.resting.is_empty() {
                return None;
            }
            let i = self.rng.below(self.resting.len() as u64) as usize;
            let (account, id) = self.resting.swap_remove(i);
            if engine.is_open(id) {
                return Some(Command::Cancel {
                    account,
                    target: OrderRef::Id(id),
                });
            }
        }
        None
    }

    fn taking(&mut self, tif: TimeInForce, order_type: OrderType) -> Command {
        let account = self.account();
        let side = self.side();
        let through = self.rng.below(20) as i64;
        let price = match side {
            Side::Buy => self.touch.1 + through,
            Side::Sell => self.touch.0 - through,
        };
        let qty = 5 + self.rng.below(31) as i64;
        let price = (order_type == OrderType::Limit).then_some(Price(price));
        Command::Place(self.order(account, side, order_type, price, qty, tif))
    }

    fn order(
        &self,
        account: AccountId,
        side: Side,
        order_type: OrderType,
        price: Option<Price>,
        qty: i64,
        time_in_force: TimeInForce,
    ) -> NewOrder {
        NewOrder {
            account,
            symbol: Self::SYMBOL,
            side,
            order_type,
            price,
            qty: Qty(qty),
            time_in_force,
            post_only: false,
            client_order_id: None,
            stp: None,
            quote_budget: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    fn run(seed: u64, n: usize) -> (Engine, Vec<Event>, [usize; 4]) {
        let (mut engine, mut flow) = MixedFlow::new(seed);
        let mut all = Vec::new();
        let mut out = Vec::new();
        let mut mix = [0usize; 4];
        for ts in 0..n as u64 {
            let cmd = flow.next_command(&engine);
            let (bid, ask) = engine.best_bid_ask(MixedFlow::SYMBOL);
            let crosses = |o: &NewOrder| match (o.side, o.price) {
                (Side::Buy, Some(p)) => ask.is_some_and(|a| p >= a.price),
                (Side::Sell, Some(p)) => bid.is_some_and(|b| p <= b.price),
                _ => true,
            };
            let kind = match cmd {
                Command::Cancel { .. } => 1,
                Command::Place(o) if o.time_in_force == TimeInForce::Ioc => 3,
                Command::Place(o) if crosses(&o) => 2,
                _ => 0,
            };
            mix[kind] += 1;
            out.clear();
            engine.execute(&cmd, ts, &mut out).unwrap();
            all.extend_from_slice(&out);
        }
        (engine, all, mix)
    }

    #[test]
    fn the_flow_keeps_its_book_and_mix_and_replays() {
        let (engine, events, mix) = run(7, 20_000);
        engine.check_invariants().unwrap();
        let open = engine.open_order_count();
        assert!((800..=1_200).contains(&open), "{open} resting");
        let levels = engine.depth(MixedFlow::SYMBOL, usize::MAX);
        let n = levels.bids.len() + levels.asks.len();
        assert!((650..=850).contains(&n), "{n} levels");
        // passive, cancel, crossing, IOC/market, in percent.
        let pct = mix.map(|m| m * 100 / 20_000);
        assert!(
            (40..=55).contains(&pct[0]) && (20..=32).contains(&pct[1]),
            "{pct:?}"
        );
        assert!(
            (12..=16).contains(&pct[2]) && (8..=12).contains(&pct[3]),
            "{pct:?}"
        );
        assert!(events.iter().any(|e| matches!(e, Event::Trade(_))));
        let (_, again, _) = run(7, 20_000);
        assert!(events == again, "same seed, same events");
        let (_, other, _) = run(8, 2_000);
        assert!(events[..100] != other[..100]);
    }
}
