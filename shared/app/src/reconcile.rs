//! Comparing the store with the payment provider: payouts the provider paid that the store does
//! not record as paid (adopted when repairing), and payouts recorded as paid that the provider
//! has no transfer for (reported: only a person can decide what happened).

use chrono::{DateTime, TimeDelta, Utc};
use payout_core::method::PaymentMethod;
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;
use serde::Serialize;

use crate::error::AppError;
use crate::execute::publish_outcome;
use crate::notify::notify_payout;
use crate::ports::NotificationKind;
use crate::ports::{PayoutQuery, WriteOutcome};
use crate::services::Services;

const PAGE: usize = 500;
const ACTOR: &str = "reconciliation";

#[derive(Debug, Default, Serialize)]
pub struct ReconcileReport {
    pub checked: u64,
    /// Paid by the provider but not recorded as paid (adopted when repairing).
    pub paid_not_recorded: Vec<String>,
    pub adopted: Vec<String>,
    /// Recorded as paid, with no transfer at the provider.
    pub recorded_not_paid: Vec<String>,
}

async fn payouts_in(
    p: &Services,
    status: PayoutStatus,
    since: DateTime<Utc>,
) -> Result<Vec<Payout>, AppError> {
    let mut query = PayoutQuery {
        status: Some(status),
        from: Some(since),
        ..PayoutQuery::default()
    };
    let mut all = Vec::new();
    loop {
        let page = p.store.list_payouts(&query, PAGE).await?;
        let Some(last) = page.last() else { break };
        query.after = Some((last.created_at, last.id.clone()));
        let full = page.len() == PAGE;
        all.extend(page.into_iter().filter(|payout| {
            matches!(
                payout.method,
                PaymentMethod::StripeStandard | PaymentMethod::StripeInstant
            )
        }));
        if !full {
            break;
        }
    }
    Ok(all)
}

/// What to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileScope {
    /// Only payouts whose last attempt may have paid (the planner's sweep, every tick).
    Unsettled,
    /// Those, and every completed payout against the provider's transfers (the CLI).
    Everything,
}

/// Checks the Stripe payouts created in the last `days`; with `repair`, adopts the transfers the
/// store missed.
pub async fn reconcile(
    p: &Services,
    now: DateTime<Utc>,
    days: u32,
    scope: ReconcileScope,
    repair: bool,
) -> Result<ReconcileReport, AppError> {
    let since = now - TimeDelta::days(i64::from(days));
    let mut report = ReconcileReport::default();
    for status in [
        PayoutStatus::Processing,
        PayoutStatus::RetryScheduled,
        PayoutStatus::Failed,
    ] {
        for mut payout in payouts_in(p, status, since).await? {
            report.checked += 1;
            if payout.attempts == 0 {
                continue;
            }
            let found = p.rail.find_transfer(&payout.id).await.map_err(|e| {
                AppError::Conflict(format!("cannot ask the provider about {}: {e}", payout.id))
            })?;
            let Some(receipt) = found else { continue };
            report.paid_not_recorded.push(payout.id.to_string());
            if !repair {
                continue;
            }
            // Under the barber's lock, like the executor, so no attempt runs meanwhile.
            let owner = format!("reconcile:{}", payout.id);
            if !p
                .store
                .try_lock(&payout.barber_id, &owner, now, now + p.config.lock_lease)
                .await?
            {
                continue;
            }
            let read = payout.version;
            let outcome = match payout.record_transfer(
                now,
                ACTOR,
                receipt.transfer_id,
                receipt.settled,
                "found paid by reconciliation",
            ) {
                Ok(event) => p
                    .store
                    .update_payout(&payout, read, &event)
                    .await
                    .map(|written| (written, event))
                    .map_err(AppError::from),
                Err(illegal) => Err(illegal.into()),
            };
            p.store.release_lock(&payout.barber_id, &owner).await?;
            let (written, event) = outcome?;
            if written == WriteOutcome::Written {
                report.adopted.push(payout.id.to_string());
                // Settled here, so counted and told here, as the executor would have: the
                // notice once, by the outbox's key for this payout's notice.
                publish_outcome(p, &payout, &event);
                notify_payout(p, &payout, NotificationKind::Completed, now).await;
            }
        }
    }
    if scope == ReconcileScope::Unsettled {
        return Ok(report);
    }
    for payout in payouts_in(p, PayoutStatus::Completed, since).await? {
        if !payout.breakdown.net.is_positive() {
            continue;
        }
        report.checked += 1;
        let found = p.rail.find_transfer(&payout.id).await.map_err(|e| {
            AppError::Conflict(format!("cannot ask the provider about {}: {e}", payout.id))
        })?;
        if found.is_none() {
            report.recorded_not_paid.push(payout.id.to_string());
        }
    }
    Ok(report)
}
