//! Geometric Brownian motion: log-normal returns with annualised drift and volatility, the classic
//! model of a price that can never go negative.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{normal, PriceModel, SECONDS_PER_YEAR};
use crate::error::{check_range, ConfigError};

/// `{"model_type": "gbm", "drift": 0.0, "volatility": 0.5}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GbmConfig {
    /// Annualised drift `mu` (0.1 = +10% a year in expectation).
    #[serde(default)]
    pub drift: f64,
    /// Annualised volatility `sigma` (0.5 = 50% a year).
    #[serde(default = "default_volatility")]
    pub volatility: f64,
}

pub(crate) fn default_volatility() -> f64 {
    0.5
}

impl Default for GbmConfig {
    fn default() -> Self {
        GbmConfig {
            drift: 0.0,
            volatility: default_volatility(),
        }
    }
}

impl GbmConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        check_range(path, "drift", self.drift, -100.0, 100.0)?;
        check_range(path, "volatility", self.volatility, 0.0, 100.0)
    }
}

/// `S(t+dt) = S(t) * exp((mu - sigma^2/2) dt + sigma sqrt(dt) Z)` with `dt` in years: the exact
/// solution, so the step length does not bias the statistics.
#[derive(Clone, Debug)]
pub struct GbmModel {
    drift: f64,
    volatility: f64,
}

impl GbmModel {
    /// A GBM with annualised `drift` and `volatility`.
    pub fn new(config: &GbmConfig) -> GbmModel {
        GbmModel {
            drift: config.drift,
            volatility: config.volatility,
        }
    }

    /// The log-return of one step of `dt_s` seconds (shared with the jump model).
    pub(crate) fn log_return(&self, dt_s: f64, rng: &mut dyn RngCore) -> f64 {
        let dt_y = dt_s / SECONDS_PER_YEAR;
        (self.drift - 0.5 * self.volatility * self.volatility) * dt_y
            + self.volatility * dt_y.sqrt() * normal(rng)
    }
}

impl PriceModel for GbmModel {
    fn next_price(&mut self, current: f64, dt_s: f64, rng: &mut dyn RngCore) -> f64 {
        current * self.log_return(dt_s, rng).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::mean_var;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn log_returns_match_drift_and_volatility() {
        let config = GbmConfig {
            drift: 0.5,
            volatility: 0.2,
        };
        let mut model = GbmModel::new(&config);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let dt_s = 86_400.0;
        let dt_y = dt_s / SECONDS_PER_YEAR;
        let n = 200_000;
        let returns: Vec<f64> = (0..n)
            .map(|_| (model.next_price(100.0, dt_s, &mut rng) / 100.0).ln())
            .collect();
        let (mean, var) = mean_var(&returns);
        let expected_mean = (0.5 - 0.02) * dt_y;
        let expected_var = 0.04 * dt_y;
        // Four standard errors of the sample mean; the variance within 2% (its standard error is
        // sqrt(2/n) = 0.3%).
        let mean_se = (expected_var / n as f64).sqrt();
        assert!(
            (mean - expected_mean).abs() < 4.0 * mean_se,
            "mean {mean} vs {expected_mean} (se {mean_se})"
        );
        assert!(
            (var / expected_var - 1.0).abs() < 0.02,
            "variance {var} vs {expected_var}"
        );
    }

    #[test]
    fn zero_volatility_is_pure_drift() {
        let mut model = GbmModel::new(&GbmConfig {
            drift: 0.1,
            volatility: 0.0,
        });
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let next = model.next_price(100.0, SECONDS_PER_YEAR, &mut rng);
        assert!((next - 100.0 * 0.1f64.exp()).abs() < 1e-9, "{next}");
    }

    #[test]
    fn rejects_negative_volatility() {
        let config = GbmConfig {
            drift: 0.0,
            volatility: -1.0,
        };
        let err = config.validate("exchange.pricing_model").unwrap_err();
        assert_eq!(err.path, "exchange.pricing_model.volatility");
    }
}
