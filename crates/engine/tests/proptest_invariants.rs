//! Property tests: random command sequences keep every invariant, move orders only through legal
//! states, keep every counter gap-free, replay identically, and trade exactly like a naive
//! reference matcher (a plain `Vec` book).

use std::collections::HashMap;

use exchange_engine::*;
use proptest::prelude::*;

const SYMBOLS: u32 = 2;
const ACCOUNTS: u32 = 4;

fn spec(name: &str, base: &str, quote: &str, tick: &str, lot: &str) -> SymbolSpec {
    SymbolSpec {
        name: name.into(),
        base: base.into(),
        quote: quote.into(),
        tick: Increment::from_str_positive(tick).unwrap(),
        lot: Increment::from_str_positive(lot).unwrap(),
        min_qty: Qty(1),
        max_qty: Qty(1_000),
        min_notional: Amount(0),
    }
}

fn engine(default_stp: StpMode, funds: i128) -> Engine {
    let config = EngineConfig {
        symbols: vec![
            spec("BTC/USD", "BTC", "USD", "0.01", "0.001"),
            spec("ETH/BTC", "ETH", "BTC", "0.05", "0.1"),
        ],
        maker_fee: FeeRate(100_000),
        taker_fee: FeeRate(250_000),
        default_stp,
        closed_orders_per_account: 50,
        fills_per_account: 50,
        trades_per_symbol: 50,
    };
    let mut e = Engine::new(config).unwrap();
    let mut out = Vec::new();
    for _ in 0..ACCOUNTS {
        let account = e.create_account();
        for asset in 0..e.assets().len() as u32 {
            let cmd = Command::Deposit {
                account,
                asset: AssetId(asset),
                amount: Amount(funds),
            };
            e.execute(&cmd, 0, &mut out).unwrap();
        }
    }
    e
}

/// A command before ids are known: order targets are small numbers resolved against placed ids.
#[derive(Clone, Debug)]
enum Op {
    Place {
        account: u32,
        symbol: u32,
        side: Side,
        kind: u8,
        price: i64,
        qty: i64,
        post_only: bool,
        client: Option<u8>,
        stp: Option<StpMode>,
    },
    Cancel {
        account: u32,
        target: u64,
        by_client: bool,
    },
    CancelAll {
        account: u32,
        symbol: Option<u32>,
    },
    Amend {
        account: u32,
        target: u64,
        new_qty: i64,
    },
    Deposit {
        account: u32,
        asset: u32,
        amount: i128,
    },
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

/// Mostly a narrow band (so that orders meet), sometimes anywhere up to a million ticks (so that
/// the price ladder has to move, widen, and fall back to a tree).
fn price() -> impl Strategy<Value = i64> {
    prop_oneof![20 => 90i64..=110, 1 => 1i64..=1_000_000]
}

fn stp() -> impl Strategy<Value = Option<StpMode>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(StpMode::ExpireTaker)),
        1 => Just(Some(StpMode::ExpireMaker)),
        1 => Just(Some(StpMode::ExpireBoth)),
        1 => Just(Some(StpMode::None)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let place = (
        0..ACCOUNTS,
        0..SYMBOLS,
        side(),
        0u8..6,
        price(),
        1i64..=30,
        prop::bool::weighted(0.1),
        prop::option::weighted(0.3, 0u8..4),
        stp(),
    )
        .prop_map(
            |(account, symbol, side, kind, price, qty, post_only, client, stp)| Op::Place {
                account,
                symbol,
                side,
                kind,
                price,
                qty,
                post_only,
                client,
                stp,
            },
        );
    prop_oneof![
        10 => place,
        3 => (0..ACCOUNTS, 0u64..40, prop::bool::weighted(0.2))
            .prop_map(|(account, target, by_client)| Op::Cancel { account, target, by_client }),
        1 => (0..ACCOUNTS, prop::option::of(0..SYMBOLS))
            .prop_map(|(account, symbol)| Op::CancelAll { account, symbol }),
        2 => (0..ACCOUNTS, 0u64..40, 0i64..30)
            .prop_map(|(account, target, new_qty)| Op::Amend { account, target, new_qty }),
        1 => (0..ACCOUNTS, 0u32..3, 0i128..50_000)
            .prop_map(|(account, asset, amount)| Op::Deposit { account, asset, amount }),
    ]
}

fn client(n: u8) -> ClientOrderId {
    ClientOrderId::new(&format!("c-{n}")).unwrap()
}

/// Turns an op into a command; `kind` 0-2 GTC limit, 3 IOC limit, 4 FOK limit, 5 market.
fn command(op: &Op, last_order_id: u64) -> Command {
    // Targets count back from the newest order, so they mostly name recent (often open) ones.
    let id = |t: u64| OrderId(last_order_id.saturating_sub(t % 12).max(1));
    match *op {
        Op::Place {
            account,
            symbol,
            side,
            kind,
            price,
            qty,
            post_only,
            client: c,
            stp,
        } => Command::Place(NewOrder {
            account: AccountId(account),
            symbol: SymbolId(symbol),
            side,
            order_type: if kind == 5 {
                OrderType::Market
            } else {
                OrderType::Limit
            },
            price: (kind != 5).then_some(Price(price)),
            qty: Qty(qty),
            time_in_force: match kind {
                3 => TimeInForce::Ioc,
                4 => TimeInForce::Fok,
                _ => TimeInForce::Gtc,
            },
            post_only,
            client_order_id: c.map(client),
            stp,
            quote_budget: None,
        }),
        Op::Cancel {
            account,
            target,
            by_client,
        } => Command::Cancel {
            account: AccountId(account),
            target: if by_client {
                OrderRef::Client(client((target % 4) as u8))
            } else {
                OrderRef::Id(id(target))
            },
        },
        Op::CancelAll { account, symbol } => Command::CancelAll {
            account: AccountId(account),
            symbol: symbol.map(SymbolId),
            reason: CloseReason::CancelAll,
        },
        Op::Amend {
            account,
            target,
            new_qty,
        } => Command::Amend {
            account: AccountId(account),
            target: OrderRef::Id(id(target)),
            new_qty: Qty(new_qty),
        },
        Op::Deposit {
            account,
            asset,
            amount,
        } => Command::Deposit {
            account: AccountId(account),
            asset: AssetId(asset),
            amount: Amount(amount),
        },
    }
}

/// What the observer knows of an order from the events alone.
struct Seen {
    status: OrderStatus,
    qty: Qty,
    filled: Qty,
}

/// Follows the event stream and checks what a client could check.
#[derive(Default)]
struct Observer {
    orders: HashMap<OrderId, Seen>,
    account_seq: HashMap<AccountId, u64>,
    book_seq: HashMap<SymbolId, u64>,
    trade_id: HashMap<SymbolId, u64>,
    last_order_id: u64,
}

impl Observer {
    fn step(&mut self, status: OrderStatus, id: OrderId) -> Result<&mut Seen, String> {
        let seen = self
            .orders
            .get_mut(&id)
            .ok_or(format!("event for unknown order {id}"))?;
        if !seen.status.can_become(status) {
            return Err(format!("order {id}: {:?} -> {status:?}", seen.status));
        }
        seen.status = status;
        Ok(seen)
    }

    fn observe(&mut self, events: &[Event]) -> Result<(), String> {
        let mut must_close = Vec::new();
        for ev in events {
            if let (Some(a), Some(seq)) = (ev.account(), ev.account_seq()) {
                let last = self.account_seq.entry(a).or_insert(0);
                if seq != *last + 1 {
                    return Err(format!("account {a}: seq {seq} after {last}"));
                }
                *last = seq;
            }
            match ev {
                Event::Accepted(a) => {
                    let o = &a.order;
                    if o.id.0 != self.last_order_id + 1 {
                        return Err(format!("order id {} after {}", o.id, self.last_order_id));
                    }
                    self.last_order_id = o.id.0;
                    if !matches!(o.status, OrderStatus::Pending | OrderStatus::Open) {
                        return Err(format!("accepted as {:?}", o.status));
                    }
                    self.orders.insert(
                        o.id,
                        Seen {
                            status: o.status,
                            qty: o.qty,
                            filled: Qty(0),
                        },
                    );
                }
                Event::Fill(f) => {
                    let seen = self.step(f.status, f.order_id)?;
                    seen.filled.0 += f.qty.0;
                    if seen.filled != f.filled_qty || seen.filled > seen.qty || f.qty.0 <= 0 {
                        return Err(format!("order {}: bad fill {f:?}", f.order_id));
                    }
                    // Open quantity after the fill, or 0 on the last fill of an order about to
                    // expire (which a Closed event of this command must then confirm).
                    let open = seen.qty.0 - seen.filled.0;
                    if f.remaining_qty.0 == 0 && open > 0 {
                        must_close.push(f.order_id);
                    } else if f.remaining_qty.0 != open {
                        return Err(format!("order {}: bad remaining {f:?}", f.order_id));
                    }
                    if (f.status == OrderStatus::Filled) != (seen.filled == seen.qty) {
                        return Err(format!("order {}: bad fill status {f:?}", f.order_id));
                    }
                }
                Event::Closed(c) => {
                    if c.status != c.reason.status() {
                        return Err(format!("closed {c:?}"));
                    }
                    self.step(c.status, c.order_id)?;
                }
                Event::Amended(a) => {
                    let seen = self
                        .orders
                        .get_mut(&a.order_id)
                        .ok_or("amend of unknown order")?;
                    if seen.status.is_terminal()
                        || a.new_qty >= seen.qty
                        || a.new_qty <= seen.filled
                    {
                        return Err(format!("bad amend {a:?}"));
                    }
                    seen.qty = a.new_qty;
                }
                Event::Trade(t) => {
                    let last = self.trade_id.entry(t.symbol).or_insert(0);
                    if t.trade_id.0 != *last + 1 {
                        return Err(format!("trade id {} after {last}", t.trade_id));
                    }
                    *last = t.trade_id.0;
                }
                Event::BookLevel(l) => {
                    let last = self.book_seq.entry(l.symbol).or_insert(0);
                    if l.book_seq != *last + 1 || l.qty.0 < 0 {
                        return Err(format!("book level {l:?} after {last}"));
                    }
                    *last = l.book_seq;
                }
                Event::Balance(b) => {
                    if b.balance.available.0 < 0 || b.balance.locked.0 < 0 {
                        return Err(format!("negative balance {b:?}"));
                    }
                }
                Event::Position(_) => {}
            }
        }
        for id in must_close {
            if self.orders.get(&id).map(|o| o.status) != Some(OrderStatus::Expired) {
                return Err(format!("order {id}: final fill but it did not expire"));
            }
        }
        Ok(())
    }
}

/// Runs ops, checking everything after each; returns every event.
fn run_checked(e: &mut Engine, ops: &[Op]) -> Result<Vec<Event>, TestCaseError> {
    let mut obs = Observer::default();
    for a in 0..e.account_count() as u32 {
        obs.account_seq
            .insert(AccountId(a), e.account_seq(AccountId(a)));
    }
    let mut all = Vec::new();
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let cmd = command(op, obs.last_order_id);
        out.clear();
        let result = e.execute(&cmd, i as u64, &mut out);
        if result.is_err() {
            prop_assert!(out.is_empty(), "refused {cmd:?} emitted events");
        }
        if let Err(msg) = e.check_invariants() {
            return Err(TestCaseError::fail(format!("after {cmd:?}: {msg}")));
        }
        if let Err(msg) = obs.observe(&out) {
            return Err(TestCaseError::fail(format!("after {cmd:?}: {msg}")));
        }
        all.extend_from_slice(&out);
    }
    Ok(all)
}

// ----- the reference matcher -----

struct RefOrder {
    id: u64,
    side: Side,
    price: i64,
    remaining: i64,
}

/// A naive book: every resting order in one `Vec`, searched in full for the best one each time.
#[derive(Default)]
struct RefBook {
    orders: Vec<RefOrder>,
}

impl RefBook {
    fn best(&self, taker: Side, limit: Option<i64>) -> Option<usize> {
        let ok = |o: &RefOrder| {
            o.side != taker
                && match (taker, limit) {
                    (_, None) => true,
                    (Side::Buy, Some(l)) => o.price <= l,
                    (Side::Sell, Some(l)) => o.price >= l,
                }
        };
        let key = |o: &RefOrder| match taker {
            Side::Buy => (o.price, o.id),
            Side::Sell => (-o.price, o.id),
        };
        (0..self.orders.len())
            .filter(|&i| ok(&self.orders[i]))
            .min_by_key(|&i| key(&self.orders[i]))
    }

    /// Places and returns the trades (price, qty, maker, taker).
    fn place(&mut self, id: u64, o: &NewOrder) -> Vec<(i64, i64, u64, u64)> {
        let limit = o
            .price
            .filter(|_| o.order_type == OrderType::Limit)
            .map(|p| p.0);
        let mut remaining = o.qty.0;
        if o.time_in_force == TimeInForce::Fok {
            let available: i64 = self
                .orders
                .iter()
                .filter(|m| {
                    m.side != o.side
                        && limit.is_none_or(|l| match o.side {
                            Side::Buy => m.price <= l,
                            Side::Sell => m.price >= l,
                        })
                })
                .map(|m| m.remaining)
                .sum();
            if available < remaining {
                return Vec::new();
            }
        }
        let mut trades = Vec::new();
        while remaining > 0 {
            let Some(i) = self.best(o.side, limit) else {
                break;
            };
            let m = &mut self.orders[i];
            let q = remaining.min(m.remaining);
            trades.push((m.price, q, m.id, id));
            m.remaining -= q;
            remaining -= q;
            if m.remaining == 0 {
                self.orders.remove(i);
            }
        }
        if remaining > 0 && o.time_in_force == TimeInForce::Gtc {
            if let Some(price) = limit {
                self.orders.push(RefOrder {
                    id,
                    side: o.side,
                    price,
                    remaining,
                });
            }
        }
        trades
    }

    fn cancel(&mut self, id: u64) {
        self.orders.retain(|o| o.id != id);
    }
}

fn engine_trades(events: &[Event]) -> Vec<(i64, i64, u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(t) => Some((t.price.0, t.qty.0, t.maker_order_id.0, t.taker_order_id.0)),
            _ => None,
        })
        .collect()
}

fn ref_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..ACCOUNTS, 0..SYMBOLS, side(), 0u8..6, price(), 1i64..=30).prop_map(
            |(account, symbol, side, kind, price, qty)| Op::Place {
                account,
                symbol,
                side,
                kind,
                price,
                qty,
                post_only: false,
                client: None,
                stp: None,
            }
        ),
        1 => (0..ACCOUNTS, 0u64..40)
            .prop_map(|(account, target)| Op::Cancel { account, target, by_client: false }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_after_every_command(ops in prop::collection::vec(op(), 1..250)) {
        // Modest funds, so that INSUFFICIENT_FUNDS and market buys running dry happen too.
        let mut e = engine(StpMode::ExpireTaker, 40_000);
        run_checked(&mut e, &ops)?;
    }

    #[test]
    fn the_same_commands_replay_identically(ops in prop::collection::vec(op(), 1..150)) {
        let first = run_checked(&mut engine(StpMode::ExpireMaker, 40_000), &ops)?;
        let second = run_checked(&mut engine(StpMode::ExpireMaker, 40_000), &ops)?;
        prop_assert_eq!(first, second);
    }

    #[test]
    fn trades_match_the_reference_matcher(ops in prop::collection::vec(ref_op(), 1..250)) {
        // STP off and ample funds: the engine must trade exactly like price-time priority.
        let mut e = engine(StpMode::None, 1_000_000_000_000_000);
        let mut books: Vec<RefBook> = (0..SYMBOLS).map(|_| RefBook::default()).collect();
        let mut out = Vec::new();
        let mut last_id = 0u64;
        for op in &ops {
            // Cancels are by id only and may name another account's order (then refused).
            let mut cmd = command(op, last_id);
            if let (Command::Cancel { account, target: OrderRef::Id(id) }, true) = (&mut cmd, last_id > 0) {
                *account = AccountId(((id.0 * 7) % u64::from(ACCOUNTS)) as u32);
            }
            out.clear();
            let result = e.execute(&cmd, 0, &mut out);
            match cmd {
                Command::Place(o) => {
                    prop_assert!(result.is_ok(), "{:?} refused: {:?}", o, result);
                    last_id += 1;
                    let book = &mut books[o.symbol.0 as usize];
                    let expected = book.place(last_id, &o);
                    prop_assert_eq!(engine_trades(&out), expected, "placing {:?}", o);
                }
                Command::Cancel { target: OrderRef::Id(id), .. } => {
                    if result.is_ok() {
                        for book in &mut books {
                            book.cancel(id.0);
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        prop_assert!(e.check_invariants().is_ok());
    }
}
