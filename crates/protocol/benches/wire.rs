//! The wire's per-message costs, apart from the network: rendering the private events an order
//! causes (ORDER_ACK, ORDER_FILL, BALANCE_UPDATE) and parsing a PLACE_ORDER. The events come from
//! the engine's own mixed flow, so prices, quantities and ids have realistic widths.
//! Run with `cargo bench -p exchange-protocol`.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use engine::flow::MixedFlow;
use engine::Event;
use exchange::{Catalog, Message, RequestId};
use exchange_protocol::{messages, parse_request};

const SEED: u64 = 7;
/// Commands run to collect events.
const COMMANDS: u64 = 20_000;
/// Events of each kind rendered per iteration.
const EVENTS: usize = 1_000;

fn wire(c: &mut Criterion) {
    let (mut engine, mut flow) = MixedFlow::new(SEED);
    let catalog = Catalog::from_engine(&engine);
    let (mut accepted, mut fills, mut balances) = (Vec::new(), Vec::new(), Vec::new());
    let mut out = Vec::new();
    for ts in 0..COMMANDS {
        let cmd = flow.next_command(&engine);
        out.clear();
        let _ = engine.execute(&cmd, ts, &mut out);
        for event in &out {
            match event {
                Event::Accepted(e) => accepted.push(*e),
                Event::Fill(f) => fills.push(*f),
                Event::Balance(b) => balances.push(*b),
                _ => {}
            }
        }
    }
    accepted.truncate(EVENTS);
    fills.truncate(EVENTS);
    balances.truncate(EVENTS);
    let rid = RequestId::from_json("12345");
    let accepted: Vec<Message> = accepted
        .into_iter()
        .map(|e| Message::OrderAccepted {
            rid: Some(rid.clone()),
            order: e.order,
            account_seq: e.account_seq,
        })
        .collect();
    let fills: Vec<Message> = fills.into_iter().map(Message::OrderFilled).collect();
    let balances: Vec<Message> = balances
        .into_iter()
        .map(|change| Message::BalanceChanged {
            change,
            at_ns: 1_764_000_000_000_000_000,
        })
        .collect();
    let mut group = c.benchmark_group("render");
    for (name, messages) in [
        ("order_ack", &accepted),
        ("order_fill", &fills),
        ("balance_update", &balances),
    ] {
        render_each(&mut group, name, messages, |text, m| {
            messages::render_frame(1234, m, &catalog, text)
        });
    }
    group.finish();

    let place = r#"{"type":"PLACE_ORDER","request_id":123456,"symbol":"BTC/USD","side":"BUY","order_type":"LIMIT","price":"50000.25","quantity":"0.001","time_in_force":"GTC","client_order_id":"lg-17-123456"}"#;
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("place_order", |b| {
        b.iter(|| black_box(parse_request(black_box(place), &catalog)))
    });
    group.finish();
}

/// Benchmarks rendering every one of `events` as a connection's frame into a reused buffer.
fn render_each<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    events: &[T],
    render: impl Fn(&mut String, &T),
) {
    let mut text = String::with_capacity(1024);
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            for event in events {
                text.clear();
                render(&mut text, event);
                black_box(&text);
            }
        })
    });
}

criterion_group!(benches, wire);
criterion_main!(benches);
