//! Scenario tests of the engine: build a situation, act, assert on what a client sees.
//!
//! The fixture's BTC/USD has tick 0.01 and lot 0.001, so USD has 5 decimals, BTC 3, and a notional
//! is simply `price_ticks * qty_lots` USD units; ETH/USD has tick 0.1 and lot 0.01.

use super::*;
use crate::decimal::Increment;

const BTC_USD: SymbolId = SymbolId(0);
const ETH_USD: SymbolId = SymbolId(1);
const BTC: AssetId = AssetId(0);
const USD: AssetId = AssetId(1);

fn spec(name: &str, base: &str, quote: &str, tick: &str, lot: &str) -> SymbolSpec {
    SymbolSpec {
        name: name.into(),
        base: base.into(),
        quote: quote.into(),
        tick: Increment::from_str_positive(tick).unwrap(),
        lot: Increment::from_str_positive(lot).unwrap(),
        min_qty: Qty(1),
        max_qty: Qty(1_000_000),
        min_notional: Amount(0),
    }
}

fn config() -> EngineConfig {
    EngineConfig {
        symbols: vec![
            spec("BTC/USD", "BTC", "USD", "0.01", "0.001"),
            spec("ETH/USD", "ETH", "USD", "0.1", "0.01"),
        ],
        ..EngineConfig::default()
    }
}

/// An engine with `n` accounts, each holding 1e12 units of every asset.
fn setup_with(config: EngineConfig, n: usize) -> (Engine, Vec<AccountId>) {
    let mut e = Engine::new(config).unwrap();
    let mut out = Vec::new();
    let accounts: Vec<_> = (0..n).map(|_| e.create_account()).collect();
    for &a in &accounts {
        for asset in 0..e.assets().len() {
            let cmd = Command::Deposit {
                account: a,
                asset: AssetId(asset as u32),
                amount: Amount(1_000_000_000_000),
            };
            e.execute(&cmd, 0, &mut out).unwrap();
        }
    }
    (e, accounts)
}

fn setup() -> (Engine, AccountId, AccountId) {
    let (e, a) = setup_with(config(), 2);
    (e, a[0], a[1])
}

fn limit(account: AccountId, side: Side, price: i64, qty: i64) -> NewOrder {
    NewOrder {
        account,
        symbol: BTC_USD,
        side,
        order_type: OrderType::Limit,
        price: Some(Price(price)),
        qty: Qty(qty),
        time_in_force: TimeInForce::Gtc,
        post_only: false,
        client_order_id: None,
        stp: None,
        quote_budget: None,
    }
}

fn market(account: AccountId, side: Side, qty: i64) -> NewOrder {
    NewOrder {
        order_type: OrderType::Market,
        price: None,
        ..limit(account, side, 0, qty)
    }
}

fn with_tif(o: NewOrder, tif: TimeInForce) -> NewOrder {
    NewOrder {
        time_in_force: tif,
        ..o
    }
}

fn cid(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

/// Runs a command at `ts` 1, checks the invariants, returns its events.
fn run(e: &mut Engine, cmd: Command) -> Result<Vec<Event>, Reject> {
    let mut out = Vec::new();
    let r = e.execute(&cmd, 1, &mut out);
    e.check_invariants().unwrap();
    if r.is_err() {
        assert!(out.is_empty(), "a refused command emitted {out:?}");
    }
    r.map(|()| out)
}

fn place(e: &mut Engine, o: NewOrder) -> Result<Vec<Event>, Reject> {
    run(e, Command::Place(o))
}

/// The id of the order a place accepted.
fn placed(e: &mut Engine, o: NewOrder) -> OrderId {
    match place(e, o).unwrap().first() {
        Some(Event::Accepted(a)) => a.order.id,
        other => panic!("expected Accepted, got {other:?}"),
    }
}

fn cancel(e: &mut Engine, account: AccountId, target: OrderRef) -> Result<Vec<Event>, Reject> {
    run(e, Command::Cancel { account, target })
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::Accepted(_) => "Accepted",
            Event::Fill(_) => "Fill",
            Event::Closed(_) => "Closed",
            Event::Amended(_) => "Amended",
            Event::Trade(_) => "Trade",
            Event::BookLevel(_) => "BookLevel",
            Event::Balance(_) => "Balance",
            Event::Position(_) => "Position",
        })
        .collect()
}

fn fills(events: &[Event]) -> Vec<Fill> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Fill(f) => Some(*f),
            _ => None,
        })
        .collect()
}

fn trades(events: &[Event]) -> Vec<(i64, i64, u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(t) => Some((t.price.0, t.qty.0, t.maker_order_id.0, t.taker_order_id.0)),
            _ => None,
        })
        .collect()
}

fn closed(events: &[Event]) -> Vec<OrderClosed> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Closed(c) => Some(*c),
            _ => None,
        })
        .collect()
}

const START: i128 = 1_000_000_000_000;

// ----- configuration, assets, amounts -----

#[test]
fn assets_come_from_symbols_in_order_with_the_precision_they_need() {
    let e = Engine::new(config()).unwrap();
    let names: Vec<_> = e
        .assets()
        .iter()
        .map(|a| (a.name.as_str(), a.decimals))
        .collect();
    // BTC needs the lot's 3; USD needs 2 + 3 for BTC/USD (1 + 2 for ETH/USD); ETH 2.
    assert_eq!(names, [("BTC", 3), ("USD", 5), ("ETH", 2)]);
    let btc = e.symbol(BTC_USD).unwrap();
    assert_eq!(
        (btc.quote_units_per_tick_lot, btc.base_units_per_lot),
        (1, 1)
    );
    let eth = e.symbol(ETH_USD).unwrap();
    // tick 0.1 x lot 0.01 = 0.001 USD = 100 units of 10^-5; a lot is 1 unit of 10^-2 ETH.
    assert_eq!(
        (eth.quote_units_per_tick_lot, eth.base_units_per_lot),
        (100, 1)
    );
    assert_eq!(e.symbol_id("ETH/USD"), Some(ETH_USD));
    assert_eq!(e.symbol_id("XRP/USD"), None);
    assert_eq!(e.asset_id("ETH"), Some(AssetId(2)));
    assert_eq!(e.asset_id("XRP"), None);
    // The engine and the public rule agree.
    let rule = crate::symbol::asset_decimals(&config().symbols);
    for a in e.assets() {
        assert_eq!(rule.get(&a.name), Some(&a.decimals), "{}", a.name);
    }
}

#[test]
fn increments_with_units_scale_the_factors() {
    let mut c = config();
    c.symbols = vec![spec("X/Y", "X", "Y", "0.05", "10")];
    let e = Engine::new(c).unwrap();
    assert_eq!(e.assets()[0].decimals, 2);
    assert_eq!(e.assets()[1].decimals, 2);
    let s = e.symbol(SymbolId(0)).unwrap();
    // 0.05 * 10 = 0.5 Y = 50 units; a lot is 10 X = 1000 units.
    assert_eq!(
        (s.quote_units_per_tick_lot, s.base_units_per_lot),
        (50, 1000)
    );
}

#[test]
fn bad_configs_are_refused() {
    let mut c = config();
    c.symbols
        .push(spec("BTC/USD", "BTC", "USD", "0.01", "0.001"));
    assert_eq!(
        Engine::new(c).err(),
        Some(ConfigError::DuplicateSymbol("BTC/USD".into()))
    );
    let mut c = config();
    c.symbols = vec![spec("X/X", "X", "X", "0.01", "1")];
    assert_eq!(
        Engine::new(c).err(),
        Some(ConfigError::SameAsset("X/X".into()))
    );
    let mut c = config();
    c.taker_fee = FeeRate(FeeRate::SCALE as i64 + 1);
    assert_eq!(Engine::new(c).err(), Some(ConfigError::InvalidFee));
    let mut c = config();
    c.maker_fee = FeeRate(-1);
    assert_eq!(Engine::new(c).err(), Some(ConfigError::InvalidFee));
    let mut c = config();
    c.symbols = vec![spec("X/Y", "X", "Y", "0.0000000001", "0.0000000001")];
    assert!(matches!(
        Engine::new(c),
        Err(ConfigError::InvalidSymbol(..))
    ));
    let mut c = config();
    c.symbols[0].min_qty = Qty(0);
    assert!(matches!(
        Engine::new(c),
        Err(ConfigError::InvalidSymbol(..))
    ));
}

#[test]
fn amounts_parse_and_format_with_the_asset_decimals() {
    let e = Engine::new(config()).unwrap();
    assert_eq!(e.parse_amount(USD, "1.5"), Ok(Amount(150_000)));
    assert_eq!(e.parse_amount(USD, "0"), Ok(Amount(0)));
    assert_eq!(e.parse_amount(USD, "-1"), Err(ParseError::NotPositive));
    assert_eq!(
        e.parse_amount(USD, "0.000001"),
        Err(ParseError::NotAMultiple)
    );
    assert_eq!(e.parse_amount(USD, "x"), Err(ParseError::NotANumber));
    assert_eq!(
        e.parse_amount(USD, &"9".repeat(40)),
        Err(ParseError::Overflow)
    );
    assert_eq!(e.format_amount(USD, Amount(150_000)), "1.50000");
    assert_eq!(e.format_amount(BTC, Amount(-5)), "-0.005");
    assert_eq!(
        e.format_amount(USD, Amount(i128::MIN)),
        "-1701411834604692317316873037158841.05728"
    );
}

// ----- rejects -----

#[test]
fn every_validation_reject() {
    let (mut e, a, _) = setup();
    let base = limit(a, Side::Buy, 100, 10);
    let cases = [
        (
            NewOrder {
                symbol: SymbolId(9),
                ..base
            },
            Reject::UnknownSymbol,
        ),
        (
            NewOrder {
                account: AccountId(9),
                ..base
            },
            Reject::UnknownAccount,
        ),
        (
            NewOrder {
                price: None,
                ..base
            },
            Reject::MissingPrice,
        ),
        (
            NewOrder {
                price: Some(Price(0)),
                ..base
            },
            Reject::MissingPrice,
        ),
        (
            NewOrder {
                price: Some(Price(-1)),
                ..base
            },
            Reject::MissingPrice,
        ),
        (
            NewOrder {
                qty: Qty(0),
                ..base
            },
            Reject::InvalidQuantity,
        ),
        (
            NewOrder {
                qty: Qty(-3),
                ..base
            },
            Reject::InvalidQuantity,
        ),
        (
            NewOrder {
                qty: Qty(1_000_001),
                ..base
            },
            Reject::MaxQuantity,
        ),
        (
            NewOrder {
                post_only: true,
                time_in_force: TimeInForce::Ioc,
                ..base
            },
            Reject::InvalidPostOnly,
        ),
        (
            NewOrder {
                post_only: true,
                ..market(a, Side::Buy, 1)
            },
            Reject::InvalidPostOnly,
        ),
        (
            NewOrder {
                qty: Qty(900_000),
                price: Some(Price(10_000_000)),
                ..base
            },
            Reject::InsufficientFunds,
        ),
    ];
    for (order, reject) in cases {
        assert_eq!(place(&mut e, order), Err(reject), "{order:?}");
    }
    let mut c = config();
    c.symbols[0].min_qty = Qty(5);
    c.symbols[0].min_notional = Amount(1_000);
    let (mut e, a) = setup_with(c, 1);
    assert_eq!(
        place(&mut e, limit(a[0], Side::Buy, 100, 4)),
        Err(Reject::MinQuantity)
    );
    assert_eq!(
        place(&mut e, limit(a[0], Side::Sell, 100, 9)),
        Err(Reject::MinNotional)
    );
    assert!(place(&mut e, limit(a[0], Side::Sell, 100, 10)).is_ok());
    // Nothing refused consumed an id.
    assert_eq!(
        e.order(a[0], OrderRef::Id(OrderId(1))).map(|o| o.qty),
        Some(Qty(10))
    );
}

#[test]
fn refused_commands_change_nothing() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(b, Side::Sell, 100, 5));
    let before = (
        e.account_seq(a),
        e.book_seq(BTC_USD),
        e.balances(a).to_vec(),
    );
    assert_eq!(
        place(
            &mut e,
            NewOrder {
                post_only: true,
                ..limit(a, Side::Buy, 100, 1)
            }
        ),
        Err(Reject::WouldTake)
    );
    assert_eq!(
        place(&mut e, limit(a, Side::Buy, 100, 2_000_000_000_000)),
        Err(Reject::MaxQuantity)
    );
    assert_eq!(
        before,
        (
            e.account_seq(a),
            e.book_seq(BTC_USD),
            e.balances(a).to_vec()
        )
    );
    assert_eq!(placed(&mut e, limit(a, Side::Buy, 90, 1)), OrderId(2));
}

#[test]
fn insufficient_funds_has_no_side_effect() {
    let mut e = Engine::new(config()).unwrap();
    let (a, b) = (e.create_account(), e.create_account());
    run(
        &mut e,
        Command::Deposit {
            account: a,
            asset: USD,
            amount: Amount(999),
        },
    )
    .unwrap();
    assert_eq!(
        place(&mut e, limit(a, Side::Buy, 100, 10)),
        Err(Reject::InsufficientFunds)
    );
    assert_eq!(
        place(&mut e, limit(a, Side::Sell, 100, 10)),
        Err(Reject::InsufficientFunds)
    );
    assert_eq!(
        place(&mut e, market(b, Side::Buy, 1)),
        Err(Reject::InsufficientFunds)
    );
    assert_eq!(
        place(&mut e, market(b, Side::Sell, 1)),
        Err(Reject::InsufficientFunds)
    );
    assert_eq!(
        e.balances(a)[USD.0 as usize],
        Balance {
            available: Amount(999),
            locked: Amount(0)
        }
    );
    assert_eq!(e.account_seq(a), 1);
    assert!(place(&mut e, limit(a, Side::Buy, 111, 9)).is_ok());
}

#[test]
fn deposit_rejects() {
    let (mut e, a, _) = setup();
    let dep = |account, asset, amount| Command::Deposit {
        account,
        asset,
        amount: Amount(amount),
    };
    assert_eq!(
        run(&mut e, dep(AccountId(7), USD, 1)),
        Err(Reject::UnknownAccount)
    );
    assert_eq!(
        run(&mut e, dep(a, AssetId(7), 1)),
        Err(Reject::UnknownAsset)
    );
    assert_eq!(run(&mut e, dep(a, USD, -1)), Err(Reject::InvalidQuantity));
    assert_eq!(run(&mut e, dep(a, USD, 0)), Ok(vec![]));
    assert_eq!(run(&mut e, dep(a, USD, i128::MAX)), Err(Reject::Overflow));
    let events = run(&mut e, dep(a, USD, 5)).unwrap();
    assert!(matches!(
        events[..],
        [Event::Balance(BalanceChanged { balance: Balance { available: Amount(x), .. }, .. })] if x == START + 5
    ));
}

// ----- resting, priority, events -----

#[test]
fn a_resting_limit_is_open_on_the_book_and_locks_funds() {
    let (mut e, a, _) = setup();
    let events = place(&mut e, limit(a, Side::Buy, 100, 10)).unwrap();
    assert_eq!(kinds(&events), ["Accepted", "BookLevel", "Balance"]);
    let Event::Accepted(acc) = events[0] else {
        unreachable!()
    };
    assert_eq!(acc.order.status, OrderStatus::Open);
    assert_eq!(acc.account_seq, 4, "after the three deposits");
    let Event::Balance(bal) = events[2] else {
        unreachable!()
    };
    assert_eq!(
        bal.balance,
        Balance {
            available: Amount(START - 1000),
            locked: Amount(1000)
        }
    );
    placed(&mut e, limit(a, Side::Buy, 100, 5));
    placed(&mut e, limit(a, Side::Buy, 101, 1));
    placed(&mut e, limit(a, Side::Sell, 110, 2));
    let d = e.depth(BTC_USD, 10);
    assert_eq!(
        d.bids,
        [
            Level {
                price: Price(101),
                qty: Qty(1),
                order_count: 1
            },
            Level {
                price: Price(100),
                qty: Qty(15),
                order_count: 2
            }
        ]
    );
    assert_eq!(
        d.asks,
        [Level {
            price: Price(110),
            qty: Qty(2),
            order_count: 1
        }]
    );
    assert_eq!(d.book_seq, 4);
    assert_eq!(e.depth(BTC_USD, 1).bids.len(), 1);
    let (bid, ask) = e.best_bid_ask(BTC_USD);
    assert_eq!(
        (bid.unwrap().price, ask.unwrap().price),
        (Price(101), Price(110))
    );
    assert_eq!(e.best_bid_ask(ETH_USD), (None, None));
    assert_eq!(e.open_orders(a, Some(BTC_USD)).len(), 4);
    assert_eq!(e.open_orders(a, Some(ETH_USD)).len(), 0);
}

#[test]
fn a_cross_emits_events_in_the_documented_order() {
    let (mut e, a, b) = setup();
    let maker = placed(&mut e, limit(a, Side::Sell, 100, 10));
    let events = place(&mut e, limit(b, Side::Buy, 100, 4)).unwrap();
    assert_eq!(
        kinds(&events),
        [
            "Accepted",
            "Fill",
            "Fill",
            "Trade",
            "BookLevel",
            "Balance",
            "Balance",
            "Balance",
            "Balance",
            "Position",
            "Position"
        ]
    );
    let Event::Accepted(acc) = events[0] else {
        unreachable!()
    };
    assert_eq!(acc.order.status, OrderStatus::Pending);
    let f = fills(&events);
    assert_eq!(
        (f[0].order_id, f[0].is_maker, f[0].status),
        (maker, true, OrderStatus::PartiallyFilled)
    );
    assert_eq!((f[0].filled_qty, f[0].remaining_qty), (Qty(4), Qty(6)));
    assert_eq!(
        (f[1].is_maker, f[1].status, f[1].remaining_qty),
        (false, OrderStatus::Filled, Qty(0))
    );
    assert_eq!((f[0].fill_id, f[1].fill_id), (FillId(1), FillId(2)));
    assert_eq!((f[0].trade_id, f[1].trade_id), (TradeId(1), TradeId(1)));
    let Event::BookLevel(l) = events[4] else {
        unreachable!()
    };
    assert_eq!((l.side, l.price, l.qty), (Side::Sell, Price(100), Qty(6)));
    // Balances: maker base, maker quote, taker base, taker quote.
    let bals: Vec<_> = events[5..9]
        .iter()
        .map(|e| match e {
            Event::Balance(b) => (b.account, b.asset),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(bals, [(a, BTC), (a, USD), (b, BTC), (b, USD)]);
    // Account sequences are gap-free per account.
    let seqs: Vec<_> = events
        .iter()
        .filter(|e| e.account() == Some(b))
        .map(|e| e.account_seq().unwrap())
        .collect();
    assert_eq!(seqs, (4..4 + seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(e.account_seq(b), 3 + seqs.len() as u64);
    assert_eq!(e.last_trade_id(BTC_USD), TradeId(1));
    assert_eq!(e.last_price(BTC_USD), Some(Price(100)));
    assert_eq!(e.recent_trades(BTC_USD, 10).len(), 1);
}

#[test]
fn price_then_time_priority() {
    let (mut e, a, b) = setup();
    let first = placed(&mut e, limit(a, Side::Sell, 101, 3));
    let second = placed(&mut e, limit(a, Side::Sell, 101, 3));
    let better = placed(&mut e, limit(a, Side::Sell, 100, 3));
    let taker = with_tif(limit(b, Side::Buy, 101, 8), TimeInForce::Ioc);
    let events = place(&mut e, taker).unwrap();
    let t: Vec<_> = trades(&events).iter().map(|t| (t.0, t.1, t.2)).collect();
    assert_eq!(
        t,
        [(100, 3, better.0), (101, 3, first.0), (101, 2, second.0)]
    );
    assert_eq!(
        e.order(a, OrderRef::Id(second)).unwrap().remaining_qty(),
        Qty(1)
    );
}

#[test]
fn a_buy_filled_below_its_limit_gets_the_difference_back() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(a, Side::Sell, 90, 10));
    placed(&mut e, limit(b, Side::Buy, 100, 10));
    // Paid 900, not the 1000 locked; got 10 base.
    assert_eq!(
        e.balances(b)[USD.0 as usize],
        Balance {
            available: Amount(START - 900),
            locked: Amount(0)
        }
    );
    assert_eq!(e.balances(b)[BTC.0 as usize].available, Amount(START + 10));
    assert_eq!(e.balances(a)[USD.0 as usize].available, Amount(START + 900));
    assert_eq!(
        e.balances(a)[BTC.0 as usize],
        Balance {
            available: Amount(START - 10),
            locked: Amount(0)
        }
    );
    let o = e.order(b, OrderRef::Id(OrderId(2))).unwrap();
    assert_eq!((o.status, o.cum_quote), (OrderStatus::Filled, Amount(900)));
}

#[test]
fn a_partly_filled_gtc_rests_with_its_remainder_locked() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(a, Side::Sell, 90, 4));
    let events = place(&mut e, limit(b, Side::Buy, 100, 10)).unwrap();
    // The lock of the remainder was reported with the fill: nothing more to say after resting.
    assert_eq!(
        kinds(&events)[events.len() - 2..],
        ["Position", "BookLevel"]
    );
    let o = e.open_orders(b, None)[0];
    assert_eq!(
        (o.status, o.remaining_qty()),
        (OrderStatus::PartiallyFilled, Qty(6))
    );
    assert_eq!(e.balances(b)[USD.0 as usize].locked, Amount(600));
    assert_eq!(e.best_bid_ask(BTC_USD).0.unwrap().qty, Qty(6));
}

#[test]
fn fees_are_charged_in_the_asset_received_rounded_down() {
    let mut c = config();
    c.maker_fee = FeeRate(1_000_000); // 1%
    c.taker_fee = FeeRate(2_500_000); // 2.5%
    let (mut e, acc) = setup_with(c, 2);
    let (a, b) = (acc[0], acc[1]);
    placed(&mut e, limit(a, Side::Sell, 333, 3)); // maker receives 999 USD units
    let events = place(&mut e, limit(b, Side::Buy, 333, 3)).unwrap(); // taker receives 3 BTC units
    let f = fills(&events);
    assert_eq!((f[0].fee, f[0].fee_asset), (Amount(9), USD)); // 9.99 -> 9
    assert_eq!((f[1].fee, f[1].fee_asset), (Amount(0), BTC)); // 0.075 -> 0
    assert_eq!(e.fees_collected(USD), Amount(9));
    assert_eq!(e.balances(a)[USD.0 as usize].available, Amount(START + 990));
    placed(&mut e, limit(b, Side::Sell, 100, 100)); // b maker
    let f = fills(&place(&mut e, limit(a, Side::Buy, 100, 100)).unwrap());
    assert_eq!((f[0].fee, f[1].fee), (Amount(100), Amount(2))); // 1% of 10000 USD, 2.5% of 100 BTC
    assert_eq!(e.fees_collected(BTC), Amount(2));
}

// ----- time in force -----

#[test]
fn ioc_remainder_expires_and_releases() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(a, Side::Sell, 100, 4));
    let events = place(
        &mut e,
        with_tif(limit(b, Side::Buy, 100, 10), TimeInForce::Ioc),
    )
    .unwrap();
    // The taker's last fill says nothing stays open; the Closed event says what expired.
    let f = fills(&events);
    assert_eq!((f[1].filled_qty, f[1].remaining_qty), (Qty(4), Qty(0)));
    assert_eq!(e.fills(b).last().unwrap().remaining_qty, Qty(0));
    assert_eq!(e.fills(a).last().unwrap().remaining_qty, Qty(0));
    let c = closed(&events);
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].reason, c[0].status, c[0].remaining_qty),
        (CloseReason::IocRemainder, OrderStatus::Expired, Qty(6))
    );
    assert_eq!(kinds(&events)[events.len() - 2..], ["Closed", "Balance"]);
    assert_eq!(
        e.balances(b)[USD.0 as usize],
        Balance {
            available: Amount(START - 400),
            locked: Amount(0)
        }
    );
    assert!(e.open_orders(b, None).is_empty());
    // An IOC that meets nothing: Accepted (PENDING), Closed, and no balance change.
    let events = place(
        &mut e,
        with_tif(limit(b, Side::Buy, 50, 10), TimeInForce::Ioc),
    )
    .unwrap();
    assert_eq!(kinds(&events), ["Accepted", "Closed"]);
}

#[test]
fn market_remainder_expires() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(a, Side::Buy, 100, 4));
    placed(&mut e, limit(a, Side::Buy, 99, 4));
    let events = place(&mut e, market(b, Side::Sell, 10)).unwrap();
    assert_eq!(
        trades(&events)
            .iter()
            .map(|t| (t.0, t.1))
            .collect::<Vec<_>>(),
        [(100, 4), (99, 4)]
    );
    let c = closed(&events);
    assert_eq!(
        (c[0].reason, c[0].remaining_qty),
        (CloseReason::MarketRemainder, Qty(2))
    );
    assert_eq!(
        e.balances(b)[BTC.0 as usize],
        Balance {
            available: Amount(START - 8),
            locked: Amount(0)
        }
    );
    // A market order ignores a price it was given.
    placed(&mut e, limit(a, Side::Buy, 98, 1));
    let o = NewOrder {
        price: Some(Price(1_000)),
        ..market(b, Side::Sell, 1)
    };
    assert_eq!(trades(&place(&mut e, o).unwrap()).len(), 1);
}

#[test]
fn fok_fills_completely_or_trades_nothing() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(a, Side::Sell, 100, 4));
    placed(&mut e, limit(a, Side::Sell, 101, 4));
    let seq = e.book_seq(BTC_USD);
    let events = place(
        &mut e,
        with_tif(limit(b, Side::Buy, 101, 9), TimeInForce::Fok),
    )
    .unwrap();
    assert_eq!(kinds(&events), ["Accepted", "Closed"]);
    assert_eq!(closed(&events)[0].reason, CloseReason::FokUnfilled);
    assert_eq!(e.book_seq(BTC_USD), seq);
    let events = place(
        &mut e,
        with_tif(limit(b, Side::Buy, 100, 5), TimeInForce::Fok),
    )
    .unwrap();
    assert!(trades(&events).is_empty(), "only 4 at acceptable prices");
    let events = place(
        &mut e,
        with_tif(limit(b, Side::Buy, 101, 8), TimeInForce::Fok),
    )
    .unwrap();
    assert_eq!(trades(&events).len(), 2);
    assert_eq!(
        e.order(b, OrderRef::Id(OrderId(5))).unwrap().status,
        OrderStatus::Filled
    );
    // A market FOK with nothing to meet expires.
    let events = place(&mut e, with_tif(market(b, Side::Buy, 1), TimeInForce::Fok)).unwrap();
    assert_eq!(closed(&events)[0].reason, CloseReason::FokUnfilled);
}

#[test]
fn fok_respects_self_trade_prevention() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(a, Side::Sell, 100, 4));
    placed(&mut e, limit(b, Side::Sell, 100, 4));
    let fok = |stp| NewOrder {
        stp: Some(stp),
        ..with_tif(limit(a, Side::Buy, 100, 4), TimeInForce::Fok)
    };
    // Matching would stop at a's own order: nothing trades and a's order stays.
    let events = place(&mut e, fok(StpMode::ExpireTaker)).unwrap();
    assert_eq!(closed(&events)[0].reason, CloseReason::FokUnfilled);
    assert_eq!(e.open_orders(a, None).len(), 1);
    // Skipping own orders, b's 4 are enough: a's order expires, b's fills.
    let events = place(&mut e, fok(StpMode::ExpireMaker)).unwrap();
    assert_eq!(trades(&events).len(), 1);
    assert_eq!(closed(&events)[0].reason, CloseReason::SelfTradePrevention);
}

#[test]
fn post_only_never_takes() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(a, Side::Sell, 100, 4));
    let po = |price| NewOrder {
        post_only: true,
        ..limit(b, Side::Buy, price, 1)
    };
    assert_eq!(place(&mut e, po(100)), Err(Reject::WouldTake));
    assert_eq!(place(&mut e, po(101)), Err(Reject::WouldTake));
    let events = place(&mut e, po(99)).unwrap();
    assert_eq!(kinds(&events), ["Accepted", "BookLevel", "Balance"]);
}

#[test]
fn a_market_buy_spends_what_it_has_and_expires_when_out_of_funds() {
    let mut e = Engine::new(config()).unwrap();
    let (a, b) = (e.create_account(), e.create_account());
    let dep = |account, asset, amount| Command::Deposit {
        account,
        asset,
        amount: Amount(amount),
    };
    run(&mut e, dep(a, BTC, 100)).unwrap();
    run(&mut e, dep(b, USD, 1_050)).unwrap();
    placed(&mut e, limit(a, Side::Sell, 100, 5));
    placed(&mut e, limit(a, Side::Sell, 110, 5));
    let events = place(&mut e, market(b, Side::Buy, 20)).unwrap();
    // 5 at 100 = 500, then 550 left buys 5 at 110 exactly; then none left.
    assert_eq!(
        trades(&events)
            .iter()
            .map(|t| (t.0, t.1))
            .collect::<Vec<_>>(),
        [(100, 5), (110, 5)]
    );
    let c = closed(&events);
    assert_eq!(
        (c[0].reason, c[0].remaining_qty),
        (CloseReason::MarketRemainder, Qty(10))
    );
    placed(&mut e, limit(a, Side::Sell, 100, 5));
    run(&mut e, dep(b, USD, 250)).unwrap();
    let events = place(&mut e, market(b, Side::Buy, 5)).unwrap();
    let c = closed(&events);
    assert_eq!(
        (c[0].reason, c[0].filled_qty),
        (CloseReason::InsufficientFunds, Qty(2))
    );
    assert_eq!(
        e.balances(b)[USD.0 as usize],
        Balance {
            available: Amount(50),
            locked: Amount(0)
        }
    );
}

// ----- cancel, cancel-all, amend -----

#[test]
fn cancel_by_id_or_client_id_releases_the_lock() {
    let (mut e, a, b) = setup();
    let id = placed(
        &mut e,
        NewOrder {
            client_order_id: Some(cid("x-1")),
            ..limit(a, Side::Buy, 100, 10)
        },
    );
    assert_eq!(
        cancel(&mut e, b, OrderRef::Id(id)),
        Err(Reject::OrderNotFound)
    );
    assert_eq!(
        cancel(&mut e, b, OrderRef::Client(cid("x-1"))),
        Err(Reject::OrderNotFound)
    );
    assert_eq!(
        cancel(&mut e, a, OrderRef::Id(OrderId(99))),
        Err(Reject::OrderNotFound)
    );
    assert_eq!(
        cancel(&mut e, AccountId(99), OrderRef::Id(id)),
        Err(Reject::UnknownAccount)
    );
    let events = cancel(&mut e, a, OrderRef::Client(cid("x-1"))).unwrap();
    assert_eq!(kinds(&events), ["Closed", "BookLevel", "Balance"]);
    let c = closed(&events)[0];
    assert_eq!(
        (c.order_id, c.status, c.reason),
        (id, OrderStatus::Cancelled, CloseReason::UserCancel)
    );
    assert_eq!(
        e.balances(a)[USD.0 as usize],
        Balance {
            available: Amount(START),
            locked: Amount(0)
        }
    );
    assert_eq!(e.depth(BTC_USD, 5).bids, []);
    assert_eq!(
        cancel(&mut e, a, OrderRef::Id(id)),
        Err(Reject::OrderClosed(OrderStatus::Cancelled))
    );
    assert_eq!(e.closed_orders(a).len(), 1);
    // Filled orders are closed too.
    let sell = placed(&mut e, limit(a, Side::Sell, 100, 1));
    placed(&mut e, limit(b, Side::Buy, 100, 1));
    assert_eq!(
        cancel(&mut e, a, OrderRef::Id(sell)),
        Err(Reject::OrderClosed(OrderStatus::Filled))
    );
}

#[test]
fn cancel_from_the_middle_of_a_level_keeps_the_queue() {
    let (mut e, a, b) = setup();
    let ids: Vec<_> = (0..3)
        .map(|_| placed(&mut e, limit(a, Side::Sell, 100, 1)))
        .collect();
    cancel(&mut e, a, OrderRef::Id(ids[1])).unwrap();
    let t = trades(&place(&mut e, limit(b, Side::Buy, 100, 2)).unwrap());
    assert_eq!(
        t.iter().map(|t| t.2).collect::<Vec<_>>(),
        [ids[0].0, ids[2].0]
    );
}

#[test]
fn cancel_all_closes_oldest_first_and_may_do_nothing() {
    let (mut e, a, b) = setup();
    let o1 = placed(&mut e, limit(a, Side::Buy, 100, 1));
    let o2 = placed(
        &mut e,
        NewOrder {
            symbol: ETH_USD,
            ..limit(a, Side::Sell, 100, 1)
        },
    );
    let o3 = placed(&mut e, limit(a, Side::Sell, 120, 1));
    placed(&mut e, limit(b, Side::Buy, 99, 1));
    let all = |symbol| Command::CancelAll {
        account: a,
        symbol,
        reason: CloseReason::CancelOnDisconnect,
    };
    let events = run(&mut e, all(Some(BTC_USD))).unwrap();
    let c = closed(&events);
    assert_eq!(c.iter().map(|c| c.order_id).collect::<Vec<_>>(), [o1, o3]);
    assert!(
        c.iter()
            .all(|c| c.reason == CloseReason::CancelOnDisconnect
                && c.status == OrderStatus::Cancelled)
    );
    assert_eq!(
        e.open_orders(a, None)
            .iter()
            .map(|o| o.id)
            .collect::<Vec<_>>(),
        [o2]
    );
    assert_eq!(closed(&run(&mut e, all(None)).unwrap())[0].order_id, o2);
    assert_eq!(run(&mut e, all(None)), Ok(vec![]));
    assert_eq!(
        run(&mut e, all(Some(SymbolId(5)))),
        Err(Reject::UnknownSymbol)
    );
    assert_eq!(e.open_orders(b, None).len(), 1);
}

#[test]
fn amend_down_keeps_priority_and_releases() {
    let (mut e, a, b) = setup();
    let first = placed(&mut e, limit(a, Side::Buy, 100, 10));
    let second = placed(&mut e, limit(b, Side::Buy, 100, 10));
    let amend = |account, target, qty| Command::Amend {
        account,
        target: OrderRef::Id(target),
        new_qty: Qty(qty),
    };
    let events = run(&mut e, amend(a, first, 6)).unwrap();
    assert_eq!(kinds(&events), ["Amended", "BookLevel", "Balance"]);
    assert_eq!(e.balances(a)[USD.0 as usize].locked, Amount(600));
    assert_eq!(e.best_bid_ask(BTC_USD).0.unwrap().qty, Qty(16));
    let c = e.create_account();
    let dep = Command::Deposit {
        account: c,
        asset: BTC,
        amount: Amount(100),
    };
    run(&mut e, dep).unwrap();
    let t = trades(&place(&mut e, limit(c, Side::Sell, 100, 7)).unwrap());
    assert_eq!(
        t.iter().map(|t| (t.2, t.1)).collect::<Vec<_>>(),
        [(first.0, 6), (second.0, 1)]
    );
    // second has filled 1 of 10: 1 is too low, 10 and 11 are not reductions.
    for bad in [0, 1, 10, 11] {
        assert_eq!(
            run(&mut e, amend(b, second, bad)),
            Err(Reject::InvalidAmend),
            "{bad}"
        );
    }
    assert_eq!(run(&mut e, amend(a, second, 5)), Err(Reject::OrderNotFound));
    assert_eq!(
        run(&mut e, amend(a, first, 5)),
        Err(Reject::OrderClosed(OrderStatus::Filled))
    );
    let events = run(&mut e, amend(b, second, 2)).unwrap();
    let Event::Amended(am) = events[0] else {
        unreachable!()
    };
    assert_eq!(
        (am.new_qty, am.filled_qty, am.remaining_qty),
        (Qty(2), Qty(1), Qty(1))
    );
}

// ----- client order ids -----

#[test]
fn client_order_ids_are_idempotency_keys_while_the_order_is_remembered() {
    let (mut e, a, b) = setup();
    let with = |o: NewOrder, c: &str| NewOrder {
        client_order_id: Some(cid(c)),
        ..o
    };
    let first = placed(&mut e, with(limit(a, Side::Buy, 100, 1), "k"));
    assert_eq!(
        place(&mut e, with(limit(a, Side::Buy, 90, 1), "k")),
        Err(Reject::DuplicateClientOrderId(first))
    );
    // Another account may use the same id.
    placed(&mut e, with(limit(b, Side::Buy, 90, 1), "k"));
    cancel(&mut e, a, OrderRef::Id(first)).unwrap();
    // A retry after the order closed still names it: it is never placed twice.
    assert_eq!(
        place(&mut e, with(limit(a, Side::Buy, 95, 1), "k")),
        Err(Reject::DuplicateClientOrderId(first))
    );
    let found = e.order(a, OrderRef::Client(cid("k"))).unwrap();
    assert_eq!((found.id, found.status), (first, OrderStatus::Cancelled));
    assert!(e.order(a, OrderRef::Client(cid("nope"))).is_none());
    assert!(e.order(b, OrderRef::Id(first)).is_none());
    // An order that filled at once blocks its id too.
    placed(&mut e, with(limit(b, Side::Sell, 100, 1), "z"));
    let taker = placed(&mut e, with(limit(a, Side::Buy, 100, 1), "z"));
    assert_eq!(
        place(&mut e, with(limit(a, Side::Buy, 10, 1), "z")),
        Err(Reject::DuplicateClientOrderId(taker))
    );
}

#[test]
fn a_client_id_is_free_again_once_its_order_is_forgotten() {
    let (mut e, accounts) = setup_with(
        EngineConfig {
            closed_orders_per_account: 2,
            ..config()
        },
        1,
    );
    let a = accounts[0];
    let with = |o: NewOrder, c: &str| NewOrder {
        client_order_id: Some(cid(c)),
        ..o
    };
    let old = placed(&mut e, with(limit(a, Side::Buy, 100, 1), "old"));
    cancel(&mut e, a, OrderRef::Id(old)).unwrap();
    for i in 0..2 {
        let id = placed(&mut e, limit(a, Side::Buy, 90 + i, 1));
        cancel(&mut e, a, OrderRef::Id(id)).unwrap();
    }
    // "old" has left the two-order history: its id may be used again.
    let again = placed(&mut e, with(limit(a, Side::Buy, 95, 1), "old"));
    assert_ne!(again, old);
}

// ----- self-trade prevention -----

#[test]
fn stp_expire_taker() {
    let (mut e, a, b) = setup();
    placed(&mut e, limit(b, Side::Sell, 100, 1));
    let own = placed(&mut e, limit(a, Side::Sell, 100, 1));
    placed(&mut e, limit(b, Side::Sell, 100, 1));
    let events = place(&mut e, limit(a, Side::Buy, 100, 3)).unwrap();
    assert_eq!(trades(&events).len(), 1);
    let c = closed(&events);
    assert_eq!(
        (c[0].order_id, c[0].reason, c[0].remaining_qty),
        (OrderId(4), CloseReason::SelfTradePrevention, Qty(2))
    );
    assert_eq!(
        e.order(a, OrderRef::Id(own)).unwrap().status,
        OrderStatus::Open
    );
}

#[test]
fn stp_expire_maker_and_both_and_none() {
    let (mut e, a, b) = setup();
    let own = placed(&mut e, limit(a, Side::Sell, 100, 1));
    placed(&mut e, limit(b, Side::Sell, 100, 1));
    let taker = |stp| NewOrder {
        stp: Some(stp),
        ..limit(a, Side::Buy, 100, 1)
    };
    let events = place(&mut e, taker(StpMode::ExpireMaker)).unwrap();
    assert_eq!(closed(&events)[0].order_id, own);
    assert_eq!(trades(&events).len(), 1);
    assert_eq!(
        e.order(a, OrderRef::Id(OrderId(3))).unwrap().status,
        OrderStatus::Filled
    );

    let own = placed(&mut e, limit(a, Side::Sell, 100, 1));
    let events = place(&mut e, taker(StpMode::ExpireBoth)).unwrap();
    assert_eq!(
        closed(&events)
            .iter()
            .map(|c| c.order_id)
            .collect::<Vec<_>>(),
        [own, OrderId(5)]
    );
    assert!(trades(&events).is_empty());

    placed(&mut e, limit(a, Side::Sell, 100, 1));
    let before = e.balances(a).iter().map(|b| b.total()).collect::<Vec<_>>();
    let events = place(&mut e, taker(StpMode::None)).unwrap();
    assert_eq!(trades(&events).len(), 1);
    assert_eq!(
        kinds(&events).iter().filter(|k| **k == "Position").count(),
        1
    );
    let after = e.balances(a).iter().map(|b| b.total()).collect::<Vec<_>>();
    assert_eq!(before, after);

    // The configured default applies when an order names none.
    let mut c = config();
    c.default_stp = StpMode::None;
    let (mut e, acc) = setup_with(c, 1);
    placed(&mut e, limit(acc[0], Side::Sell, 100, 1));
    assert_eq!(
        trades(&place(&mut e, limit(acc[0], Side::Buy, 100, 1)).unwrap()).len(),
        1
    );
}

// ----- positions -----

#[test]
fn positions_by_average_cost() {
    let (mut e, a, b) = setup();
    let cross = |e: &mut Engine, buyer, seller, price, qty| {
        placed(e, limit(seller, Side::Sell, price, qty));
        placed(e, limit(buyer, Side::Buy, price, qty));
    };
    assert_eq!(e.unrealized_pnl(a, BTC_USD), None);
    cross(&mut e, a, b, 100, 10);
    cross(&mut e, a, b, 130, 10); // long 20 at avg 115
    let p = e.position(a, BTC_USD);
    assert_eq!(
        (p.net_qty, p.cost_basis, p.realized_pnl),
        (Qty(20), Amount(2300), Amount(0))
    );
    assert_eq!(e.unrealized_pnl(a, BTC_USD), Some(Amount(300)));
    cross(&mut e, b, a, 120, 5); // sell 5 at 120: realize (120 - 115) * 5
    let p = e.position(a, BTC_USD);
    assert_eq!(
        (p.net_qty, p.cost_basis, p.realized_pnl),
        (Qty(15), Amount(1725), Amount(25))
    );
    cross(&mut e, b, a, 110, 25); // sell 25 at 110: close 15 (-75), short 10 at 110
    let p = e.position(a, BTC_USD);
    assert_eq!(
        (p.net_qty, p.cost_basis, p.realized_pnl),
        (Qty(-10), Amount(1100), Amount(-50))
    );
    assert_eq!(e.unrealized_pnl(a, BTC_USD), Some(Amount(0)));
    cross(&mut e, a, b, 100, 10); // buy back at 100: +100
    let p = e.position(a, BTC_USD);
    assert_eq!(
        (p.net_qty, p.cost_basis, p.realized_pnl),
        (Qty(0), Amount(0), Amount(50))
    );
    let pb = e.position(b, BTC_USD);
    assert_eq!(pb.realized_pnl, Amount(-50));
    assert_eq!(e.position(a, ETH_USD), Position::default());
}

// ----- history, counters -----

#[test]
fn histories_are_bounded() {
    let mut c = config();
    c.closed_orders_per_account = 2;
    c.fills_per_account = 3;
    c.trades_per_symbol = 2;
    let (mut e, acc) = setup_with(c, 2);
    let (a, b) = (acc[0], acc[1]);
    for _ in 0..4 {
        placed(&mut e, limit(a, Side::Sell, 100, 1));
        placed(&mut e, limit(b, Side::Buy, 100, 1));
    }
    assert_eq!(
        e.closed_orders(a)
            .iter()
            .map(|o| o.id.0)
            .collect::<Vec<_>>(),
        [5, 7]
    );
    assert_eq!(e.fills(a).len(), 3);
    assert_eq!(
        e.recent_trades(BTC_USD, 10)
            .iter()
            .map(|t| t.trade_id.0)
            .collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(e.recent_trades(BTC_USD, 1)[0].trade_id, TradeId(4));
    assert!(e.order(a, OrderRef::Id(OrderId(1))).is_none(), "forgotten");
    assert_eq!(
        cancel(&mut e, a, OrderRef::Id(OrderId(1))),
        Err(Reject::OrderNotFound)
    );
}

#[test]
fn trade_ids_and_book_seqs_are_per_symbol() {
    let (mut e, a, b) = setup();
    placed(
        &mut e,
        NewOrder {
            symbol: ETH_USD,
            ..limit(a, Side::Sell, 100, 1)
        },
    );
    placed(
        &mut e,
        NewOrder {
            symbol: ETH_USD,
            ..limit(b, Side::Buy, 100, 1)
        },
    );
    placed(&mut e, limit(a, Side::Sell, 100, 1));
    let events = place(&mut e, limit(b, Side::Buy, 100, 1)).unwrap();
    assert_eq!(fills(&events)[0].trade_id, TradeId(1));
    assert_eq!(fills(&events)[0].fill_id, FillId(3));
    assert_eq!(e.last_trade_id(ETH_USD), TradeId(1));
    assert_eq!((e.book_seq(ETH_USD), e.book_seq(BTC_USD)), (2, 2));
    assert_eq!(e.account_count(), 2);
    assert!(e.balances(AccountId(9)).is_empty());
}

#[test]
fn the_same_commands_give_the_same_events() {
    let script = |e: &mut Engine, a: AccountId, b: AccountId| {
        let mut out = Vec::new();
        for i in 0..50i64 {
            let o = limit(
                if i % 3 == 0 { a } else { b },
                if i % 2 == 0 { Side::Buy } else { Side::Sell },
                95 + i % 10,
                1 + i % 4,
            );
            let _ = e.execute(&Command::Place(o), i as u64, &mut out);
        }
        out
    };
    let (mut e1, a1, b1) = setup();
    let (mut e2, a2, b2) = setup();
    assert_eq!(script(&mut e1, a1, b1), script(&mut e2, a2, b2));
}

#[test]
fn check_invariants_notices_a_broken_lock() {
    let (mut e, a, _) = setup();
    placed(&mut e, limit(a, Side::Buy, 100, 10));
    e.accounts[0].balances[USD.0 as usize].locked.0 -= 1;
    e.accounts[0].balances[USD.0 as usize].available.0 += 1;
    assert!(e.check_invariants().unwrap_err().contains("locked"));
}

#[test]
fn a_notional_beyond_i128_is_an_overflow() {
    let mut c = config();
    c.symbols[1].max_qty = Qty(i64::MAX);
    let (mut e, a) = setup_with(c, 1);
    let o = NewOrder {
        symbol: ETH_USD,
        ..limit(a[0], Side::Buy, i64::MAX, i64::MAX)
    };
    assert_eq!(place(&mut e, o), Err(Reject::Overflow));
    let sell = NewOrder {
        side: Side::Sell,
        ..o
    };
    assert_eq!(place(&mut e, sell), Err(Reject::Overflow));
}

#[test]
fn a_level_beyond_i64_lots_does_not_overflow() {
    let mut c = config();
    c.symbols[1].max_qty = Qty(i64::MAX);
    let (mut e, a) = setup_with(c, 1);
    let eth = AssetId(2);
    let dep = Command::Deposit {
        account: a[0],
        asset: eth,
        amount: Amount(2 * i128::from(i64::MAX)),
    };
    run(&mut e, dep).unwrap();
    let big = NewOrder {
        symbol: ETH_USD,
        ..limit(a[0], Side::Sell, 1, i64::MAX)
    };
    placed(&mut e, big);
    let events = place(&mut e, big).unwrap();
    let Event::BookLevel(l) = events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(l.qty, Qty(i64::MAX), "published saturated");
    cancel(&mut e, a[0], OrderRef::Id(OrderId(1))).unwrap();
    assert_eq!(e.best_bid_ask(ETH_USD).1.unwrap().qty, Qty(i64::MAX));
}

#[test]
fn a_retired_account_is_gone_and_funds_stay_conserved() {
    let (mut e, alice, bob) = setup();
    let mut out = Vec::new();
    e.execute(
        &Command::Place(limit(alice, Side::Buy, 100, 5)),
        1,
        &mut out,
    )
    .unwrap();
    assert_eq!(e.retire_account(alice), Err(Reject::AccountBusy));
    e.execute(&Command::Place(limit(bob, Side::Sell, 100, 5)), 2, &mut out)
        .unwrap();
    assert!(!e.has_open_orders(alice));
    e.retire_account(alice).unwrap();
    assert!(!e.is_active(alice) && e.is_active(bob));
    assert!(e.balances(alice).is_empty() && e.fills(alice).is_empty());
    assert_eq!(
        e.execute(
            &Command::Place(limit(alice, Side::Buy, 100, 1)),
            3,
            &mut out
        ),
        Err(Reject::UnknownAccount)
    );
    assert_eq!(e.retire_account(alice), Err(Reject::UnknownAccount));
    e.check_invariants().unwrap();
}

#[test]
fn a_market_order_with_a_quote_budget_spends_or_receives_at_most_it() {
    let (mut e, alice, bob) = setup();
    let mut out = Vec::new();
    for (side, price) in [
        (Side::Sell, 100),
        (Side::Sell, 101),
        (Side::Buy, 99),
        (Side::Buy, 98),
    ] {
        e.execute(&Command::Place(limit(bob, side, price, 10)), 1, &mut out)
            .unwrap();
    }
    let traded = |out: &[Event]| -> (i64, i128) {
        out.iter()
            .filter_map(|ev| match ev {
                Event::Fill(f) if f.account == alice => Some(f),
                _ => None,
            })
            .fold((0, 0), |(q, n), f| {
                (q + f.qty.0, n + i128::from(f.price.0) * i128::from(f.qty.0))
            })
    };
    // A buy of up to 1,000 lots with 1,500 to spend: 10 at 100, then 4 at 101 (404), not a 15th.
    let mut buy = market(alice, Side::Buy, 1_000);
    buy.quote_budget = Some(Amount(1_500));
    out.clear();
    e.execute(&Command::Place(buy), 2, &mut out).unwrap();
    assert_eq!(traded(&out), (14, 1_404));
    let closed = out.iter().find_map(|ev| match ev {
        Event::Closed(c) => Some(*c),
        _ => None,
    });
    assert_eq!(closed.map(|c| c.reason), Some(CloseReason::MarketRemainder));
    assert_eq!(closed.map(|c| c.terms.cum_quote), Some(Amount(1_404)));
    // A sell that wants to receive 1,500: 10 at 99, then 5 at 98 (490): 1,480.
    let mut sell = market(alice, Side::Sell, 1_000);
    sell.quote_budget = Some(Amount(1_500));
    out.clear();
    e.execute(&Command::Place(sell), 3, &mut out).unwrap();
    assert_eq!(traded(&out), (15, 1_480));
    e.check_invariants().unwrap();
    // Only market orders that are not fill-or-kill take a budget.
    let mut limit_with_budget = limit(alice, Side::Buy, 100, 1);
    limit_with_budget.quote_budget = Some(Amount(100));
    let mut fok = market(alice, Side::Buy, 1);
    fok.time_in_force = TimeInForce::Fok;
    fok.quote_budget = Some(Amount(100));
    for order in [limit_with_budget, fok] {
        assert_eq!(
            e.execute(&Command::Place(order), 4, &mut out),
            Err(Reject::InvalidQuoteBudget)
        );
    }
}
