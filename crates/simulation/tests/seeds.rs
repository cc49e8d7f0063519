//! The simulator finds what it is meant to find: worlds under faults settle to the truth, the same
//! seed gives the same digest, and a planted bug is reported.

use exchange_simulation::{run, Options, Plant, Summary};

fn simulate(seeds: std::ops::Range<u64>, steps: u64, plant: Option<Plant>) -> Summary {
    let options = Options {
        seeds: seeds.collect(),
        steps,
        settle_steps: 3_000,
        plant,
        trace: false,
    };
    run(&options, |_, _| {})
}

#[test]
fn worlds_under_faults_settle_to_the_exchanges_truth() {
    let summary = simulate(1..5, 1_000, None);
    assert_eq!(summary.failures, 0, "{:?}", summary.first_failure);
    assert!(summary.inputs > 3_000, "the worlds were busy: {summary:?}");
}

#[test]
fn the_same_seeds_give_the_same_digest() {
    let a = simulate(7..9, 400, None);
    let b = simulate(7..9, 400, None);
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.digest, simulate(9..11, 400, None).digest);
}

#[test]
fn a_core_that_skips_an_account_seq_is_caught() {
    let summary = simulate(1..3, 1_000, Some(Plant::SkipAccountSeq));
    assert_eq!(summary.failures, 2, "every seed fails");
    let failure = summary.first_failure.unwrap_or_default();
    assert!(failure.contains("account_seq"), "{failure}");
}

#[test]
fn a_book_delta_that_lies_is_caught() {
    let summary = simulate(1..3, 1_000, Some(Plant::BookDelta));
    assert_eq!(summary.failures, 2, "every seed fails");
    let failure = summary.first_failure.unwrap_or_default();
    assert!(failure.contains("book"), "{failure}");
}
