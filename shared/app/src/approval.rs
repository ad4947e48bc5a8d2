//! A second operator's approval (`[approvals]`): which payouts wait for one before any money
//! moves, and who may not give it.

use chrono::{DateTime, Utc};
use payout_core::breakdown::PayoutBreakdown;
use payout_core::ids::BarberId;
use payout_core::schedule::PayoutSchedule;
use payout_core::status::PayoutStatus;

use crate::error::AppError;
use crate::ports::PayoutQuery;
use crate::services::Services;

/// Why a payout waits for approval, and the operators who may not approve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalNeeded {
    pub why: String,
    pub barred: Vec<String>,
}

/// Whether a payout of `schedule`'s barber paying `breakdown`, asked for by `actor`, must wait
/// for a second operator: it nets more than `approvals.above`, or it is the barber's first
/// since where their money goes was changed. The operator who asked for it and the one who
/// made that change may not approve it.
pub async fn approval_needed(
    p: &Services,
    schedule: &PayoutSchedule,
    actor: &str,
    breakdown: &PayoutBreakdown,
) -> Result<Option<ApprovalNeeded>, AppError> {
    let policy = &p.config.approvals;
    let mut reasons = Vec::new();
    let mut barred = vec![actor.to_string()];
    if let Some(above) = policy.above
        && breakdown.net.amount() > above
    {
        reasons.push(format!(
            "its net {} is above approvals.above = {above}",
            breakdown.net.formatted()
        ));
    }
    let changed = schedule
        .destination_changes
        .iter()
        .rev()
        .find(|change| !change.is_first_setup());
    if policy.first_payout_after_destination_change
        && let Some(change) = changed
        && !paid_since(p, &schedule.barber_id, change.at).await?
    {
        reasons.push(format!(
            "it is the first payout since {} changed where the barber's money goes",
            change.actor
        ));
        barred.push(change.actor.clone());
    }
    Ok((!reasons.is_empty()).then(|| ApprovalNeeded {
        why: reasons.join("; "),
        barred,
    }))
}

/// Whether a payout created since `since` went ahead (approved, or needing no approval): one
/// rejected or still waiting does not count.
async fn paid_since(
    p: &Services,
    barber: &BarberId,
    since: DateTime<Utc>,
) -> Result<bool, AppError> {
    let query = PayoutQuery {
        barber: Some(barber.clone()),
        from: Some(since),
        ..PayoutQuery::default()
    };
    // A barber has few payouts since one change; a page covers them.
    let since_change = p.store.list_payouts(&query, 50).await?;
    Ok(since_change.iter().any(|payout| {
        !matches!(
            payout.status,
            PayoutStatus::Cancelled | PayoutStatus::AwaitingApproval
        )
    }))
}
