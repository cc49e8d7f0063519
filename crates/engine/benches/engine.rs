//! The engine alone on one core, driven by the mixed flow of `exchange_engine::flow`.
//!
//! The commands are drawn once up front (drawing consults the book, which is not the engine's
//! cost), then replayed against fresh engines built from the same seed: criterion measures the
//! throughput (`thrpt` is operations per second), and a separate pass times every operation to
//! print latency percentiles. Run with `cargo bench -p exchange-engine`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use exchange_engine::flow::MixedFlow;
use exchange_engine::{Command, Event};

const SEED: u64 = 42;
/// Commands recorded per replay; criterion replays as many chunks of these as it needs.
const CHUNK: usize = 1_000_000;

/// Runs the flow once, recording the commands it drew.
fn record(n: usize) -> Vec<Command> {
    let (mut engine, mut flow) = MixedFlow::new(SEED);
    let mut out = Vec::with_capacity(256);
    let mut cmds = Vec::with_capacity(n);
    for ts in 0..n as u64 {
        let cmd = flow.next_command(&engine);
        out.clear();
        let _ = engine.execute(&cmd, ts, &mut out);
        cmds.push(cmd);
    }
    cmds
}

/// Times every operation of one replay and prints the percentiles.
fn latency_report(cmds: &[Command]) {
    let (mut engine, _) = MixedFlow::new(SEED);
    let mut out: Vec<Event> = Vec::with_capacity(256);
    let mut ns: Vec<u64> = Vec::with_capacity(cmds.len());
    let mut events = 0usize;
    for (ts, cmd) in cmds.iter().enumerate() {
        out.clear();
        let start = Instant::now();
        let _ = engine.execute(black_box(cmd), ts as u64, &mut out);
        ns.push(start.elapsed().as_nanos() as u64);
        events += out.len();
    }
    ns.sort_unstable();
    let pct = |p: f64| ns[((ns.len() - 1) as f64 * p) as usize];
    println!(
        "engine/mixed_flow latency over {} ops ({:.2} events/op, {} resting at the end): \
         p50 {} ns, p90 {} ns, p99 {} ns, p99.9 {} ns, max {} ns (each includes ~20 ns of timer)",
        ns.len(),
        events as f64 / ns.len() as f64,
        engine.open_order_count(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        ns[ns.len() - 1]
    );
}

fn throughput(c: &mut Criterion) {
    let cmds = record(CHUNK);
    latency_report(&cmds);
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mixed_flow", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            let mut out: Vec<Event> = Vec::with_capacity(256);
            while left > 0 {
                let (mut engine, _) = MixedFlow::new(SEED);
                let n = left.min(CHUNK);
                let start = Instant::now();
                for (ts, cmd) in cmds[..n].iter().enumerate() {
                    out.clear();
                    let _ = engine.execute(black_box(cmd), ts as u64, &mut out);
                    black_box(&out);
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, throughput);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
