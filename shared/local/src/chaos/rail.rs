//! The payment provider as one task sees it: refusals (429, 5xx, permanent), timeouts with and
//! without the transfer made, answers that arrive after the caller's lock lease has expired, and
//! a caller that crashes as the success comes back. The transfer itself is applied by the
//! simulated rail at the instant of the call, as a provider does; only the answer is at risk.
//!
//! Its lookups may hang: the provider never answers, and only the caller's own time limit lets
//! it go on (checked as it lets go).
//!
//! It also sees, at each call, whether the store already holds the attempt being paid (the
//! recovery point the exactly-once protocol of docs/design.md puts before every payment).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use payout_app::ports::{PaymentRail, RailError, Store, TransferReceipt, TransferRequest};
use payout_core::ids::PayoutId;
use payout_core::retry::FailureKind;

use super::faults::{Chaos, FaultKind, Sabotage};
use super::scheduler::{STALL, STALL_YIELDS, TaskCtx, yield_now};
use crate::SimulatedRail;

pub struct ChaosRail {
    pub inner: Arc<SimulatedRail>,
    pub chaos: Chaos,
    pub task: Arc<TaskCtx>,
    /// The store without faults, read at each call.
    pub store: Arc<dyn Store>,
    /// The rail's timeout as configured: no call may hold its caller longer.
    pub timeout: Duration,
}

/// How long a hung lookup goes unanswered: for good, as far as any caller should care.
const HANG: Duration = Duration::from_secs(2 * 60 * 60);

/// The paused runtime clock's time is whole milliseconds; a timer fires on the next one.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// A lookup the provider never answers, from its start; (n) when the caller lets it go (its
/// timeout drops it) or it ends, it held the caller no longer than the rail's timeout.
struct HungLookup {
    chaos: Chaos,
    payout: PayoutId,
    started: tokio::time::Instant,
    timeout: Duration,
}

impl Drop for HungLookup {
    fn drop(&mut self) {
        let held = self.started.elapsed();
        if held > self.timeout + TIMER_SLACK {
            self.chaos.violated(format!(
                "(n) the lookup of {} hung for {held:?}, past the rail's timeout of {:?}: its caller, and the work behind it, waited for it",
                self.payout, self.timeout
            ));
        }
    }
}

fn refusal(kind: FailureKind, message: &str) -> RailError {
    RailError {
        kind,
        message: message.to_string(),
    }
}

impl ChaosRail {
    /// (f) The attempt a request pays (the number its idempotency key ends with) is recorded
    /// before the provider is asked. A later attempt recorded meanwhile is no breach here; a
    /// caller whose lease lapsed is another invariant's to catch.
    async fn check_attempt_recorded(&self, request: &TransferRequest) {
        let key = &request.idempotency_key;
        let asked = key.rsplit(':').next().and_then(|n| n.parse::<u32>().ok());
        let recorded = match self.store.get_payout(&request.payout_id).await {
            Ok(payout) => payout.map(|payout| payout.attempts),
            Err(_) => return,
        };
        if asked.is_none_or(|asked| recorded.is_none_or(|recorded| recorded < asked)) {
            self.chaos.violated(format!(
                "(f) {} was paid with key {key} before that attempt was recorded (the store holds {recorded:?})",
                request.payout_id
            ));
        }
    }

    fn pick_fault(&self) -> Option<FaultKind> {
        if !self.chaos.roll(|r| r.rail_fault) {
            return None;
        }
        const RAIL_FAULTS: [FaultKind; 6] = [
            FaultKind::Rail429,
            FaultKind::Rail5xx,
            FaultKind::RailTimeoutPaid,
            FaultKind::RailTimeoutUnpaid,
            FaultKind::RailPermanent,
            FaultKind::RailSlowPastLease,
        ];
        let index = self
            .chaos
            .with_rng(|rng| rng.below(RAIL_FAULTS.len() as u64));
        Some(RAIL_FAULTS[usize::try_from(index).unwrap_or(0)])
    }
}

#[async_trait]
impl PaymentRail for ChaosRail {
    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError> {
        // No scheduling point before the provider acts: the executor's last lease check and the
        // request leave together, as they do in a process (the embedded store reads inline).
        self.check_attempt_recorded(request).await;
        let fault = self.pick_fault();
        if let Some(kind) = fault {
            self.chaos.injected(kind);
        }
        let result = match fault {
            Some(FaultKind::Rail429) => {
                Err(refusal(FailureKind::RateLimited, "429 too many requests"))
            }
            Some(FaultKind::Rail5xx) => Err(refusal(
                FailureKind::ProviderUnavailable,
                "503 service unavailable",
            )),
            Some(FaultKind::RailTimeoutUnpaid) => Err(refusal(
                FailureKind::Timeout,
                "timed out before the provider saw it",
            )),
            Some(FaultKind::RailPermanent) => Err(refusal(
                FailureKind::InvalidPaymentMethod,
                "the destination account cannot receive transfers",
            )),
            Some(FaultKind::RailTimeoutPaid) => {
                let made = self.inner.transfer(request).await;
                self.chaos
                    .note(|| format!("{} paid, answer lost: {made:?}", request.payout_id));
                Err(refusal(
                    FailureKind::Timeout,
                    "timed out after the provider paid",
                ))
            }
            Some(FaultKind::RailSlowPastLease) => {
                let made = self.inner.transfer(request).await;
                self.chaos.clock.advance(STALL);
                self.chaos.slow_call(
                    request.payout_id.clone(),
                    request.idempotency_key.clone(),
                    STALL,
                );
                for _ in 0..STALL_YIELDS {
                    yield_now().await;
                }
                made
            }
            Some(_) | None => self.inner.transfer(request).await,
        };
        self.chaos.note(|| {
            format!(
                "{} transfer {}: {result:?}",
                request.payout_id, request.idempotency_key
            )
        });
        if result.is_ok() && self.task.may_crash && self.chaos.roll(|r| r.executor_crash) {
            self.chaos.injected(FaultKind::CrashAfterRailSuccess);
            self.task.crash().await;
        }
        result
    }

    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
        yield_now().await;
        if self.chaos.time_paused() && self.chaos.roll(|r| r.lookup_hang) {
            self.chaos.injected(FaultKind::RailLookupHangs);
            let _held = HungLookup {
                chaos: self.chaos.clone(),
                payout: payout.clone(),
                started: tokio::time::Instant::now(),
                timeout: self.timeout,
            };
            tokio::time::sleep(HANG).await;
        }
        match self.chaos.sabotage {
            Sabotage::SkipReconciliation => Ok(None),
            Sabotage::None
            | Sabotage::IgnoreLeaseExpiry
            | Sabotage::PayBeforeAttemptsRecorded
            | Sabotage::LoseOneOutcome
            | Sabotage::IgnoreScheduleVersion
            | Sabotage::ReconcileFailed
            | Sabotage::RecoverOnlyStale
            | Sabotage::DropLookupTimeout => self.inner.find_transfer(payout).await,
        }
    }
}
