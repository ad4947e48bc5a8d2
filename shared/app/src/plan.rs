//! The planner: finds due schedules page by page, closes each period into a payout, advances
//! the schedule, and enqueues one job per payout. A page's periods are read and decided first,
//! then written in one call (one commit on the embedded store); a period whose balance moved
//! meanwhile, or that needs more than one write (recurring deductions, no automatic payout),
//! closes one by one.
//!
//! Safe to run late, twice, or concurrently: payout ids are deterministic (barber + cut-off)
//! and created by a conditional write, and a schedule advances only from the cut-off read.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use payout_core::ids::{BarberId, PayoutId};
use payout_core::payout::PayoutTrigger;
use payout_core::priority::SystemLoad;
use payout_core::schedule::PayoutSchedule;
use serde::Serialize;

use crate::advance_notice::{advance_notice_of, remember_advance_notice, send_due_advance_notices};
use crate::error::AppError;
use crate::ingest::ingest_deduction;
use crate::lifecycle;
use crate::load::system_load;
use crate::notify::{deliver_due_notices, notify_below_minimum};
use crate::period::{
    Closing, PeriodOutcome, PeriodRequest, close_period, closing, created, open_period,
    payout_creation,
};
use crate::planning_failure::{planning_failures_by_barber, record_planning_failure};
use crate::ports::{
    CreateOutcome, DueCursor, DueSchedule, PayoutJob, PeriodClose, PeriodWrite, PlanningFailure,
    ShardPlan, ShardQueue, StoreError,
};
use crate::services::Services;

/// The planner's name in audit trails and in the heartbeat health reads.
pub const PLANNER: &str = "planner";

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct PlanReport {
    pub schedules_due: u64,
    pub payouts_queued: u64,
    pub settled_with_balance_owed: u64,
    /// Payouts created waiting for a second operator's approval (`[approvals]`).
    pub awaiting_approval: u64,
    pub below_minimum: u64,
    /// Nothing payable: nothing open, or only earnings the schedule's hold keeps.
    pub nothing_open: u64,
    /// Barbers never paid whose first payout waits for `[holds] first_payout_after_days`.
    pub first_payout_waits: u64,
    pub already_planned: u64,
    pub auto_payout_disabled: u64,
    pub jobs_enqueued: u64,
    pub advance_notices_sent: u64,
    /// Barbers whose planning failed this run (recorded against them, retried with backoff).
    pub failed: u64,
    /// Barbers left alone this run because an earlier failure's backoff has not passed.
    pub held: u64,
    pub notices_attempted: u64,
    /// Shards of the due index sent to be planned by runs of their own (those with something
    /// due).
    pub shards_sent: u64,
}

/// How long the oldest due schedule has waited for the planner at `now` (zero when none is
/// due). Barbers held after a planning failure are reported as such, not as lag.
pub async fn planner_lag(p: &Services, now: DateTime<Utc>) -> Result<TimeDelta, AppError> {
    let held = planning_failures_by_barber(p).await?;
    Ok(p.store
        .due_schedules(now, None, held.len() + 1)
        .await?
        .iter()
        .find(|due| !held.contains_key(due.barber_id()))
        .map_or(TimeDelta::zero(), |oldest| now - oldest.next_run_at()))
}

/// Plans every schedule due at `now`, shard after shard of the due index. `keep_going` is asked
/// between pages, so a caller with a deadline stops cleanly and leaves the rest for its next
/// run.
///
/// One barber's failure (an overflowing balance, a corrupt record, a payout over the limit)
/// never stops the run: it is recorded against that barber with its reason (shown by
/// `/health` and the schedule), counted, and retried with backoff while everybody else is
/// planned. Only a failure to record it, which means the store itself is failing, ends the run.
pub async fn plan_due_payouts(
    p: &Services,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<PlanReport, AppError> {
    let mut report = deliver_notices(p, now, keep_going).await?;
    let held = planning_failures_by_barber(p).await?;
    for shard in 0..p.store.due_shards() {
        let from_the_top = ShardPlan { shard, after: None };
        if plan_pages(p, from_the_top, &held, now, keep_going, &mut report)
            .await?
            .is_some()
        {
            break;
        }
    }
    finish_run(p, now, &report).await?;
    Ok(report)
}

/// The tick of a planner whose shards are planned by runs of their own: delivers what notices
/// are due and sends one [`ShardPlan`] per shard of the due index to `shards`.
pub async fn fan_out_due_payouts(
    p: &Services,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Sync),
    shards: &dyn ShardQueue,
) -> Result<PlanReport, AppError> {
    let mut report = deliver_notices(p, now, keep_going).await?;
    // Only the shards with something due are sent: an idle platform's tick costs a one-item
    // read per shard, not an invocation per shard. A shard that cannot be read is sent all
    // the same: its own run records what is wrong, barber by barber, and plans the rest.
    let due = (0..p.store.due_shards()).map(|shard| async move {
        let has_due = match p.store.due_schedules_in_shard(shard, now, None, 1).await {
            Ok(page) => !page.is_empty(),
            Err(error) => {
                tracing::warn!(shard, %error, "could not tell whether the shard has anything due");
                true
            }
        };
        has_due.then_some(ShardPlan { shard, after: None })
    });
    let plans: Vec<ShardPlan> = futures::future::join_all(due)
        .await
        .into_iter()
        .flatten()
        .collect();
    if !plans.is_empty() {
        shards.send_plans(&plans).await?;
    }
    report.shards_sent = plans.len() as u64;
    finish_run(p, now, &report).await?;
    Ok(report)
}

/// What a run does before it plans: payout notices still to deliver, and advance notices due.
async fn deliver_notices(
    p: &Services,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<PlanReport, AppError> {
    Ok(PlanReport {
        notices_attempted: deliver_due_notices(p, now).await?,
        advance_notices_sent: send_due_advance_notices(p, now, keep_going).await?,
        ..PlanReport::default()
    })
}

async fn finish_run(p: &Services, now: DateTime<Utc>, report: &PlanReport) -> Result<(), AppError> {
    p.store.record_heartbeat(PLANNER, now).await?;
    if report.schedules_due > 0 || report.failed > 0 {
        tracing::info!(?report, "planner run finished");
    }
    Ok(())
}

/// Plans the schedules of one shard of the due index due at `now`, from where `plan` says, page
/// by page while `keep_going` allows, adding to `report`. Returns where it stopped when it
/// stopped with more to plan, `None` once the shard is done.
pub async fn plan_shard(
    p: &Services,
    plan: ShardPlan,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Sync),
    report: &mut PlanReport,
) -> Result<Option<DueCursor>, AppError> {
    let held = planning_failures_by_barber(p).await?;
    plan_pages(p, plan, &held, now, keep_going, report).await
}

async fn plan_pages(
    p: &Services,
    plan: ShardPlan,
    held: &HashMap<BarberId, PlanningFailure>,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Sync),
    report: &mut PlanReport,
) -> Result<Option<DueCursor>, AppError> {
    let mut cursor = plan.after;
    loop {
        let page = p
            .store
            .due_schedules_in_shard(plan.shard, now, cursor.as_ref(), p.config.planner_page_size)
            .await?;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        cursor = Some(DueCursor {
            next_run_at: last.next_run_at(),
            barber_id: last.barber_id().clone(),
        });
        // Measured once a page: a loaded system defers the page's low-priority payouts.
        let load = system_load(p, now).await;
        let mut jobs = plan_page(p, &page, held, now, load, report).await?;
        if !jobs.is_empty() {
            // The highest priority first: a queue delivers roughly in the order it was sent,
            // and on a Friday evening the rail's rate decides who is paid when.
            jobs.sort_by_key(|job| std::cmp::Reverse(job.priority));
            p.queue.send(&jobs).await?;
            report.jobs_enqueued += jobs.len() as u64;
        }
        if page.len() < p.config.planner_page_size {
            return Ok(None);
        }
        if !keep_going() {
            return Ok(cursor);
        }
    }
}

/// Plans one page of due schedules: reads and decides the periods that close together, writes
/// them in one call, then closes the others one by one. Returns the jobs of the payouts queued.
async fn plan_page(
    p: &Services,
    page: &[DueSchedule],
    held: &HashMap<BarberId, PlanningFailure>,
    now: DateTime<Utc>,
    load: SystemLoad,
    report: &mut PlanReport,
) -> Result<Vec<PayoutJob>, AppError> {
    let mut ready = Vec::new();
    for due in page {
        report.schedules_due += 1;
        let barber = due.barber_id();
        if held
            .get(barber)
            .is_some_and(|failure| failure.retry_at > now)
        {
            report.held += 1;
            continue;
        }
        ready.push((due, held.contains_key(barber)));
    }
    // A period's reads wait on the store rather than work (on DynamoDB, a round trip each), so
    // the page's periods are read and decided at the same time.
    let decisions: Vec<_> = ready
        .iter()
        .map(|(due, _)| decide(p, due, now, load))
        .collect();
    let decided: Vec<_> = futures::stream::iter(decisions)
        .buffered(p.config.planner_concurrency)
        .collect()
        .await;
    let mut together = Vec::new();
    let mut one_by_one = Vec::new();
    for ((due, failed_before), decided) in ready.into_iter().zip(decided) {
        match decided {
            Ok((_, Some(member))) => together.push((member, failed_before)),
            Ok((schedule, None)) => one_by_one.push((schedule, failed_before)),
            Err(error) => {
                report.failed += 1;
                record_planning_failure(p, due.barber_id(), &error.to_string(), now).await?;
            }
        }
    }
    let mut jobs = Vec::new();
    let writes: Vec<PeriodWrite> = together.iter().map(|(m, _)| m.write.clone()).collect();
    let closed = match lifecycle::create_many(p, &writes).await {
        Ok(closed) if closed.len() == writes.len() => closed,
        // One member the store cannot write must not stop the others: each is tried alone,
        // and a failure is recorded against its barber.
        failed => {
            tracing::warn!(
                error = failed.err().map(|e| e.to_string()),
                periods = writes.len(),
                "the page's periods did not close together; closing them one by one"
            );
            vec![CreateOutcome::ClaimChanged; writes.len()]
        }
    };
    for ((member, failed_before), closed) in together.into_iter().zip(closed) {
        let schedule = member.schedule;
        let outcome = match closed {
            CreateOutcome::Created => member.outcome,
            CreateOutcome::AlreadyExists | CreateOutcome::ClaimChanged => {
                // Entries arrived since the read (or the page's write failed), or the cut-off
                // already has its payout: the single path reads again, and moves the calendar
                // on past a cut-off already paid.
                one_by_one.push((schedule, failed_before));
                continue;
            }
        };
        let cutoff = schedule.next_run_at;
        jobs.extend(tally(p, schedule, cutoff, outcome, now, report).await);
        if failed_before {
            p.store.clear_planning_failure(&schedule.barber_id).await?;
        }
    }
    for (schedule, failed_before) in one_by_one {
        match plan_one(p, schedule, now, load, report).await {
            Ok(job) => {
                jobs.extend(job);
                if failed_before {
                    p.store.clear_planning_failure(&schedule.barber_id).await?;
                }
            }
            Err(error) => {
                report.failed += 1;
                let reason = error.to_string();
                record_planning_failure(p, &schedule.barber_id, &reason, now).await?;
            }
        }
    }
    Ok(jobs)
}

/// Reads and decides the period of a due schedule: the page's write for it, or none when it
/// closes one by one.
async fn decide<'a>(
    p: &Services,
    due: &'a DueSchedule,
    now: DateTime<Utc>,
    load: SystemLoad,
) -> Result<(&'a PayoutSchedule, Option<PageMember<'a>>), AppError> {
    match due {
        DueSchedule::Ready(schedule) if closes_with_the_page(schedule) => {
            Ok((schedule, prepare(p, schedule, now, load).await?))
        }
        DueSchedule::Ready(schedule) => Ok((schedule, None)),
        DueSchedule::Unreadable { reason, .. } => Err(AppError::Store(StoreError::Corrupt(
            format!("the stored schedule cannot be read: {reason}"),
        ))),
    }
}

/// A due schedule whose period closes in the page's one write: one that pays out on its own
/// and has no recurring deductions to record first (the others close one by one).
fn closes_with_the_page(schedule: &PayoutSchedule) -> bool {
    schedule.auto_payout_enabled && schedule.recurring_deductions.is_empty()
}

/// A period of the page, read and decided, to be written with the others.
struct PageMember<'a> {
    schedule: &'a PayoutSchedule,
    write: PeriodWrite,
    /// What the period comes to once written.
    outcome: PeriodOutcome,
}

/// Reads and decides the period of `schedule` for the page's write; `None` when it must
/// close one by one.
async fn prepare<'a>(
    p: &Services,
    schedule: &'a PayoutSchedule,
    now: DateTime<Utc>,
    load: SystemLoad,
) -> Result<Option<PageMember<'a>>, AppError> {
    let cutoff = schedule.next_run_at;
    let next_run = next_run_of(schedule, now);
    let advance_notice = advance_notice_of(schedule, next_run);
    let req = scheduled_period(schedule, now, load, next_run);
    let period = open_period(p, schedule, cutoff).await?;
    let (close, outcome) = match closing(p, &req, &period)? {
        Closing::AdvanceOnly(outcome) => {
            let barber = schedule.barber_id.clone();
            let advance = PeriodClose::Advance {
                barber,
                from: cutoff,
                to: next_run,
            };
            (advance, outcome)
        }
        Closing::Owed(_) => return Ok(None),
        Closing::Pay {
            breakdown,
            settles_owed,
        } => {
            let (creation, job) =
                payout_creation(p, &req, &period.open, breakdown, settles_owed).await?;
            let outcome = created(creation.clone(), job);
            (PeriodClose::Create(Box::new(creation)), outcome)
        }
    };
    Ok(Some(PageMember {
        schedule,
        write: PeriodWrite {
            close,
            advance_notice,
        },
        outcome,
    }))
}

/// When the schedule runs next after the run due at its `next_run_at`. A planner that was down
/// for several periods closes them as one and resumes the calendar from now, rather than
/// replaying every missed run.
fn next_run_of(schedule: &PayoutSchedule, now: DateTime<Utc>) -> DateTime<Utc> {
    schedule
        .calendar
        .next_run_after(schedule.next_run_at.max(now))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The scheduled run due at the schedule's `next_run_at`, closed by the planner.
fn scheduled_period(
    schedule: &PayoutSchedule,
    now: DateTime<Utc>,
    load: SystemLoad,
    next_run: DateTime<Utc>,
) -> PeriodRequest<'_> {
    let cutoff = schedule.next_run_at;
    PeriodRequest {
        schedule,
        payout_id: PayoutId::scheduled(&schedule.barber_id, cutoff),
        cutoff,
        now,
        trigger: PayoutTrigger::Scheduled,
        load,
        minimum: schedule.minimum_payout,
        next_run: Some(next_run),
        actor: PLANNER,
    }
}

async fn plan_one(
    p: &Services,
    schedule: &PayoutSchedule,
    now: DateTime<Utc>,
    load: SystemLoad,
    report: &mut PlanReport,
) -> Result<Option<PayoutJob>, AppError> {
    let cutoff = schedule.next_run_at;
    let next_run = next_run_of(schedule, now);
    // Before the advance: if this run stops after it, the next run's notice is not lost (and one
    // remembered for a run that did not happen is dropped when it comes due).
    remember_advance_notice(p.store.as_ref(), schedule, next_run).await?;
    if !schedule.auto_payout_enabled {
        report.auto_payout_disabled += 1;
        p.store
            .advance_schedule(&schedule.barber_id, cutoff, next_run)
            .await?;
        return Ok(None);
    }
    for recurring in &schedule.recurring_deductions {
        ingest_deduction(
            p.store.as_ref(),
            &recurring.for_period(&schedule.barber_id, cutoff),
        )
        .await?;
    }
    let outcome = close_period(p, scheduled_period(schedule, now, load, next_run)).await?;
    Ok(tally(p, schedule, cutoff, outcome, now, report).await)
}

/// Counts what a period came to, tells a barber under the minimum, and returns the job of a
/// queued payout.
async fn tally(
    p: &Services,
    schedule: &PayoutSchedule,
    cutoff: DateTime<Utc>,
    outcome: PeriodOutcome,
    now: DateTime<Utc>,
    report: &mut PlanReport,
) -> Option<PayoutJob> {
    match outcome {
        PeriodOutcome::Queued(_, job) => {
            report.payouts_queued += 1;
            Some(job)
        }
        PeriodOutcome::SettledOwed(_) | PeriodOutcome::Owed(_) => {
            report.settled_with_balance_owed += 1;
            None
        }
        PeriodOutcome::AwaitingApproval(_) => {
            report.awaiting_approval += 1;
            None
        }
        PeriodOutcome::BelowMinimum(breakdown) => {
            report.below_minimum += 1;
            notify_below_minimum(p, schedule, cutoff, &breakdown, now).await;
            None
        }
        PeriodOutcome::Nothing | PeriodOutcome::EarningsHeld(_) => {
            report.nothing_open += 1;
            None
        }
        PeriodOutcome::FirstPayoutWaits(_) => {
            report.first_payout_waits += 1;
            None
        }
        PeriodOutcome::AlreadyPlanned => {
            report.already_planned += 1;
            None
        }
    }
}
