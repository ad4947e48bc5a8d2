//! Re-enqueues payouts whose job may have been lost: a crash between writing a payout and
//! sending its job, an in-process queue lost with its process, or an executor that died while
//! processing. Duplicated jobs are harmless; a lost one would leave a barber unpaid.

use chrono::{DateTime, Utc};
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;

use crate::error::AppError;
use crate::ports::{PayoutJob, PayoutQuery};
use crate::services::Services;

const PAGE: usize = 500;

/// Sends a job for every payout that should have run more than `stale_after` ago. Returns how
/// many were re-enqueued.
pub async fn recover_stalled(p: &Services, now: DateTime<Utc>) -> Result<usize, AppError> {
    recover_older_than(p, now - p.config.stale_after, now).await
}

/// As [`recover_stalled`], for everything due before `stale_before`.
async fn recover_older_than(
    p: &Services,
    stale_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let stalled = p.store.stalled_payouts(stale_before, PAGE).await?;
    if stalled.is_empty() {
        return Ok(0);
    }
    let jobs = jobs_for(&stalled, now);
    p.queue.send(&jobs).await?;
    tracing::warn!(count = jobs.len(), "re-enqueued stalled payouts");
    Ok(jobs.len())
}

/// For a process that just started with an empty in-process queue: a job for every payout
/// owed work, whenever its next attempt is due (a retry due a second after the start as much as
/// one due an hour before), each not before that attempt. Page by page, by status. Returns how
/// many were re-enqueued.
pub async fn recover_owed_work(p: &Services, now: DateTime<Utc>) -> Result<usize, AppError> {
    let mut sent = 0;
    for status in PayoutStatus::ALL {
        if status.is_settled_for_executor() {
            continue;
        }
        let mut query = PayoutQuery {
            status: Some(status),
            ..PayoutQuery::default()
        };
        loop {
            let page = p.store.list_payouts(&query, PAGE).await?;
            let Some(last) = page.last() else { break };
            query.after = Some((last.created_at, last.id.clone()));
            p.queue.send(&jobs_for(&page, now)).await?;
            sent += page.len();
            if page.len() < PAGE {
                break;
            }
        }
    }
    if sent > 0 {
        tracing::warn!(count = sent, "re-enqueued the payouts owed work at start");
    }
    Ok(sent)
}

/// A job for each of `payouts`, not before its next attempt.
fn jobs_for(payouts: &[Payout], now: DateTime<Utc>) -> Vec<PayoutJob> {
    payouts
        .iter()
        .map(|payout| PayoutJob {
            payout_id: payout.id.clone(),
            not_before: payout.next_attempt_at.unwrap_or(now).max(now),
            priority: payout.priority,
        })
        .collect()
}
