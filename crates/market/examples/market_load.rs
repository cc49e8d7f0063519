//! Measures what the market costs: the market and the engine on one thread, on a manual clock,
//! as fast as they go. Needs the engine implementation.
//!
//! `cargo run --release -p exchange-market --example market_load -- [rate_per_s] [seconds]`
//! (defaults: the default config's taker rate, 600 simulated seconds; two symbols). It prints the
//! share of one core the market would use in real time, and the order rate it sustains.

use std::time::{Duration, Instant};

use engine::{Engine, EngineConfig, Event, Increment, Price, Qty, SymbolId, SymbolSpec};
use exchange_market::{MarketConfig, MarketSymbol};

const TICK_MS: u64 = 100;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut config = MarketConfig::default();
    if let Some(rate) = args.next() {
        config.taker_flow.rate_per_s = rate.parse()?;
    }
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(600);

    let mut engine = Engine::new(EngineConfig {
        symbols: vec![spec("BTC/USD", "BTC"), spec("ETH/USD", "ETH")],
        ..EngineConfig::default()
    })?;
    let accounts: Vec<_> = config
        .system_account_names()
        .iter()
        .map(|_| engine.create_account())
        .collect();
    let symbols = engine.symbols().to_vec();
    let market_symbols: Vec<MarketSymbol<'_>> = symbols
        .iter()
        .zip([Price(5_000_000), Price(300_000)])
        .enumerate()
        .map(|(i, (symbol, initial_price))| MarketSymbol {
            id: SymbolId(i as u32),
            symbol,
            initial_price,
        })
        .collect();
    let mut market = config.build("exchange", &market_symbols, &accounts, 42)?;

    let mut events: Vec<Event> = Vec::new();
    let mut now_ns = 0u64;
    for cmd in market.funding_commands() {
        engine.execute(&cmd, now_ns, &mut events)?;
    }
    let (mut market_time, mut engine_time) = (Duration::ZERO, Duration::ZERO);
    let (mut commands, mut refused, mut trades) = (0u64, 0u64, 0u64);
    let mut batch = Vec::new();
    for _ in 0..seconds * 1_000 / TICK_MS {
        now_ns += TICK_MS * 1_000_000;
        let started = Instant::now();
        batch.clear();
        market.step_into(now_ns, &mut batch);
        market_time += started.elapsed();
        for cmd in &batch {
            let started = Instant::now();
            events.clear();
            refused += u64::from(engine.execute(cmd, now_ns, &mut events).is_err());
            engine_time += started.elapsed();
            let started = Instant::now();
            for event in &events {
                trades += u64::from(matches!(event, Event::Trade(_)));
                market.on_event(event);
            }
            market_time += started.elapsed();
        }
        commands += batch.len() as u64;
    }
    let total = market_time + engine_time;
    let simulated = Duration::from_secs(seconds);
    println!(
        "{seconds} s simulated, 2 symbols, taker rate {}/s per symbol",
        config.taker_flow.rate_per_s
    );
    println!("commands {commands} (refused {refused}), trades {trades}");
    println!(
        "market {market_time:?}, engine {engine_time:?}: {:.3}% of one core in real time",
        100.0 * total.as_secs_f64() / simulated.as_secs_f64()
    );
    println!(
        "sustained {:.0} commands/s of wall time",
        commands as f64 / total.as_secs_f64().max(1e-9)
    );
    Ok(())
}
