//! The executor for a batch of deliveries: the steps of [`super::execute_payout`] taken for
//! every member together, each step one commit where the store can make it one.
//!
//! 1. Load the batch's payouts in one read; settled ones are acknowledged, early ones wait.
//! 2. A payout with an earlier attempt (the rail must be asked about it first), one to a
//!    restricted account (to be held) and a barber's second payout in the batch go through
//!    the single executor, one by one, after the batch.
//! 3. Lock every other member's barber and record every attempt, in one commit: each attempt
//!    is durable before its payment, as in the single executor.
//! 4. Pay each, concurrently (the rail's pace spaces the calls), unless the locks have been
//!    held so long that a lease could lapse during the calls.
//! 5. Record every outcome with its notice, and release every lock, in one commit.
//! 6. Count, deliver the notices, and settle their deliveries in one commit.
//!
//! A crash between 3 and 5 leaves the members processing with their attempts recorded: their
//! next deliveries ask the rail first, exactly as after a crash of the single executor.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::future::join_all;
use payout_core::ids::PayoutId;
use payout_core::payout::Payout;

use super::settle::{Settlement, change, settle};
use super::{
    JobOutcome, call_rail, execute, lease_could_lapse, not_runnable, rail_window, transfer_request,
};
use crate::error::AppError;
use crate::job_time::JobTime;
use crate::lifecycle;
use crate::ports::{PayoutWrite, WriteOutcome};
use crate::readiness;
use crate::services::Services;

/// Executes the jobs for `ids` as executor `owner`. What became of each, in order: `None`
/// where that member's own work failed (logged; its delivery comes back after its visibility
/// timeout, as after any error). An error is the batch's: the store failed it as a whole.
pub async fn execute_payouts(
    p: &Services,
    ids: &[PayoutId],
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Option<JobOutcome>>, AppError> {
    execute_batch(p, ids, owner, now, None).await
}

/// The same in an invocation that ends at `deadline` (by the services' stopwatch): the rail
/// calls get at most what is left before it less the margin, and a batch with too little left
/// records no attempt (every member is left for its next delivery).
pub async fn execute_payouts_before(
    p: &Services,
    ids: &[PayoutId],
    owner: &str,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Result<Vec<Option<JobOutcome>>, AppError> {
    execute_batch(p, ids, owner, now, Some(deadline)).await
}

async fn execute_batch(
    p: &Services,
    ids: &[PayoutId],
    owner: &str,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<Vec<Option<JobOutcome>>, AppError> {
    let time = JobTime::start(p, now);
    let mut outcomes = vec![None; ids.len()];
    let loaded: HashMap<PayoutId, Payout> = p
        .store
        .get_payouts(ids)
        .await?
        .into_iter()
        .map(|payout| (payout.id.clone(), payout))
        .collect();
    // Payouts to a restricted account are held by the single executor, under their lock.
    let restricted = readiness::restrictions_of(p, loaded.values()).await?;
    let actor = format!("executor:{owner}");
    let mut barbers = HashSet::new();
    let mut attempts = Vec::new();
    let mut one_by_one = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        let Some(payout) = loaded.get(id) else {
            tracing::warn!(payout_id = %id, "job for an unknown payout acknowledged");
            outcomes[index] = Some(JobOutcome::Finished);
            continue;
        };
        if let Some(outcome) = not_runnable(payout, now) {
            outcomes[index] = Some(outcome);
        } else if payout.attempts > 0
            || readiness::provider_account(payout).is_some_and(|a| restricted.contains_key(a))
            || !barbers.insert(payout.barber_id.clone())
        {
            one_by_one.push(index);
        } else {
            let mut payout = payout.clone();
            let expected_version = payout.version;
            match payout.begin_attempt(time.now(p), &actor) {
                Ok(event) => attempts.push(Member {
                    index,
                    write: PayoutWrite {
                        payout,
                        expected_version,
                        event,
                    },
                }),
                Err(error) => {
                    tracing::error!(payout_id = %id, %error, "attempt not begun; the job will be redelivered");
                }
            }
        }
    }
    let batch = Batch {
        actor: &actor,
        owner,
        time,
        deadline,
    };
    pay(p, &batch, attempts, &mut outcomes).await?;
    for index in one_by_one {
        outcomes[index] = match execute(p, &ids[index], owner, time.now(p), deadline).await {
            Ok(outcome) => Some(outcome),
            Err(error) => {
                tracing::error!(payout_id = %ids[index], %error, "job failed; it will be redelivered");
                None
            }
        };
    }
    Ok(outcomes)
}

/// Who runs the batch, and when.
struct Batch<'a> {
    actor: &'a str,
    owner: &'a str,
    time: JobTime,
    deadline: Option<DateTime<Utc>>,
}

/// A payout of the batch and its place in it.
struct Member<T> {
    index: usize,
    write: T,
}

/// Steps 3 to 6 for the members whose attempts are begun (not yet recorded).
async fn pay(
    p: &Services,
    batch: &Batch<'_>,
    attempts: Vec<Member<PayoutWrite>>,
    outcomes: &mut [Option<JobOutcome>],
) -> Result<(), AppError> {
    let Batch {
        actor,
        owner,
        time,
        deadline,
    } = *batch;
    if attempts.is_empty() {
        return Ok(());
    }
    let now = time.picked_up;
    let Some(window) = rail_window(p, deadline) else {
        tracing::warn!(
            jobs = attempts.len(),
            "too little time left before the deadline; left for the next delivery"
        );
        for member in attempts {
            outcomes[member.index] = Some(JobOutcome::NotYet(now));
        }
        return Ok(());
    };
    let busy = JobOutcome::NotYet(now + p.config.busy_backoff);
    let (indexes, writes): (Vec<usize>, Vec<PayoutWrite>) = attempts
        .into_iter()
        .map(|member| (member.index, member.write))
        .unzip();
    // Read before the locks are asked for, so a pause while taking them counts against the
    // lease.
    let locked_at = p.stopwatch.now();
    let started =
        lifecycle::lock_and_record_attempts(p, &writes, owner, now, now + p.config.lock_lease)
            .await?;
    let mut unlock = Vec::new();
    let mut paying = Vec::new();
    for ((index, write), started) in indexes.into_iter().zip(writes).zip(started) {
        if started {
            unlock.push(write.payout.barber_id.clone());
            paying.push(Member {
                index,
                write: write.payout,
            });
        } else {
            outcomes[index] = Some(busy);
        }
    }
    // As in the single executor: checked with nothing awaited between here and the calls.
    if lease_could_lapse(p, locked_at, window) {
        tracing::warn!(
            payouts = paying.len(),
            "locks held too long to pay safely; leaving the attempts to reconciliation"
        );
        for member in paying.drain(..) {
            outcomes[member.index] = Some(busy);
        }
    }
    let requests: Vec<_> = paying.iter().map(|m| transfer_request(&m.write)).collect();
    // Each answer recorded at the moment it came.
    let answers = join_all(requests.iter().map(|request| async move {
        let answer = call_rail(p, request, window).await;
        (answer, time.now(p))
    }))
    .await;

    let mut recorded = Vec::new();
    let mut changes = Vec::new();
    for (member, (answer, answered_at)) in paying.into_iter().zip(answers) {
        let attempt_version = member.write.version;
        match settle(p, member.write, actor, answer, answered_at, deadline).await {
            Ok(Settlement::Leave(outcome)) => outcomes[member.index] = Some(outcome),
            Ok(Settlement::Record {
                payout,
                event,
                then,
                held_back,
            }) => {
                recorded.push((member.index, then));
                changes.push(change(*payout, attempt_version, event, held_back));
            }
            Err(error) => {
                // Left processing with its attempt recorded: the next delivery asks the rail.
                tracing::error!(%error, "outcome not settled; the job will be redelivered");
            }
        }
    }
    let written = lifecycle::record_and_unlock(p, changes, &unlock, owner, time.now(p)).await?;
    for ((index, then), written) in recorded.into_iter().zip(written) {
        outcomes[index] = Some(match written {
            WriteOutcome::Written => then,
            WriteOutcome::Stale => {
                tracing::warn!("an outcome not recorded: the payout changed meanwhile");
                JobOutcome::NotYet(time.now(p) + p.config.busy_backoff)
            }
        });
    }
    Ok(())
}
