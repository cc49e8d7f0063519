//! Random walk: an arithmetic Brownian motion whose steps are a fixed amount of money, not a
//! fraction of the price; the simplest model, and one that can wander to the one-tick floor.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::gbm::default_volatility;
use super::{normal, PriceModel, SECONDS_PER_YEAR};
use crate::error::{check_range, ConfigError};

/// `{"model_type": "random_walk", "drift": 0.0, "volatility": 0.5}`: the same keys as GBM, but
/// measured against the initial price rather than the current one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomWalkConfig {
    /// Annualised drift as a fraction of the initial price (0.1 = +10% of it a year).
    #[serde(default)]
    pub drift: f64,
    /// Annualised standard deviation as a fraction of the initial price.
    #[serde(default = "default_volatility")]
    pub volatility: f64,
}

impl Default for RandomWalkConfig {
    fn default() -> Self {
        RandomWalkConfig {
            drift: 0.0,
            volatility: default_volatility(),
        }
    }
}

impl RandomWalkConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        check_range(path, "drift", self.drift, -100.0, 100.0)?;
        check_range(path, "volatility", self.volatility, 0.0, 100.0)
    }
}

/// `S(t+dt) = S(t) + P0 (mu dt + sigma sqrt(dt) Z)`, `dt` in years and `P0` the initial price.
#[derive(Clone, Debug)]
pub struct RandomWalkModel {
    drift_per_year: f64,
    volatility_per_sqrt_year: f64,
}

impl RandomWalkModel {
    /// A random walk scaled by `reference_price` (the symbol's initial price, in price units).
    pub fn new(config: &RandomWalkConfig, reference_price: f64) -> RandomWalkModel {
        RandomWalkModel {
            drift_per_year: config.drift * reference_price,
            volatility_per_sqrt_year: config.volatility * reference_price,
        }
    }
}

impl PriceModel for RandomWalkModel {
    fn next_price(&mut self, current: f64, dt_s: f64, rng: &mut dyn RngCore) -> f64 {
        let dt_y = dt_s / SECONDS_PER_YEAR;
        current
            + self.drift_per_year * dt_y
            + self.volatility_per_sqrt_year * dt_y.sqrt() * normal(rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::mean_var;
    use crate::models::PriceTrack;
    use engine::{Increment, Price};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn steps_are_additive_with_the_configured_spread() {
        let config = RandomWalkConfig {
            drift: 0.0,
            volatility: 1.0,
        };
        let mut model = RandomWalkModel::new(&config, 1000.0);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let dt_s = 3600.0;
        let steps: Vec<f64> = (0..100_000)
            .map(|_| model.next_price(5.0, dt_s, &mut rng) - 5.0)
            .collect();
        let (mean, var) = mean_var(&steps);
        let expected_var = 1000.0f64.powi(2) * dt_s / SECONDS_PER_YEAR;
        assert!(
            mean.abs() < 4.0 * (expected_var / 1e5).sqrt(),
            "mean {mean}"
        );
        assert!(
            (var / expected_var - 1.0).abs() < 0.03,
            "{var} vs {expected_var}"
        );
    }

    #[test]
    fn a_wild_walk_never_reaches_zero() {
        let config = RandomWalkConfig {
            drift: -50.0,
            volatility: 50.0,
        };
        let tick = Increment { units: 1, scale: 2 };
        let mut track = PriceTrack::new(
            Box::new(RandomWalkModel::new(&config, 10.0)),
            Price(1000),
            tick,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut floor_hits = 0;
        for step in 0..20_000u64 {
            let price = track.advance(step * 3_600_000_000_000, &mut rng);
            assert!(price.0 >= 1, "{price:?} at step {step}");
            floor_hits += u32::from(price.0 == 1);
        }
        assert!(
            floor_hits > 0,
            "the test must actually push the walk to the floor"
        );
    }
}
