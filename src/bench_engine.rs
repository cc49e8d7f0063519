//! `exchange-sim bench engine`: the matching engine alone on one core, driven by the seeded mixed
//! flow of `engine::flow` (about 1,000 resting orders over about 750 levels; 50% passive limit,
//! 25% cancel, 15% crossing limit, 10% IOC/market).
//!
//! The commands are drawn first (drawing reads the book, which is not the engine's cost) against
//! a scratch engine, then replayed twice on fresh copies of the starting engine: once untimed per
//! operation for the throughput, once timing every operation into an HDR histogram for the
//! latency percentiles.

use std::time::Instant;

use engine::flow::MixedFlow;
use engine::{Command, Event};
use hdrhistogram::Histogram;

/// Flags of `bench engine`.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Operations to run.
    #[arg(long, default_value_t = 2_000_000)]
    pub orders: usize,
    /// The flow's seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print one JSON object with the figures as the last line.
    #[arg(long)]
    pub json: bool,
}

/// What `bench engine` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineReport {
    pub scenario: &'static str,
    pub orders: usize,
    pub seed: u64,
    pub ops_per_sec: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    pub events_per_op: f64,
}

/// Runs the benchmark and prints its figures.
pub fn run(args: &EngineArgs) -> EngineReport {
    let (start, mut flow) = MixedFlow::new(args.seed);
    let mut scratch = start.clone();
    let mut out: Vec<Event> = Vec::with_capacity(256);
    let mut commands: Vec<Command> = Vec::with_capacity(args.orders);
    for ts in 0..args.orders as u64 {
        let cmd = flow.next_command(&scratch);
        out.clear();
        let _ = scratch.execute(&cmd, ts, &mut out);
        commands.push(cmd);
    }
    drop(scratch);

    let mut engine = start.clone();
    let mut events = 0usize;
    let began = Instant::now();
    for (ts, cmd) in commands.iter().enumerate() {
        out.clear();
        let _ = std::hint::black_box(engine.execute(cmd, ts as u64, &mut out));
        events += out.len();
    }
    let elapsed = began.elapsed();
    drop(engine);

    let mut histogram =
        Histogram::<u64>::new(3).expect("3 significant figures is a valid histogram");
    let mut engine = start;
    for (ts, cmd) in commands.iter().enumerate() {
        out.clear();
        let t0 = Instant::now();
        let _ = std::hint::black_box(engine.execute(cmd, ts as u64, &mut out));
        let _ = histogram.record(t0.elapsed().as_nanos() as u64);
    }

    let report = EngineReport {
        scenario: "engine",
        orders: args.orders,
        seed: args.seed,
        ops_per_sec: args.orders as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ns: histogram.value_at_quantile(0.50),
        p99_ns: histogram.value_at_quantile(0.99),
        p999_ns: histogram.value_at_quantile(0.999),
        max_ns: histogram.max(),
        events_per_op: events as f64 / args.orders.max(1) as f64,
    };
    crate::say(&format!(
        "engine: {} operations (seed {}) in {:.3} s: {:.0} ops/s, {:.1} events/op",
        report.orders,
        report.seed,
        elapsed.as_secs_f64(),
        report.ops_per_sec,
        report.events_per_op
    ));
    crate::say(&format!(
        "latency per operation (timed pass): p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        report.p50_ns, report.p99_ns, report.p999_ns, report.max_ns
    ));
    if args.json {
        crate::say(&serde_json::to_string(&report).unwrap_or_else(|_| "{}".into()));
    }
    report
}
