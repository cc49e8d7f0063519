//! Whole-crate tests: sessions driven through the public API, the way the server drives it.

use serde_json::{json, Value};

use crate::testkit::assert_rate;
use crate::*;

/// The most virtual time a session may take to drain.
const DRAIN_LIMIT_MS: u64 = 100_000_000;

fn injector(failures: Value, seed: u64) -> FaultInjector {
    match FaultConfig::from_json(&failures) {
        Ok(config) => FaultInjector::new(config, seed),
        Err(error) => panic!("{error}"),
    }
}

fn frame(message_type: &str, seq: u64) -> String {
    format!(r#"{{"type":"{message_type}","seq":{seq},"price":"100.5"}}"#)
}

/// One frame as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    seq: u64,
    copy: u64,
    time_ms: u64,
    corrupted: bool,
}

/// Pushes `n` outbound frames `step_ms` apart (types from `type_of`), releasing what is due after
/// every push, then drains the queue. Returns what the client saw and each push's outcome.
fn run_outbound(
    faults: &mut ConnectionFaults<String>,
    n: u64,
    step_ms: u64,
    type_of: impl Fn(u64) -> &'static str,
) -> (Vec<Seen>, Vec<PushOutcome>) {
    let mut seen = Vec::new();
    let mut outcomes = Vec::new();
    let drain = |faults: &mut ConnectionFaults<String>, now_ms: u64, seen: &mut Vec<Seen>| {
        while let Some(released) = faults.pop_outbound(now_ms) {
            seen.push(Seen {
                seq: released.seq,
                copy: released.copy,
                time_ms: now_ms,
                corrupted: matches!(released.payload, Payload::Corrupted(_)),
            });
        }
    };
    for seq in 1..=n {
        let now_ms = seq * step_ms;
        // Release everything due before this push, at its own due time.
        while let Some(due_ms) = faults.next_deadline(now_ms).filter(|due| *due < now_ms) {
            drain(faults, due_ms, &mut seen);
        }
        let message_type = type_of(seq);
        let meta = FrameMeta {
            seq,
            message_type: Some(message_type),
            channel: None,
        };
        outcomes.push(faults.push_outbound(frame(message_type, seq), meta, now_ms));
        drain(faults, now_ms, &mut seen);
    }
    let mut now_ms = n * step_ms;
    while let Some(due_ms) = faults.next_deadline(now_ms) {
        if due_ms > DRAIN_LIMIT_MS {
            break;
        }
        now_ms = now_ms.max(due_ms);
        drain(faults, now_ms, &mut seen);
        if faults.next_deadline(now_ms) == Some(due_ms) && due_ms <= now_ms {
            break;
        }
    }
    (seen, outcomes)
}

fn fills(_: u64) -> &'static str {
    "ORDER_FILL"
}

fn all_message_modes() -> Value {
    json!({
        "enabled": true,
        "modes": {
            "drop_messages": {"probability": 0.1},
            "delay_messages": {"min_ms": 0, "max_ms": 300},
            "duplicate_messages": {"probability": 0.1, "max_duplicates": 2},
            "reorder_messages": {"probability": 0.1, "window_size": 4},
            "corrupt_messages": {"probability": 0.05},
            "throttle_messages": {"max_messages_per_second": 200}
        }
    })
}

fn session(failures: Value, seed: u64) -> (Vec<Seen>, Vec<FaultLogEntry>) {
    let injector = injector(failures, seed);
    let mut faults = injector.connection::<String>(1, "alice", Some("alice"), 0);
    let (seen, _) = run_outbound(&mut faults, 3000, 2, fills);
    (seen, injector.log())
}

#[test]
fn same_seed_gives_identical_decisions_and_logs() {
    let (seen_a, log_a) = session(all_message_modes(), 42);
    let (seen_b, log_b) = session(all_message_modes(), 42);
    assert_eq!(seen_a, seen_b);
    assert_eq!(log_a, log_b);
    assert!(
        log_a.len() > 500,
        "the faults acted: {} entries",
        log_a.len()
    );
    let (seen_c, log_c) = session(all_message_modes(), 43);
    assert_ne!(seen_a, seen_c);
    assert_ne!(log_a, log_c);
}

#[test]
fn the_seed_in_the_config_wins_over_the_default() {
    let mut with_seed = all_message_modes();
    with_seed["seed"] = json!(42);
    let (seen_a, _) = session(with_seed, 7);
    let (seen_b, _) = session(all_message_modes(), 42);
    assert_eq!(seen_a, seen_b);
}

#[test]
fn adding_a_mode_does_not_change_another_modes_decisions() {
    let dropped = |log: &[FaultLogEntry]| -> Vec<u64> {
        log.iter()
            .filter(|entry| entry.mode == Mode::DropMessages)
            .filter_map(|entry| entry.seq)
            .collect()
    };
    let (_, drop_only) = session(json!({"modes": {"drop_messages": {"probability": 0.2}}}), 5);
    let (_, everything) = session(
        json!({"modes": {
            "drop_messages": {"probability": 0.2},
            "delay_messages": {"min_ms": 0, "max_ms": 100},
            "duplicate_messages": {"probability": 0.5},
            "corrupt_messages": {"probability": 0.5},
            "reorder_messages": {"probability": 0.2}
        }}),
        5,
    );
    assert_eq!(dropped(&drop_only), dropped(&everything));
}

#[test]
fn delay_without_reorder_never_overtakes_and_keeps_each_delay() {
    let injector = injector(
        json!({"modes": {"delay_messages": {"min_ms": 0, "max_ms": 400}, "duplicate_messages": {"probability": 0.2}}}),
        3,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let (seen, _) = run_outbound(&mut faults, 2000, 3, fills);
    let originals: Vec<&Seen> = seen.iter().filter(|frame| frame.copy == 0).collect();
    assert_eq!(originals.len(), 2000);
    assert!(originals.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    // Each frame leaves at max(its push + its own delay, the previous frame's release).
    let delays: std::collections::HashMap<u64, u64> = injector
        .log()
        .iter()
        .filter(|entry| entry.mode == Mode::DelayMessages)
        .filter_map(|entry| {
            Some((
                entry.seq?,
                entry
                    .detail
                    .as_deref()?
                    .strip_prefix("delay_ms=")?
                    .parse()
                    .ok()?,
            ))
        })
        .collect();
    let mut previous_ms = 0;
    for frame in &originals {
        let own_ms = frame.seq * 3 + delays.get(&frame.seq).copied().unwrap_or(0);
        assert_eq!(frame.time_ms, own_ms.max(previous_ms), "seq {}", frame.seq);
        previous_ms = frame.time_ms;
    }
    // Duplicates are extra frames right behind their original.
    let copies = seen.iter().filter(|frame| frame.copy > 0).count() as u64;
    assert_rate(copies, 2000, 0.2, 1.0);
}

#[test]
fn reorder_never_moves_a_frame_beyond_the_window() {
    let injector = injector(
        json!({"modes": {"reorder_messages": {"probability": 0.3, "window_size": 4, "max_hold_ms": 60000}}}),
        8,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let (seen, _) = run_outbound(&mut faults, 5000, 1, fills);
    assert_eq!(seen.len(), 5000);
    let mut moved = 0;
    for (position, frame) in seen.iter().enumerate() {
        let distance = (position as i64 + 1 - frame.seq as i64).abs();
        assert!(
            distance <= 3,
            "seq {} left at position {}",
            frame.seq,
            position + 1
        );
        if distance > 0 {
            moved += 1;
        }
    }
    assert!(moved > 1000, "reordering happened: {moved}");
    let reordered = injector.statistics().totals.get(Mode::ReorderMessages);
    assert_rate(reordered, 5000, 0.3, 1.0);
}

#[test]
fn a_held_frame_goes_after_max_hold_ms_when_traffic_stops() {
    let injector = injector(
        json!({"modes": {"reorder_messages": {"probability": 1.0, "window_size": 3, "max_hold_ms": 50}}}),
        1,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let meta = FrameMeta {
        seq: 1,
        message_type: Some("ORDER_FILL"),
        channel: None,
    };
    assert_eq!(
        faults.push_outbound(frame("ORDER_FILL", 1), meta, 100),
        PushOutcome::Queued
    );
    assert_eq!(faults.pop_outbound(149), None);
    assert_eq!(faults.next_deadline(149), Some(150));
    assert_eq!(
        faults.pop_outbound(150).map(|released| released.seq),
        Some(1)
    );
}

#[test]
fn filters_touch_only_what_they_name_end_to_end() {
    let injector = injector(
        json!({"modes": {"drop_messages": {"probability": 0.4, "message_types": ["ORDER_FILL"]}}}),
        2,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let type_of = |seq: u64| if seq % 2 == 0 { "ORDER_FILL" } else { "TRADE" };
    let (seen, _) = run_outbound(&mut faults, 20_000, 1, type_of);
    let trades = seen.iter().filter(|frame| frame.seq % 2 == 1).count();
    assert_eq!(trades, 10_000);
    let fills_lost = 10_000 - seen.iter().filter(|frame| frame.seq % 2 == 0).count() as u64;
    assert_rate(fills_lost, 10_000, 0.4, 1.0);
    assert!(injector
        .log()
        .iter()
        .all(|entry| entry.message_type.as_deref() == Some("ORDER_FILL")));
}

#[test]
fn windows_start_and_stop() {
    let injector = injector(
        json!({"modes": {"drop_messages": {"probability": 1.0, "start_s": 1, "end_s": 2}}}),
        2,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let (_, outcomes) = run_outbound(&mut faults, 3000, 1, fills);
    for (index, outcome) in outcomes.iter().enumerate() {
        let now_ms = index as u64 + 1;
        let expected = if (1000..2000).contains(&now_ms) {
            PushOutcome::Dropped
        } else {
            PushOutcome::Queued
        };
        assert_eq!(*outcome, expected, "at {now_ms} ms");
    }
}

#[test]
fn scenario_steps_apply_at_their_times_to_their_targets() {
    let failures = json!({
        "modes": {"delay_messages": {"enabled": false}},
        "scenario": [{
            "name": "alice loses fills",
            "start_s": 10, "end_s": 20,
            "modes": {"drop_messages": {"probability": 0.5, "message_types": ["ORDER_FILL"], "accounts": ["alice"]}}
        }]
    });
    let injector = injector(failures, 4);
    let mut alice = injector.connection::<String>(1, "alice", Some("alice"), 0);
    let mut bob = injector.connection::<String>(2, "bob", Some("bob"), 0);
    let (_, alice_outcomes) = run_outbound(&mut alice, 30_000, 1, fills);
    let (_, bob_outcomes) = run_outbound(&mut bob, 30_000, 1, fills);
    assert!(bob_outcomes
        .iter()
        .all(|outcome| *outcome == PushOutcome::Queued));
    let dropped_at: Vec<u64> = alice_outcomes
        .iter()
        .enumerate()
        .filter(|(_, outcome)| **outcome == PushOutcome::Dropped)
        .map(|(index, _)| index as u64 + 1)
        .collect();
    assert!(dropped_at
        .iter()
        .all(|now_ms| (10_000..20_000).contains(now_ms)));
    assert_rate(dropped_at.len() as u64, 10_000, 0.5, 1.0);
}

#[test]
fn throttle_enforces_the_rate_through_the_scheduler() {
    let injector = injector(
        json!({"modes": {"throttle_messages": {"max_messages_per_second": 100, "burst": 1}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let (seen, _) = run_outbound(&mut faults, 1000, 1, fills);
    assert_eq!(seen.len(), 1000);
    assert!(seen
        .windows(2)
        .all(|pair| pair[1].time_ms >= pair[0].time_ms + 10));
    assert!(seen.windows(2).all(|pair| pair[0].seq < pair[1].seq));
}

#[test]
fn throttle_reject_answers_rate_limited_inbound() {
    let injector = injector(
        json!({"modes": {"throttle_messages": {"max_messages_per_second": 5, "burst": 5, "action": "reject", "direction": "inbound"}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let outcomes: Vec<PushOutcome> = (1..=10)
        .map(|seq| {
            let meta = FrameMeta {
                seq,
                message_type: Some("PLACE_ORDER"),
                channel: None,
            };
            faults.push_inbound(frame("PLACE_ORDER", seq), meta, 0)
        })
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|outcome| **outcome == PushOutcome::Queued)
            .count(),
        5
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|outcome| **outcome == PushOutcome::RateLimited)
            .count(),
        5
    );
    assert_eq!(faults.pop_inbound(0).map(|released| released.seq), Some(1));
    assert_eq!(injector.statistics().totals.get(Mode::ThrottleMessages), 5);
}

#[test]
fn corrupted_frames_are_delivered_as_text() {
    let injector = injector(
        json!({"modes": {"corrupt_messages": {"probability": 1.0, "method": "json_field", "corruption_level": 0.5}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let meta = FrameMeta {
        seq: 1,
        message_type: Some("ORDER_FILL"),
        channel: None,
    };
    faults.push_outbound(frame("ORDER_FILL", 1), meta, 0);
    let released = faults.pop_outbound(0).expect("released");
    let Payload::Corrupted(text) = &released.payload else {
        panic!("not corrupted");
    };
    assert!(serde_json::from_str::<Value>(text).is_ok());
    assert_ne!(text, &frame("ORDER_FILL", 1));
}

#[test]
fn connection_events_fire_on_schedule() {
    let injector = injector(
        json!({"modes": {
            "disconnect": {"at_s": [5], "clean": false},
            "silent_connection": {"at_s": [1], "duration_ms": 500, "direction": "outbound"},
            "slow_consumer": {"at_s": [2], "duration_ms": 700},
            "phantom_fills": {"at_s": [3, 4], "accounts": ["alice"]}
        }}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", Some("alice"), 0);
    assert_eq!(faults.next_deadline(0), Some(1000));
    assert_eq!(faults.next_connection_event(999), None);
    assert_eq!(
        faults.next_connection_event(1000),
        Some(ConnectionEvent::Silence {
            direction: DirectionFilter::Outbound,
            until_ms: 1500
        })
    );
    let meta = |seq| FrameMeta {
        seq,
        message_type: Some("TRADE"),
        channel: Some("TRADES"),
    };
    assert_eq!(
        faults.push_outbound(frame("TRADE", 1), meta(1), 1200),
        PushOutcome::Dropped
    );
    assert_eq!(
        faults.push_inbound(frame("PING", 1), meta(1), 1200),
        PushOutcome::Queued
    );
    assert_eq!(
        faults.push_outbound(frame("TRADE", 2), meta(2), 1500),
        PushOutcome::Queued
    );
    assert_eq!(
        faults.next_connection_event(2000),
        Some(ConnectionEvent::PauseReading { until_ms: 2700 })
    );
    assert_eq!(
        faults.next_connection_event(4500),
        Some(ConnectionEvent::PhantomFill)
    );
    assert_eq!(
        faults.next_connection_event(4500),
        Some(ConnectionEvent::PhantomFill)
    );
    assert_eq!(faults.next_connection_event(4500), None);
    assert_eq!(
        faults.next_connection_event(5000),
        Some(ConnectionEvent::Disconnect {
            clean: false,
            close_code: 1001
        })
    );
    let stats = injector.statistics();
    assert_eq!(stats.totals.get(Mode::PhantomFills), 2);
    assert_eq!(stats.by_direction["connection"].get(Mode::Disconnect), 1);

    // bob is not named by phantom_fills.
    let mut bob = injector.connection::<String>(2, "bob", Some("bob"), 0);
    let events: Vec<ConnectionEvent> =
        std::iter::from_fn(|| bob.next_connection_event(4500)).collect();
    assert!(!events.contains(&ConnectionEvent::PhantomFill));
}

#[test]
fn disconnects_follow_the_mean_interval() {
    let injector = injector(json!({"modes": {"disconnect": {"mean_interval_s": 10}}}), 4);
    let mut total = 0u64;
    let connections = 2000;
    for conn_id in 0..connections {
        let mut faults = injector.connection::<String>(conn_id, &anonymous_key(conn_id), None, 0);
        let deadline = faults.next_deadline(0).expect("a disconnect is scheduled");
        assert_eq!(faults.next_connection_event(deadline - 1), None);
        assert!(matches!(
            faults.next_connection_event(deadline),
            Some(ConnectionEvent::Disconnect { clean: true, .. })
        ));
        total += deadline;
    }
    let mean_s = total as f64 / connections as f64 / 1000.0;
    // Exponential with mean 10 s: the standard error over 2000 draws is 0.22 s.
    assert!((mean_s - 10.0).abs() < 1.0, "mean {mean_s}");
}

fn event<'a>(message_type: &'a str) -> EventMeta<'a> {
    EventMeta {
        message_type,
        channel: None,
    }
}

#[test]
fn cancel_acks_are_lost_or_late_and_overtaken() {
    let injector = injector(
        json!({"modes": {"lost_cancel_ack": {"probability": 0.3}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let lost = (0..10_000)
        .filter(|_| {
            faults.on_event("cancel".into(), event("ORDER_CANCEL"), 0) == EventVerdict::Suppressed
        })
        .count();
    assert_rate(lost as u64, 10_000, 0.3, 1.0);
    assert_eq!(
        faults.on_event("fill".into(), event("ORDER_FILL"), 0),
        EventVerdict::Deliver("fill".into())
    );

    let injector = injector_late();
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    assert_eq!(
        faults.on_event("cancel".into(), event("ORDER_CANCEL"), 100),
        EventVerdict::Withheld
    );
    assert_eq!(
        faults.on_event("fill".into(), event("ORDER_FILL"), 150),
        EventVerdict::Deliver("fill".into())
    );
    assert_eq!(faults.next_deadline(150), Some(400));
    assert_eq!(faults.pop_due_event(399), None);
    let held = faults.pop_due_event(400).expect("released");
    assert_eq!(
        (
            held.payload.as_str(),
            held.message_type.as_str(),
            held.repeat
        ),
        ("cancel", "ORDER_CANCEL", false)
    );
}

fn injector_late() -> FaultInjector {
    injector(
        json!({"modes": {"late_cancel_ack": {"min_ms": 300, "max_ms": 300}}}),
        4,
    )
}

#[test]
fn unknown_outcome_and_duplicate_fills() {
    let injector = injector(
        json!({"modes": {"unknown_outcome": {"probability": 0.25}, "duplicate_fills": {"probability": 1.0, "min_ms": 50, "max_ms": 50}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let replaced = (0..8000)
        .filter(|_| {
            matches!(
                faults.on_event("ack".into(), event("ORDER_ACK"), 0),
                EventVerdict::UnknownOutcome(_)
            )
        })
        .count();
    assert_rate(replaced as u64, 8000, 0.25, 1.0);
    assert_eq!(
        faults.on_event("fill-7".into(), event("ORDER_FILL"), 10),
        EventVerdict::Deliver("fill-7".into())
    );
    let repeat = faults.pop_due_event(60).expect("repeat");
    assert_eq!((repeat.payload.as_str(), repeat.repeat), ("fill-7", true));
}

#[test]
fn requests_are_rejected_by_reject_orders_and_outage() {
    let injector = injector(
        json!({"modes": {"reject_orders": {"probability": 0.2}, "outage": {"start_s": 100, "end_s": 110}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let busy = (0..10_000)
        .filter(|_| {
            faults.on_request("PLACE_ORDER", 0) == RequestVerdict::Reject(RejectCode::ExchangeBusy)
        })
        .count();
    assert_rate(busy as u64, 10_000, 0.2, 1.0);
    assert!((0..1000).all(|_| faults.on_request("CANCEL_ORDER", 0) == RequestVerdict::Pass));
    assert_eq!(
        faults.on_request("PING", 105_000),
        RequestVerdict::Reject(RejectCode::ExchangeUnavailable)
    );
    assert_eq!(
        RejectCode::ExchangeUnavailable.code(),
        "EXCHANGE_UNAVAILABLE"
    );
    assert!(injector.accept_connection(99_999));
    assert!(!injector.accept_connection(100_000));
    assert!(injector.accept_connection(110_000));
}

#[test]
fn stale_orderbook_withholds_then_delivers_or_skips() {
    let book = || EventMeta {
        message_type: "ORDERBOOK_UPDATE",
        channel: Some("ORDERBOOK_L2"),
    };
    let injector = injector(
        json!({"modes": {"stale_orderbook": {"probability": 1.0, "duration_ms": 1000}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    for (index, now_ms) in [0, 300, 600].into_iter().enumerate() {
        assert_eq!(
            faults.on_event(format!("delta-{index}"), book(), now_ms),
            EventVerdict::Withheld
        );
    }
    assert_eq!(
        faults.on_event("ack".into(), event("ORDER_ACK"), 700),
        EventVerdict::Deliver("ack".into())
    );
    let released: Vec<String> = std::iter::from_fn(|| faults.pop_due_event(1000))
        .map(|held| held.payload)
        .collect();
    assert_eq!(released, vec!["delta-0", "delta-1", "delta-2"]);
    assert_eq!(injector.statistics().totals.get(Mode::StaleOrderbook), 1);

    let injector = injector_skip();
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    assert_eq!(
        faults.on_event("delta".into(), book(), 0),
        EventVerdict::Suppressed
    );
    assert_eq!(
        faults.on_event("delta".into(), book(), 999),
        EventVerdict::Suppressed
    );
    assert_eq!(faults.pop_due_event(10_000), None);
}

#[test]
fn fill_cancel_and_book_faults_fire_at_their_probability() {
    let injector = injector(
        json!({"modes": {
            "duplicate_fills": {"probability": 0.2, "min_ms": 1, "max_ms": 1},
            "late_cancel_ack": {"probability": 0.2, "min_ms": 1, "max_ms": 1},
            "stale_orderbook": {"probability": 0.2, "duration_ms": 1}
        }}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let book = EventMeta {
        message_type: "ORDERBOOK_UPDATE",
        channel: Some("ORDERBOOK_L2"),
    };
    let (mut repeated, mut late, mut stale) = (0u64, 0u64, 0u64);
    const EVENTS: u64 = 10_000;
    for i in 0..EVENTS {
        // Each event far from the last, so every window and delay has ended.
        let now_ms = i * 10;
        faults.on_event("fill".into(), event("ORDER_FILL"), now_ms);
        if faults.on_event("cancel".into(), event("ORDER_CANCEL"), now_ms)
            != EventVerdict::Deliver("cancel".into())
        {
            late += 1;
        }
        if faults.on_event("delta".into(), book, now_ms) == EventVerdict::Withheld {
            stale += 1;
        }
        while let Some(held) = faults.pop_due_event(now_ms + 5) {
            if held.payload == "fill" && held.repeat {
                repeated += 1;
            }
        }
    }
    assert_rate(repeated, EVENTS, 0.2, 1.0);
    assert_rate(late, EVENTS, 0.2, 1.0);
    assert_rate(stale, EVENTS, 0.2, 1.0);
}

fn injector_skip() -> FaultInjector {
    injector(
        json!({"modes": {"stale_orderbook": {"probability": 1.0, "duration_ms": 1000, "resume": "skip"}}}),
        4,
    )
}

#[test]
fn sequence_gap_after_a_snapshot_skips_the_next_deltas() {
    let injector = injector(
        json!({"modes": {"sequence_gap": {"probability": 1.0, "gap_size": 2}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    assert_eq!(
        faults.on_event("snap".into(), event("ORDERBOOK_SNAPSHOT"), 0),
        EventVerdict::Deliver("snap".into())
    );
    assert_eq!(
        faults.on_event("d1".into(), event("ORDERBOOK_UPDATE"), 0),
        EventVerdict::Suppressed
    );
    assert_eq!(
        faults.on_event("d2".into(), event("ORDERBOOK_UPDATE"), 0),
        EventVerdict::Suppressed
    );
    assert_eq!(
        faults.on_event("trade".into(), event("TRADE"), 0),
        EventVerdict::Deliver("trade".into())
    );

    let injector = injector_gap_rate();
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let skipped = (0..20_000)
        .filter(|_| {
            faults.on_event("d".into(), event("ORDERBOOK_UPDATE"), 0) == EventVerdict::Suppressed
        })
        .count();
    assert_rate(skipped as u64, 20_000, 0.05, 1.0);
}

#[test]
fn an_announced_gap_says_so_on_its_last_skipped_update() {
    let injector = injector(
        json!({"modes": {"sequence_gap": {"probability": 1.0, "gap_size": 2, "announce": true}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let verdicts: Vec<_> = ["d1", "d2", "d3", "d4"]
        .into_iter()
        .map(|d| faults.on_event(d.into(), event("ORDERBOOK_UPDATE"), 0))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            EventVerdict::Suppressed,
            EventVerdict::GapEnded,
            EventVerdict::Suppressed,
            EventVerdict::GapEnded
        ]
    );
}

fn injector_gap_rate() -> FaultInjector {
    injector(json!({"modes": {"sequence_gap": {"probability": 0.05}}}), 4)
}

#[test]
fn config_changes_reach_existing_connections() {
    let injector = injector(json!({"modes": {}}), 4);
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let meta = |seq| FrameMeta {
        seq,
        message_type: Some("ORDER_FILL"),
        channel: None,
    };
    assert_eq!(
        faults.push_outbound(frame("ORDER_FILL", 1), meta(1), 0),
        PushOutcome::Queued
    );
    injector
        .patch_mode("drop_messages", &json!({"probability": 1.0}))
        .expect("valid patch");
    assert_eq!(
        faults.push_outbound(frame("ORDER_FILL", 2), meta(2), 1),
        PushOutcome::Dropped
    );
    injector
        .patch_mode("drop_messages", &json!({"enabled": false}))
        .expect("valid patch");
    assert_eq!(
        faults.push_outbound(frame("ORDER_FILL", 3), meta(3), 2),
        PushOutcome::Queued
    );
    injector
        .replace_json(&json!({"enabled": false, "modes": {"drop_messages": {"probability": 1.0}}}))
        .expect("valid");
    assert!(!injector.is_enabled());
    assert_eq!(
        faults.push_outbound(frame("ORDER_FILL", 4), meta(4), 3),
        PushOutcome::Queued
    );
}

#[test]
fn invalid_changes_are_refused_whole() {
    let injector = injector(json!({"modes": {"drop_messages": {"probability": 0.1}}}), 4);
    let before = injector.config();
    let error = injector
        .patch_mode("drop_messages", &json!({"probability": 2}))
        .unwrap_err();
    assert_eq!(error.path, "failures.modes.drop_messages.probability");
    assert_eq!(
        error.to_string(),
        "failures.modes.drop_messages.probability: must be between 0 and 1"
    );
    let error = injector
        .patch_mode("delay_messages", &json!({"min_ms": 10, "max_ms": 5}))
        .unwrap_err();
    assert_eq!(error.path, "failures.modes.delay_messages.max_ms");
    let error = injector.patch_mode("teleport", &json!({})).unwrap_err();
    assert_eq!(error.path, "failures.modes.teleport");
    let error = injector
        .replace_json(&json!({"modes": {"drop_messages": {"probability": 1.0}, "delay_messages": {"distribution": "cauchy"}}}))
        .unwrap_err();
    assert_eq!(error.path, "failures.modes.delay_messages.distribution");
    assert_eq!(*injector.config(), *before);
    injector
        .patch_mode("drop_messages", &Value::Null)
        .expect("removing a mode is valid");
    assert!(injector.config().modes().drop_messages.is_none());
}

#[test]
fn one_shot_drops_the_next_two_fills_for_alice() {
    let injector = injector(json!({"modes": {}}), 4);
    let shot = OneShot::from_json(&json!({"action": "drop", "count": 2, "message_types": ["ORDER_FILL"], "accounts": ["alice"]})).expect("valid");
    injector.arm_one_shot(shot).expect("armed");
    let mut bob = injector.connection::<String>(1, "bob", Some("bob"), 0);
    let mut alice = injector.connection::<String>(2, "alice", Some("alice"), 0);
    let (_, bob_outcomes) = run_outbound(&mut bob, 10, 1, fills);
    assert!(bob_outcomes
        .iter()
        .all(|outcome| *outcome == PushOutcome::Queued));
    let type_of = |seq: u64| if seq == 1 { "ORDER_ACK" } else { "ORDER_FILL" };
    let (_, alice_outcomes) = run_outbound(&mut alice, 10, 1, type_of);
    let dropped: Vec<usize> = alice_outcomes
        .iter()
        .enumerate()
        .filter(|(_, outcome)| **outcome == PushOutcome::Dropped)
        .map(|(index, _)| index + 1)
        .collect();
    assert_eq!(dropped, vec![2, 3]);
    assert_eq!(injector.statistics().totals.get(Mode::OneShot), 2);
}

#[test]
fn faults_off_touch_nothing() {
    let mut failures = all_message_modes();
    failures["enabled"] = json!(false);
    let injector = injector(failures, 4);
    assert!(!injector.is_enabled());
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let (seen, _) = run_outbound(&mut faults, 500, 1, fills);
    assert_eq!(seen.len(), 500);
    assert!(seen
        .iter()
        .enumerate()
        .all(|(index, frame)| frame.seq == index as u64 + 1
            && frame.time_ms == frame.seq
            && !frame.corrupted));
    assert!(injector.log().is_empty());
}

#[test]
fn statistics_and_reset() {
    let injector = injector(json!({"modes": {"drop_messages": {"probability": 1.0}}}), 4);
    let mut faults = injector.connection::<String>(9, "alice", None, 0);
    run_outbound(&mut faults, 3, 1, fills);
    let json = serde_json::to_value(injector.statistics()).expect("serialisable");
    assert_eq!(json["dropped_count"], 3);
    assert_eq!(json["by_direction"]["outbound"]["dropped_count"], 3);
    assert_eq!(json["by_connection"]["9"]["dropped_count"], 3);
    for name in [
        "delayed_count",
        "duplicated_count",
        "reordered_count",
        "corrupted_count",
        "throttled_count",
    ] {
        assert_eq!(json[name], 0, "{name}");
    }
    assert_eq!(
        injector.statistics().by_direction["outbound"].get(Mode::DropMessages),
        3
    );
    let entry = injector.log().first().cloned().expect("logged");
    assert_eq!(
        (
            entry.conn_id,
            entry.connection_key.as_str(),
            entry.mode,
            entry.seq
        ),
        (9, "alice", Mode::DropMessages, Some(1))
    );
    injector.reset();
    assert_eq!(injector.statistics().totals.total(), 0);
    assert!(injector.log().is_empty());
}

#[test]
fn the_original_format_parses_and_round_trips() {
    let file = json!({"failures": {
        "enabled": true,
        "modes": {
            "drop_messages": {"enabled": true, "probability": 0.1},
            "delay_messages": {"enabled": true, "min_ms": 100, "max_ms": 500},
            "duplicate_messages": {"enabled": false, "probability": 0.05, "max_duplicates": 3},
            "reorder_messages": {"enabled": false, "window_size": 5},
            "corrupt_messages": {"enabled": false, "probability": 0.01, "corruption_level": 0.1},
            "throttle_messages": {"enabled": false, "max_messages_per_second": 10}
        }
    }});
    let config = FaultConfig::from_file_json(&file).expect("the original format parses");
    assert!(config.enabled());
    assert_eq!(
        config
            .modes()
            .drop_messages
            .as_ref()
            .map(|mode| mode.params.probability),
        Some(0.1)
    );
    assert_eq!(
        config
            .modes()
            .delay_messages
            .as_ref()
            .map(|mode| (mode.params.min_ms, mode.params.max_ms)),
        Some((100, 500))
    );
    assert!(!config
        .modes()
        .reorder_messages
        .as_ref()
        .is_some_and(|mode| mode.enabled));
    let again = FaultConfig::from_json(&config.to_json()).expect("to_json parses back");
    assert_eq!(again, config);
    assert!(!FaultConfig::from_file_json(&json!({"server": {}}))
        .expect("no failures")
        .enabled());
}

#[test]
fn every_invalid_value_is_rejected_with_its_path() {
    let cases = [
        (json!({"enabled": "yes"}), "failures.enabled"),
        (json!({"seed": -1}), "failures.seed"),
        (json!({"surprise": 1}), "failures.surprise"),
        (json!({"modes": []}), "failures.modes"),
        (
            json!({"modes": {"drop_messages": {"probability": 1.5}}}),
            "failures.modes.drop_messages.probability",
        ),
        (
            json!({"modes": {"drop_messages": {"probability": "high"}}}),
            "failures.modes.drop_messages.probability",
        ),
        (
            json!({"modes": {"drop_messages": {"probability": 0.9, "mean_burst_length": 2}}}),
            "failures.modes.drop_messages.probability",
        ),
        (
            json!({"modes": {"drop_messages": {"mean_burst_length": 0.5}}}),
            "failures.modes.drop_messages.mean_burst_length",
        ),
        (
            json!({"modes": {"drop_messages": {"probabilty": 0.5}}}),
            "failures.modes.drop_messages.probabilty",
        ),
        (
            json!({"modes": {"drop_messages": {"direction": "up"}}}),
            "failures.modes.drop_messages.direction",
        ),
        (
            json!({"modes": {"drop_messages": {"message_types": "ORDER_FILL"}}}),
            "failures.modes.drop_messages.message_types",
        ),
        (
            json!({"modes": {"drop_messages": {"start_s": -1}}}),
            "failures.modes.drop_messages.start_s",
        ),
        (
            json!({"modes": {"phantom_fills": {"message_types": ["ORDER_FILL"]}}}),
            "failures.modes.phantom_fills.message_types",
        ),
        (
            json!({"modes": {"disconnect": {"channels": ["TRADES"]}}}),
            "failures.modes.disconnect.channels",
        ),
        (
            json!({"modes": {"disconnect": {"direction": "inbound"}}}),
            "failures.modes.disconnect.direction",
        ),
        (
            json!({"modes": {"slow_consumer": {"message_types": ["PING"]}}}),
            "failures.modes.slow_consumer.message_types",
        ),
        (
            json!({"modes": {"silent_connection": {"channels": ["TICKER"]}}}),
            "failures.modes.silent_connection.channels",
        ),
        (
            json!({"modes": {"drop_messages": 0.1}}),
            "failures.modes.drop_messages",
        ),
        (
            json!({"modes": {"delay_messages": {"min_ms": 1.5}}}),
            "failures.modes.delay_messages.min_ms",
        ),
        (
            json!({"modes": {"delay_messages": {"min_ms": 600, "max_ms": 500}}}),
            "failures.modes.delay_messages.max_ms",
        ),
        (
            json!({"modes": {"delay_messages": {"sigma": 1}}}),
            "failures.modes.delay_messages.sigma",
        ),
        (
            json!({"modes": {"delay_messages": {"distribution": "lognormal", "median_ms": 0}}}),
            "failures.modes.delay_messages.median_ms",
        ),
        (
            json!({"modes": {"duplicate_messages": {"max_duplicates": 0}}}),
            "failures.modes.duplicate_messages.max_duplicates",
        ),
        (
            json!({"modes": {"reorder_messages": {"window_size": 1}}}),
            "failures.modes.reorder_messages.window_size",
        ),
        (
            json!({"modes": {"corrupt_messages": {"corruption_level": 0}}}),
            "failures.modes.corrupt_messages.corruption_level",
        ),
        (
            json!({"modes": {"corrupt_messages": {"method": "rot13"}}}),
            "failures.modes.corrupt_messages.method",
        ),
        (
            json!({"modes": {"throttle_messages": {"max_messages_per_second": 0}}}),
            "failures.modes.throttle_messages.max_messages_per_second",
        ),
        (
            json!({"modes": {"throttle_messages": {"action": "queue"}}}),
            "failures.modes.throttle_messages.action",
        ),
        (
            json!({"modes": {"disconnect": {"mean_interval_s": 0}}}),
            "failures.modes.disconnect.mean_interval_s",
        ),
        (
            json!({"modes": {"disconnect": {"mean_interval_s": 5, "at_s": [1]}}}),
            "failures.modes.disconnect.at_s",
        ),
        (
            json!({"modes": {"disconnect": {"close_code": 1006}}}),
            "failures.modes.disconnect.close_code",
        ),
        (
            json!({"modes": {"disconnect": {"clean": 1}}}),
            "failures.modes.disconnect.clean",
        ),
        (
            json!({"modes": {"silent_connection": {"at_s": [1, "x"]}}}),
            "failures.modes.silent_connection.at_s[1]",
        ),
        (
            json!({"modes": {"slow_consumer": {"duration_ms": 0}}}),
            "failures.modes.slow_consumer.duration_ms",
        ),
        (
            json!({"modes": {"phantom_fills": {"probability": 0.5}}}),
            "failures.modes.phantom_fills.probability",
        ),
        (
            json!({"modes": {"duplicate_fills": {"min_ms": 9, "max_ms": 1}}}),
            "failures.modes.duplicate_fills.max_ms",
        ),
        (
            json!({"modes": {"late_cancel_ack": {"probability": -0.1}}}),
            "failures.modes.late_cancel_ack.probability",
        ),
        (
            json!({"modes": {"lost_cancel_ack": {"probability": 2}}}),
            "failures.modes.lost_cancel_ack.probability",
        ),
        (
            json!({"modes": {"reject_orders": {"code": "BUSY"}}}),
            "failures.modes.reject_orders.code",
        ),
        (
            json!({"modes": {"unknown_outcome": {"probability": null, "x": 1}}}),
            "failures.modes.unknown_outcome.x",
        ),
        (
            json!({"modes": {"stale_orderbook": {"resume": "later"}}}),
            "failures.modes.stale_orderbook.resume",
        ),
        (
            json!({"modes": {"sequence_gap": {"gap_size": 0}}}),
            "failures.modes.sequence_gap.gap_size",
        ),
        (
            json!({"modes": {"outage": {"reject_requests": "no"}}}),
            "failures.modes.outage.reject_requests",
        ),
        (
            json!({"modes": {"teleport": {}}}),
            "failures.modes.teleport",
        ),
        (json!({"scenario": {}}), "failures.scenario"),
        (
            json!({"scenario": [{"modes": {}}]}),
            "failures.scenario[0].start_s",
        ),
        (
            json!({"scenario": [{"start_s": 5, "end_s": 4, "modes": {}}]}),
            "failures.scenario[0].end_s",
        ),
        (
            json!({"scenario": [{"start_s": 1, "modes": {}}, {"start_s": 2, "modes": {"drop_messages": {"probability": 7}}}]}),
            "failures.scenario[1].modes.drop_messages.probability",
        ),
        (
            json!({"scenario": [{"start_s": 1, "modes": {}, "colour": "red"}]}),
            "failures.scenario[0].colour",
        ),
        (
            json!({"modes": {"delay_messages": {"min_ms": 10, "max_ms": 20}}, "scenario": [{"start_s": 1, "modes": {"delay_messages": {"min_ms": 40}}}]}),
            "failures.scenario[0].modes.delay_messages.max_ms",
        ),
    ];
    for (failures, path) in cases {
        match FaultConfig::from_json(&failures) {
            Ok(_) => panic!("accepted {failures}"),
            Err(error) => {
                assert_eq!(error.path, path, "for {failures}: {error}");
                assert_eq!(error.code(), "INVALID_FAULT_CONFIG");
            }
        }
    }
}

#[test]
fn overlapping_scenario_steps_merge_in_order() {
    let config = FaultConfig::from_json(&json!({
        "modes": {"delay_messages": {"min_ms": 10, "max_ms": 20}},
        "scenario": [
            {"start_s": 1, "end_s": 3, "modes": {"delay_messages": {"max_ms": 50}}},
            {"start_s": 2, "modes": {"delay_messages": {"min_ms": 15}, "drop_messages": {"probability": 0.5}}}
        ]
    }))
    .expect("valid");
    let delay = |now_ms: u64| {
        config
            .modes_at(now_ms)
            .delay_messages
            .as_ref()
            .map(|mode| (mode.params.min_ms, mode.params.max_ms))
    };
    assert_eq!(delay(0), Some((10, 20)));
    assert_eq!(delay(1000), Some((10, 50)));
    assert_eq!(delay(2500), Some((15, 50)));
    assert_eq!(delay(3000), Some((15, 20)));
    assert!(config.modes_at(1999).drop_messages.is_none());
    assert!(config.modes_at(2000).drop_messages.is_some());
}

#[test]
fn every_example_file_parses() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/faults");
    let mut parsed = 0;
    for entry in std::fs::read_dir(&folder).expect("examples/faults exists") {
        let path = entry.expect("readable").path();
        if path.extension().and_then(|extension| extension.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let config = FaultConfig::from_file_json(&value)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert!(config.enabled(), "{}", path.display());
        parsed += 1;
    }
    assert!(parsed >= 4, "found {parsed} examples");
}

#[test]
fn reconnects_and_logins_get_their_own_streams_replayed_by_the_seed() {
    let dropped = |injector: &FaultInjector, conn_id: u64, key: &str| -> Vec<PushOutcome> {
        let mut faults = injector.connection::<String>(conn_id, key, Some(key), 0);
        run_outbound(&mut faults, 200, 1, fills).1
    };
    let failures = json!({"modes": {"drop_messages": {"probability": 0.5}}});
    let first = injector(failures.clone(), 4);
    let (a1, a2) = (dropped(&first, 1, "alice"), dropped(&first, 2, "alice"));
    assert_ne!(
        a1, a2,
        "a reconnect does not replay the previous connection's draws"
    );
    let second = injector(failures, 4);
    assert_eq!(
        (dropped(&second, 1, "alice"), dropped(&second, 2, "alice")),
        (a1.clone(), a2)
    );

    // After LOGIN the draws are keyed on the account: the same as a connection opened as alice.
    let third = injector(json!({"modes": {"drop_messages": {"probability": 0.5}}}), 4);
    let mut anonymous = third.connection::<String>(1, &anonymous_key(1), None, 0);
    anonymous.set_account("alice");
    assert_eq!(anonymous.key(), "alice");
    assert_eq!(run_outbound(&mut anonymous, 200, 1, fills).1, a1);
}

#[test]
fn a_full_queue_answers_overflow() {
    let injector = injector(
        json!({"modes": {"delay_messages": {"distribution": "fixed", "min_ms": 60000}}}),
        4,
    );
    let mut faults = injector.connection::<String>(1, "alice", None, 0);
    let meta = |seq| FrameMeta {
        seq,
        message_type: Some("TRADE"),
        channel: None,
    };
    for seq in 1..=PENDING_FRAMES_MAX as u64 {
        assert_eq!(
            faults.push_outbound(String::new(), meta(seq), 0),
            PushOutcome::Queued
        );
    }
    assert_eq!(
        faults.push_outbound(String::new(), meta(0), 0),
        PushOutcome::Overflow
    );
    assert_eq!(faults.pop_outbound(59_999), None);
    assert!(faults.pop_outbound(60_000).is_some());
}

#[test]
fn an_unknown_key_names_the_valid_keys_and_the_nearest() {
    let err = FaultConfig::from_json(&json!({"modes": {"drop_messages": {"probabilty": 0.2}}}))
        .expect_err("a misspelt key");
    assert_eq!(err.path, "failures.modes.drop_messages.probabilty");
    assert!(
        err.message
            .starts_with("unknown key (did you mean `probability`?); valid keys: "),
        "{}",
        err.message
    );
    for key in [
        "accounts",
        "direction",
        "enabled",
        "mean_burst_length",
        "probability",
    ] {
        assert!(err.message.contains(key), "{} lists {key}", err.message);
    }
    let err = FaultConfig::from_json(&json!({"modes": {"drop_message": {}}}))
        .expect_err("a misspelt mode");
    assert!(
        err.message
            .starts_with("unknown fault mode (did you mean `drop_messages`?); valid fault modes: "),
        "{}",
        err.message
    );
    let err = FaultConfig::from_json(&json!({"enable": true})).expect_err("a top-level slip");
    assert!(
        err.message.contains("did you mean `enabled`"),
        "{}",
        err.message
    );
    let injector = FaultInjector::new(FaultConfig::default(), 1);
    let err = injector
        .patch_mode("delay_message", &json!({}))
        .expect_err("an unknown mode");
    assert!(
        err.message.contains("did you mean `delay_messages`"),
        "{}",
        err.message
    );
}

#[test]
fn the_original_later_config_keys_are_read_and_mapped_onto_our_modes() {
    // The original's later version: `failures.latency` and `failures.modes.rate_limit`.
    let config = FaultConfig::from_json(&json!({
        "enabled": true,
        "latency": {"mode": "typical"},
        "modes": {"rate_limit": {"enabled": true}, "drop_messages": {"enabled": false}}
    }))
    .expect("the original's later keys");
    let latency = config.latency().expect("latency");
    assert_eq!((latency.mu, latency.sigma), (5.0, 0.3));
    // WebSocket frames get the latency as delay_messages; the rate limit is REST's.
    let json = config.to_json();
    assert_eq!(json["modes"]["delay_messages"]["distribution"], "lognormal");
    assert_eq!(json["modes"]["delay_messages"]["median_ms"], 148.4);
    assert_eq!(json["modes"]["delay_messages"]["sigma"], 0.3);
    assert_eq!(json["modes"]["rate_limit"]["baseline_rps"], 10);
    assert_eq!(json["modes"]["rate_limit"]["wait_period_seconds"], 10);
    assert_eq!(
        json["modes"]["rate_limit"]["second_violation_ban_seconds"],
        60
    );
    assert_eq!(json["modes"]["rate_limit"]["violation_window_seconds"], 60);
    assert_eq!(json["latency"]["mode"], "typical");
    // What is written reads back the same.
    assert_eq!(FaultConfig::from_json(&json).unwrap(), config);
    // An explicit delay_messages wins over the mapping.
    let own = FaultConfig::from_json(&json!({
        "latency": {"mode": "stable"},
        "modes": {"delay_messages": {"min_ms": 5, "max_ms": 6}}
    }))
    .unwrap();
    assert_eq!(
        own.to_json()["modes"]["delay_messages"]["distribution"],
        "uniform"
    );
    // The rate limit is aimed by time only.
    let err =
        FaultConfig::from_json(&json!({"modes": {"rate_limit": {"accounts": ["a"]}}})).unwrap_err();
    assert_eq!(err.path, "failures.modes.rate_limit.accounts");
    let err =
        FaultConfig::from_json(&json!({"latency": {"mode": "stable", "mue": 1}})).unwrap_err();
    assert!(err.message.contains("did you mean `mu`"), "{}", err.message);
}

#[test]
fn rest_requests_are_rate_limited_per_session_and_delayed_by_the_latency() {
    let config = FaultConfig::from_json(&json!({
        "latency": {"mode": "stable"},
        "modes": {"rate_limit": {"baseline_rps": 2}}
    }))
    .unwrap();
    let injector = FaultInjector::new(config.clone(), 5);
    let first = injector.rest_request("s1", 0);
    assert_eq!(first.refusal, None);
    assert!((1..1_000).contains(&first.request_delay_ms), "{first:?}");
    assert!(injector.rest_request("s1", 1).refusal.is_none());
    let refused = injector
        .rest_request("s1", 2)
        .refusal
        .expect("over 2 per second");
    assert_eq!(refused.retry_after_s, Some(10));
    assert!(
        injector.rest_request("s2", 2).refusal.is_none(),
        "per session"
    );
    let stats = injector.statistics();
    assert_eq!(stats.totals.get(Mode::RateLimit), 1);
    assert_eq!(
        stats.totals.get(Mode::DelayMessages),
        6,
        "two per request let through"
    );
    let log = injector.log();
    assert!(log
        .iter()
        .any(|e| e.mode == Mode::RateLimit && e.connection_key == "rest:s1"));
    // The same seed, session and request ordinal draw the same delays.
    let again = FaultInjector::new(config, 5).rest_request("s1", 0);
    assert_eq!(
        (again.request_delay_ms, again.response_delay_ms),
        (first.request_delay_ms, first.response_delay_ms)
    );
    // Faults off: nothing.
    let off = FaultInjector::new(FaultConfig::default(), 5);
    assert_eq!(off.rest_request("s1", 0), RestVerdict::default());
}
