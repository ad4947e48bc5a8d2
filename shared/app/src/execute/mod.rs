//! The executor: pays one payout exactly once (docs/design.md, "The exactly-once protocol").
//!
//! 1. Load the payout; a settled one is a duplicate delivery and is acknowledged.
//! 2. Take the barber's lock (conditional write with a lease, released by owner only).
//! 3. Reload under the lock. If an earlier attempt exists, ask the rail for a transfer in the
//!    payout's group first and adopt it: the lookup, not the idempotency key, is what prevents
//!    a second payment after an unknown outcome.
//! 4. Record the new attempt and its idempotency key (the recovery point), then call the rail,
//!    unless the lock has been held so long that its lease could lapse during the call.
//! 5. Record the outcome conditionally on the version written in step 4, with the barber's
//!    notice in the same commit, and deliver the notice.
//! 6. Release the lock.
//!
//! Every write of a payout and of the lock is [`crate::lifecycle`]'s.
//!
//! Where the invocation has a deadline (Lambda), each rail call gets at most the time left
//! before it less `deadline_margin` (to record the answer and unlock), and a job with too little
//! time left stops before it records an attempt: it is left for the next delivery rather than
//! killed mid-call with the barber's lock held.
//!
//! A crash anywhere leaves the payout queued, processing or retry-scheduled with its job still
//! on the queue (or re-enqueued by recovery), and the next delivery finishes it from step 1.

mod batch;
mod settle;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use payout_core::ids::PayoutId;
use payout_core::method::PaymentMethod;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::retry::FailureKind;
use payout_core::status::IllegalTransition;

use crate::error::AppError;
use crate::job_time::JobTime;
use crate::lifecycle;
use crate::ports::{RailError, TransferReceipt, TransferRequest, WriteOutcome};
use crate::readiness;
use crate::services::Services;
pub use batch::{execute_payouts, execute_payouts_before};
use settle::{Settlement, change, settle};

/// What the queue should do with the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Nothing more to do for this delivery (done, duplicate, or unknown payout).
    Finished,
    /// A retryable failure was recorded; a new job must run at this instant.
    RetryAt(DateTime<Utc>),
    /// Not now (lock held, attempt not yet due, lost a race): deliver this job again then.
    NotYet(DateTime<Utc>),
}

/// The shortest rail call worth making; with less time left before the deadline, the job is
/// left for the next delivery before any attempt is recorded.
pub const MIN_RAIL_WINDOW: Duration = Duration::from_secs(2);

/// Executes the job for `payout_id` as executor `owner`, with the whole rail timeout.
pub async fn execute_payout(
    p: &Services,
    payout_id: &PayoutId,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<JobOutcome, AppError> {
    execute(p, payout_id, owner, now, None).await
}

/// The same in an invocation that ends at `deadline` (by the services' stopwatch).
pub async fn execute_payout_before(
    p: &Services,
    payout_id: &PayoutId,
    owner: &str,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Result<JobOutcome, AppError> {
    execute(p, payout_id, owner, now, Some(deadline)).await
}

/// Whether an invocation ending at `deadline` has time to start a job: its reads and lock
/// (given the margin too), a rail call of [`MIN_RAIL_WINDOW`], and the margin to record it.
pub fn time_for_a_job(p: &Services, deadline: DateTime<Utc>) -> bool {
    rail_window(p, Some(deadline - p.config.deadline_margin)).is_some()
}

/// How long the next rail call may take: the rail timeout, cut to what is left before
/// `deadline` less the margin; `None` when that is under [`MIN_RAIL_WINDOW`].
fn rail_window(p: &Services, deadline: Option<DateTime<Utc>>) -> Option<Duration> {
    let Some(deadline) = deadline else {
        return Some(p.config.rail_timeout);
    };
    let left = (deadline - p.config.deadline_margin - p.stopwatch.now())
        .to_std()
        .ok()?;
    (left >= MIN_RAIL_WINDOW).then(|| left.min(p.config.rail_timeout))
}

async fn execute(
    p: &Services,
    payout_id: &PayoutId,
    owner: &str,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<JobOutcome, AppError> {
    let time = JobTime::start(p, now);
    let Some(payout) = p.store.get_payout(payout_id).await? else {
        tracing::warn!(%payout_id, "job for an unknown payout acknowledged");
        return Ok(JobOutcome::Finished);
    };
    if let Some(outcome) = not_runnable(&payout, now) {
        return Ok(outcome);
    }
    let lease_until = now + p.config.lock_lease;
    if !lifecycle::lock(p, &payout.barber_id, owner, now, lease_until).await? {
        return Ok(JobOutcome::NotYet(now + p.config.busy_backoff));
    }
    let locked_at = p.stopwatch.now();
    let result = execute_locked(p, payout_id, owner, time, locked_at, deadline).await;
    lifecycle::unlock(p, &payout.barber_id, owner).await?;
    result
}

/// Why a loaded payout needs no work now, if it needs none.
fn not_runnable(payout: &Payout, now: DateTime<Utc>) -> Option<JobOutcome> {
    if payout.status.is_settled_for_executor() {
        return Some(JobOutcome::Finished);
    }
    match payout.next_attempt_at {
        Some(due) if due > now => Some(JobOutcome::NotYet(due)),
        Some(_) | None => None,
    }
}

async fn execute_locked(
    p: &Services,
    payout_id: &PayoutId,
    owner: &str,
    time: JobTime,
    locked_at: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<JobOutcome, AppError> {
    let actor = format!("executor:{owner}");
    let now = time.picked_up;
    let Some(mut payout) = p.store.get_payout(payout_id).await? else {
        return Ok(JobOutcome::Finished);
    };
    if let Some(outcome) = not_runnable(&payout, now) {
        return Ok(outcome);
    }

    if payout.attempts > 0 {
        let Some(window) = rail_window(p, deadline) else {
            return Ok(out_of_time(&payout, now));
        };
        // Only attempts whose outcome is unknown reach here: their second step is finished.
        match ask_for_transfer(p, &payout.id, Lookup::Resume, window).await {
            Ok(Some(receipt)) => {
                let read_version = payout.version;
                let event = record_receipt(
                    p,
                    &mut payout,
                    time.now(p),
                    &actor,
                    receipt,
                    "adopted the transfer found by reconciliation",
                )?;
                let adopted = Settlement::recorded(payout, event, JobOutcome::Finished);
                return apply(p, adopted, read_version).await;
            }
            Ok(None) => {}
            Err(error) if refuses_the_payee(error.kind) => {
                // The attempt's transfer stands and the provider refused its second step for
                // good (an account closed, say): an outcome, recorded as a fresh attempt's
                // would be, the money left in the barber's balance for an operator.
                tracing::warn!(payout_id = %payout.id, %error, "the last attempt's second step was refused");
                let read_version = payout.version;
                let settlement =
                    settle(p, payout, &actor, Err(error), time.now(p), deadline).await?;
                return apply(p, settlement, read_version).await;
            }
            Err(error) => {
                // Without knowing whether the last attempt paid, paying again could pay twice.
                tracing::warn!(payout_id = %payout.id, %error, "reconciliation failed; will retry");
                return Ok(JobOutcome::NotYet(now + p.config.busy_backoff));
            }
        }
    }

    // Asked only now: an attempt whose outcome was unknown is adopted above, never held.
    let mut restricted = readiness::restrictions_of(p, [&payout]).await?;
    if let Some(restriction) =
        readiness::provider_account(&payout).and_then(|account| restricted.remove(account))
    {
        return Ok(
            match readiness::hold(p, payout, &restriction, &actor, time.now(p)).await? {
                WriteOutcome::Written => JobOutcome::Finished,
                WriteOutcome::Stale => JobOutcome::NotYet(now + p.config.busy_backoff),
            },
        );
    }

    let Some(window) = rail_window(p, deadline) else {
        return Ok(out_of_time(&payout, now));
    };
    let read_version = payout.version;
    let event = payout.begin_attempt(time.now(p), &actor)?;
    if lifecycle::record_attempt(p, &payout, read_version, &event).await? == WriteOutcome::Stale {
        return Ok(JobOutcome::NotYet(now + p.config.busy_backoff));
    }

    let request = transfer_request(&payout);
    // An executor that was paused (or slow) long enough for its lease to lapse may have been
    // overtaken by another that found no transfer and paid: it must not pay now. Checked with
    // nothing awaited between here and the call, and with the whole call's window to spare.
    if lease_could_lapse(p, locked_at, window) {
        tracing::warn!(payout_id = %payout.id, "lock held too long to pay safely; leaving the attempt to reconciliation");
        return Ok(JobOutcome::NotYet(now + p.config.busy_backoff));
    }
    let result = call_rail(p, &request, window).await;
    let attempt_version = payout.version;
    let settlement = settle(p, payout, &actor, result, time.now(p), deadline).await?;
    apply(p, settlement, attempt_version).await
}

/// Whether a resumed attempt's error is the provider refusing the barber's account, method or
/// amount for good (only its second step, a payout on the account, can be): not a lookup that
/// failed, which says nothing of whether the attempt paid.
fn refuses_the_payee(kind: FailureKind) -> bool {
    matches!(
        kind,
        FailureKind::AccountUnusable
            | FailureKind::AccountNotVerified
            | FailureKind::InvalidPaymentMethod
            | FailureKind::InvalidAmount
    )
}

/// The transfer of the attempt just recorded on `payout`.
fn transfer_request(payout: &Payout) -> TransferRequest {
    TransferRequest {
        payout_id: payout.id.clone(),
        barber_id: payout.barber_id.clone(),
        destination: payout.destination.clone(),
        amount: payout.breakdown.net,
        method: payout.method,
        idempotency_key: payout
            .idempotency_key
            .clone()
            .expect("begin_attempt sets the idempotency key"),
    }
}

/// Whether a lock taken at `locked_at` could lapse before a call of `window` ends.
fn lease_could_lapse(p: &Services, locked_at: DateTime<Utc>, window: Duration) -> bool {
    let held = p.stopwatch.now() - locked_at;
    held + TimeDelta::from_std(window).unwrap_or(TimeDelta::MAX) >= p.config.lock_lease
}

/// A job stopped for want of time: the next delivery takes it from the top.
fn out_of_time(payout: &Payout, now: DateTime<Utc>) -> JobOutcome {
    tracing::warn!(payout_id = %payout.id, "too little time left before the deadline; left for the next delivery");
    JobOutcome::NotYet(now)
}

fn timed_out(window: Duration) -> RailError {
    RailError {
        kind: FailureKind::Timeout,
        message: format!("no answer within {window:?}"),
    }
}

async fn call_rail(
    p: &Services,
    request: &TransferRequest,
    window: Duration,
) -> Result<TransferReceipt, RailError> {
    tokio::time::timeout(window, p.rail.transfer(request))
        .await
        .unwrap_or_else(|_| Err(timed_out(window)))
}

/// Records `payout` as paid by the transfer in `receipt` (`how` it was learnt); an instant
/// payout the provider paid standard instead keeps why, and gives back what its fee came to
/// over the standard fee.
pub(crate) fn record_receipt(
    p: &Services,
    payout: &mut Payout,
    now: DateTime<Utc>,
    actor: &str,
    receipt: TransferReceipt,
    how: &str,
) -> Result<AuditEvent, IllegalTransition> {
    let event = payout.record_transfer(now, actor, receipt.transfer_id, receipt.settled, how)?;
    if let Some(refusal) = receipt.instant_refused {
        let standard = PaymentMethod::StripeStandard;
        let standard_fee = p.config.policy.fees.fee(standard, payout.breakdown.gross);
        payout.record_paid_standard(&refusal, standard_fee);
    }
    Ok(event)
}

/// How a payout's transfer is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// A pure lookup: for an outcome the provider reported, or a report.
    Pure,
    /// The last attempt's outcome is unknown: its second step (Stripe's instant payout) is
    /// finished, so the transfer adopted is whole.
    Resume,
}

/// The payout's transfer at the rail, asked within `window` (a timeout is a rail error).
pub(crate) async fn ask_for_transfer(
    p: &Services,
    payout_id: &PayoutId,
    how: Lookup,
    window: Duration,
) -> Result<Option<TransferReceipt>, RailError> {
    let asked = async {
        match how {
            Lookup::Pure => p.rail.find_transfer(payout_id).await,
            Lookup::Resume => p.rail.resume_transfer(payout_id).await,
        }
    };
    tokio::time::timeout(window, asked)
        .await
        .unwrap_or_else(|_| Err(timed_out(window)))
}

/// Records a settlement (with its notice, counted once) over the attempt's version; on a lost
/// race the job comes back for the next delivery to re-read and reconcile.
async fn apply(
    p: &Services,
    settlement: Settlement,
    read_version: u64,
) -> Result<JobOutcome, AppError> {
    match settlement {
        Settlement::Leave(outcome) => Ok(outcome),
        Settlement::Record {
            payout,
            event,
            then,
            held_back,
        } => {
            let at = event.at;
            let change = change(*payout, read_version, event, held_back);
            match lifecycle::record(p, change, at).await? {
                WriteOutcome::Written => Ok(then),
                WriteOutcome::Stale => {
                    tracing::warn!("outcome not recorded: the payout changed meanwhile");
                    Ok(JobOutcome::NotYet(at + p.config.busy_backoff))
                }
            }
        }
    }
}
