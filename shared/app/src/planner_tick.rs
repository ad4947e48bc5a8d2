//! One run of the planner, the same on a Lambda tick and in `payouts serve`'s loop: plan what
//! is due page by page while `keep_going` allows (or, on AWS, send each shard of the due index
//! to be planned by an invocation of its own), then re-enqueue payouts whose job was lost. A run
//! cut off by `keep_going` leaves the rest for the next; nothing is half done, since each payout
//! is one conditional write. It also resumes payouts held for an account that is ready again
//! (the webhook that lifts a restriction resumes them at once; this catches any it missed).
//! Reconciliation, which waits on the provider, is not part of it
//! ([`crate::reconcile::sweep`]): a provider that hangs never delays a barber's planning.

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::plan::{PLANNER, PlanReport, fan_out_due_payouts, plan_due_payouts, planner_lag};
use crate::ports::{Metric, ShardQueue};
use crate::readiness;
use crate::recovery::recover_stalled;
use crate::services::Services;

/// With `shards`, the due index's shards are sent there to be planned apart; without, this run
/// plans them.
pub async fn planner_tick(
    p: &Services,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Sync),
    shards: Option<&dyn ShardQueue>,
) -> Result<PlanReport, AppError> {
    // First, and apart: a run whose planning fails still resumes what is ready.
    if let Err(error) = readiness::resume_ready(p, PLANNER, "its account is ready again", now).await
    {
        tracing::error!(%error, "held payouts not swept; the next run tries again");
    }
    let lag = planner_lag(p, now).await?.num_milliseconds();
    let report = match shards {
        Some(shards) => fan_out_due_payouts(p, now, keep_going, shards).await?,
        None => plan_due_payouts(p, now, keep_going).await?,
    };
    p.metrics.publish(
        &[],
        &[
            Metric::millis("PlannerLag", lag),
            Metric::count(
                "PayoutsPlanned",
                i64::try_from(report.payouts_queued).unwrap_or(i64::MAX),
            ),
        ],
    );
    if keep_going() {
        recover_stalled(p, now).await?;
    }
    Ok(report)
}
