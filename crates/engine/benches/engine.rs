//! The engine alone on one core, driven by the mixed flow of `exchange_engine::flow`.
//!
//! The commands are drawn once up front (drawing consults the book, which is not the engine's
//! cost). The first `WARM_UP` of them bring an engine to steady state (a full book, and the
//! bounded histories of fills, closed orders and trades at their limits, as in a server that has
//! run a while); the next `CHUNK` are then replayed against clones of that warm engine: criterion
//! measures the throughput (`thrpt` is operations per second), and separate passes print
//! operations per second of wall and CPU time and per-operation latency percentiles, for a warm
//! engine and for a cold one (fresh from `MixedFlow::new`, histories still growing).
//! Run with `cargo bench -p exchange-engine`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use exchange_engine::flow::MixedFlow;
use exchange_engine::{Command, Engine, Event};

const SEED: u64 = 42;
/// Commands that bring the engine to steady state before anything is timed.
const WARM_UP: usize = 500_000;
/// Commands timed per replay; criterion replays as many chunks of these as it needs.
const CHUNK: usize = 1_000_000;

/// Runs the flow, returning the cold engine, the engine after `WARM_UP` commands, and the
/// `CHUNK` commands drawn after those.
fn record() -> (Engine, Engine, Vec<Command>, Vec<Command>) {
    let (mut engine, mut flow) = MixedFlow::new(SEED);
    let cold = engine.clone();
    let mut out = Vec::with_capacity(256);
    let mut warm_up = Vec::with_capacity(WARM_UP);
    let mut cmds = Vec::with_capacity(CHUNK);
    let mut warm = None;
    for ts in 0..(WARM_UP + CHUNK) as u64 {
        if ts as usize == WARM_UP {
            warm = Some(engine.clone());
        }
        let cmd = flow.next_command(&engine);
        out.clear();
        let _ = engine.execute(&cmd, ts, &mut out);
        if (ts as usize) < WARM_UP {
            warm_up.push(cmd);
        } else {
            cmds.push(cmd);
        }
    }
    (cold, warm.unwrap_or(engine), warm_up, cmds)
}

/// This thread's time on a CPU so far, from `/proc/thread-self/schedstat` (Linux), so that a run
/// on a shared machine can tell its own cost from time spent waiting for a core.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Replays once untimed per operation and prints operations per second of wall and of CPU time.
fn throughput_report(label: &str, mut engine: Engine, cmds: &[Command]) {
    let mut out: Vec<Event> = Vec::with_capacity(256);
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    for (ts, cmd) in cmds.iter().enumerate() {
        out.clear();
        let _ = engine.execute(black_box(cmd), ts as u64, &mut out);
        black_box(&out);
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, thread_cpu_ns()) {
        (Some(a), Some(b)) => format!(
            "{:.2} M ops/s of CPU time",
            cmds.len() as f64 / ((b - a) as f64 / 1e9) / 1e6
        ),
        _ => "CPU time unavailable".to_string(),
    };
    println!(
        "engine/mixed_flow {label} replay of {} ops: {:.2} M ops/s of wall time, {cpu}",
        cmds.len(),
        cmds.len() as f64 / wall / 1e6
    );
}

/// Times every operation of one replay and prints the percentiles.
fn latency_report(label: &str, mut engine: Engine, cmds: &[Command]) {
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
        "engine/mixed_flow {label} latency over {} ops ({:.2} events/op, {} resting at the end): \
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
    let (cold, warm, warm_up, cmds) = record();
    throughput_report("cold", cold.clone(), &warm_up);
    latency_report("cold", cold, &warm_up);
    throughput_report("warm", warm.clone(), &cmds);
    latency_report("warm", warm.clone(), &cmds);
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mixed_flow", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            let mut out: Vec<Event> = Vec::with_capacity(256);
            while left > 0 {
                let mut engine = warm.clone();
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
