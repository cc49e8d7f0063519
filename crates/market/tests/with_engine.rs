//! The market against the real engine: these need the engine's implementation (in the skeleton
//! its bodies are `todo!()`), so they pass once the engine lands.
//!
//! The harness does what the server does: creates and funds the system accounts, steps the market
//! on a manual clock, executes its commands and feeds every event back.

use engine::symbol::Symbol;
use engine::{
    AccountId, Command, Engine, EngineConfig, Event, Increment, NewOrder, OrderType, Price, Qty,
    Side, SymbolId, SymbolSpec, TimeInForce, Trade,
};
use exchange_market::{Market, MarketConfig, MarketSymbol};

const MS: u64 = 1_000_000;

fn spec(name: &str, base: &str) -> SymbolSpec {
    SymbolSpec {
        name: name.into(),
        base: base.into(),
        quote: "USD".into(),
        tick: Increment { units: 1, scale: 2 },
        lot: Increment { units: 1, scale: 5 },
        min_qty: Qty(1),
        max_qty: Qty(100_000_000_000),
        min_notional: engine::Amount(0),
    }
}

struct Sim {
    engine: Engine,
    market: Market,
    system: Vec<AccountId>,
    now_ns: u64,
    events: Vec<Event>,
    trades: Vec<Trade>,
    refused: usize,
}

impl Sim {
    fn new(config: &MarketConfig, seed: u64) -> Sim {
        let mut engine = Engine::new(EngineConfig {
            symbols: vec![spec("BTC/USD", "BTC"), spec("ETH/USD", "ETH")],
            ..EngineConfig::default()
        })
        .expect("engine config");
        let system: Vec<AccountId> = config
            .system_account_names()
            .iter()
            .map(|_| engine.create_account())
            .collect();
        let initial = [Price(5_000_000), Price(300_000)];
        let symbols: Vec<Symbol> = engine.symbols().to_vec();
        let market_symbols: Vec<MarketSymbol<'_>> = symbols
            .iter()
            .zip(initial)
            .enumerate()
            .map(|(i, (symbol, initial_price))| MarketSymbol {
                id: SymbolId(i as u32),
                symbol,
                initial_price,
            })
            .collect();
        let market = config
            .build("exchange", &market_symbols, &system, seed)
            .expect("market config");
        let mut sim = Sim {
            engine,
            market,
            system,
            now_ns: 1_700_000_000_000_000_000,
            events: Vec::new(),
            trades: Vec::new(),
            refused: 0,
        };
        for cmd in sim.market.funding_commands() {
            sim.execute(&cmd).expect("funding");
        }
        sim
    }

    fn execute(&mut self, cmd: &Command) -> Result<(), engine::Reject> {
        self.events.clear();
        let result = self.engine.execute(cmd, self.now_ns, &mut self.events);
        for event in &self.events {
            self.market.on_event(event);
            if let Event::Trade(trade) = event {
                self.trades.push(*trade);
            }
        }
        result
    }

    /// Steps the market every `tick_ms` for `seconds`, as the server's market loop does.
    fn run(&mut self, seconds: u64, tick_ms: u64) {
        for _ in 0..seconds * 1_000 / tick_ms {
            self.now_ns += tick_ms * MS;
            for cmd in self.market.step(self.now_ns) {
                if self.execute(&cmd).is_err() {
                    self.refused += 1;
                }
            }
        }
    }
}

fn quiet_book() -> MarketConfig {
    let mut config = MarketConfig::default();
    config.taker_flow.enabled = false;
    config
}

#[test]
fn the_book_at_rest_has_the_configured_depth_on_both_sides() {
    let mut sim = Sim::new(&quiet_book(), 1);
    sim.run(2, 100);
    assert_eq!(sim.refused, 0);
    for symbol in [SymbolId(0), SymbolId(1)] {
        let depth = sim.engine.depth(symbol, 50);
        assert_eq!(depth.bids.len(), 10, "{symbol}: {depth:?}");
        assert_eq!(depth.asks.len(), 10, "{symbol}: {depth:?}");
        let (bid, ask) = (depth.bids[0].price, depth.asks[0].price);
        assert!(bid < ask);
        // Both makers quote every level, on the same grid.
        assert!(depth
            .bids
            .iter()
            .chain(&depth.asks)
            .all(|l| l.order_count == 2));
        let model = sim.market.model_price(symbol).expect("model price");
        assert!(bid < model && model < ask, "{bid:?} {model:?} {ask:?}");
    }
    sim.engine.check_invariants().expect("invariants");
}

#[test]
fn a_users_market_buy_fills_against_the_makers_asks_within_the_ladder() {
    let mut sim = Sim::new(&quiet_book(), 2);
    sim.run(2, 100);
    let depth = sim.engine.depth(SymbolId(0), 50);
    let (lowest, highest) = (depth.asks[0].price, depth.asks[9].price);

    let user = sim.engine.create_account();
    let usd = sim.engine.asset_id("USD").expect("USD");
    let amount = sim.engine.parse_amount(usd, "1000000").expect("amount");
    sim.execute(&Command::Deposit {
        account: user,
        asset: usd,
        amount,
    })
    .expect("deposit");
    let btc = &sim.engine.symbols()[0];
    let qty = btc.parse_qty("2").expect("qty");
    sim.execute(&Command::Place(NewOrder {
        account: user,
        symbol: SymbolId(0),
        side: Side::Buy,
        order_type: OrderType::Market,
        price: None,
        qty,
        time_in_force: TimeInForce::Ioc,
        post_only: false,
        client_order_id: None,
        stp: None,
        quote_budget: None,
    }))
    .expect("market buy");
    let fills: Vec<_> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Fill(f) if f.account == user => Some(*f),
            _ => None,
        })
        .collect();
    assert!(!fills.is_empty());
    assert_eq!(
        fills.iter().map(|f| f.qty.0).sum::<i64>(),
        qty.0,
        "filled in full"
    );
    for pair in fills.windows(2) {
        assert!(pair[0].price <= pair[1].price, "walks up the ladder");
    }
    for fill in &fills {
        assert!(lowest <= fill.price && fill.price <= highest, "{fill:?}");
    }
    let makers = &sim.system[..2];
    assert!(sim.trades.iter().all(|t| makers.contains(&t.maker_account)));
    // The makers notice and quote the taken levels again at their next refresh.
    sim.run(1, 100);
    assert_eq!(sim.engine.depth(SymbolId(0), 50).asks.len(), 10);
    sim.engine.check_invariants().expect("invariants");
}

fn trades_of_a_run(seed: u64) -> Vec<(u32, u64, i64, i64, bool, u32, u32)> {
    let mut sim = Sim::new(&MarketConfig::default(), seed);
    sim.run(60, 100);
    sim.engine.check_invariants().expect("invariants");
    sim.trades
        .iter()
        .map(|t| {
            (
                t.symbol.0,
                t.trade_id.0,
                t.price.0,
                t.qty.0,
                t.taker_side == Side::Buy,
                t.maker_account.0,
                t.taker_account.0,
            )
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_trades_and_another_seed_others() {
    let a = trades_of_a_run(42);
    assert!(a.len() > 200, "{} trades in a minute", a.len());
    assert_eq!(a, trades_of_a_run(42));
    assert_ne!(a, trades_of_a_run(43));
}

#[test]
fn the_taker_flow_trades_at_its_rate_and_the_price_follows_the_model() {
    let mut sim = Sim::new(&MarketConfig::default(), 5);
    sim.run(600, 100);
    let taker = *sim.system.last().expect("taker account");
    for symbol in [SymbolId(0), SymbolId(1)] {
        let mut takers: Vec<u64> = sim
            .trades
            .iter()
            .filter(|t| t.symbol == symbol && t.taker_account == taker)
            .map(|t| t.taker_order_id.0)
            .collect();
        takers.dedup();
        // 600 s at 5/s: 3,000 expected, Poisson standard deviation 55; every one trades.
        let n = takers.len() as f64;
        assert!(
            (n - 3_000.0).abs() < 5.0 * 55.0,
            "{symbol}: {n} taker orders traded"
        );
        let stats = sim.market.taker_stats(symbol).expect("taker stats");
        assert_eq!(
            stats.market_orders + stats.limit_orders,
            takers.len() as u64
        );

        let last = sim.engine.last_price(symbol).expect("a last price");
        let model = sim.market.model_price(symbol).expect("model price");
        let gap = (last.0 - model.0).abs() as f64 / model.0 as f64;
        assert!(gap < 0.002, "{symbol}: last {last:?} vs model {model:?}");
    }
    sim.engine.check_invariants().expect("invariants");
}

#[test]
fn sizes_are_checked_against_the_symbols_lot() {
    let engine = Engine::new(EngineConfig {
        symbols: vec![spec("BTC/USD", "BTC")],
        ..EngineConfig::default()
    })
    .expect("engine config");
    let symbol = &engine.symbols()[0];
    let symbols = [MarketSymbol {
        id: SymbolId(0),
        symbol,
        initial_price: Price(5_000_000),
    }];
    let accounts = [AccountId(0), AccountId(1), AccountId(2)];
    let mut config = MarketConfig::default();
    config.market_makers.size = "0.000001".into();
    let err = config.build("exchange", &symbols, &accounts, 1).err();
    assert_eq!(
        err.map(|e| e.path),
        Some("exchange.market_makers.size".into())
    );
    let mut config = MarketConfig::default();
    config.taker_flow.size_max = "abc".into();
    let err = config.build("exchange", &symbols, &accounts, 1).err();
    assert_eq!(
        err.map(|e| e.path),
        Some("exchange.taker_flow.size_max".into())
    );
    let err = MarketConfig::default()
        .build("exchange", &symbols, &accounts[..2], 1)
        .err();
    assert_eq!(
        err.map(|e| e.path),
        Some("exchange.market_makers.accounts".into())
    );
}

/// A model that always says the same price.
struct Pinned(f64);

impl exchange_market::PriceModel for Pinned {
    fn next_price(&mut self, _current: f64, _dt_s: f64, _rng: &mut dyn rand::RngCore) -> f64 {
        self.0
    }
}

#[test]
fn a_custom_model_replaces_the_configured_one_for_its_symbol() {
    let engine = Engine::new(EngineConfig {
        symbols: vec![spec("BTC/USD", "BTC"), spec("ETH/USD", "ETH")],
        ..EngineConfig::default()
    })
    .expect("engine config");
    let symbols: Vec<MarketSymbol<'_>> = engine
        .symbols()
        .iter()
        .enumerate()
        .map(|(i, symbol)| MarketSymbol {
            id: SymbolId(i as u32),
            symbol,
            initial_price: Price(300_000),
        })
        .collect();
    let accounts = [AccountId(0), AccountId(1), AccountId(2)];
    let custom = |name: &str| -> Option<Box<dyn exchange_market::PriceModel>> {
        (name == "ETH/USD")
            .then(|| Box::new(Pinned(123.45)) as Box<dyn exchange_market::PriceModel>)
    };
    let mut market = MarketConfig::default()
        .build_with_models("exchange", &symbols, &accounts, 1, &custom)
        .expect("market");
    market.step(0);
    market.step(100 * MS);
    assert_eq!(market.model_price(SymbolId(1)), Some(Price(12_345)));
    assert_ne!(market.model_price(SymbolId(0)), Some(Price(12_345)));
}
