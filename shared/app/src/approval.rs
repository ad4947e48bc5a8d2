//! A second operator's approval (`[approvals]`): which payouts wait for one before any money
//! moves, and who may not give it.

use chrono::{DateTime, Utc};
use payout_core::breakdown::PayoutBreakdown;
use payout_core::ids::BarberId;
use payout_core::schedule::{DestinationChange, PayoutSchedule};
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
    if policy.first_payout_after_destination_change {
        let changers = unpaid_changes(p, schedule).await?;
        if !changers.is_empty() {
            reasons.push(format!(
                "it is the first payout since {} changed where the barber's money goes",
                changers.join(" and ")
            ));
            barred.extend(changers);
        }
    }
    Ok((!reasons.is_empty()).then(|| ApprovalNeeded {
        why: reasons.join("; "),
        barred,
    }))
}

/// Who changed where the barber's money goes (not its first setup) since the last payout that
/// moved money to them: every one of them, so that a second change cannot hide the first
/// changer from the rule.
async fn unpaid_changes(p: &Services, schedule: &PayoutSchedule) -> Result<Vec<String>, AppError> {
    let changes: Vec<&DestinationChange> = schedule
        .destination_changes
        .iter()
        .filter(|change| !change.is_first_setup())
        .collect();
    let Some(earliest) = changes.first() else {
        return Ok(Vec::new());
    };
    let last_paid = last_paid_since(p, &schedule.barber_id, earliest.at).await?;
    let mut changers: Vec<String> = Vec::new();
    for change in changes {
        if last_paid.is_none_or(|paid| change.at > paid) && !changers.contains(&change.actor) {
            changers.push(change.actor.clone());
        }
    }
    Ok(changers)
}

/// When the last payout created since `since` that moves money went ahead (approved, or
/// needing no approval): one rejected, still waiting, or only carrying a balance owed (it
/// moves nothing) does not count.
async fn last_paid_since(
    p: &Services,
    barber: &BarberId,
    since: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let query = PayoutQuery {
        barber: Some(barber.clone()),
        from: Some(since),
        ..PayoutQuery::default()
    };
    // A barber has few payouts since the changes a schedule keeps; a page covers them.
    let since_change = p.store.list_payouts(&query, 100).await?;
    Ok(since_change
        .iter()
        .filter(|payout| {
            payout.breakdown.net.is_positive()
                && !matches!(
                    payout.status,
                    PayoutStatus::Cancelled | PayoutStatus::AwaitingApproval
                )
        })
        .map(|payout| payout.created_at)
        .max())
}
