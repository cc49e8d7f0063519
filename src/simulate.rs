//! `exchange-sim simulate`: the whole exchange in simulated time over many seeds (see the
//! `exchange-simulation` crate). Prints a line per seed, then one JSON object last.

use std::io::Write;
use std::process::ExitCode;

use simulation::{Options, Plant};

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// How many seeds to run, from --first-seed on.
    #[arg(long, default_value_t = 32, conflicts_with = "seed")]
    seeds: u64,
    /// The first seed of --seeds.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Run this one seed alone and print its trace (what a failing seed is re-run with).
    #[arg(long)]
    seed: Option<u64>,
    /// Steps per seed under faults (each moves simulated time by 5 to 50 ms).
    #[arg(long, default_value_t = 2_000)]
    steps: u64,
    /// Steps the world may take to settle without faults before the views are compared.
    #[arg(long, default_value_t = 3_000)]
    settle_steps: u64,
    /// Plant a bug on purpose, to see the checks find it: skip-account-seq or book-delta.
    #[arg(long, value_parser = parse_plant)]
    plant: Option<Plant>,
    /// Print only the JSON summary.
    #[arg(long)]
    json: bool,
}

fn parse_plant(name: &str) -> Result<Plant, String> {
    Plant::parse(name).ok_or_else(|| "planted bugs are skip-account-seq and book-delta".into())
}

/// Runs the simulation; the exit code is 0 when every seed passed (1 otherwise, also when a bug
/// was planted and found: a planted bug is meant to fail).
pub fn run(args: &SimulateArgs) -> ExitCode {
    let seeds: Vec<u64> = match args.seed {
        Some(seed) => vec![seed],
        None => (args.first_seed..args.first_seed.saturating_add(args.seeds)).collect(),
    };
    let options = Options {
        seeds,
        steps: args.steps,
        settle_steps: args.settle_steps,
        plant: args.plant,
        trace: args.seed.is_some(),
    };
    let mut out = std::io::stdout().lock();
    let summary = simulation::run(&options, |seed, outcome| {
        if args.json {
            return;
        }
        for line in &outcome.trace {
            let _ = writeln!(out, "{line}");
        }
        let verdict = match &outcome.failure {
            None => "ok".to_string(),
            Some(failure) => format!("FAILED: {failure}"),
        };
        let _ = writeln!(
            out,
            "seed {seed}: {} steps, {} inputs, {} trades, {} faults, {} connections, {} \
             recoveries: {verdict}",
            outcome.steps,
            outcome.inputs,
            outcome.trades,
            outcome.faults,
            outcome.connections,
            outcome.recoveries
        );
        if outcome.failure.is_some() && args.seed.is_none() {
            let _ = writeln!(
                out,
                "  re-run alone with its trace: exchange-sim simulate --seed {seed} --steps {}{}",
                args.steps,
                args.plant
                    .map_or(String::new(), |p| format!(" --plant {}", p.name()))
            );
        }
    });
    let json = serde_json::json!({
        "seeds": summary.seeds,
        "steps": summary.steps,
        "inputs": summary.inputs,
        "failures": summary.failures,
        "first_failing_seed": summary.first_failing_seed,
        "first_failure": summary.first_failure,
        "digest": summary.digest,
    });
    let _ = writeln!(out, "{json}");
    if summary.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
