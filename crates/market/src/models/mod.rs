//! Price models: stochastic processes that move a symbol's reference price one step at a time.
//!
//! A model works in `f64` price units (`50000.0` for BTC/USD): it is a random process, not money.
//! [`PriceTrack`] turns its output into money: rounded to the symbol's tick as an
//! [`engine::Price`], never below one tick. One model per file; each has its config type beside it.

mod gbm;
mod jump;
mod mean_reverting;
mod random_walk;
mod replay;
mod trend;

pub use gbm::{GbmConfig, GbmModel};
pub use jump::{JumpConfig, JumpModel};
pub use mean_reverting::{MeanRevertingConfig, MeanRevertingModel};
pub use random_walk::{RandomWalkConfig, RandomWalkModel};
pub use replay::{ReplayConfig, ReplayError, ReplayModel, TimestampUnit, MAX_REPLAY_ROWS};
pub use trend::{TrendConfig, TrendModel};

use engine::{Increment, Price};
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

/// Seconds in a (Julian) year: annualised drift and volatility scale with `dt_s / SECONDS_PER_YEAR`
/// because crypto markets trade around the clock.
pub const SECONDS_PER_YEAR: f64 = 31_557_600.0;

/// The highest price a track produces, in ticks: far beyond any real price, and low enough that
/// price times quantity never overflows the engine's `i128` notional.
pub const MAX_PRICE_TICKS: i64 = 1_000_000_000_000_000;

/// One step of a stochastic price process. Implement it for a custom model and hand it to the
/// market in a [`crate::SymbolSetup`].
///
/// `current` is the model's last price (in price units, always at least one tick), `dt_s` the time
/// since the last step in seconds (positive), `rng` the model's own deterministic stream: draw all
/// randomness from it, so that a seeded run replays. The result may be anything: [`PriceTrack`]
/// ignores non-finite values and clamps the rest to at least one tick.
pub trait PriceModel: Send {
    /// The price `dt_s` seconds after `current`.
    fn next_price(&mut self, current: f64, dt_s: f64, rng: &mut dyn RngCore) -> f64;

    /// The price the model insists on starting from (a replay's first row); `None`, the default,
    /// starts from the symbol's configured initial price.
    fn start_price(&self) -> Option<f64> {
        None
    }
}

/// A standard normal draw.
pub(crate) fn normal(rng: &mut dyn RngCore) -> f64 {
    StandardNormal.sample(rng)
}

/// The size of one tick in price units (tick `0.05`: `0.05`).
pub fn tick_size(tick: Increment) -> f64 {
    tick.units as f64 / 10f64.powi(tick.scale as i32)
}

/// The nearest tick price to `value`, between one tick and [`MAX_PRICE_TICKS`]; `None` when
/// `value` is not finite or `tick_size` not positive.
pub fn round_to_tick(value: f64, tick_size: f64) -> Option<Price> {
    if !value.is_finite() || !tick_size.is_finite() || tick_size <= 0.0 {
        return None;
    }
    let ticks = (value / tick_size).round();
    Some(Price(ticks.clamp(1.0, MAX_PRICE_TICKS as f64) as i64))
}

/// One symbol's price: a model, its unrounded state, and the tick price it shows the market.
pub struct PriceTrack {
    model: Box<dyn PriceModel>,
    value: f64,
    tick_size: f64,
    price: Price,
    last_ns: Option<u64>,
}

impl PriceTrack {
    /// Starts at `initial` (at least one tick) with the symbol's tick increment.
    /// A model's own [`PriceModel::start_price`] takes precedence over `initial`.
    pub fn new(model: Box<dyn PriceModel>, initial: Price, tick: Increment) -> PriceTrack {
        let tick_size = tick_size(tick);
        let price = model
            .start_price()
            .and_then(|start| round_to_tick(start, tick_size))
            .unwrap_or(Price(initial.0.clamp(1, MAX_PRICE_TICKS)));
        PriceTrack {
            model,
            value: price.0 as f64 * tick_size,
            tick_size,
            price,
            last_ns: None,
        }
    }

    /// Steps the model to `now_ns` and returns the new tick price. The first call only sets the
    /// clock; a call with no time elapsed (or time going back) leaves the price as it is.
    pub fn advance(&mut self, now_ns: u64, rng: &mut dyn RngCore) -> Price {
        let Some(last_ns) = self.last_ns else {
            self.last_ns = Some(now_ns);
            return self.price;
        };
        if now_ns <= last_ns {
            return self.price;
        }
        self.last_ns = Some(now_ns);
        let dt_s = (now_ns - last_ns) as f64 / 1e9;
        let next = self.model.next_price(self.value, dt_s, rng);
        if let Some(price) = round_to_tick(next, self.tick_size) {
            // The state stays unrounded (small moves accumulate) but never below one tick, so a
            // model never sees zero or a negative price.
            self.value = next.clamp(self.tick_size, MAX_PRICE_TICKS as f64 * self.tick_size);
            self.price = price;
        }
        self.price
    }

    /// The current tick price.
    pub fn price(&self) -> Price {
        self.price
    }

    /// The model's current unrounded price, in price units.
    pub fn value(&self) -> f64 {
        self.value
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Sample statistics shared by the model tests.

    /// Mean and (unbiased) variance.
    pub fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const CENT: Increment = Increment { units: 1, scale: 2 };

    /// A model that jumps to fixed values, to test the track's rounding and clamping alone.
    struct Script(Vec<f64>);

    impl PriceModel for Script {
        fn next_price(&mut self, current: f64, _dt_s: f64, _rng: &mut dyn RngCore) -> f64 {
            if self.0.is_empty() {
                current
            } else {
                self.0.remove(0)
            }
        }
    }

    #[test]
    fn tick_size_of_increments() {
        assert_eq!(tick_size(CENT), 0.01);
        assert_eq!(tick_size(Increment { units: 5, scale: 1 }), 0.5);
        assert_eq!(
            tick_size(Increment {
                units: 10,
                scale: 0
            }),
            10.0
        );
    }

    #[test]
    fn rounds_to_the_nearest_tick_and_never_below_one() {
        assert_eq!(round_to_tick(50_000.004, 0.01), Some(Price(5_000_000)));
        assert_eq!(round_to_tick(50_000.006, 0.01), Some(Price(5_000_001)));
        assert_eq!(round_to_tick(0.0, 0.01), Some(Price(1)));
        assert_eq!(round_to_tick(-3.0, 0.01), Some(Price(1)));
        assert_eq!(round_to_tick(1e300, 0.01), Some(Price(MAX_PRICE_TICKS)));
        assert_eq!(round_to_tick(f64::NAN, 0.01), None);
        assert_eq!(round_to_tick(1.0, 0.0), None);
    }

    #[test]
    fn track_clamps_keeps_state_and_ignores_garbage() {
        let model = Script(vec![123.456, -5.0, f64::NAN, f64::INFINITY, 0.004, 7.0]);
        let mut track = PriceTrack::new(Box::new(model), Price(10_000), CENT);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            track.advance(0, &mut rng),
            Price(10_000),
            "first call sets the clock"
        );
        assert_eq!(
            track.advance(0, &mut rng),
            Price(10_000),
            "no time, no step"
        );
        assert_eq!(track.advance(1, &mut rng), Price(12_346));
        assert_eq!(track.advance(2, &mut rng), Price(1));
        assert_eq!(track.value(), 0.01, "the state is clamped to one tick too");
        assert_eq!(track.advance(3, &mut rng), Price(1), "NaN is ignored");
        assert_eq!(track.advance(4, &mut rng), Price(1), "infinity is ignored");
        assert_eq!(track.advance(5, &mut rng), Price(1));
        assert_eq!(track.advance(6, &mut rng), Price(700));
    }
}
