//! The wire's per-message costs, apart from the network: rendering the private events an order
//! causes (ORDER_ACK, ORDER_FILL, BALANCE_UPDATE) and parsing a PLACE_ORDER. The events come from
//! the engine's own mixed flow, so prices, quantities and ids have realistic widths.
//! Run with `cargo bench -p exchange-protocol`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::flow::MixedFlow;
use engine::Event;
use exchange_protocol::request::parse_request;
use exchange_protocol::{messages, Catalog, RequestId};

const SEED: u64 = 7;
/// Commands run to collect events.
const COMMANDS: u64 = 20_000;
/// Events of each kind rendered per iteration.
const EVENTS: usize = 1_000;

fn render(c: &mut Criterion) {
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
    let rid = RequestId("12345".into());
    let mut group = c.benchmark_group("render");
    let mut text = String::with_capacity(1024);
    group.throughput(Throughput::Elements(accepted.len() as u64));
    group.bench_function("order_ack", |b| {
        b.iter(|| {
            for e in &accepted {
                text.clear();
                messages::order_ack(&mut text, Some(&rid), &catalog, &e.order, e.account_seq);
                black_box(&text);
            }
        })
    });
    group.throughput(Throughput::Elements(fills.len() as u64));
    group.bench_function("order_fill", |b| {
        b.iter(|| {
            for f in &fills {
                text.clear();
                messages::order_fill(&mut text, &catalog, f);
                black_box(&text);
            }
        })
    });
    group.throughput(Throughput::Elements(balances.len() as u64));
    group.bench_function("balance_update", |b| {
        b.iter(|| {
            for e in &balances {
                text.clear();
                messages::balance_changed(&mut text, &catalog, e, 1_764_000_000_000_000_000);
                black_box(&text);
            }
        })
    });
    group.finish();

    let place = r#"{"type":"PLACE_ORDER","request_id":123456,"symbol":"BTC/USD","side":"BUY","order_type":"LIMIT","price":"50000.25","quantity":"0.001","time_in_force":"GTC","client_order_id":"lg-17-123456"}"#;
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("place_order", |b| {
        b.iter(|| black_box(parse_request(black_box(place), &catalog)))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
