//! The deterministic simulation under faults: a short run holds every invariant, a seed
//! replays exactly, and the harness does catch a broken protocol.

use payout_local::chaos::{Sabotage, run_many, run_one};

#[test]
fn a_short_chaos_run_breaks_no_invariant() {
    let report = run_many(1, 500, 2, Sabotage::None);
    assert!(report.payouts > 1000, "{report:?}");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

#[test]
fn one_seed_replays_one_run_exactly() {
    let first = run_one(4242, Sabotage::None, true);
    let again = run_one(4242, Sabotage::None, true);
    assert!(!first.trace.is_empty());
    assert_eq!(first.trace, again.trace);
    assert_eq!(first.faults, again.faults);
    assert_eq!(first.payouts, again.payouts);
}

#[test]
fn paying_again_without_asking_the_rail_first_is_caught() {
    let report = run_many(1, 1000, 2, Sabotage::SkipReconciliation);
    assert!(!report.violations.is_empty(), "the harness missed it");
    // Paid twice, or recorded unpaid (failed) though the rail paid it.
    let (_, violations) = &report.violations[0];
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("(c)") || v.starts_with("(a)")),
        "{violations:?}"
    );
}

#[test]
fn paying_after_the_lock_lease_lapsed_is_caught() {
    // The bug the harness found: an executor paused between marking an attempt and paying was
    // overtaken by one that found no transfer and paid, and then paid too. The executor now
    // checks how long it has held its lock just before paying; without the check, it pays twice.
    let report = run_many(1, 1000, 2, Sabotage::IgnoreLeaseExpiry);
    assert!(!report.violations.is_empty(), "the harness missed it");
    for (seed, _) in report.violations.iter().take(5) {
        let fixed = run_one(*seed, Sabotage::None, false);
        assert!(
            fixed.violations.is_empty(),
            "seed {seed}: {:?}",
            fixed.violations
        );
    }
}

#[test]
fn a_batch_that_pays_before_its_attempts_are_recorded_is_caught() {
    // A batch that writes its attempts with its results, after paying, would leave nothing to
    // reconcile against if it died mid-batch: the rail sees each payment arrive before its
    // recovery point.
    caught_within_1000_runs(Sabotage::PayBeforeAttemptsRecorded, &["(f)"]);
}

#[test]
fn a_batch_that_loses_one_members_outcome_is_caught() {
    // Its job is acknowledged with the payout still processing (g); or, when the planner's
    // recovery finishes the payout before that check, the payment its executor counted is
    // counted again (k).
    caught_within_1000_runs(Sabotage::LoseOneOutcome, &["(g)", "(k)"]);
}

/// The first of 1,000 runs with `sabotage` that breaks an invariant breaks one of
/// `invariants`, and its seed runs clean without the sabotage.
fn caught_within_1000_runs(sabotage: Sabotage, invariants: &[&str]) {
    let report = run_many(1, 1000, 2, sabotage);
    let (seed, violations) = report.violations.first().expect("the harness missed it");
    assert!(
        violations
            .iter()
            .any(|v| invariants.iter().any(|invariant| v.starts_with(invariant))),
        "seed {seed}: {violations:?}"
    );
    let fixed = run_one(*seed, Sabotage::None, false);
    assert!(
        fixed.violations.is_empty(),
        "seed {seed}: {:?}",
        fixed.violations
    );
}

#[test]
fn a_schedule_edit_written_over_the_planners_advance_is_caught() {
    // The unconditional write of old: an edit that read the schedule before the planner moved
    // its calendar on puts the planned cut-off back.
    caught_within_1000_runs(Sabotage::IgnoreScheduleVersion, &["(h)"]);
}

#[test]
fn reconciliation_reading_failed_payouts_is_caught() {
    // The defect of old: the sweep looked at failed payouts, found the transfer a failed
    // instant payout leaves behind, and took it for a payment.
    caught_within_1000_runs(Sabotage::ReconcileFailed, &["(j)"]);
}

#[test]
fn an_answer_recorded_at_the_jobs_pick_up_time_is_caught() {
    // A stopwatch that never moves records every step at the moment the job was picked up: a
    // transfer the rail took 31 minutes to answer would be accepted as it began.
    let report = run_many(1, 1000, 2, Sabotage::IgnoreLeaseExpiry);
    let caught = report
        .violations
        .iter()
        .flat_map(|(_, violations)| violations)
        .any(|v| v.starts_with("(l)"));
    assert!(caught, "{:?}", report.violations.first());
}

#[test]
fn a_restart_that_re_enqueues_only_stale_payouts_is_caught() {
    // The start of old: retries pending when the process died waited for the stale sweep.
    caught_within_1000_runs(Sabotage::RecoverOnlyStale, &["(m)"]);
}

#[test]
fn a_lookup_asked_without_a_time_limit_is_caught() {
    // The sweep of old: a lookup the provider never answered held reconciliation, and the
    // planning behind it, for as long as the provider kept it.
    caught_within_1000_runs(Sabotage::DropLookupTimeout, &["(n)"]);
}
