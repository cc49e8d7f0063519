//! Whole-crate tests of the Binance listener's faults: REST requests and the skewed clock, driven
//! through the public API the way the server drives them.

use serde_json::{json, Value};

use crate::testkit::assert_rate;
use crate::*;

fn injector(failures: Value, seed: u64) -> FaultInjector {
    match FaultConfig::from_json(&failures) {
        Ok(config) => FaultInjector::new(config, seed),
        Err(error) => panic!("{error}"),
    }
}

fn place<'a>(client: &'a str) -> HttpRequestMeta<'a> {
    HttpRequestMeta::new("POST", "/api/v3/order", client)
}

fn depth<'a>(client: &'a str) -> HttpRequestMeta<'a> {
    HttpRequestMeta::new("GET", "/api/v3/depth", client)
}

/// The outcomes of `n` requests of `request`, `step_ms` apart from `start_ms`.
fn outcomes(
    injector: &FaultInjector,
    request: &HttpRequestMeta<'_>,
    n: u64,
    start_ms: u64,
    step_ms: u64,
) -> Vec<HttpOutcome> {
    (0..n)
        .map(|i| {
            injector
                .binance_rest(request, start_ms + i * step_ms)
                .outcome
        })
        .collect()
}

#[test]
fn requests_know_their_native_type() {
    let order = place("k");
    assert!(order.places_order);
    assert_eq!(order.request_type(), Some("PLACE_ORDER"));
    let replace = HttpRequestMeta::new("POST", "/api/v3/order/cancelReplace", "k");
    assert!(replace.places_order);
    let test_order = HttpRequestMeta::new("POST", "/api/v3/order/test", "k");
    assert!(!test_order.places_order, "order/test places nothing");
    let cancel = HttpRequestMeta::new("DELETE", "/api/v3/order", "k");
    assert_eq!(
        (cancel.places_order, cancel.request_type()),
        (false, Some("CANCEL_ORDER"))
    );
    assert_eq!(depth("k").request_type(), Some("GET_ORDERBOOK"));
    assert_eq!(
        HttpRequestMeta::new("GET", "/api/v3/time", "k").request_type(),
        None
    );
}

#[test]
fn faults_off_touch_no_request() {
    let off = FaultInjector::new(FaultConfig::default(), 1);
    assert_eq!(off.binance_rest(&place("k"), 0), HttpVerdict::default());
    let disabled = injector(
        json!({"enabled": false, "modes": {"reject_orders": {"probability": 1}}}),
        1,
    );
    assert_eq!(
        disabled.binance_rest(&place("k"), 0),
        HttpVerdict::default()
    );
    assert_eq!(disabled.statistics().totals.total(), 0);
}

#[test]
fn reject_orders_refuses_new_orders_as_overloaded_and_logs_them() {
    let injector = injector(json!({"modes": {"reject_orders": {"probability": 1}}}), 1);
    let verdict = injector.binance_rest(&place("key-a").with_account(Some("alice")), 1_500);
    assert_eq!(verdict.outcome, HttpOutcome::Refuse(HttpError::Overloaded));
    assert!(!verdict.outcome.executes());
    let error = verdict.outcome.error().expect("an error");
    assert_eq!((error.status(), error.binance_code()), (503, -1008));
    // Its natural target is new orders: lookups, cancels and market data pass.
    for request in [
        depth("key-a"),
        HttpRequestMeta::new("DELETE", "/api/v3/order", "key-a"),
        HttpRequestMeta::new("GET", "/api/v3/order", "key-a"),
    ] {
        assert_eq!(
            injector.binance_rest(&request, 1_600).outcome,
            HttpOutcome::Execute
        );
    }
    let stats = injector.statistics();
    assert_eq!(stats.totals.get(Mode::RejectOrders), 1);
    assert_eq!(stats.by_direction["inbound"].get(Mode::RejectOrders), 1);
    let entry = injector.log().first().cloned().expect("logged");
    assert_eq!(entry.connection_key, "binance:key-a");
    assert_eq!(entry.conn_id, 0);
    assert_eq!(entry.seq, Some(1));
    assert_eq!(entry.message_type.as_deref(), Some("/api/v3/order"));
    assert_eq!(entry.time_ms, 1_500);
    assert_eq!(entry.detail.as_deref(), Some("POST status=503 code=-1008"));
}

#[test]
fn message_types_aim_at_paths_native_types_and_ws_api_names() {
    // A path: every request on it, whatever the method.
    let by_path = injector(
        json!({"modes": {"reject_orders": {"probability": 1, "message_types": ["/api/v3/order"]}}}),
        1,
    );
    let lookup = HttpRequestMeta::new("GET", "/api/v3/order", "k");
    assert_eq!(
        by_path.binance_rest(&lookup, 0).outcome,
        HttpOutcome::Refuse(HttpError::Overloaded)
    );
    assert_eq!(
        by_path.binance_rest(&depth("k"), 0).outcome,
        HttpOutcome::Execute
    );
    // The native name and the WebSocket API's name both stand for new orders, on REST too.
    for name in ["PLACE_ORDER", "order.place"] {
        let by_type = injector(
            json!({"modes": {"reject_orders": {"probability": 1, "message_types": [name]}}}),
            1,
        );
        assert_eq!(
            by_type.binance_rest(&place("k"), 0).outcome,
            HttpOutcome::Refuse(HttpError::Overloaded),
            "{name}"
        );
        assert_eq!(
            by_type.binance_rest(&lookup, 0).outcome,
            HttpOutcome::Execute
        );
    }
    let cancels = injector(
        json!({"modes": {"outage": {"message_types": ["CANCEL_ORDER"]}}}),
        1,
    );
    let cancel = HttpRequestMeta::new("DELETE", "/api/v3/order", "k");
    assert_eq!(
        cancels.binance_rest(&cancel, 0).outcome,
        HttpOutcome::Refuse(HttpError::Unavailable)
    );
    assert_eq!(
        cancels.binance_rest(&place("k"), 0).outcome,
        HttpOutcome::Execute
    );
}

#[test]
fn accounts_filters_aim_at_the_api_keys_account() {
    let injector = injector(
        json!({"modes": {"reject_orders": {"probability": 1, "accounts": ["alice"]}}}),
        1,
    );
    let alice = place("key-a").with_account(Some("alice"));
    let bob = place("key-b").with_account(Some("bob"));
    assert_eq!(
        injector.binance_rest(&alice, 0).outcome,
        HttpOutcome::Refuse(HttpError::Overloaded)
    );
    assert_eq!(injector.binance_rest(&bob, 0).outcome, HttpOutcome::Execute);
    assert_eq!(
        injector.binance_rest(&place("anonymous"), 0).outcome,
        HttpOutcome::Execute,
        "a request without an account matches no accounts list"
    );
}

#[test]
fn unknown_outcome_executes_the_order_and_answers_503_1007() {
    let injector = injector(json!({"modes": {"unknown_outcome": {"probability": 1}}}), 1);
    let verdict = injector.binance_rest(&place("k"), 0);
    assert_eq!(
        verdict.outcome,
        HttpOutcome::ExecuteThenError(HttpError::UnknownOutcome)
    );
    assert!(verdict.outcome.executes());
    let error = verdict.outcome.error().expect("an error");
    assert_eq!((error.status(), error.binance_code()), (503, -1007));
    assert_eq!(
        injector.binance_rest(&depth("k"), 0).outcome,
        HttpOutcome::Execute
    );
    assert_eq!(
        injector.statistics().by_direction["outbound"].get(Mode::UnknownOutcome),
        1
    );
}

#[test]
fn a_lost_request_is_never_carried_out_and_a_lost_answer_is() {
    let inbound = injector(
        json!({"modes": {"drop_messages": {"probability": 1, "direction": "inbound", "hold_ms": 7000},
                         "delay_messages": {"distribution": "fixed", "min_ms": 40}}}),
        1,
    );
    let verdict = inbound.binance_rest(&place("k"), 0);
    assert_eq!(verdict.outcome, HttpOutcome::Hang { hold_ms: 7_000 });
    assert!(!verdict.outcome.executes());
    assert_eq!(verdict.outcome.hold_ms(), Some(7_000));
    // The request still travelled; no answer is sent, so none is delayed.
    assert_eq!(
        (verdict.request_delay_ms, verdict.response_delay_ms),
        (40, 0)
    );

    let outbound = injector(
        json!({"modes": {"drop_messages": {"probability": 1, "direction": "outbound"}}}),
        1,
    );
    let verdict = outbound.binance_rest(&depth("k"), 0);
    assert_eq!(
        verdict.outcome,
        HttpOutcome::ExecuteThenHang { hold_ms: 30_000 }
    );
    assert!(verdict.outcome.executes());
    let entry = outbound.log().first().cloned().expect("logged");
    assert_eq!(entry.direction, Some(Direction::Outbound));
    assert_eq!(
        entry.detail.as_deref(),
        Some("GET answer lost, closed after hold_ms=30000")
    );
}

#[test]
fn drop_rate_holds_per_client() {
    let injector = injector(
        json!({"modes": {"drop_messages": {"probability": 0.2, "direction": "inbound"}}}),
        9,
    );
    let lost = outcomes(&injector, &place("k"), 10_000, 0, 1)
        .into_iter()
        .filter(|outcome| matches!(outcome, HttpOutcome::Hang { .. }))
        .count();
    assert_rate(lost as u64, 10_000, 0.2, 1.0);
}

#[test]
fn outages_answer_503_and_refuse_streams_in_their_window() {
    let injector = injector(
        json!({"modes": {"outage": {"start_s": 10, "end_s": 20}}}),
        1,
    );
    assert_eq!(
        injector.binance_rest(&depth("k"), 9_999).outcome,
        HttpOutcome::Execute
    );
    let verdict = injector.binance_rest(&depth("k"), 10_000);
    assert_eq!(verdict.outcome, HttpOutcome::Refuse(HttpError::Unavailable));
    assert_eq!(HttpError::Unavailable.status(), 503);
    assert!(!injector.accept_connection(15_000), "streams refused too");
    assert_eq!(
        injector.binance_rest(&depth("k"), 20_000).outcome,
        HttpOutcome::Execute
    );
    assert!(injector.accept_connection(20_000));
    let streams_only = self::injector(json!({"modes": {"outage": {"reject_requests": false}}}), 1);
    assert_eq!(
        streams_only.binance_rest(&place("k"), 0).outcome,
        HttpOutcome::Execute
    );
    assert!(!streams_only.accept_connection(0));
}

#[test]
fn http_errors_answer_5xx_before_or_after_carrying_out() {
    let before = injector(
        json!({"modes": {"http_errors": {"probability": 1, "statuses": [502]}}}),
        1,
    );
    let verdict = before.binance_rest(&place("k"), 0);
    assert_eq!(
        verdict.outcome,
        HttpOutcome::Refuse(HttpError::ServerError { status: 502 })
    );
    assert_eq!(
        verdict.outcome.error().map(HttpError::binance_code),
        Some(-1000)
    );
    let after = injector(
        json!({"modes": {"http_errors": {"probability": 1, "statuses": [504], "direction": "outbound"}}}),
        1,
    );
    assert_eq!(
        after.binance_rest(&place("k"), 0).outcome,
        HttpOutcome::ExecuteThenError(HttpError::ServerError { status: 504 })
    );
    // At their probability, spread over the default statuses.
    let some = injector(json!({"modes": {"http_errors": {"probability": 0.3}}}), 4);
    let statuses: Vec<u16> = outcomes(&some, &depth("k"), 10_000, 0, 1)
        .into_iter()
        .filter_map(|outcome| match outcome {
            HttpOutcome::Refuse(HttpError::ServerError { status }) => Some(status),
            HttpOutcome::Execute => None,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_rate(statuses.len() as u64, 10_000, 0.3, 1.0);
    for status in [500, 502, 503, 504] {
        assert!(statuses.contains(&status), "{status}");
    }
    assert_eq!(
        some.statistics().totals.get(Mode::HttpErrors),
        statuses.len() as u64
    );
}

#[test]
fn a_storm_answers_429_and_bans_a_client_that_keeps_going() {
    let injector = injector(
        json!({"modes": {"rate_limit_storm": {"start_s": 10, "end_s": 40,
                                               "ban_after_requests": 3, "ban_ms": 120000}}}),
        1,
    );
    assert_eq!(
        injector.binance_rest(&depth("bot"), 9_000).outcome,
        HttpOutcome::Execute
    );
    let stormy = outcomes(&injector, &depth("bot"), 5, 10_000, 1_000);
    let too_many =
        |retry_after_s| HttpOutcome::Refuse(HttpError::TooManyRequests { retry_after_s });
    assert_eq!(
        stormy,
        vec![
            too_many(30),
            too_many(29),
            too_many(28),
            too_many(27),
            HttpOutcome::Refuse(HttpError::Banned {
                until_ms: 134_000,
                retry_after_s: 120
            }),
        ]
    );
    assert_eq!(
        HttpError::TooManyRequests { retry_after_s: 1 }.status(),
        429
    );
    assert_eq!(
        HttpError::Banned {
            until_ms: 0,
            retry_after_s: 1
        }
        .status(),
        418
    );
    // A client that waits is only told to wait; the banned one stays banned past the storm.
    assert_eq!(
        injector.binance_rest(&depth("patient"), 20_000).outcome,
        too_many(20)
    );
    assert_eq!(
        injector.binance_rest(&place("bot"), 50_000).outcome,
        HttpOutcome::Refuse(HttpError::Banned {
            until_ms: 134_000,
            retry_after_s: 84
        })
    );
    assert_eq!(
        injector.binance_rest(&depth("patient"), 50_000).outcome,
        HttpOutcome::Execute
    );
    assert_eq!(
        injector.binance_rest(&depth("bot"), 134_000).outcome,
        HttpOutcome::Execute
    );
    let stats = injector.statistics();
    assert_eq!(stats.totals.get(Mode::RateLimitStorm), 7);
}

#[test]
fn storms_recur_and_a_configuration_change_lifts_bans() {
    let injector = injector(
        json!({"modes": {"rate_limit_storm": {"every_ms": 60000, "duration_ms": 5000,
                                               "ban_after_requests": 0}}}),
        1,
    );
    assert_eq!(
        injector.binance_rest(&depth("a"), 1_000).outcome,
        HttpOutcome::Refuse(HttpError::TooManyRequests { retry_after_s: 4 })
    );
    assert_eq!(
        injector.binance_rest(&depth("a"), 6_000).outcome,
        HttpOutcome::Execute
    );
    assert_eq!(
        injector.binance_rest(&depth("a"), 61_000).outcome,
        HttpOutcome::Refuse(HttpError::TooManyRequests { retry_after_s: 4 }),
        "a new storm starts a new count"
    );
    assert!(matches!(
        injector.binance_rest(&depth("a"), 61_500).outcome,
        HttpOutcome::Refuse(HttpError::Banned { .. })
    ));
    injector
        .patch_mode("rate_limit_storm", &json!({"enabled": false}))
        .expect("valid");
    assert_eq!(
        injector.binance_rest(&depth("a"), 62_000).outcome,
        HttpOutcome::Execute
    );
}

#[test]
fn storms_aim_with_filters() {
    let injector = injector(
        json!({"modes": {"rate_limit_storm": {"message_types": ["/api/v3/order"]}}}),
        1,
    );
    assert_eq!(
        injector.binance_rest(&depth("k"), 0).outcome,
        HttpOutcome::Execute
    );
    assert_eq!(
        injector.binance_rest(&place("k"), 0).outcome,
        HttpOutcome::Refuse(HttpError::TooManyRequests {
            retry_after_s: modes::rate_limit_storm::OPEN_STORM_RETRY_AFTER_S
        })
    );
}

#[test]
fn delays_come_before_handling_and_before_the_answer() {
    let injector = injector(
        json!({"modes": {"delay_messages": {"min_ms": 100, "max_ms": 200}}}),
        3,
    );
    let verdict = injector.binance_rest(&place("k"), 0);
    assert_eq!(verdict.outcome, HttpOutcome::Execute);
    assert!(
        (100..=200).contains(&verdict.request_delay_ms),
        "{verdict:?}"
    );
    assert!(
        (100..=200).contains(&verdict.response_delay_ms),
        "{verdict:?}"
    );
    let inbound_only = self::injector(
        json!({"modes": {"delay_messages": {"distribution": "fixed", "min_ms": 250,
                                             "direction": "inbound"}}}),
        3,
    );
    let verdict = inbound_only.binance_rest(&place("k"), 0);
    assert_eq!(
        (verdict.request_delay_ms, verdict.response_delay_ms),
        (250, 0)
    );
    // The original's latency reaches the Binance listener as the delay_messages it maps onto.
    let latency = self::injector(json!({"latency": {"mode": "typical"}}), 3);
    let delays: Vec<u64> = (0..200)
        .map(|i| latency.binance_rest(&depth("k"), i).request_delay_ms)
        .collect();
    assert!(delays.iter().all(|delay| *delay > 0));
    let mean = delays.iter().sum::<u64>() as f64 / delays.len() as f64;
    assert!((100.0..250.0).contains(&mean), "mean {mean}");
}

#[test]
fn decisions_replay_from_the_seed_and_ignore_other_paths() {
    let failures = json!({"modes": {
        "reject_orders": {"probability": 0.3},
        "unknown_outcome": {"probability": 0.3},
        "http_errors": {"probability": 0.1, "direction": "both"},
        "drop_messages": {"probability": 0.1},
        "delay_messages": {"min_ms": 1, "max_ms": 50}
    }});
    let run = |seed, polls: u64| {
        let injector = injector(failures.clone(), seed);
        let mut verdicts = Vec::new();
        for i in 0..300 {
            for _ in 0..polls {
                injector.binance_rest(&depth("k"), i);
            }
            verdicts.push(injector.binance_rest(&place("k"), i));
        }
        let log: Vec<String> = injector
            .log()
            .iter()
            .filter(|entry| entry.message_type.as_deref() == Some("/api/v3/order"))
            .map(|entry| format!("{}/{:?}", entry.decision_key(), entry.detail))
            .collect();
        (verdicts, log)
    };
    let (verdicts, log) = run(7, 0);
    assert_eq!(run(7, 0), (verdicts.clone(), log.clone()), "same seed");
    assert_eq!(
        run(7, 3),
        (verdicts.clone(), log),
        "polling another path changes nothing"
    );
    assert_ne!(run(8, 0).0, verdicts, "another seed, other faults");
    // Every kind of outcome occurred.
    for executes in [true, false] {
        assert!(verdicts.iter().any(|v| v.outcome.executes() == executes));
    }
}

#[test]
fn clients_and_their_paths_are_bounded() {
    let injector = injector(json!({"modes": {}}), 1);
    for i in 0..(HTTP_CLIENTS_MAX as u64 + 10) {
        injector.binance_rest(&depth(&format!("client-{i}")), i);
    }
    let clients = crate::shared::lock(&injector.shared.http).len();
    assert_eq!(clients, HTTP_CLIENTS_MAX);
    for i in 0..(HTTP_OPERATIONS_PER_CLIENT_MAX + 10) {
        let path = format!("/unrouted/{i}");
        injector.binance_rest(&HttpRequestMeta::new("GET", &path, "k"), 1);
    }
    let operations = crate::shared::lock(&injector.shared.http).operations_of("k");
    assert_eq!(operations, HTTP_OPERATIONS_PER_CLIENT_MAX);
}

#[test]
fn the_new_modes_validate_and_round_trip() {
    let failures = json!({
        "modes": {
            "http_errors": {"probability": 0.2, "statuses": [500, 503], "accounts": ["alice"]},
            "rate_limit_storm": {"every_ms": 60000, "duration_ms": 10000},
            "clock_skew": {"offset_ms": -3000, "drift_ms_per_minute": 50},
            "drop_messages": {"probability": 0.1, "hold_ms": 5000}
        },
        "scenario": [{"start_s": 10, "modes": {"clock_skew": {"offset_ms": 4000}}}]
    });
    let config = FaultConfig::from_json(&failures).expect("valid");
    let json = config.to_json();
    assert_eq!(json["modes"]["http_errors"]["direction"], "inbound");
    assert_eq!(json["modes"]["http_errors"]["statuses"], json!([500, 503]));
    assert_eq!(json["modes"]["rate_limit_storm"]["ban_after_requests"], 5);
    assert_eq!(json["modes"]["rate_limit_storm"]["ban_ms"], 120_000);
    assert_eq!(json["modes"]["clock_skew"]["offset_ms"], -3000);
    assert_eq!(json["modes"]["drop_messages"]["hold_ms"], 5000);
    assert_eq!(FaultConfig::from_json(&json).expect("parses back"), config);
    for (failures, path) in [
        (
            json!({"modes": {"http_errors": {"statuses": [200]}}}),
            "failures.modes.http_errors.statuses[0]",
        ),
        (
            json!({"modes": {"http_errors": {"probabilty": 0.1}}}),
            "failures.modes.http_errors.probabilty",
        ),
        (
            json!({"modes": {"rate_limit_storm": {"every_ms": 100}}}),
            "failures.modes.rate_limit_storm.every_ms",
        ),
        (
            json!({"modes": {"rate_limit_storm": {"ban_after_requests": -1}}}),
            "failures.modes.rate_limit_storm.ban_after_requests",
        ),
        (
            json!({"modes": {"clock_skew": {"drift_ms_per_minute": 5}}}),
            "failures.modes.clock_skew.offset_ms",
        ),
        (
            json!({"modes": {"clock_skew": {"offset_ms": "5s"}}}),
            "failures.modes.clock_skew.offset_ms",
        ),
        (
            json!({"modes": {"drop_messages": {"hold_ms": -5}}}),
            "failures.modes.drop_messages.hold_ms",
        ),
        (
            json!({"modes": {"reject_orders": {"message_types": ["order.plaec"]}}}),
            "failures.modes.reject_orders.message_types[0]",
        ),
        (
            json!({"scenario": [{"start_s": 1, "modes": {"clock_skew": {"offset_ms": 1e12}}}]}),
            "failures.scenario[0].modes.clock_skew.offset_ms",
        ),
        (
            json!({"modes": {"rate_limt_storm": {}}}),
            "failures.modes.rate_limt_storm",
        ),
    ] {
        let error = FaultConfig::from_json(&failures).expect_err("refused");
        assert_eq!(error.path, path, "{failures}");
    }
    let error = FaultConfig::from_json(&json!({"modes": {"rate_limt_storm": {}}})).unwrap_err();
    assert!(
        error.message.contains("did you mean `rate_limit_storm`"),
        "{}",
        error.message
    );
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
