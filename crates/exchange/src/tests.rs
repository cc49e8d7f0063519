//! Scenario tests of the core through its one entry: build a situation, apply inputs, assert on
//! the effects. The core's invariants are checked after every input.

use std::collections::HashMap;

use engine::{
    Amount, CloseReason, EngineConfig, Increment, NewOrder, OrderRef, OrderType, Price, Qty, Side,
    SymbolId, SymbolSpec, TimeInForce,
};

use crate::message::{Failure, Message};
use crate::request::{Command, Credentials, Request, RequestId, SessionSecret, Topic};
use crate::{AccountSetup, CoreConfig, Effect, HistoryLimits, Input, Timer};
use crate::{ConnId, Core};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;
const START: u64 = 1_700_000_000 * S;
const BTC: SymbolId = SymbolId(0);

fn config() -> CoreConfig {
    let spec = SymbolSpec {
        name: "BTC/USD".into(),
        base: "BTC".into(),
        quote: "USD".into(),
        tick: Increment::from_str_positive("0.01").unwrap(),
        lot: Increment::from_str_positive("0.00001").unwrap(),
        min_qty: Qty(1),
        max_qty: Qty(1 << 40),
        min_notional: Amount(0),
    };
    let account = |name: &str| AccountSetup {
        name: name.into(),
        api_key: format!("{name}-key"),
        balances: vec![("USD".into(), "100000".into()), ("BTC".into(), "10".into())],
    };
    let mut market = market::MarketConfig::default();
    market.market_makers.enabled = false;
    market.taker_flow.enabled = false;
    CoreConfig {
        engine: EngineConfig {
            symbols: vec![spec],
            ..EngineConfig::default()
        },
        market,
        initial_prices: vec![("BTC/USD".into(), "50000".into())],
        accounts: vec![account("alice"), account("bob")],
        default_balances: vec![("USD".into(), "1000".into())],
        history: HistoryLimits {
            resume_events_per_account: 4,
            resume_max_age_ns: 300 * S,
            anonymous_grace_ns: 60 * S,
        },
        market_step_ns: 100 * MS,
        steps_per_tick: 10,
        manual_clock: false,
        max_connection_age_ns: None,
    }
}

/// A core and a clock: every input is a millisecond after the previous one.
struct Harness {
    core: Core,
    now: u64,
    secrets: u8,
}

impl Harness {
    fn new(config: CoreConfig) -> Harness {
        let core = Core::new(config, HashMap::new(), 7, START).unwrap();
        let mut h = Harness {
            core,
            now: START,
            secrets: 0,
        };
        h.apply(Input::Start);
        h
    }

    fn apply(&mut self, input: Input) -> Vec<Effect> {
        self.now += MS;
        let mut out = Vec::new();
        self.core.apply(self.now, input, &mut out);
        if let Err(broken) = self.core.check_invariants() {
            panic!("invariant broken: {broken}");
        }
        out
    }

    fn at(&mut self, at_ns: u64, input: Input) -> Vec<Effect> {
        self.now = at_ns - MS;
        self.apply(input)
    }

    fn request(&mut self, conn: ConnId, rid: u64, command: Command) -> Vec<Effect> {
        let mut request = Request {
            rid: Some(RequestId::from_json(&rid.to_string())),
            command,
        };
        self.secrets += 1;
        request.give_secret(SessionSecret([self.secrets; 16]));
        self.apply(Input::Request { conn, request })
    }

    fn login(&mut self, conn: ConnId, name: &str) -> Vec<Effect> {
        self.apply(Input::Open { conn });
        let login = Command::Login {
            account: name.into(),
            api_key: format!("{name}-key"),
            cancel_on_disconnect: false,
            secret: SessionSecret::default(),
        };
        self.request(conn, 0, login)
    }
}

fn limit(side: Side, price: i64, qty: i64) -> Command {
    Command::Place(NewOrder {
        account: engine::AccountId(0),
        symbol: BTC,
        side,
        order_type: OrderType::Limit,
        price: Some(Price(price)),
        qty: Qty(qty),
        time_in_force: TimeInForce::Gtc,
        post_only: false,
        client_order_id: None,
        stp: None,
        quote_budget: None,
    })
}

/// The messages sent to `conn`, in order.
fn sent(effects: &[Effect], conn: ConnId) -> Vec<&Message> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { conn: c, message } if *c == conn => Some(message),
            _ => None,
        })
        .collect()
}

fn schedules(effects: &[Effect]) -> Vec<(u64, Timer)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Schedule { at_ns, timer } => Some((*at_ns, *timer)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_same_inputs_at_the_same_times_give_the_same_effects() {
    let run = || {
        let mut h = Harness::new(config());
        let mut all = Vec::new();
        all.extend(h.login(1, "alice"));
        all.extend(h.login(2, "bob"));
        all.extend(h.request(1, 1, limit(Side::Sell, 5_000_000, 50_000)));
        all.extend(h.request(2, 2, Command::Subscribe(Topic::BookL2(BTC))));
        all.extend(h.request(2, 3, limit(Side::Buy, 5_000_000, 20_000)));
        all.extend(h.apply(Input::Wake(Timer::MarketStep)));
        all.extend(h.apply(Input::Close { conn: 1 }));
        format!("{all:?}")
    };
    let first = run();
    assert_eq!(first, run());
    assert!(first.contains("OrderFilled"), "{first}");
}

#[test]
fn start_schedules_the_market_and_the_chores() {
    let mut out = Vec::new();
    let mut core = Core::new(config(), HashMap::new(), 7, START).unwrap();
    core.apply(START, Input::Start, &mut out);
    assert_eq!(
        schedules(&out),
        vec![
            (START + 100 * MS, Timer::MarketStep),
            (START + S, Timer::Housekeeping)
        ]
    );
    // A step that comes late is followed by one on the grid, not one late step later.
    out.clear();
    core.apply(START + 130 * MS, Input::Wake(Timer::MarketStep), &mut out);
    assert_eq!(schedules(&out), vec![(START + 200 * MS, Timer::MarketStep)]);
    // An early wake only schedules itself again.
    out.clear();
    core.apply(START + 150 * MS, Input::Wake(Timer::MarketStep), &mut out);
    assert_eq!(schedules(&out), vec![(START + 200 * MS, Timer::MarketStep)]);
}

#[test]
fn private_events_reach_every_connection_of_the_account_and_the_asker_gets_its_id() {
    let mut h = Harness::new(config());
    h.login(1, "alice");
    h.login(2, "alice");
    let effects = h.request(1, 42, limit(Side::Buy, 4_900_000, 10_000));
    let (mine, theirs) = (sent(&effects, 1), sent(&effects, 2));
    assert_eq!(mine.len(), theirs.len());
    assert!(matches!(mine[0], Message::OrderAccepted { rid: Some(r), .. } if r.as_json() == "42"));
    assert!(matches!(
        theirs[0],
        Message::OrderAccepted { rid: None, .. }
    ));
    let seqs: Vec<u64> = mine.iter().filter_map(|m| m.account_seq()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[test]
fn a_rejected_order_changes_nothing_and_says_why() {
    let mut h = Harness::new(config());
    h.login(1, "alice");
    let before = h
        .core
        .engine()
        .account_seq(h.core.account_id("alice").unwrap());
    let effects = h.request(1, 1, limit(Side::Buy, 5_000_000, 1 << 39));
    assert!(matches!(
        sent(&effects, 1)[..],
        [Message::OrderRejected {
            reject: engine::Reject::InsufficientFunds,
            ..
        }]
    ));
    let after = h
        .core
        .engine()
        .account_seq(h.core.account_id("alice").unwrap());
    assert_eq!(before, after);
}

#[test]
fn the_dead_mans_switch_fires_on_time_and_not_before_or_after_disarming() {
    let mut h = Harness::new(config());
    h.login(1, "alice");
    h.request(1, 1, limit(Side::Buy, 4_900_000, 10_000));
    let armed_at = h.now + MS;
    let effects = h.request(1, 2, Command::CancelAllAfter { timeout_ms: 500 });
    let deadline = armed_at + 500 * MS;
    assert!(schedules(&effects).contains(&(deadline, Timer::DeadMansSwitch(engine::AccountId(0)))));
    // Early: scheduled again, nothing cancelled.
    let effects = h.at(
        deadline - 10 * MS,
        Input::Wake(Timer::DeadMansSwitch(engine::AccountId(0))),
    );
    assert!(sent(&effects, 1).is_empty());
    assert_eq!(schedules(&effects).len(), 1);
    // On time: every open order cancelled, with the switch as the reason.
    let effects = h.at(
        deadline,
        Input::Wake(Timer::DeadMansSwitch(engine::AccountId(0))),
    );
    assert!(sent(&effects, 1).iter().any(|m| matches!(m,
        Message::OrderClosed { closed, .. } if closed.reason == CloseReason::DeadMansSwitch)));
    // Armed and disarmed: a stale wake does nothing.
    h.request(1, 3, limit(Side::Buy, 4_900_000, 10_000));
    h.request(1, 4, Command::CancelAllAfter { timeout_ms: 100 });
    h.request(1, 5, Command::CancelAllAfter { timeout_ms: 0 });
    let effects = h.at(
        h.now + S,
        Input::Wake(Timer::DeadMansSwitch(engine::AccountId(0))),
    );
    assert!(effects.is_empty(), "{effects:?}");
}

#[test]
fn a_connection_gets_its_age_notice_then_is_closed_and_forgotten() {
    let mut config = config();
    config.max_connection_age_ns = Some(100 * S);
    let mut h = Harness::new(config);
    let opened = h.now + MS;
    let effects = h.apply(Input::Open { conn: 9 });
    assert_eq!(
        schedules(&effects),
        vec![(opened + 90 * S, Timer::ConnectionAge(9))]
    );
    let effects = h.at(opened + 90 * S, Input::Wake(Timer::ConnectionAge(9)));
    assert!(matches!(
        sent(&effects, 9)[..],
        [Message::ServerNotice {
            seconds_left: 10,
            close_code: 4000,
            ..
        }]
    ));
    let effects = h.at(opened + 100 * S, Input::Wake(Timer::ConnectionAge(9)));
    assert!(matches!(
        effects[..],
        [Effect::Close {
            conn: 9,
            code: 4000,
            ..
        }]
    ));
    // Forgotten: its own close later changes nothing, its requests are dropped.
    assert!(h.apply(Input::Close { conn: 9 }).is_empty());
    assert!(h.request(9, 1, Command::Ping).is_empty());
}

#[test]
fn an_anonymous_account_is_retired_after_its_grace_unless_it_holds_orders() {
    let mut h = Harness::new(config());
    h.apply(Input::Open { conn: 1 });
    h.apply(Input::Open { conn: 2 });
    h.request(1, 1, Command::GetBalance);
    h.request(2, 1, limit(Side::Buy, 1_000, 1_000));
    let (a1, a2) = (
        h.core.account_id("anon-1").unwrap(),
        h.core.account_id("anon-2").unwrap(),
    );
    h.apply(Input::Close { conn: 1 });
    h.apply(Input::Close { conn: 2 });
    h.at(h.now + 30 * S, Input::Wake(Timer::Housekeeping));
    assert!(h.core.engine().is_active(a1), "still within its grace");
    h.at(h.now + 31 * S, Input::Wake(Timer::Housekeeping));
    assert!(!h.core.engine().is_active(a1), "retired");
    assert!(h.core.account_id("anon-1").is_none());
    assert!(h.core.engine().is_active(a2), "an open order keeps it");
    let query = crate::Query::Balances(crate::RestAuth {
        api_key: None,
        account: Some("anon-1".into()),
    });
    let effects = h.apply(Input::Query { reply: 1, query });
    assert!(matches!(
        effects[..],
        [Effect::Reply {
            answer: crate::Answer::Failed(Failure::UnknownAccount),
            ..
        }]
    ));
}

#[test]
fn resume_replays_what_was_missed_or_says_how_far_back_it_holds() {
    let mut h = Harness::new(config());
    let effects = h.login(1, "alice");
    let Message::LoggedIn {
        session,
        account_seq,
        ..
    } = sent(&effects, 1)[0].clone()
    else {
        panic!("{effects:?}")
    };
    h.apply(Input::Close { conn: 1 });
    // Two events while away (an ack and a balance), within the buffer of four.
    h.login(3, "alice");
    h.request(3, 1, limit(Side::Buy, 4_900_000, 10_000));
    h.apply(Input::Close { conn: 3 });
    h.apply(Input::Open { conn: 4 });
    let resume = Command::Resume {
        credentials: Credentials::Token(session.resume_token.clone()),
        last_account_seq: account_seq,
        cancel_on_disconnect: false,
        secret: SessionSecret::default(),
    };
    let effects = h.request(4, 2, resume);
    let replayed: Vec<u64> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Replay { conn: 4, messages } => Some(
                messages
                    .iter()
                    .filter_map(Message::account_seq)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(replayed, vec![account_seq + 1, account_seq + 2]);
    assert!(
        matches!(sent(&effects, 4)[..], [Message::Resumed { from, .. }] if *from == account_seq + 1)
    );
    // A forged token is refused.
    h.apply(Input::Open { conn: 5 });
    let forged = Command::Resume {
        credentials: Credentials::Token(format!("{}x", &session.resume_token)),
        last_account_seq: 0,
        cancel_on_disconnect: false,
        secret: SessionSecret::default(),
    };
    let effects = h.request(5, 4, forged);
    assert!(matches!(
        sent(&effects, 5)[..],
        [Message::Error {
            failure: Failure::InvalidResumeToken,
            ..
        }]
    ));
}

#[test]
fn subscribers_get_a_snapshot_then_publications_and_nothing_after_they_close() {
    let mut h = Harness::new(config());
    h.login(1, "alice");
    h.apply(Input::Open { conn: 2 });
    let effects = h.request(2, 1, Command::Subscribe(Topic::BookL2(BTC)));
    assert!(matches!(
        sent(&effects, 2)[..],
        [
            Message::Subscribed { .. },
            Message::StreamStart {
                topic: Topic::BookL2(_),
                ..
            }
        ]
    ));
    assert_eq!(h.core.subscribers(Topic::BookL2(BTC)), &[2]);
    let effects = h.request(1, 2, limit(Side::Buy, 4_900_000, 10_000));
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Publish { topic: Topic::BookL2(s), message: Message::BookDelta(d) }
            if *s == BTC && d.first_seq == 1 && d.last_seq == 1)));
    h.apply(Input::Close { conn: 2 });
    assert!(h.core.subscribers(Topic::BookL2(BTC)).is_empty());
    let effects = h.request(1, 3, Command::Cancel(OrderRef::Id(engine::OrderId(1))));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Publish { .. })));
}

#[test]
fn a_fence_comes_back_to_its_connection_behind_what_came_before() {
    let mut h = Harness::new(config());
    h.apply(Input::Open { conn: 3 });
    let mut effects = h.request(3, 1, Command::Ping);
    effects.extend(h.apply(Input::Fence { conn: 3, token: 9 }));
    assert!(matches!(
        effects.as_slice(),
        [
            Effect::Send {
                conn: 3,
                message: Message::Pong { .. }
            },
            Effect::Fence { conn: 3, token: 9 }
        ]
    ));
}

/// A call's answer.
fn call_answer(h: &mut Harness, caller: crate::Caller, action: crate::CallAction) -> crate::Answer {
    let effects = h.apply(Input::Call {
        reply: 77,
        call: crate::Call { caller, action },
    });
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Reply { to: 77, answer } => Some(answer),
            _ => None,
        })
        .expect("a call is answered")
}

fn place_action(side: Side, price: i64, qty: i64) -> crate::CallAction {
    let Command::Place(order) = limit(side, price, qty) else {
        unreachable!("limit() places")
    };
    crate::CallAction::Place(order)
}

#[test]
fn calls_place_and_cancel_orders_for_rest_sessions_and_keys() {
    use crate::message::Answer;
    use crate::{CallAction, Caller};
    let mut h = Harness::new(config());
    let session = || Caller::Session("rest-session".into());
    // A session's first call opens its account with the default balances.
    let Answer::Placed { order: resting, .. } =
        call_answer(&mut h, session(), place_action(Side::Buy, 4_900_000, 1_000))
    else {
        panic!("placed")
    };
    assert_eq!(resting.status, engine::OrderStatus::Open);
    assert!(h.core.account_id("rest-session").is_some());
    // A configured account by its key trades against it; alice's WebSocket hears of it.
    h.login(1, "alice");
    let effects = h.apply(Input::Call {
        reply: 5,
        call: crate::Call {
            caller: Caller::ApiKey("alice-key".into()),
            action: place_action(Side::Sell, 4_900_000, 400),
        },
    });
    assert!(sent(&effects, 1)
        .iter()
        .any(|m| matches!(m, Message::OrderFilled(_))));
    let Answer::Order(after) = call_answer(
        &mut h,
        session(),
        CallAction::Order(OrderRef::Id(resting.id)),
    ) else {
        panic!("found")
    };
    assert_eq!(after.filled_qty, Qty(400));
    let Answer::Order(cancelled) = call_answer(
        &mut h,
        session(),
        CallAction::Cancel(OrderRef::Id(resting.id)),
    ) else {
        panic!("cancelled")
    };
    assert_eq!(cancelled.status, engine::OrderStatus::Cancelled);
    let Answer::Orders { orders, .. } = call_answer(
        &mut h,
        session(),
        CallAction::Orders {
            symbol: None,
            status: None,
        },
    ) else {
        panic!("listed")
    };
    assert_eq!(orders.len(), 1);
    // Refusals are typed failures.
    assert_eq!(
        call_answer(
            &mut h,
            session(),
            place_action(Side::Buy, 4_900_000, 1 << 30)
        ),
        Answer::Failed(Failure::Reject(engine::Reject::InsufficientFunds))
    );
    assert_eq!(
        call_answer(
            &mut h,
            session(),
            CallAction::Cancel(OrderRef::Id(resting.id))
        ),
        Answer::Failed(Failure::Reject(engine::Reject::OrderClosed(
            engine::OrderStatus::Cancelled
        )))
    );
    assert_eq!(
        call_answer(
            &mut h,
            Caller::Session("alice".into()),
            CallAction::Balances
        ),
        Answer::Failed(Failure::AuthFailed),
        "a configured account's name is not a session's"
    );
    assert_eq!(
        call_answer(&mut h, Caller::ApiKey("nope".into()), CallAction::Balances),
        Answer::Failed(Failure::UnknownApiKey)
    );
}

/// The answer a connection's call got.
fn answered(effects: &[Effect], conn: ConnId) -> Option<&crate::Answer> {
    sent(effects, conn).into_iter().find_map(|m| match m {
        Message::Answered { answer, .. } => Some(answer.as_ref()),
        _ => None,
    })
}

#[test]
fn a_placed_call_answers_with_its_own_fills_and_cancel_replace_is_one_step() {
    use crate::message::Answer;
    use crate::{CallAction, Caller};
    let mut h = Harness::new(config());
    let bob = || Caller::ApiKey("bob-key".into());
    let alice = || Caller::ApiKey("alice-key".into());
    let Answer::Placed { order: resting, .. } =
        call_answer(&mut h, bob(), place_action(Side::Sell, 5_000_000, 300))
    else {
        panic!("placed")
    };
    let Answer::Placed { order, fills } =
        call_answer(&mut h, alice(), place_action(Side::Buy, 5_000_000, 500))
    else {
        panic!("placed")
    };
    assert_eq!(order.filled_qty, Qty(300));
    assert_eq!(fills.len(), 1);
    assert!(fills.iter().all(|f| f.order_id == order.id && !f.is_maker));
    // Cancel-replace: the remainder is cancelled and a new order placed, in one input.
    let Command::Place(place) = limit(Side::Buy, 4_990_000, 100) else {
        unreachable!()
    };
    let replace = CallAction::CancelReplace {
        cancel: OrderRef::Id(order.id),
        place,
        allow_failure: false,
    };
    let Answer::Replaced {
        cancel: Ok(cancelled),
        place: Some(Ok((placed, _))),
    } = call_answer(&mut h, alice(), replace.clone())
    else {
        panic!("replaced")
    };
    assert_eq!(cancelled.status, engine::OrderStatus::Cancelled);
    assert_eq!(placed.status, engine::OrderStatus::Open);
    // The same again: the cancel fails, so nothing is placed.
    let Answer::Replaced {
        cancel: Err(_),
        place: None,
    } = call_answer(&mut h, alice(), replace)
    else {
        panic!("stopped on failure")
    };
    // Cancel-all of a symbol answers with every order it cancelled.
    let Answer::Orders { orders, .. } =
        call_answer(&mut h, alice(), CallAction::CancelAll { symbol: Some(BTC) })
    else {
        panic!("cancelled all")
    };
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id, placed.id);
    assert_eq!(orders[0].status, engine::OrderStatus::Cancelled);
    let Answer::Fills { fills, .. } =
        call_answer(&mut h, bob(), CallAction::Fills { symbol: None })
    else {
        panic!("fills")
    };
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].order_id, resting.id);
}

#[test]
fn an_opening_key_opens_an_account_named_after_it_once() {
    use crate::message::Answer;
    use crate::{CallAction, Caller};
    let mut h = Harness::new(config());
    let key = || Caller::OpeningKey("bot-7".into());
    let Answer::Balances { balances, .. } = call_answer(&mut h, key(), CallAction::Balances) else {
        panic!("balances")
    };
    assert!(balances.iter().any(|b| b.available.0 > 0), "funded");
    let id = h.core.account_id("bot-7").expect("opened");
    call_answer(&mut h, key(), place_action(Side::Buy, 4_000_000, 10));
    assert_eq!(
        h.core.account_id("bot-7"),
        Some(id),
        "the same account again"
    );
    // Its key logs in natively too: the account is the exchange's, whichever dialect.
    h.apply(Input::Open { conn: 3 });
    let login = Command::Login {
        account: "bot-7".into(),
        api_key: "bot-7".into(),
        cancel_on_disconnect: false,
        secret: SessionSecret::default(),
    };
    let effects = h.request(3, 1, login);
    assert!(matches!(
        sent(&effects, 3).first(),
        Some(Message::LoggedIn { .. })
    ));
    // A key named like another account is refused.
    let taken = call_answer(
        &mut h,
        Caller::OpeningKey("alice".into()),
        CallAction::Balances,
    );
    assert_eq!(taken, Answer::Failed(Failure::AuthFailed));
}

#[test]
fn a_watcher_gets_the_accounts_private_events_until_it_stops_or_goes() {
    use crate::{Call, Caller};
    let mut h = Harness::new(config());
    h.apply(Input::Open { conn: 4 });
    let effects = h.request(4, 1, Command::Watch(Caller::ApiKey("alice-key".into())));
    let Some(Message::Watching { account, .. }) = sent(&effects, 4).first() else {
        panic!("watching")
    };
    let account = *account;
    // An order by call from the same connection: the answer, and the events as a watcher.
    let call = Call {
        caller: Caller::ApiKey("alice-key".into()),
        action: place_action(Side::Buy, 4_000_000, 10),
    };
    let effects = h.request(4, 2, Command::Call(Box::new(call)));
    assert!(matches!(
        answered(&effects, 4),
        Some(crate::Answer::Placed { .. })
    ));
    assert!(sent(&effects, 4)
        .iter()
        .any(|m| matches!(m, Message::OrderAccepted { rid: None, .. })));
    // A bound connection of the account and the watcher both hear of the next one.
    h.login(5, "alice");
    let effects = h.request(5, 3, limit(Side::Buy, 4_000_000, 10));
    assert!(sent(&effects, 4)
        .iter()
        .any(|m| matches!(m, Message::OrderAccepted { .. })));
    let effects = h.request(4, 4, Command::Unwatch(Some(account)));
    assert!(matches!(
        sent(&effects, 4).first(),
        Some(Message::Unwatched { accounts, .. }) if accounts == &[account]
    ));
    let effects = h.request(5, 5, limit(Side::Buy, 4_000_000, 10));
    assert!(sent(&effects, 4).is_empty());
    // Watching again, then closing: the account forgets the watcher (the invariants check it).
    h.request(4, 6, Command::Watch(Caller::ApiKey("alice-key".into())));
    h.apply(Input::Close { conn: 4 });
    let effects = h.request(5, 7, limit(Side::Buy, 4_000_000, 10));
    assert!(sent(&effects, 4).is_empty());
    // Unknown keys are refused.
    h.apply(Input::Open { conn: 6 });
    let effects = h.request(6, 1, Command::Watch(Caller::ApiKey("nope".into())));
    assert!(matches!(
        sent(&effects, 6).first(),
        Some(Message::Error { .. })
    ));
}

#[test]
fn unsubscribing_a_topic_ends_that_topic_only() {
    let mut h = Harness::new(config());
    h.apply(Input::Open { conn: 2 });
    let m1 = Topic::Candles(BTC, market::Interval::M1);
    let m5 = Topic::Candles(BTC, market::Interval::M5);
    h.request(2, 1, Command::Subscribe(m1));
    h.request(2, 2, Command::Subscribe(m5));
    let effects = h.request(2, 3, Command::UnsubscribeTopic(m1));
    assert!(matches!(
        sent(&effects, 2).first(),
        Some(Message::Unsubscribed { .. })
    ));
    assert!(h.core.subscribers(m1).is_empty());
    assert_eq!(h.core.subscribers(m5), &[2]);
    let effects = h.request(2, 4, Command::UnsubscribeTopic(m1));
    assert!(matches!(
        sent(&effects, 2).first(),
        Some(Message::Error { .. })
    ));
}
