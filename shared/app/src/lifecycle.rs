//! The one writer of a payout's life. Every payout is created here (the planner closing
//! periods, an operator's manual payout) and every change of its state goes through here,
//! whoever makes it: the executor (a single job and a batch alike), reconciliation, Stripe's
//! webhooks and operators' actions. The barber's lock is taken and given back here; an attempt
//! is recorded before the rail is called; a change is written only over the version it was
//! decided from, with the barber's notice in the same commit (the outbox delivers it at least
//! once, even if the process dies right after); and what was written is counted once, when it
//! is written. `tests/single_writer.rs` fails if any other module calls the store's methods
//! that write a payout or its lock.

use chrono::{DateTime, Utc};
use payout_core::ids::BarberId;
use payout_core::payout::{AuditEvent, Payout, PayoutTrigger};
use payout_core::status::PayoutStatus;

use crate::error::AppError;
use crate::notify::{deliver_recorded, first_retry_at, outcome_notice};
use crate::ports::{
    CreateOutcome, Metric, NotificationKind, OutcomeWrite, PayoutCreation, PayoutJob, PayoutWrite,
    PeriodWrite, StoreError, Unit, WriteOutcome,
};
use crate::services::Services;

/// How a written change is counted in the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figures {
    /// An attempt's outcome: attempted, and succeeded (with the amount and the processing
    /// time), failed or retried.
    Outcome,
    /// Held back by the rail's rate: not a failure.
    HeldBack,
    /// Counted where it began (a provider's report, an operator's verdict).
    Uncounted,
}

/// A change of a payout's state: the payout as changed, the version it was changed from, the
/// event that moved it, what the barber is told and how it is counted.
pub struct Change {
    pub payout: Payout,
    pub read_version: u64,
    pub event: AuditEvent,
    pub notice: Option<NotificationKind>,
    pub figures: Figures,
}

/// Creates the payout of a closed period with its claims (and the calendar's advance), if
/// nothing changed since they were read.
pub async fn create(p: &Services, creation: &PayoutCreation) -> Result<CreateOutcome, StoreError> {
    p.store.create_payout(creation).await
}

/// Closes each period of a page, all of a member's close or none of it.
pub async fn create_many(
    p: &Services,
    periods: &[PeriodWrite],
) -> Result<Vec<CreateOutcome>, StoreError> {
    p.store.close_periods(periods).await
}

/// Takes the barber's lock for `owner` until `until`; false when another holds it.
pub async fn lock(
    p: &Services,
    barber: &BarberId,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    p.store.try_lock(barber, owner, now, until).await
}

/// Gives the barber's lock back, if `owner` still holds it.
pub async fn unlock(p: &Services, barber: &BarberId, owner: &str) -> Result<(), StoreError> {
    p.store.release_lock(barber, owner).await
}

/// Records `event` (a new attempt, the recovery point before the rail is called) over
/// `read_version`; nothing is told or counted.
pub async fn record_attempt(
    p: &Services,
    payout: &Payout,
    read_version: u64,
    event: &AuditEvent,
) -> Result<WriteOutcome, StoreError> {
    p.store.update_payout(payout, read_version, event).await
}

/// For each attempt: takes its barber's lock for `owner` until `until` and records it, both or
/// neither; `true` where both happened.
pub async fn lock_and_record_attempts(
    p: &Services,
    attempts: &[PayoutWrite],
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<bool>, StoreError> {
    p.store
        .lock_and_record_attempts(attempts, owner, now, until)
        .await
}

/// Records one change; what became of the write.
pub async fn record(
    p: &Services,
    change: Change,
    now: DateTime<Utc>,
) -> Result<WriteOutcome, AppError> {
    let written = record_and_unlock(p, vec![change], &[], "", now).await?;
    written
        .first()
        .copied()
        .ok_or_else(|| StoreError::Corrupt("the store answered for no write".into()).into())
}

/// Records `payout`'s move onto the queue (`event`, read at `read_version`) and, once it is
/// written, sends its job, due now, at the payout's own priority (an operator's payout before
/// every scheduled one).
pub async fn queue_now(
    p: &Services,
    payout: &Payout,
    read_version: u64,
    event: AuditEvent,
    now: DateTime<Utc>,
) -> Result<WriteOutcome, AppError> {
    let change = Change {
        payout: payout.clone(),
        read_version,
        event,
        notice: None,
        figures: Figures::Uncounted,
    };
    let written = record(p, change, now).await?;
    if written == WriteOutcome::Written {
        let priority = match payout.trigger {
            PayoutTrigger::Manual { .. } => PayoutJob::URGENT,
            PayoutTrigger::Scheduled => payout.priority,
        };
        p.queue
            .send(&[PayoutJob {
                payout_id: payout.id.clone(),
                not_before: now,
                priority,
            }])
            .await?;
    }
    Ok(written)
}

/// Records each change over its version with its notice, in one commit where the store can
/// make it one, and gives back `owner`'s lock on every barber of `unlock`; then counts what
/// was written and makes the first delivery of its notices. What became of each write, in
/// order.
pub async fn record_and_unlock(
    p: &Services,
    changes: Vec<Change>,
    unlock: &[BarberId],
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Vec<WriteOutcome>, AppError> {
    let mut figures = Vec::with_capacity(changes.len());
    let writes: Vec<OutcomeWrite> = changes
        .into_iter()
        .map(|change| {
            figures.push(change.figures);
            OutcomeWrite {
                notice: change.notice.and_then(|kind| {
                    outcome_notice(&change.payout, kind, p.config.dashboard_url.as_deref())
                }),
                write: PayoutWrite {
                    payout: change.payout,
                    expected_version: change.read_version,
                    event: change.event,
                },
            }
        })
        .collect();
    let written = p
        .store
        .record_outcomes_and_unlock(&writes, unlock, owner, first_retry_at(p, now))
        .await?;
    if written.len() != writes.len() {
        // A store that answers for fewer (or more) writes than it was given has lost track of
        // some: nothing of it is trusted.
        return Err(StoreError::Corrupt(format!(
            "the store answered for {} of {} writes",
            written.len(),
            writes.len()
        ))
        .into());
    }
    let mut notices = Vec::new();
    for ((write, figures), outcome) in writes.into_iter().zip(figures).zip(&written) {
        if outcome.write == WriteOutcome::Written {
            count(p, &write.write.payout, &write.write.event, figures);
        }
        // A notice told before by the same key (a payout told "on its way" is not told again
        // when it arrives) is not delivered again.
        if outcome.new_notice {
            notices.extend(write.notice);
        }
    }
    deliver_recorded(p, &notices, now).await;
    Ok(written.iter().map(|outcome| outcome.write).collect())
}

/// Cancels `payout` over `read_version` with `event`, returning its earnings and deductions to
/// the open balance.
pub async fn cancel(
    p: &Services,
    payout: &Payout,
    read_version: u64,
    event: &AuditEvent,
) -> Result<WriteOutcome, StoreError> {
    p.store.cancel_payout(payout, read_version, event).await
}

/// Counts a written change as `figures` says.
fn count(p: &Services, payout: &Payout, event: &AuditEvent, figures: Figures) {
    let method = [("Method", payout.method.as_str())];
    match figures {
        Figures::Uncounted => {}
        Figures::HeldBack => p
            .metrics
            .publish(&method, &[Metric::count("PayoutsHeldBack", 1)]),
        Figures::Outcome => {
            let mut metrics = vec![Metric::count("PayoutsAttempted", 1)];
            match payout.status {
                PayoutStatus::Completed | PayoutStatus::InTransit => {
                    metrics.push(Metric::count("PayoutsSucceeded", 1));
                    metrics.push(Metric {
                        name: "AmountPaid",
                        value: payout.breakdown.net.to_minor().unwrap_or_default(),
                        unit: Unit::None,
                    });
                    if let Some(time) = payout.first_attempt_at.map(|start| event.at - start) {
                        metrics.push(Metric::millis("ProcessingTime", time.num_milliseconds()));
                    }
                }
                PayoutStatus::Failed => metrics.push(Metric::count("PayoutsFailed", 1)),
                PayoutStatus::RetryScheduled => {
                    metrics.push(Metric::count("PayoutsRetried", 1));
                }
                PayoutStatus::OnHold => metrics.push(Metric::count("PayoutsOnHold", 1)),
                PayoutStatus::AwaitingApproval
                | PayoutStatus::Scheduled
                | PayoutStatus::Queued
                | PayoutStatus::Processing
                | PayoutStatus::Cancelled => return,
            }
            p.metrics.publish(&method, &metrics);
        }
    }
}
