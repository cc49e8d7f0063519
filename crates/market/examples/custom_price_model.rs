//! A custom price model: a daily cycle with noise, stepped on its own and then driving a market's
//! makers. Run with `cargo run -p exchange-market --example custom_price_model`.
//!
//! A program embedding the simulator hands the same model to
//! `MarketConfig::build_with_models(.., &|symbol| ...)` to use it for a symbol.

use engine::{AccountId, AssetId, Command, Increment, Price, Qty, Side, SymbolId};
use exchange_market::{
    stream, MakerParams, Market, PriceModel, PriceTrack, SymbolSetup, SystemAccounts,
};
use rand::{Rng, RngCore};

/// The price swings by `amplitude` (a fraction) around where it started, once per `period_s`,
/// with a little noise on top. All randomness comes from the `rng` argument, so a seeded run
/// replays exactly.
struct DailyCycle {
    amplitude: f64,
    period_s: f64,
    noise: f64,
    elapsed_s: f64,
    center: Option<f64>,
}

impl PriceModel for DailyCycle {
    fn next_price(&mut self, current: f64, dt_s: f64, rng: &mut dyn RngCore) -> f64 {
        let center = *self.center.get_or_insert(current);
        self.elapsed_s += dt_s;
        let phase = std::f64::consts::TAU * self.elapsed_s / self.period_s;
        let noise = rng.gen_range(-self.noise..=self.noise);
        center * (1.0 + self.amplitude * phase.sin() + noise)
    }
}

fn model() -> Box<dyn PriceModel> {
    Box::new(DailyCycle {
        amplitude: 0.02,
        period_s: 86_400.0,
        noise: 0.0002,
        elapsed_s: 0.0,
        center: None,
    })
}

const HOUR_NS: u64 = 3_600_000_000_000;

fn main() {
    // On its own: the track rounds the model's output to the tick and keeps it above zero.
    let tick = Increment { units: 1, scale: 2 };
    let mut track = PriceTrack::new(model(), Price(5_000_000), tick);
    let mut rng = stream(42, "model/example");
    for hour in (0..=24).step_by(3) {
        let price = track.advance(hour * HOUR_NS, &mut rng);
        println!("hour {hour:2}: {:>9.2}", price.0 as f64 / 100.0);
    }

    // Driving makers: the server normally builds this from the config and its engine.
    let setup = SymbolSetup {
        id: SymbolId(0),
        name: "BTC/USD".into(),
        tick,
        base: AssetId(1),
        quote: AssetId(0),
        initial_price: Price(5_000_000),
        model: model(),
        maker: Some(MakerParams {
            levels: 3,
            spread_bps: 4.0,
            level_spacing_bps: 2.0,
            size: Qty(50_000),
            size_jitter: 0.3,
            refresh_ms: 500,
            min_qty: Qty(1),
            max_qty: Qty(100_000_000),
        }),
        taker: None,
    };
    let accounts = SystemAccounts {
        makers: vec![AccountId(0)],
        taker: None,
    };
    let mut market = Market::new(vec![setup], accounts, 42);
    // The first step starts the clock; six hours later the cycle is near its top.
    market.step(0);
    for cmd in market.step(6 * HOUR_NS) {
        if let Command::Place(order) = cmd {
            let side = if order.side == Side::Buy {
                "BUY "
            } else {
                "SELL"
            };
            let price = order.price.map_or(0.0, |p| p.0 as f64 / 100.0);
            println!("{side} {:.5} @ {price:.2}", order.qty.0 as f64 / 1e5);
        }
    }
    if let Some(price) = market.model_price(SymbolId(0)) {
        println!("model price {:.2}", price.0 as f64 / 100.0);
    }
}
