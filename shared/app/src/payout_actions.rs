//! What operators (and barbers asking for an early payout) do by hand: pay now, retry a failed
//! payout, cancel one.

use chrono::{DateTime, Utc};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::ledger::Deduction;
use payout_core::money::Money;
use payout_core::payout::{AuditEvent, Payout, PayoutTrigger};
use payout_core::priority::SystemLoad;
use payout_core::retry::FailureKind;
use payout_core::schedule::PayoutSchedule;
use payout_core::status::{IllegalTransition, PayoutStatus};

use crate::error::AppError;
use crate::execute::{Lookup, ask_for_transfer, record_receipt};
use crate::lifecycle::{self, Change, Figures};
use crate::period::{PeriodOutcome, PeriodRequest, Settlement, close_period, settlement_at};
use crate::ports::{BalancePayout, NotificationKind, RailError, TransferReceipt, WriteOutcome};
use crate::readiness;
use crate::services::Services;

/// Pays the barber's whole open balance now through the normal pipeline, minimum ignored.
pub async fn manual_payout(
    p: &Services,
    barber: &BarberId,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    let schedule = p
        .store
        .get_schedule(barber)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("payout schedule for barber {barber}")))?;
    let outcome = close_period(
        p,
        PeriodRequest {
            schedule: &schedule,
            payout_id: PayoutId::manual(barber, now),
            cutoff: now,
            now,
            trigger: PayoutTrigger::Manual {
                reason: reason.to_string(),
            },
            // An operator's payout is urgent: it never waits, loaded or not.
            load: SystemLoad::Idle,
            minimum: Money::zero(schedule.currency),
            next_run: None,
            actor,
        },
    )
    .await?;
    match outcome {
        PeriodOutcome::Queued(payout, job) => {
            p.queue.send(&[job]).await?;
            Ok(*payout)
        }
        PeriodOutcome::AwaitingApproval(payout) => Ok(*payout),
        PeriodOutcome::Owed(breakdown) => Err(AppError::Conflict(format!(
            "nothing to pay: deductions exceed earnings by {}; the balance stays open for the next scheduled run",
            breakdown.net.negate()
        ))),
        PeriodOutcome::SettledOwed(payout) => Err(AppError::Conflict(format!(
            "nothing to pay: payout {} settled the balance owed",
            payout.id
        ))),
        PeriodOutcome::BelowMinimum(breakdown) => Err(AppError::Conflict(format!(
            "nothing to pay: the open balance nets {} after fees",
            breakdown.net
        ))),
        PeriodOutcome::Nothing => Err(AppError::Conflict(format!(
            "nothing to pay: barber {barber} has no open earnings to pay"
        ))),
        PeriodOutcome::EarningsHeld(release) => Err(AppError::Conflict(format!(
            "nothing to pay yet: barber {barber}'s open earnings are held by their schedule's hold_days; the first is released at {}",
            release.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))),
        PeriodOutcome::FirstPayoutWaits(until) => Err(AppError::Conflict(format!(
            "nothing to pay yet: barber {barber}'s first payout waits until {} ([holds] first_payout_after_days)",
            until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))),
        PeriodOutcome::AlreadyPlanned => Err(AppError::Conflict(
            "a manual payout for this barber was just requested".to_string(),
        )),
    }
}

async fn load(p: &Services, id: &PayoutId) -> Result<Payout, AppError> {
    p.store
        .get_payout(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("payout {id}")))
}

/// Approves a payout waiting for a second operator: queued to be paid now. Refused to the
/// operators the payout names as barred (who asked for it, who changed where the money goes).
pub async fn approve_payout(
    p: &Services,
    id: &PayoutId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    let mut payout = load(p, id).await?;
    if payout.approval_barred.iter().any(|barred| barred == actor) {
        return Err(AppError::Forbidden(format!(
            "{actor} asked for payout {id} or changed where its money goes: another operator \
             must approve it"
        )));
    }
    let read_version = payout.version;
    let event = payout.approve(now, actor)?;
    queue_now(p, &payout, read_version, event, now).await?;
    Ok(payout)
}

/// Records `payout`'s move onto the queue and sends its job; a conflict when it changed since
/// it was read.
async fn queue_now(
    p: &Services,
    payout: &Payout,
    read_version: u64,
    event: AuditEvent,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    match lifecycle::queue_now(p, payout, read_version, event, now).await? {
        WriteOutcome::Written => Ok(()),
        WriteOutcome::Stale => Err(changed_meanwhile(&payout.id)),
    }
}

/// Rejects a payout waiting for approval: cancelled, its earnings back in the open balance.
pub async fn reject_payout(
    p: &Services,
    id: &PayoutId,
    actor: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    let status = load(p, id).await?.status;
    if status != PayoutStatus::AwaitingApproval {
        return Err(AppError::Conflict(format!(
            "payout {id} is {status}, not awaiting approval"
        )));
    }
    cancel_payout(p, id, actor, &format!("rejected: {reason}"), now).await
}

/// Puts a failed payout back on the queue with a fresh retry ladder.
pub async fn retry_payout(
    p: &Services,
    id: &PayoutId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    let mut payout = load(p, id).await?;
    if payout.attempts > 0
        && let Some(receipt) = standing_transfer(p, &payout, Lookup::Pure).await?
    {
        // The executor would take it for a payment; paying again would pay twice.
        return Err(AppError::Conflict(format!(
            "payout {id}'s transfer {} stands at the provider (a failed instant payout leaves \
             the money in the barber's Stripe balance): a retry would send nothing new",
            receipt.transfer_id
        )));
    }
    if payout.status == PayoutStatus::OnHold
        && let Some(account) = readiness::provider_account(&payout)
    {
        // The operator vouches for the account: its other held payouts resume with the
        // planner's next run.
        p.store.lift_account_restriction(account, now).await?;
    }
    let read_version = payout.version;
    let event = payout.requeue(now, actor, "operator retry")?;
    queue_now(p, &payout, read_version, event, now).await?;
    Ok(payout)
}

/// The payout's transfer at the rail, asked within the rail's timeout.
async fn standing_transfer(
    p: &Services,
    payout: &Payout,
    how: Lookup,
) -> Result<Option<TransferReceipt>, AppError> {
    ask_for_transfer(p, &payout.id, how, p.config.rail_timeout)
        .await
        .map_err(|error| {
            AppError::Conflict(format!(
                "cannot confirm with the payment rail whether payout {} was paid ({error}); try again",
                payout.id
            ))
        })
}

/// Cancels a payout that has not moved money, returning its earnings to the open balance.
///
/// Under the barber's lock, and after asking the rail: a payout whose last attempt had an
/// unknown outcome may have been paid, and cancelling it would pay those earnings twice.
pub async fn cancel_payout(
    p: &Services,
    id: &PayoutId,
    actor: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    under_lock(p, id, "cancel", now, async || {
        cancel_locked(p, id, actor, reason, now).await
    })
    .await
}

/// Runs `action` under the lock of payout `id`'s barber, taken as `role`, so that no attempt
/// runs meanwhile; a conflict when the barber is busy.
async fn under_lock<T>(
    p: &Services,
    id: &PayoutId,
    role: &str,
    now: DateTime<Utc>,
    action: impl AsyncFnOnce() -> Result<T, AppError>,
) -> Result<T, AppError> {
    let barber = load(p, id).await?.barber_id;
    let owner = format!("{role}:{id}");
    if !lifecycle::lock(p, &barber, &owner, now, now + p.config.lock_lease).await? {
        return Err(AppError::Conflict(format!(
            "payout {id} is being processed; try again shortly"
        )));
    }
    let result = action().await;
    lifecycle::unlock(p, &barber, &owner).await?;
    result
}

/// What an operator does with what a failed payout's transfer left in the barber's Stripe
/// balance (a failed instant payout leaves its transfer there: not in their bank, not back in
/// the platform's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftBehind {
    /// Paid out again from that balance: instant (to the card, for Stripe's fee) or standard
    /// (to the bank account, in a few days).
    PayOut { instant: bool },
    /// It reached the barber by other means (they withdrew it themselves, say).
    SettledByHand { reference: String },
}

/// Settles what the failed payout `id` left at the provider as `how` says: the payout is in
/// transit again (until Stripe reports the new payout paid) or completed.
pub async fn settle_left_behind(
    p: &Services,
    id: &PayoutId,
    how: &LeftBehind,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    under_lock(p, id, "left-behind", now, async || {
        settle_left_behind_locked(p, id, how, actor, now).await
    })
    .await
}

async fn settle_left_behind_locked(
    p: &Services,
    id: &PayoutId,
    how: &LeftBehind,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    let mut payout = load(p, id).await?;
    if payout.status != PayoutStatus::Failed {
        return Err(AppError::Conflict(format!(
            "payout {id} is {}: only a failed payout leaves money behind at the provider",
            payout.status
        )));
    }
    let Some(receipt) = standing_transfer(p, &payout, Lookup::Pure).await? else {
        return Err(AppError::Conflict(format!(
            "payout {id} left nothing at the provider (its transfer was never made, or was \
             reversed): retry or cancel it instead"
        )));
    };
    payout.transfer_id = Some(receipt.transfer_id.clone());
    let read_version = payout.version;
    let (event, notice) = match how {
        LeftBehind::PayOut { instant } => {
            pay_out_balance(p, &payout, *instant, read_version).await?;
            let how = format!(
                "paid out again from the barber's Stripe balance ({}), transfer {}",
                if *instant { "instant" } else { "standard" },
                receipt.transfer_id
            );
            (payout.pay_out_balance(now, actor, &how)?, None)
        }
        LeftBehind::SettledByHand { reference } => (
            payout.settle_by_hand(now, actor, reference)?,
            Some(NotificationKind::Completed),
        ),
    };
    record(p, &payout, read_version, event, notice, now).await?;
    Ok(payout)
}

/// Asks the rail, within its timeout, to pay out the payout's net from the balance its
/// transfer went to; keyed by the payout's version, so the same action sent twice pays once.
async fn pay_out_balance(
    p: &Services,
    payout: &Payout,
    instant: bool,
    read_version: u64,
) -> Result<(), AppError> {
    let id = &payout.id;
    let account = payout.destination.clone().ok_or_else(|| {
        AppError::Conflict(format!("payout {id} names no account its transfer went to"))
    })?;
    let request = BalancePayout {
        payout_id: id.clone(),
        account,
        amount: payout.breakdown.net,
        instant,
        idempotency_key: format!("{id}:left-behind:{read_version}"),
    };
    let answer = tokio::time::timeout(p.config.rail_timeout, p.rail.pay_out_balance(&request))
        .await
        .unwrap_or_else(|_| {
            Err(RailError {
                kind: FailureKind::Timeout,
                message: "no answer in time".into(),
            })
        });
    match answer {
        Ok(()) => Ok(()),
        Err(error) if error.kind.outcome_unknown() => Err(AppError::Conflict(format!(
            "the provider's answer about paying out payout {id}'s balance was lost ({error}): it \
             may have made the payout. The payout is unchanged; send the same action again (it \
             is keyed, so it pays once) before settling it any other way"
        ))),
        Err(error) => Err(AppError::Conflict(format!(
            "the provider refused to pay out payout {id}'s balance ({error}); nothing was paid"
        ))),
    }
}

async fn cancel_locked(
    p: &Services,
    id: &PayoutId,
    actor: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    let mut payout = load(p, id).await?;
    payout.status.check_move_to(PayoutStatus::Cancelled)?;
    if payout.attempts > 0 {
        // A failed payout's outcome was reported: looked up, never resumed.
        let how = match payout.status {
            PayoutStatus::Failed => Lookup::Pure,
            _ => Lookup::Resume,
        };
        if let Some(receipt) = standing_transfer(p, &payout, how).await? {
            if payout.status == PayoutStatus::Failed {
                return Err(AppError::Conflict(format!(
                    "payout {id} failed after its transfer {} was made: the money is in the \
                     barber's Stripe balance, and cancelling would pay those earnings again",
                    receipt.transfer_id
                )));
            }
            let read_version = payout.version;
            let transfer_id = receipt.transfer_id.clone();
            let how = "found paid while cancelling";
            let event = record_receipt(p, &mut payout, now, actor, receipt, how)?;
            record(p, &payout, read_version, event, None, now).await?;
            return Err(AppError::Conflict(format!(
                "payout {id} was already paid (transfer {transfer_id}); it is now recorded as such"
            )));
        }
    }
    let read_version = payout.version;
    let event = payout.cancel(now, actor, reason)?;
    match lifecycle::cancel(p, &payout, read_version, &event).await? {
        WriteOutcome::Written => Ok(payout),
        WriteOutcome::Stale => Err(AppError::Conflict(format!(
            "payout {id} changed meanwhile; reload it"
        ))),
    }
}

/// What closing a barber's period now would do, and what is kept for later.
pub struct Preview {
    pub schedule: PayoutSchedule,
    pub settlement: Settlement,
    /// The reserves still kept and what is owed back against them, each payable from its
    /// `payable_from`.
    pub reserve: Vec<Deduction>,
}

/// What closing the barber's period now would do; nothing is written.
pub async fn preview_payout(
    p: &Services,
    barber: &BarberId,
    now: DateTime<Utc>,
) -> Result<Preview, AppError> {
    let schedule = p
        .store
        .get_schedule(barber)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("payout schedule for barber {barber}")))?;
    let settlement = settlement_at(p, &schedule, now).await?;
    let reserve = p
        .store
        .deductions_payable_after(barber, schedule.currency, now)
        .await?;
    Ok(Preview {
        schedule,
        settlement,
        reserve,
    })
}

/// An operator confirms that a bank transfer or manual payment arrived, with its reference.
pub async fn confirm_payout(
    p: &Services,
    id: &PayoutId,
    reference: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    settle_offline(p, id, now, NotificationKind::Completed, |payout| {
        payout.confirm_arrival(
            now,
            actor,
            &format!("confirmed paid, reference {reference}"),
        )
    })
    .await
}

/// An operator records that the bank returned a transfer; the payout fails with the reason and
/// can be retried or cancelled like any failed payout.
pub async fn return_payout(
    p: &Services,
    id: &PayoutId,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Payout, AppError> {
    settle_offline(p, id, now, NotificationKind::Failed, |payout| {
        payout.fail(
            now,
            actor,
            FailureKind::ProviderRejected,
            &format!("returned by the bank: {reason}"),
        )
    })
    .await
}

/// Applies an operator's verdict on an offline payout in transit, then tells the barber.
async fn settle_offline(
    p: &Services,
    id: &PayoutId,
    now: DateTime<Utc>,
    notice: NotificationKind,
    verdict: impl FnOnce(&mut Payout) -> Result<AuditEvent, IllegalTransition>,
) -> Result<Payout, AppError> {
    let mut payout = load(p, id).await?;
    require_offline_in_transit(&payout)?;
    let read_version = payout.version;
    let event = verdict(&mut payout)?;
    record(p, &payout, read_version, event, Some(notice), now).await?;
    Ok(payout)
}

/// Only a bank transfer or manual payment waiting for its confirmation can be confirmed or
/// returned by hand; Stripe's own payouts are settled by its webhooks.
fn require_offline_in_transit(payout: &Payout) -> Result<(), AppError> {
    use payout_core::method::PaymentMethod;
    use payout_core::status::PayoutStatus;
    let offline = match payout.method {
        PaymentMethod::BankTransfer | PaymentMethod::Manual => true,
        PaymentMethod::StripeStandard | PaymentMethod::StripeInstant => false,
    };
    if offline && payout.status == PayoutStatus::InTransit {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "payout {} is a {} payout in status {}; only bank transfers and manual payments in transit are confirmed by hand",
            payout.id, payout.method, payout.status
        )))
    }
}

/// Records an operator's change of `payout` over `read_version`, with the barber's notice;
/// a conflict when the payout changed meanwhile.
async fn record(
    p: &Services,
    payout: &Payout,
    read_version: u64,
    event: AuditEvent,
    notice: Option<NotificationKind>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let change = Change {
        payout: payout.clone(),
        read_version,
        event,
        notice,
        figures: Figures::Uncounted,
    };
    match lifecycle::record(p, change, now).await? {
        WriteOutcome::Written => Ok(()),
        WriteOutcome::Stale => Err(changed_meanwhile(&payout.id)),
    }
}

fn changed_meanwhile(id: &PayoutId) -> AppError {
    AppError::Conflict(format!("payout {id} changed meanwhile; reload it"))
}
