//! Mean-reverting: an Ornstein-Uhlenbeck process pulled back toward a level, for a market that
//! ranges instead of trending.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::gbm::default_volatility;
use super::{normal, PriceModel, SECONDS_PER_YEAR};
use crate::error::{check_range, ConfigError};

/// `{"model_type": "mean_reverting", "level": 50000.0, "speed": 0.005, "volatility": 0.5}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanRevertingConfig {
    /// The price the process is pulled toward, in price units; absent: the initial price.
    #[serde(default)]
    pub level: Option<f64>,
    /// How strongly it is pulled, per second: a gap to the level halves in `ln 2 / speed` seconds
    /// (0.005: about 2 minutes 20 seconds).
    #[serde(default = "default_speed")]
    pub speed: f64,
    /// Annualised volatility as a fraction of the level.
    #[serde(default = "default_volatility")]
    pub volatility: f64,
}

fn default_speed() -> f64 {
    0.005
}

impl Default for MeanRevertingConfig {
    fn default() -> Self {
        MeanRevertingConfig {
            level: None,
            speed: default_speed(),
            volatility: default_volatility(),
        }
    }
}

impl MeanRevertingConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if let Some(level) = self.level {
            check_range(path, "level", level, f64::MIN_POSITIVE, 1e15)?;
        }
        check_range(path, "speed", self.speed, 1e-9, 1e3)?;
        check_range(path, "volatility", self.volatility, 0.0, 100.0)
    }
}

/// `dX = speed (level - X) dt + sigma dW`, stepped with the exact transition so any step length
/// gives the same statistics: `X' = L + (X - L) e^(-k dt) + sigma sqrt((1 - e^(-2k dt)) / 2k) Z`.
#[derive(Clone, Debug)]
pub struct MeanRevertingModel {
    level: f64,
    speed_per_s: f64,
    sigma_per_sqrt_s: f64,
}

impl MeanRevertingModel {
    /// An OU process around the configured level, or `initial_price` when none is configured.
    pub fn new(config: &MeanRevertingConfig, initial_price: f64) -> MeanRevertingModel {
        let level = config.level.unwrap_or(initial_price);
        MeanRevertingModel {
            level,
            speed_per_s: config.speed,
            sigma_per_sqrt_s: config.volatility * level / SECONDS_PER_YEAR.sqrt(),
        }
    }

    /// The level the process is pulled toward.
    pub fn level(&self) -> f64 {
        self.level
    }
}

impl PriceModel for MeanRevertingModel {
    fn next_price(&mut self, current: f64, dt_s: f64, rng: &mut dyn RngCore) -> f64 {
        let decay = (-self.speed_per_s * dt_s).exp();
        let std = self.sigma_per_sqrt_s * ((1.0 - decay * decay) / (2.0 * self.speed_per_s)).sqrt();
        self.level + (current - self.level) * decay + std * normal(rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::mean_var;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn model() -> MeanRevertingModel {
        let config = MeanRevertingConfig {
            level: Some(100.0),
            speed: 0.1,
            volatility: 20.0,
        };
        MeanRevertingModel::new(&config, 50.0)
    }

    #[test]
    fn from_far_away_it_moves_toward_the_level() {
        let mut model = model();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut price = 200.0;
        // After one half-life (ln 2 / 0.1 = 6.9 s) the gap is about halved.
        for _ in 0..69 {
            price = model.next_price(price, 0.1, &mut rng);
        }
        assert!((price - 150.0).abs() < 10.0, "{price}");
        for _ in 0..1000 {
            price = model.next_price(price, 0.1, &mut rng);
        }
        assert!((price - 100.0).abs() < 10.0, "{price}");
    }

    #[test]
    fn hovers_around_the_level_with_the_stationary_spread() {
        let mut model = model();
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut price = 300.0;
        let path: Vec<f64> = (0..200_000)
            .map(|_| {
                price = model.next_price(price, 0.5, &mut rng);
                price
            })
            .collect();
        // Skip the approach; what is left is stationary with variance sigma^2 / 2k.
        let (mean, var) = mean_var(&path[1000..]);
        let stationary_var = (20.0 * 100.0f64).powi(2) / SECONDS_PER_YEAR / 0.2;
        assert!((mean - 100.0).abs() < 0.1, "mean {mean}");
        assert!(
            (var / stationary_var - 1.0).abs() < 0.1,
            "{var} vs {stationary_var}"
        );
    }

    #[test]
    fn level_defaults_to_the_initial_price() {
        let model = MeanRevertingModel::new(&MeanRevertingConfig::default(), 3000.0);
        assert_eq!(model.level(), 3000.0);
    }
}
