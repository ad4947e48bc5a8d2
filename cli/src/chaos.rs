//! `payouts chaos`: many seeded fault-injection runs, their totals, and the trace of any seed
//! that broke an invariant.

use payout_local::chaos::{ChaosReport, FaultKind, Sabotage, run_many, run_one};

/// Every fault kind must have been exercised at least this often for the totals to mean much.
const ENOUGH_OF_EACH_FAULT: u64 = 100;
/// Trace lines shown per failing seed.
const TRACE_TAIL: usize = 60;
const SEEDS_EXPLAINED: usize = 3;

pub fn chaos(runs: u64, seed: u64, threads: Option<usize>, json: bool) -> anyhow::Result<()> {
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let report = run_many(seed, runs, threads, Sabotage::None);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report, threads);
    }
    if !report.violations.is_empty() {
        for (failing, _) in report.violations.iter().take(SEEDS_EXPLAINED) {
            explain(*failing);
        }
        anyhow::bail!(
            "{} of {} runs broke an invariant; rerun one with `payouts chaos --runs 1 --seed S`",
            report.violations.len(),
            report.runs
        );
    }
    Ok(())
}

fn print_summary(report: &ChaosReport, threads: usize) {
    println!(
        "runs: {} (seeds {}..{}) in {:.1} s on {threads} threads",
        report.runs,
        report.first_seed,
        report.first_seed + report.runs,
        report.elapsed.as_secs_f64()
    );
    println!(
        "payouts: {} ({} paid, the rest failed for good, cancelled or owed)",
        report.payouts, report.completed
    );
    println!("faults injected:");
    for kind in FaultKind::ALL {
        let count = report
            .faults
            .get(kind.as_str())
            .copied()
            .unwrap_or_default();
        println!("  {:<34} {count:>8}", kind.as_str());
    }
    let rare = report.rare_faults(ENOUGH_OF_EACH_FAULT);
    if rare.is_empty() {
        println!("every fault kind injected at least {ENOUGH_OF_EACH_FAULT} times: yes");
    } else {
        println!(
            "fault kinds injected fewer than {ENOUGH_OF_EACH_FAULT} times (run more): {}",
            rare.join(", ")
        );
    }
    println!("violations: {}", report.violations.len());
    for (seed, violations) in &report.violations {
        for violation in violations {
            println!("  seed {seed}: {violation}");
        }
    }
}

/// Replays `seed` with its trace kept and prints the steps that touched the payouts (and their
/// barbers' locks) named in its violations.
fn explain(seed: u64) {
    // The simulation starts runtimes of its own: it runs outside the CLI's.
    let outcome = std::thread::spawn(move || run_one(seed, Sabotage::None, true)).join();
    let Ok(outcome) = outcome else {
        println!("seed {seed}: the replay panicked");
        return;
    };
    let payouts: Vec<&str> = outcome
        .violations
        .iter()
        .flat_map(|violation| violation.split_whitespace())
        .filter(|word| word.starts_with("po_"))
        .collect();
    let locks: Vec<String> = payouts
        .iter()
        .filter_map(|payout| payout.rsplit('_').next())
        .map(|barber| format!("locks {barber}"))
        .collect();
    let relevant: Vec<&String> = outcome
        .trace
        .iter()
        .filter(|line| {
            payouts.iter().any(|payout| line.contains(payout))
                || locks.iter().any(|lock| line.ends_with(lock.as_str()))
                || line.contains(" fault ")
        })
        .collect();
    println!("\nseed {seed}, the steps that touched {payouts:?} (last {TRACE_TAIL}):");
    let skip = relevant.len().saturating_sub(TRACE_TAIL);
    for line in &relevant[skip..] {
        println!("  {line}");
    }
}
