//! `examples/config.json` loads, and it shows every key the code knows at the top level and under
//! `server` and `exchange`, so the example cannot silently fall behind the configuration.

use std::path::PathBuf;

use exchange_simulator::Config;

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/config.json")
}

fn example_json() -> serde_json::Value {
    let text = std::fs::read_to_string(example_path()).expect("examples/config.json is readable");
    serde_json::from_str(&text).expect("examples/config.json is JSON")
}

#[test]
fn example_config_loads() {
    let loaded = Config::from_file(example_path());
    assert!(
        loaded.is_ok(),
        "examples/config.json does not load: {}",
        loaded.err().map(|e| e.to_string()).unwrap_or_default()
    );
}

#[test]
fn example_failures_section_is_valid_for_the_fault_layer() {
    // The server validates `failures` with the fault layer's reader at start-up; check the
    // example's section with that reader directly too, so a failure names the fault layer.
    let loaded = faults::FaultConfig::from_file_json(&example_json());
    assert!(
        loaded.is_ok(),
        "examples/config.json failures: {}",
        loaded.err().map(|e| e.to_string()).unwrap_or_default()
    );
}

#[test]
fn example_config_shows_every_key() {
    let defaults = serde_json::to_value(Config::default()).expect("Config serialises");
    let example = example_json();
    let mut missing = Vec::new();
    let top = defaults.as_object().expect("Config is an object");
    for key in top.keys() {
        if example.get(key).is_none() {
            missing.push(key.clone());
        }
    }
    for section in ["server", "exchange"] {
        let keys = defaults[section]
            .as_object()
            .unwrap_or_else(|| panic!("{section} is an object"));
        for key in keys.keys() {
            if example.get(section).and_then(|s| s.get(key)).is_none() {
                missing.push(format!("{section}.{key}"));
            }
        }
    }
    // server.limits too: every bound deserves a visible value.
    if let Some(limits) = defaults["server"]["limits"].as_object() {
        for key in limits.keys() {
            if example["server"]["limits"].get(key).is_none() {
                missing.push(format!("server.limits.{key}"));
            }
        }
    }
    // failures: every mode of the fault layer (one-shots are armed at run time, not configured),
    // and the section's own keys.
    for key in ["enabled", "seed", "latency", "modes", "scenario"] {
        if example["failures"].get(key).is_none() {
            missing.push(format!("failures.{key}"));
        }
    }
    for mode in faults::Mode::ALL {
        if mode != faults::Mode::OneShot && example["failures"]["modes"].get(mode.name()).is_none()
        {
            missing.push(format!("failures.modes.{}", mode.name()));
        }
    }
    assert!(
        missing.is_empty(),
        "examples/config.json lacks these keys of Config::default(): {missing:?}"
    );
}

#[test]
#[ignore = "prints the defaults, for writing the example by hand"]
fn print_defaults() {
    let defaults = serde_json::to_value(Config::default()).expect("Config serialises");
    println!("{}", serde_json::to_string_pretty(&defaults).unwrap());
}
