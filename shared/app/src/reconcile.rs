//! Comparing the store with the payment provider: payouts the provider paid that the store does
//! not record as paid (adopted when repairing), and payouts recorded as paid that the provider
//! has no transfer for (reported: only a person can decide what happened).
//!
//! Only an attempt whose outcome is unknown is adopted: a payout processing (its executor
//! stopped mid-call) or waiting to retry after a timeout, a broken connection or a 5xx. An
//! outcome the provider reported is never overridden: a failed payout stays failed, whatever
//! transfer the provider still holds for it (an instant payout that failed leaves its transfer
//! in place), until an operator acts.
//!
//! Every lookup has the rail's timeout, and each payout stands alone: a lookup that fails or
//! hangs is counted, logged and left for the next sweep, and the sweep goes on to the others.

use chrono::{DateTime, TimeDelta, Utc};
use payout_core::ids::PayoutId;
use payout_core::method::PaymentMethod;
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;
use serde::Serialize;

use crate::error::AppError;
use crate::execute::{Lookup, ask_for_transfer, record_receipt};
use crate::job_time::JobTime;
use crate::lifecycle::{self, Change, Figures};
use crate::ports::NotificationKind;
use crate::ports::{PayoutQuery, TransferReceipt, WriteOutcome};
use crate::services::Services;

const PAGE: usize = 500;
const ACTOR: &str = "reconciliation";
/// How far back the sweep looks.
const SWEEP_DAYS: u32 = 2;

#[derive(Debug, Default, Serialize)]
pub struct ReconcileReport {
    pub checked: u64,
    /// Paid by the provider but not recorded as paid (adopted when repairing).
    pub paid_not_recorded: Vec<String>,
    pub adopted: Vec<String>,
    /// Recorded as paid, with no transfer at the provider.
    pub recorded_not_paid: Vec<String>,
    /// Payouts the provider did not answer about in time (or with an error), or whose
    /// adoption the store refused: left for the next sweep.
    pub left_for_next_sweep: Vec<String>,
}

/// Whether the last attempt on `payout` may have paid without the store knowing: the only
/// attempts reconciliation may adopt.
fn outcome_unknown(payout: &Payout) -> bool {
    match payout.status {
        PayoutStatus::Processing => payout.attempts > 0,
        PayoutStatus::RetryScheduled => payout
            .failure_kind
            .is_some_and(|kind| kind.outcome_unknown()),
        // Held only once the provider was asked about any earlier attempt, or after it refused
        // the destination: nothing unknown.
        PayoutStatus::OnHold
        | PayoutStatus::AwaitingApproval
        | PayoutStatus::Scheduled
        | PayoutStatus::Queued
        | PayoutStatus::InTransit
        | PayoutStatus::Completed
        | PayoutStatus::Failed
        | PayoutStatus::Cancelled => false,
    }
}

/// The provider's transfer for `payout`, asked within the rail's timeout; `None` (and left for
/// the next sweep) when it did not answer.
async fn look_up(
    p: &Services,
    payout: &PayoutId,
    how: Lookup,
    report: &mut ReconcileReport,
) -> Option<Option<TransferReceipt>> {
    match ask_for_transfer(p, payout, how, p.config.rail_timeout).await {
        Ok(found) => Some(found),
        Err(error) => {
            tracing::warn!(payout_id = %payout, %error, "reconciliation could not ask the provider; next sweep");
            report.left_for_next_sweep.push(payout.to_string());
            None
        }
    }
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

/// The sweep that runs beside the planner (its own task on `serve`, after the tick's planning
/// within the invocation's deadline on Lambda): adopts what the provider paid of the attempts
/// whose outcome is unknown.
pub async fn sweep(
    p: &Services,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<ReconcileReport, AppError> {
    let report = reconcile(
        p,
        now,
        SWEEP_DAYS,
        ReconcileScope::Unsettled,
        true,
        keep_going,
    )
    .await?;
    if !report.adopted.is_empty() || !report.left_for_next_sweep.is_empty() {
        tracing::warn!(
            ?report,
            "reconciliation adopted transfers the store had missed, or could not check some"
        );
    }
    Ok(report)
}

/// Checks the Stripe payouts created in the last `days` while `keep_going` allows; with
/// `repair`, adopts the transfers the store missed.
pub async fn reconcile(
    p: &Services,
    now: DateTime<Utc>,
    days: u32,
    scope: ReconcileScope,
    repair: bool,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<ReconcileReport, AppError> {
    let since = now - TimeDelta::days(i64::from(days));
    let time = JobTime::start(p, now);
    let mut report = ReconcileReport::default();
    for status in [PayoutStatus::Processing, PayoutStatus::RetryScheduled] {
        for payout in payouts_in(p, status, since).await? {
            if !keep_going() {
                return Ok(report);
            }
            if !outcome_unknown(&payout) {
                continue;
            }
            report.checked += 1;
            let how = if repair { Lookup::Resume } else { Lookup::Pure };
            let Some(Some(receipt)) = look_up(p, &payout.id, how, &mut report).await else {
                continue;
            };
            report.paid_not_recorded.push(payout.id.to_string());
            if !repair {
                continue;
            }
            let id = payout.id.to_string();
            match adopt(p, payout, receipt, time.now(p)).await {
                Ok(true) => report.adopted.push(id),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(payout_id = %id, %error, "reconciliation could not adopt the transfer; next sweep");
                    report.left_for_next_sweep.push(id);
                }
            }
        }
    }
    if scope == ReconcileScope::Unsettled {
        return Ok(report);
    }
    for payout in payouts_in(p, PayoutStatus::Completed, since).await? {
        if !keep_going() {
            break;
        }
        if !payout.breakdown.net.is_positive() {
            continue;
        }
        report.checked += 1;
        if let Some(None) = look_up(p, &payout.id, Lookup::Pure, &mut report).await {
            report.recorded_not_paid.push(payout.id.to_string());
        }
    }
    Ok(report)
}

/// Records `payout` as paid by the transfer in `receipt`, under the barber's lock like the
/// executor (so no attempt runs meanwhile); whether it was recorded (not when the barber is
/// busy or the payout changed since it was read).
async fn adopt(
    p: &Services,
    mut payout: Payout,
    receipt: TransferReceipt,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let owner = format!("reconcile:{}", payout.id);
    let barber = payout.barber_id.clone();
    if !lifecycle::lock(p, &barber, &owner, now, now + p.config.lock_lease).await? {
        return Ok(false);
    }
    let read_version = payout.version;
    let recorded = match record_receipt(
        p,
        &mut payout,
        now,
        ACTOR,
        receipt,
        "found paid by reconciliation",
    ) {
        // Settled here, so counted and told here, as the executor would have.
        Ok(event) => {
            let change = Change {
                payout,
                read_version,
                event,
                notice: Some(NotificationKind::Completed),
                figures: Figures::Outcome,
            };
            lifecycle::record(p, change, now).await
        }
        Err(illegal) => Err(illegal.into()),
    };
    lifecycle::unlock(p, &barber, &owner).await?;
    if recorded? == WriteOutcome::Stale {
        return Ok(false);
    }
    Ok(true)
}
