//! The whole exchange in simulated time, over many seeds, in the manner of FoundationDB's
//! simulation testing and TigerBeetle's VOPR: the real core, the real market, the real fault layer
//! and the real connection links and delivery, driven by scripted clients, with no sockets and no
//! threads. Each seed names a whole world (configuration, faults, clients); after every input and
//! every step the rules are checked:
//!
//! - the engine's and the core's invariants;
//! - every connection's private events carry gap-free `account_seq`s, and every ORDERBOOK_L2
//!   delta, applied to the snapshot before it, gives exactly the engine's book (the [`oracle`]);
//! - once the faults stop and the world settles, every client's view (open orders, fills,
//!   balances to the last unit; the book) equals the exchange's truth.
//!
//! A run hashes every input, effect and frame into a digest: the same arguments give the same
//! digest on every machine. A failing seed runs again alone and prints its trace.

#![forbid(unsafe_code)]

mod client;
mod oracle;
mod scenario;
mod world;

use sha2::{Digest, Sha256};

pub use world::Outcome;

/// A bug planted on purpose, to prove the checks find one: the core's output is changed as if
/// the core had it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plant {
    /// From some input on, every private event's `account_seq` is one too high (one skipped).
    SkipAccountSeq,
    /// One ORDERBOOK_L2 delta says one lot more than the book has.
    BookDelta,
}

impl Plant {
    /// The planted bug's name.
    pub fn name(self) -> &'static str {
        match self {
            Plant::SkipAccountSeq => "skip-account-seq",
            Plant::BookDelta => "book-delta",
        }
    }

    /// A planted bug by name (`skip-account-seq`, `book-delta`).
    pub fn parse(name: &str) -> Option<Plant> {
        match name {
            "skip-account-seq" => Some(Plant::SkipAccountSeq),
            "book-delta" => Some(Plant::BookDelta),
            _ => None,
        }
    }
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Options {
    /// The seeds to run, in order.
    pub seeds: Vec<u64>,
    /// Steps under faults per seed (each moves time by 5 to 50 ms).
    pub steps: u64,
    /// Steps without faults for the world to settle before the views are compared.
    pub settle_steps: u64,
    pub plant: Option<Plant>,
    /// Keep each seed's trace (for a seed run alone).
    pub trace: bool,
}

/// What a run found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub seeds: u64,
    pub steps: u64,
    pub inputs: u64,
    pub failures: u64,
    pub first_failing_seed: Option<u64>,
    /// The first failure, described.
    pub first_failure: Option<String>,
    /// Of every input, effect and frame of every seed, in order (hex).
    pub digest: String,
}

/// Runs every seed; `each` sees each seed's outcome as it finishes.
pub fn run(options: &Options, mut each: impl FnMut(u64, &Outcome)) -> Summary {
    let mut digest = Sha256::new();
    let mut summary = Summary {
        seeds: 0,
        steps: 0,
        inputs: 0,
        failures: 0,
        first_failing_seed: None,
        first_failure: None,
        digest: String::new(),
    };
    for &seed in &options.seeds {
        let outcome = match world::World::new(seed, options.plant, options.trace) {
            Ok(world) => world.run(options.steps, options.settle_steps),
            Err(e) => Outcome {
                failure: Some(format!("the world cannot be built: {e}")),
                steps: 0,
                inputs: 0,
                trades: 0,
                faults: 0,
                connections: 0,
                recoveries: 0,
                digest: [0; 32],
                trace: Vec::new(),
            },
        };
        digest.update(outcome.digest);
        summary.seeds += 1;
        summary.steps += outcome.steps;
        summary.inputs += outcome.inputs;
        if let Some(failure) = &outcome.failure {
            summary.failures += 1;
            if summary.first_failing_seed.is_none() {
                summary.first_failing_seed = Some(seed);
                summary.first_failure = Some(failure.clone());
            }
        }
        each(seed, &outcome);
    }
    summary.digest = hex(&digest.finalize());
    summary
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
