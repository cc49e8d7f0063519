//! Helpers shared by the tests.

use serde_json::Value;

use crate::modes::{ModeConfig, ModeParams};

/// Asserts that `observed` successes out of `trials` fit a rate of `probability` within 4.5
/// standard deviations of the binomial (times `variance_factor` for correlated draws).
pub(crate) fn assert_rate(observed: u64, trials: u64, probability: f64, variance_factor: f64) {
    let trials_f = trials as f64;
    let expected = trials_f * probability;
    let sigma = (trials_f * probability * (1.0 - probability) * variance_factor).sqrt();
    let bound = 4.5 * sigma + 1.0;
    assert!(
        (observed as f64 - expected).abs() <= bound,
        "observed {observed} of {trials}, expected {expected:.1} +- {bound:.1} (p = {probability})"
    );
}

/// The parameters of a mode read from its JSON object.
pub(crate) fn read_params<P: ModeParams>(json: Value) -> P {
    match ModeConfig::<P>::read("test", &json) {
        Ok(config) => config.params,
        Err(error) => panic!("{error}"),
    }
}
