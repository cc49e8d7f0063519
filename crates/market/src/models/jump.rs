//! Jumps: GBM plus sudden moves arriving as a Poisson process (Merton's jump-diffusion), for the
//! gaps and flash moves a bot must survive.

use rand::RngCore;
use rand_distr::{Distribution, Poisson};
use serde::{Deserialize, Serialize};

use super::gbm::{default_volatility, GbmConfig, GbmModel};
use super::{normal, PriceModel};
use crate::error::{check_range, ConfigError};

/// `{"model_type": "jump", "drift": 0.0, "volatility": 0.5, "jump_rate_per_s": 0.01,
/// "jump_mean": 0.0, "jump_std": 0.02}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JumpConfig {
    /// Annualised drift of the diffusion, as in GBM.
    #[serde(default)]
    pub drift: f64,
    /// Annualised volatility of the diffusion, as in GBM.
    #[serde(default = "default_volatility")]
    pub volatility: f64,
    /// Expected jumps per second.
    #[serde(default = "default_jump_rate_per_s")]
    pub jump_rate_per_s: f64,
    /// Mean of a jump's log-return (0.0: as likely up as down).
    #[serde(default)]
    pub jump_mean: f64,
    /// Standard deviation of a jump's log-return (0.02: a typical jump moves 2%).
    #[serde(default = "default_jump_std")]
    pub jump_std: f64,
}

fn default_jump_rate_per_s() -> f64 {
    0.01
}

fn default_jump_std() -> f64 {
    0.02
}

impl Default for JumpConfig {
    fn default() -> Self {
        JumpConfig {
            drift: 0.0,
            volatility: default_volatility(),
            jump_rate_per_s: default_jump_rate_per_s(),
            jump_mean: 0.0,
            jump_std: default_jump_std(),
        }
    }
}

impl JumpConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        check_range(path, "drift", self.drift, -100.0, 100.0)?;
        check_range(path, "volatility", self.volatility, 0.0, 100.0)?;
        check_range(path, "jump_rate_per_s", self.jump_rate_per_s, 0.0, 1e4)?;
        check_range(path, "jump_mean", self.jump_mean, -10.0, 10.0)?;
        check_range(path, "jump_std", self.jump_std, 0.0, 10.0)
    }
}

/// Each step: the GBM log-return, plus `N ~ Poisson(rate dt)` jumps each `~ Normal(mean, std)`.
#[derive(Clone, Debug)]
pub struct JumpModel {
    diffusion: GbmModel,
    jump_rate_per_s: f64,
    jump_mean: f64,
    jump_std: f64,
    jumps: u64,
}

impl JumpModel {
    /// A jump-diffusion with the configured diffusion and jumps.
    pub fn new(config: &JumpConfig) -> JumpModel {
        JumpModel {
            diffusion: GbmModel::new(&GbmConfig {
                drift: config.drift,
                volatility: config.volatility,
            }),
            jump_rate_per_s: config.jump_rate_per_s,
            jump_mean: config.jump_mean,
            jump_std: config.jump_std,
            jumps: 0,
        }
    }

    /// How many jumps have happened so far.
    pub fn jump_count(&self) -> u64 {
        self.jumps
    }
}

impl PriceModel for JumpModel {
    fn next_price(&mut self, current: f64, dt_s: f64, rng: &mut dyn RngCore) -> f64 {
        let mut log_return = self.diffusion.log_return(dt_s, rng);
        let expected = self.jump_rate_per_s * dt_s;
        // `Poisson::new` refuses a zero (or non-finite) mean: then there are simply no jumps.
        let count = match Poisson::new(expected) {
            Ok(poisson) => Distribution::<f64>::sample(&poisson, rng) as u64,
            Err(_) => 0,
        };
        for _ in 0..count {
            log_return += self.jump_mean + self.jump_std * normal(rng);
        }
        self.jumps += count;
        current * log_return.exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn jumps_arrive_at_the_configured_rate() {
        let mut model = JumpModel::new(&JumpConfig {
            jump_rate_per_s: 2.0,
            ..JumpConfig::default()
        });
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let mut price = 100.0;
        for _ in 0..100_000 {
            price = model.next_price(price, 0.1, &mut rng);
        }
        // 10,000 s at 2/s: 20,000 expected, standard deviation sqrt(20,000) = 141.
        let count = model.jump_count() as f64;
        assert!((count - 20_000.0).abs() < 5.0 * 141.5, "{count} jumps");
    }

    #[test]
    fn jumps_move_the_price_by_their_size() {
        // No diffusion and a certain, fixed jump: every step with a jump multiplies by e^0.1.
        let mut model = JumpModel::new(&JumpConfig {
            drift: 0.0,
            volatility: 0.0,
            jump_rate_per_s: 1.0,
            jump_mean: 0.1,
            jump_std: 0.0,
        });
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut price = 100.0;
        for _ in 0..1000 {
            price = model.next_price(price, 0.01, &mut rng);
        }
        let expected = 100.0 * (0.1 * model.jump_count() as f64).exp();
        assert!(model.jump_count() > 0);
        assert!(
            (price / expected - 1.0).abs() < 1e-9,
            "{price} vs {expected}"
        );
    }

    #[test]
    fn no_rate_no_jumps() {
        let mut model = JumpModel::new(&JumpConfig {
            jump_rate_per_s: 0.0,
            ..JumpConfig::default()
        });
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..1000 {
            model.next_price(100.0, 1.0, &mut rng);
        }
        assert_eq!(model.jump_count(), 0);
    }
}
