//! Trend-following: GBM whose successive returns are positively correlated, so a move tends to be
//! followed by another in the same direction (momentum) before the memory fades.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::gbm::default_volatility;
use super::{normal, PriceModel, SECONDS_PER_YEAR};
use crate::error::{check_range, ConfigError};

/// `{"model_type": "trend", "drift": 0.0, "volatility": 0.5, "persistence": 0.5}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendConfig {
    /// Annualised drift, as in GBM.
    #[serde(default)]
    pub drift: f64,
    /// Annualised volatility of each step, as in GBM.
    #[serde(default = "default_volatility")]
    pub volatility: f64,
    /// The correlation of one step's random return with the next one's, in `[0, 0.99]`: 0 is
    /// plain GBM; 0.5 makes moves run on; the long-run variance grows by `(1+p)/(1-p)`.
    #[serde(default = "default_persistence")]
    pub persistence: f64,
}

fn default_persistence() -> f64 {
    0.5
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig {
            drift: 0.0,
            volatility: default_volatility(),
            persistence: default_persistence(),
        }
    }
}

impl TrendConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        check_range(path, "drift", self.drift, -100.0, 100.0)?;
        check_range(path, "volatility", self.volatility, 0.0, 100.0)?;
        check_range(path, "persistence", self.persistence, 0.0, 0.99)
    }
}

/// The random part of the log-return is an AR(1) process: `e(t) = p e(t-1) + sqrt(1-p^2) Z`, so
/// each step's variance stays `sigma^2 dt` while successive steps are correlated by `p`.
#[derive(Clone, Debug)]
pub struct TrendModel {
    drift: f64,
    volatility: f64,
    persistence: f64,
    /// The last step's standardised random return; `None` before the first step.
    shock: Option<f64>,
}

impl TrendModel {
    /// A trend-following model, starting with no momentum.
    pub fn new(config: &TrendConfig) -> TrendModel {
        TrendModel {
            drift: config.drift,
            volatility: config.volatility,
            persistence: config.persistence,
            shock: None,
        }
    }
}

impl PriceModel for TrendModel {
    fn next_price(&mut self, current: f64, dt_s: f64, rng: &mut dyn RngCore) -> f64 {
        let dt_y = dt_s / SECONDS_PER_YEAR;
        let p = self.persistence;
        let shock = match self.shock {
            None => normal(rng),
            Some(last) => p * last + (1.0 - p * p).sqrt() * normal(rng),
        };
        self.shock = Some(shock);
        let log_return = (self.drift - 0.5 * self.volatility * self.volatility) * dt_y
            + self.volatility * dt_y.sqrt() * shock;
        current * log_return.exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::mean_var;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn lag1_autocorrelation(persistence: f64) -> (f64, f64) {
        let mut model = TrendModel::new(&TrendConfig {
            drift: 0.0,
            volatility: 0.8,
            persistence,
        });
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut price = 100.0;
        let returns: Vec<f64> = (0..100_000)
            .map(|_| {
                let next = model.next_price(price, 1.0, &mut rng);
                let r = (next / price).ln();
                price = next;
                r
            })
            .collect();
        let (mean, var) = mean_var(&returns);
        let cov = returns
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / (returns.len() - 1) as f64;
        (cov / var, var)
    }

    #[test]
    fn returns_persist_with_the_configured_correlation() {
        // The standard error of a lag-1 autocorrelation over 1e5 samples is about 0.003.
        let (rho, var) = lag1_autocorrelation(0.6);
        assert!((rho - 0.6).abs() < 0.02, "autocorrelation {rho}");
        let expected_var = 0.64 / SECONDS_PER_YEAR;
        assert!(
            (var / expected_var - 1.0).abs() < 0.05,
            "{var} vs {expected_var}"
        );
        let (rho, _) = lag1_autocorrelation(0.0);
        assert!(rho.abs() < 0.02, "no persistence is plain GBM: {rho}");
    }
}
