//! Re-enqueues payouts whose job may have been lost: a crash between writing a payout and
//! sending its job, an in-process queue lost with its process, or an executor that died while
//! processing. Duplicated jobs are harmless; a lost one would leave a barber unpaid.

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::ports::PayoutJob;
use crate::services::Services;

const PAGE: usize = 500;

/// Sends a job for every payout that should have run more than `stale_after` ago. Returns how
/// many were re-enqueued.
pub async fn recover_stalled(p: &Services, now: DateTime<Utc>) -> Result<usize, AppError> {
    recover_older_than(p, now - p.config.stale_after, now).await
}

/// As [`recover_stalled`], for everything due before `stale_before` (a process that just started
/// passes `now`: its in-process queue is empty).
pub async fn recover_older_than(
    p: &Services,
    stale_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let stalled = p.store.stalled_payouts(stale_before, PAGE).await?;
    if stalled.is_empty() {
        return Ok(0);
    }
    let jobs: Vec<PayoutJob> = stalled
        .iter()
        .map(|payout| PayoutJob {
            payout_id: payout.id.clone(),
            not_before: payout.next_attempt_at.unwrap_or(now).max(now),
            priority: payout.priority,
        })
        .collect();
    p.queue.send(&jobs).await?;
    tracing::warn!(count = jobs.len(), "re-enqueued stalled payouts");
    Ok(jobs.len())
}
