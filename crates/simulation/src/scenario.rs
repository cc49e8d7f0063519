//! What one seed simulates: the exchange's configuration (its market, accounts and limits), the
//! faults between it and the clients, and who the clients are. Every choice is drawn from the
//! seed, so a seed names one whole world.

use seed::SplitMix64;
use serde_json::{json, Map, Value};

/// The clients of one world.
#[derive(Clone, Debug)]
pub struct Roster {
    /// Traders on configured accounts: the account name and whether it cancels on disconnect.
    pub traders: Vec<(String, bool)>,
    /// Traders that arm a dead man's switch and then go quiet.
    pub switch_users: Vec<String>,
    /// Book watchers; `true` for one that stops reading now and then (a slow consumer).
    pub watchers: Vec<bool>,
}

/// One seed's world.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The server configuration, as a config file would give it.
    pub config: Value,
    pub roster: Roster,
}

/// A number in `lo..=hi`.
fn between(rng: &mut SplitMix64, lo: u64, hi: u64) -> u64 {
    lo + rng.below(hi - lo + 1)
}

/// A fraction in `lo..hi`, to four places.
fn fraction(rng: &mut SplitMix64, lo: f64, hi: f64) -> f64 {
    let step = rng.below(10_000) as f64 / 10_000.0;
    ((lo + (hi - lo) * step) * 10_000.0).round() / 10_000.0
}

impl Scenario {
    /// The world of `seed`.
    pub fn of(seed: u64) -> Scenario {
        let mut rng = SplitMix64::new(seed::derive_seed(seed, "simulation/scenario"));
        let traders: Vec<(String, bool)> = (1..=3)
            .map(|i| (format!("trader-{i}"), rng.chance(1, 2)))
            .collect();
        let switch_users = vec!["switch-1".to_string()];
        let watchers = vec![false, true];
        let mut accounts = Map::new();
        for name in traders.iter().map(|(n, _)| n).chain(&switch_users) {
            accounts.insert(
                name.clone(),
                json!({"api_key": format!("{name}-key"),
                       "balances": {"USD": "1000000", "BTC": "100"}}),
            );
        }
        let slow_consumer = if rng.chance(1, 2) {
            "disconnect"
        } else {
            "drop_market_data"
        };
        let config = json!({
            "server": {"limits": {
                "outbound_queue_frames": between(&mut rng, 32, 256),
                "slow_consumer": slow_consumer,
                "max_messages_per_second": 100_000,
            }},
            "exchange": {
                "symbols": ["BTC/USD"],
                "symbol_specs": {"BTC/USD": {"tick_size": "0.01", "lot_size": "0.00001"}},
                "market_makers": {"levels": between(&mut rng, 3, 8), "refresh_ms": 500},
                "taker_flow": {"rate_per_s": fraction(&mut rng, 0.5, 4.0)},
                "history": {
                    "resume_events_per_account": if rng.chance(1, 3) { 40 } else { 10_000 },
                    "anonymous_grace_s": 5,
                },
            },
            "accounts": accounts,
            "failures": faults(&mut rng, seed),
            "seed": seed,
        });
        Scenario {
            config,
            roster: Roster {
                traders,
                switch_users,
                watchers,
            },
        }
    }
}

/// The faults of one world: each mode on or off by the seed, with its own strength. Outbound
/// corruption only truncates (a damaged frame a client can see is damaged: TCP never hands an
/// application a frame whose digits changed); inbound corruption may damage anything.
fn faults(rng: &mut SplitMix64, seed: u64) -> Value {
    let mut modes = Map::new();
    let mut maybe = |rng: &mut SplitMix64, name: &str, value: Value| {
        if rng.chance(1, 2) {
            modes.insert(name.to_string(), value);
        }
    };
    let p = |rng: &mut SplitMix64, lo, hi| fraction(rng, lo, hi);
    let v = json!({"probability": p(rng, 0.005, 0.04), "direction": "outbound"});
    maybe(rng, "drop_messages", v);
    let v = json!({"min_ms": 1, "max_ms": between(rng, 5, 200), "probability": p(rng, 0.05, 0.3)});
    maybe(rng, "delay_messages", v);
    let v = json!({"probability": p(rng, 0.005, 0.03)});
    maybe(rng, "duplicate_messages", v);
    let v = json!({"probability": p(rng, 0.005, 0.03), "window_size": 3, "max_hold_ms": 50});
    maybe(rng, "reorder_messages", v);
    let v =
        json!({"probability": p(rng, 0.002, 0.01), "method": "truncate", "direction": "outbound"});
    maybe(rng, "corrupt_messages", v);
    let v = json!({"mean_interval_s": between(rng, 5, 30), "clean": rng.chance(1, 2)});
    maybe(rng, "disconnect", v);
    let v =
        json!({"mean_interval_s": between(rng, 10, 40), "duration_ms": between(rng, 300, 2_000)});
    maybe(rng, "silent_connection", v);
    let v =
        json!({"mean_interval_s": between(rng, 10, 40), "duration_ms": between(rng, 300, 2_000)});
    maybe(rng, "slow_consumer", v);
    let v = json!({"mean_interval_s": between(rng, 5, 20)});
    maybe(rng, "phantom_fills", v);
    let v = json!({"probability": p(rng, 0.02, 0.1), "min_ms": 10, "max_ms": 300});
    maybe(rng, "duplicate_fills", v);
    let v = json!({"probability": p(rng, 0.05, 0.3), "min_ms": 20, "max_ms": 400});
    maybe(rng, "late_cancel_ack", v);
    let v = json!({"probability": p(rng, 0.02, 0.1)});
    maybe(rng, "lost_cancel_ack", v);
    let v = json!({"probability": p(rng, 0.02, 0.1)});
    maybe(rng, "reject_orders", v);
    let v = json!({"probability": p(rng, 0.02, 0.1)});
    maybe(rng, "unknown_outcome", v);
    let v = json!({"probability": p(rng, 0.005, 0.02), "duration_ms": 300});
    maybe(rng, "stale_orderbook", v);
    let v =
        json!({"probability": p(rng, 0.005, 0.02), "gap_size": 2, "announce": rng.chance(1, 2)});
    maybe(rng, "sequence_gap", v);
    json!({"enabled": true, "seed": seed, "modes": modes})
}
