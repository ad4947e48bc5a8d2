//! `payouts chaos`: a deterministic simulation of the whole pipeline under faults.
//!
//! One run builds a small marketplace (a few barbers on daily and weekly calendars, sometimes
//! across a DST change) on the embedded adapters, then plays a seeded script of ticks: earnings
//! arrive (some late, some twice, some for a paused barber), schedules are edited, the planner
//! runs (late, twice, or two at once), and one to three executors work the queue concurrently.
//! The store, rail and queue every task sees are wrapped in the injectors of [`faults`]. Then
//! the faults stop, the simulated clock runs on until nothing is owed, and [`invariants`]
//! compares the store with the rail's ledger.
//!
//! The same seed replays the same run: one seeded scheduler decides every interleaving and
//! every fault, and time is a manual clock.

mod faults;
mod invariants;
mod queue;
mod rail;
pub(crate) mod rng;
mod scheduler;
mod store;
mod world;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use faults::{FaultKind, Sabotage};
pub use world::{RunOutcome, TICKS, run_on, run_one};

/// The totals of many runs.
#[derive(Debug, Default, Serialize)]
pub struct ChaosReport {
    pub runs: u64,
    pub first_seed: u64,
    pub payouts: u64,
    pub completed: u64,
    pub faults: BTreeMap<&'static str, u64>,
    /// Seeds whose run broke an invariant, with what it broke.
    pub violations: Vec<(u64, Vec<String>)>,
    pub elapsed: Duration,
}

impl ChaosReport {
    /// Fault kinds injected fewer than `minimum` times.
    pub fn rare_faults(&self, minimum: u64) -> Vec<&'static str> {
        FaultKind::ALL
            .iter()
            .map(|kind| kind.as_str())
            .filter(|name| self.faults.get(name).copied().unwrap_or_default() < minimum)
            .collect()
    }
}

/// Runs seeds `first_seed .. first_seed + runs` on `threads` threads.
pub fn run_many(first_seed: u64, runs: u64, threads: usize, sabotage: Sabotage) -> ChaosReport {
    let started = Instant::now();
    let threads = threads.max(1) as u64;
    let outcomes: Vec<RunOutcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    (0..runs)
                        .filter(|i| i % threads == worker)
                        .map(|i| run_one(first_seed.wrapping_add(i), sabotage, false))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    let mut report = ChaosReport {
        runs,
        first_seed,
        ..ChaosReport::default()
    };
    for outcome in outcomes {
        report.payouts += outcome.payouts;
        report.completed += outcome.completed;
        for (kind, count) in outcome.faults {
            *report.faults.entry(kind.as_str()).or_default() += count;
        }
        if !outcome.violations.is_empty() {
            report.violations.push((outcome.seed, outcome.violations));
        }
    }
    report.violations.sort();
    report.elapsed = started.elapsed();
    report
}
