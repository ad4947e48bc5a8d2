//! What a rail call's answer makes of an attempt: the outcome to record (paid, retried, held
//! back, failed, or adopted after a lost answer) or nothing, and what is counted and told once
//! it is recorded. The single and the batch executor share it, and differ only in how they
//! write.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use payout_core::ids::PayoutId;
use payout_core::method::PaymentMethod;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::retry::{FailureClass, FailureKind, RetryDecision};
use payout_core::status::PayoutStatus;

use super::{JobOutcome, Lookup, ask_for_transfer, rail_window, record_receipt, timed_out};
use crate::error::AppError;
use crate::lifecycle::{Change, Figures};
use crate::notify::notify_payouts_held;
use crate::ports::{NotificationKind, RailError, TransferReceipt};
use crate::readiness;
use crate::services::Services;

/// What an attempt's answer comes to.
#[derive(Debug)]
pub(super) enum Settlement {
    /// Record `payout` as `event` made it; once written, the job goes on as `then`.
    Record {
        payout: Box<Payout>,
        event: AuditEvent,
        then: JobOutcome,
        /// Held back by the rail's rate: neither a failure nor a retry, and not told.
        held_back: bool,
    },
    /// Record nothing: the attempt stays processing and the job comes back as this says.
    Leave(JobOutcome),
}

impl Settlement {
    pub(super) fn recorded(payout: Payout, event: AuditEvent, then: JobOutcome) -> Self {
        Settlement::Record {
            payout: Box::new(payout),
            event,
            then,
            held_back: false,
        }
    }
}

/// Turns the rail's answer to the attempt on `payout` into the outcome to record.
pub(super) async fn settle(
    p: &Services,
    mut payout: Payout,
    actor: &str,
    answer: Result<TransferReceipt, RailError>,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<Settlement, AppError> {
    let error = match answer {
        Ok(receipt) => {
            let event = record_receipt(p, &mut payout, now, actor, receipt, "paid")?;
            return Ok(Settlement::recorded(payout, event, JobOutcome::Finished));
        }
        Err(error) => error,
    };
    if error.kind.is_backpressure() {
        let at = now + held_back_for(&payout.id, p.config.rail_pace.hold_after_429);
        tracing::info!(payout_id = %payout.id, %error, %at, "held back by the rail's rate");
        let event = payout.hold_back(now, actor, at, &error.message)?;
        return Ok(Settlement::Record {
            payout: Box::new(payout),
            event,
            then: JobOutcome::RetryAt(at),
            held_back: true,
        });
    }
    tracing::warn!(payout_id = %payout.id, attempt = payout.attempts, %error, "payment attempt failed");
    if error.kind == FailureKind::AccountUnusable
        && let Some(account) = readiness::provider_account(&payout)
    {
        // Later payouts to the account wait on hold rather than fail one after another. This
        // one waits too when the refusal moved no money (a standard transfer refused); an
        // instant payout refused after its transfer fails as before, its money in the
        // barber's Stripe balance for an operator to pay out.
        let restriction = readiness::restrict(p, account, &error.message, now, now).await?;
        if let Some(restriction) = restriction
            && payout.method == PaymentMethod::StripeStandard
        {
            notify_payouts_held(p, &payout, &restriction.reason, restriction.since, now).await;
            let event = payout.hold(now, actor, &restriction.reason)?;
            return Ok(Settlement::recorded(payout, event, JobOutcome::Finished));
        }
    }
    let decision = match error.kind.class() {
        FailureClass::Retryable => p.config.retry.after_failure(payout.round_failures + 1),
        FailureClass::Permanent => RetryDecision::GiveUp,
    };
    match decision {
        RetryDecision::RetryAfter(delay) => {
            let at = now + delay;
            let event = payout.schedule_retry(now, actor, at, error.kind, &error.message)?;
            Ok(Settlement::recorded(payout, event, JobOutcome::RetryAt(at)))
        }
        RetryDecision::GiveUp if error.kind.outcome_unknown() => {
            // The last attempt may have paid; failing it would send its earnings back to an
            // operator who could pay them again. Out of time, there is no lookup and the
            // payout stays processing for the next delivery or reconciliation.
            let found = match rail_window(p, deadline) {
                Some(window) => ask_for_transfer(p, &payout.id, Lookup::Resume, window).await,
                None => Err(timed_out(Duration::ZERO)),
            };
            match found {
                Ok(Some(receipt)) => {
                    let event = record_receipt(
                        p,
                        &mut payout,
                        now,
                        actor,
                        receipt,
                        "adopted the transfer of an attempt whose answer was lost",
                    )?;
                    Ok(Settlement::recorded(payout, event, JobOutcome::Finished))
                }
                Ok(None) => {
                    let event = payout.fail(now, actor, error.kind, &error.message)?;
                    Ok(Settlement::recorded(payout, event, JobOutcome::Finished))
                }
                Err(lookup) => {
                    tracing::warn!(payout_id = %payout.id, %lookup, "cannot confirm the last attempt; leaving it processing for reconciliation");
                    Ok(Settlement::Leave(JobOutcome::NotYet(
                        now + p.config.busy_backoff,
                    )))
                }
            }
        }
        RetryDecision::GiveUp => {
            let event = payout.fail(now, actor, error.kind, &error.message)?;
            Ok(Settlement::recorded(payout, event, JobOutcome::Finished))
        }
    }
}

/// The change an attempt's recorded outcome makes, decided from the attempt's version: told
/// and counted as an outcome, or held back (neither).
pub(super) fn change(
    payout: Payout,
    attempt_version: u64,
    event: AuditEvent,
    held_back: bool,
) -> Change {
    Change {
        notice: notice_kind(&payout, held_back),
        figures: if held_back {
            Figures::HeldBack
        } else {
            Figures::Outcome
        },
        payout,
        read_version: attempt_version,
        event,
    }
}

/// What the barber is told of a recorded outcome, if anything.
fn notice_kind(payout: &Payout, held_back: bool) -> Option<NotificationKind> {
    if held_back {
        return None;
    }
    match payout.status {
        PayoutStatus::Completed | PayoutStatus::InTransit => Some(NotificationKind::Completed),
        PayoutStatus::RetryScheduled => Some(NotificationKind::RetryScheduled),
        // A failure only the barber can fix is told as what to fix.
        PayoutStatus::Failed => Some(match payout.failure_kind {
            Some(
                FailureKind::AccountNotVerified
                | FailureKind::InvalidPaymentMethod
                | FailureKind::AccountUnusable,
            ) => NotificationKind::AccountActionNeeded,
            Some(_) | None => NotificationKind::Failed,
        }),
        // Told once per restriction, not once per payout held (see `readiness`).
        PayoutStatus::OnHold
        | PayoutStatus::AwaitingApproval
        | PayoutStatus::Scheduled
        | PayoutStatus::Queued
        | PayoutStatus::Processing
        | PayoutStatus::Cancelled => None,
    }
}

/// Between one and two holds, spread by the payout's id so that payouts held back together
/// do not come back together.
fn held_back_for(payout: &PayoutId, hold: TimeDelta) -> TimeDelta {
    let spread = payout
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    let hold_ms = hold.num_milliseconds().max(1);
    let extra_ms = i64::try_from(spread % hold_ms.unsigned_abs()).unwrap_or_default();
    hold + TimeDelta::milliseconds(extra_ms)
}
