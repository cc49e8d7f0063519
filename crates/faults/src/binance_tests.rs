//! Whole-crate tests of the Binance listener's faults: the skewed clock, driven through the
//! public API the way the server drives it.

use serde_json::{json, Value};

use crate::*;

fn injector(failures: Value, seed: u64) -> FaultInjector {
    match FaultConfig::from_json(&failures) {
        Ok(config) => FaultInjector::new(config, seed),
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn clock_skew_validates_and_round_trips() {
    let failures = json!({
        "modes": {"clock_skew": {"offset_ms": -3000, "drift_ms_per_minute": 50}},
        "scenario": [{"start_s": 10, "modes": {"clock_skew": {"offset_ms": 4000}}}]
    });
    let config = FaultConfig::from_json(&failures).expect("valid");
    let json = config.to_json();
    assert_eq!(json["modes"]["clock_skew"]["offset_ms"], -3000);
    assert_eq!(json["modes"]["clock_skew"]["drift_ms_per_minute"], 50);
    assert_eq!(FaultConfig::from_json(&json).expect("parses back"), config);
    for (failures, path) in [
        (
            json!({"modes": {"clock_skew": {"drift_ms_per_minute": 5}}}),
            "failures.modes.clock_skew.offset_ms",
        ),
        (
            json!({"modes": {"clock_skew": {"offset_ms": "5s"}}}),
            "failures.modes.clock_skew.offset_ms",
        ),
        (
            json!({"scenario": [{"start_s": 1, "modes": {"clock_skew": {"offset_ms": 1e12}}}]}),
            "failures.scenario[0].modes.clock_skew.offset_ms",
        ),
    ] {
        let error = FaultConfig::from_json(&failures).expect_err("refused");
        assert_eq!(error.path, path, "{failures}");
    }
}

#[test]
fn the_clock_is_off_by_the_offset_and_drifts_from_the_modes_start() {
    let injector = injector(
        json!({"modes": {"clock_skew": {"offset_ms": 10000, "drift_ms_per_minute": 120,
                                         "start_s": 60, "end_s": 600}}}),
        1,
    );
    assert_eq!(injector.clock_skew_ms(59_999), 0);
    assert_eq!(injector.clock_skew_ms(90_000), 10_060, "drift from start_s");
    assert_eq!(injector.clock_skew_ms(120_000), 10_120);
    assert_eq!(injector.clock_skew_ms(600_000), 0, "the window ended");
    let stats = injector.statistics();
    assert_eq!(stats.totals.get(Mode::ClockSkew), 1, "once, not per call");
    assert_eq!(stats.by_direction["connection"].get(Mode::ClockSkew), 1);
    let entry = injector.log().first().cloned().expect("logged");
    assert_eq!(
        entry.detail.as_deref(),
        Some("offset_ms=10000 drift_ms_per_minute=120 since_ms=60000")
    );
    assert_eq!(entry.time_ms, 90_000);
    assert_eq!(
        FaultInjector::new(FaultConfig::default(), 1).clock_skew_ms(5),
        0
    );
}

#[test]
fn a_scenario_step_starts_the_drift_afresh_and_is_recorded_again() {
    let injector = injector(
        json!({
            "modes": {"clock_skew": {"offset_ms": -2000}},
            "scenario": [{"start_s": 30, "end_s": 90,
                          "modes": {"clock_skew": {"drift_ms_per_minute": 600}}}]
        }),
        1,
    );
    assert_eq!(injector.clock_skew_ms(10_000), -2_000);
    // The step's first call comes late; the drift counts from the step's start all the same.
    assert_eq!(injector.clock_skew_ms(60_000), -2_000 + 300);
    assert_eq!(injector.clock_skew_ms(90_000), -2_000);
    assert_eq!(injector.statistics().totals.get(Mode::ClockSkew), 3);
}

#[test]
fn changes_at_run_time_restart_the_drift_only_for_the_clock() {
    let injector = injector(
        json!({"modes": {"clock_skew": {"offset_ms": 0, "drift_ms_per_minute": 60}}}),
        1,
    );
    assert_eq!(injector.clock_skew_ms(60_000), 60);
    // Another mode changes: the clock goes on.
    injector
        .patch_mode("drop_messages", &json!({"probability": 0.1}))
        .expect("valid");
    assert_eq!(injector.clock_skew_ms(120_000), 120);
    // The clock's own settings change: from the first call after the change.
    injector
        .patch_mode("clock_skew", &json!({"offset_ms": 1000}))
        .expect("valid");
    assert_eq!(injector.clock_skew_ms(180_000), 1_000);
    assert_eq!(injector.clock_skew_ms(240_000), 1_060);
    assert_eq!(injector.statistics().totals.get(Mode::ClockSkew), 2);
}
