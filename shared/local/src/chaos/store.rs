//! The store as one task sees it: every call is a scheduling point; an executor may crash right
//! after its lock is taken or a payout write lands (one member's or a batch's), stall until its
//! lock lease has expired, or lose a conditional write to a (simulated) concurrent writer.

use std::sync::Arc;

use parking_lot::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payout_app::ports::{
    AccountRestriction, AccountRestrictions, AdvanceNotice, AttemptBatches, BarberLocks,
    CreateOutcome, DueCursor, DueSchedule, EventOutbox, Heartbeats, IntakeOutcome, LedgerStore,
    LedgerTotals, NoticeDelivery, Notification, NotificationOutbox, OpenActivity, OpenWindow,
    OutcomeRecorded, OutcomeWrite, PayoutCreation, PayoutQuery, PayoutStore, PayoutWrite,
    PendingNotification, PeriodBatches, PeriodWrite, PlanningFailure, PlanningFailures, Reports,
    ScheduleStore, SentNotification, Store, StoreError, VoidOutcome, WebhookInbox, WriteOutcome,
};
use payout_core::ids::{BarberId, EarningId, PayoutId};
use payout_core::ledger::{Deduction, Earning};
use payout_core::money::Currency;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::retry::FailureKind;
use payout_core::schedule::PayoutSchedule;
use payout_core::status::PayoutStatus;
use payout_core::totals::{Bucket, Totals};

use super::faults::{Chaos, FaultKind, Sabotage};
use super::scheduler::{STALL, STALL_YIELDS, TaskCtx, yield_now};

pub struct ChaosStore {
    pub inner: Arc<dyn Store>,
    pub chaos: Chaos,
    pub task: Arc<TaskCtx>,
    /// Attempts a sabotaged batch has not written yet ([`Sabotage::PayBeforeAttemptsRecorded`]).
    pub unwritten_attempts: Mutex<Vec<PayoutWrite>>,
}

impl ChaosStore {
    async fn point(&self) {
        if self.chaos.roll(|r| r.yield_point) {
            yield_now().await;
        }
    }

    async fn maybe_crash(&self, kind: FaultKind) {
        if self.task.may_crash && self.chaos.roll(|r| r.executor_crash) {
            self.chaos.injected(kind);
            self.task.crash().await;
        }
    }

    /// Which of `count` conditional writes lose to a concurrent writer (nothing of theirs is
    /// written).
    fn conflicts(&self, count: usize) -> Vec<bool> {
        (0..count)
            .map(|_| {
                let lost = self.task.may_crash && self.chaos.roll(|r| r.store_conflict);
                if lost {
                    self.chaos.injected(FaultKind::StoreConflict);
                }
                lost
            })
            .collect()
    }

    /// The task stops long enough for its lock lease, and its delivery's visibility, to run out
    /// while the others carry on (and may take the same job over).
    async fn maybe_stall(&self) {
        if self.task.may_crash && self.chaos.roll(|r| r.lease_expiry) {
            self.chaos.injected(FaultKind::LeaseExpiredMidJob);
            self.chaos.clock.advance(STALL);
            for _ in 0..STALL_YIELDS {
                yield_now().await;
            }
        }
    }
}

/// Implements `$trait` for [`ChaosStore`]: each listed method is a scheduling point, then the
/// inner store's method; `custom` methods (where faults are injected) are written out.
macro_rules! delegate_with_yield_points {
    ($trait:ident {
        $(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*
    } $(custom { $($custom:tt)* })?) => {
        #[async_trait]
        impl $trait for ChaosStore {
            $(
                async fn $name(&self, $($arg: $ty),*) -> $ret {
                    self.point().await;
                    self.inner.$name($($arg),*).await
                }
            )*
            $($($custom)*)?
        }
    };
}

delegate_with_yield_points! {
    ScheduleStore {
        fn insert_schedule(schedule: &PayoutSchedule) -> Result<bool, StoreError>;
        fn get_schedule(barber: &BarberId) -> Result<Option<PayoutSchedule>, StoreError>;
        fn due_schedules(
            now: DateTime<Utc>,
            cursor: Option<&DueCursor>,
            limit: usize,
        ) -> Result<Vec<DueSchedule>, StoreError>;
        fn advance_schedule(
            barber: &BarberId,
            expected: DateTime<Utc>,
            next: DateTime<Utc>,
        ) -> Result<bool, StoreError>;
        fn mark_advance_notice(
            notice: &AdvanceNotice,
            notice_at: DateTime<Utc>,
        ) -> Result<(), StoreError>;
        fn due_advance_notices(
            now: DateTime<Utc>,
            limit: usize,
        ) -> Result<Vec<AdvanceNotice>, StoreError>;
        fn clear_advance_notice(notice: &AdvanceNotice) -> Result<(), StoreError>;
        fn list_schedules(
            after: Option<&BarberId>,
            limit: usize,
        ) -> Result<Vec<PayoutSchedule>, StoreError>;
        fn due_schedules_in_shard(
            shard: u32,
            now: DateTime<Utc>,
            cursor: Option<&DueCursor>,
            limit: usize,
        ) -> Result<Vec<DueSchedule>, StoreError>;
    }
    custom {
        fn due_shards(&self) -> u32 {
            self.inner.due_shards()
        }

        async fn replace_schedule(&self, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
            self.point().await;
            if self.chaos.sabotage != Sabotage::IgnoreScheduleVersion {
                return self.inner.replace_schedule(schedule).await;
            }
            let Some(stored) = self.inner.get_schedule(&schedule.barber_id).await? else {
                return Ok(false);
            };
            let blind = PayoutSchedule {
                version: stored.version,
                ..schedule.clone()
            };
            self.inner.replace_schedule(&blind).await
        }
    }
}

delegate_with_yield_points! {
    LedgerStore {
        fn insert_earnings(
            earnings: &[Earning],
            content_hashes: &[String],
        ) -> Result<Vec<IntakeOutcome>, StoreError>;
        fn get_earning(id: &EarningId) -> Result<Option<Earning>, StoreError>;
        fn earnings_of_payout(payout: &PayoutId) -> Result<Vec<Earning>, StoreError>;
        fn void_earning(id: &EarningId, at: DateTime<Utc>) -> Result<VoidOutcome, StoreError>;
        fn insert_deduction(
            deduction: &Deduction,
            content_hash: &str,
        ) -> Result<IntakeOutcome, StoreError>;
        fn open_activity(
            barber: &BarberId,
            currency: Currency,
            window: OpenWindow,
        ) -> Result<OpenActivity, StoreError>;
        fn deductions_payable_after(
            barber: &BarberId,
            currency: Currency,
            after: DateTime<Utc>,
        ) -> Result<Vec<Deduction>, StoreError>;
    }
}

delegate_with_yield_points! {
    PayoutStore {
        fn create_payout(creation: &PayoutCreation) -> Result<CreateOutcome, StoreError>;
        fn get_payout(id: &PayoutId) -> Result<Option<Payout>, StoreError>;
        fn get_payouts(ids: &[PayoutId]) -> Result<Vec<Payout>, StoreError>;
        fn cancel_payout(
            payout: &Payout,
            expected_version: u64,
            event: &AuditEvent,
        ) -> Result<WriteOutcome, StoreError>;
        fn failed_payout_count(barber: &BarberId) -> Result<u32, StoreError>;
        fn audit_trail(id: &PayoutId) -> Result<Vec<AuditEvent>, StoreError>;
        fn stalled_payouts(
            stale_before: DateTime<Utc>,
            limit: usize,
        ) -> Result<Vec<Payout>, StoreError>;
    }
    custom {
        async fn list_payouts(
            &self,
            query: &PayoutQuery,
            limit: usize,
        ) -> Result<Vec<Payout>, StoreError> {
            self.point().await;
            let mut listed = self.inner.list_payouts(query, limit).await?;
            if self.chaos.sabotage == Sabotage::ReconcileFailed
                && query.status == Some(PayoutStatus::RetryScheduled)
            {
                let failed = PayoutQuery {
                    status: Some(PayoutStatus::Failed),
                    ..query.clone()
                };
                let forgotten = self.inner.list_payouts(&failed, limit).await?;
                listed.extend(forgotten.into_iter().map(|mut payout| {
                    payout.status = PayoutStatus::RetryScheduled;
                    payout.failure_kind = Some(FailureKind::Timeout);
                    payout
                }));
            }
            Ok(listed)
        }

        async fn update_payout(
            &self,
            payout: &Payout,
            expected_version: u64,
            event: &AuditEvent,
        ) -> Result<WriteOutcome, StoreError> {
            self.point().await;
            self.maybe_stall().await;
            if self.task.may_crash && self.chaos.roll(|r| r.store_conflict) {
                // Another writer got there first: the condition fails and nothing is written.
                self.chaos.injected(FaultKind::StoreConflict);
                return Ok(WriteOutcome::Stale);
            }
            let outcome = self
                .inner
                .update_payout(payout, expected_version, event)
                .await?;
            if outcome == WriteOutcome::Written {
                self.chaos.note(|| {
                    format!(
                        "{} v{} -> {} ({})",
                        payout.id, expected_version, payout.status, event.actor
                    )
                });
                self.maybe_crash(if payout.status == PayoutStatus::Processing {
                    FaultKind::CrashAfterProcessing
                } else {
                    FaultKind::CrashAfterResult
                })
                .await;
                // Paused with the write done: for a processing mark, just before paying.
                self.maybe_stall().await;
            }
            Ok(outcome)
        }
    }
}

delegate_with_yield_points! {
    PeriodBatches {
        fn close_periods(periods: &[PeriodWrite]) -> Result<Vec<CreateOutcome>, StoreError>;
    }
}

delegate_with_yield_points! {
    BarberLocks {
        fn release_lock(barber: &BarberId, owner: &str) -> Result<(), StoreError>;
    }
    custom {
        async fn try_lock(
            &self,
            barber: &BarberId,
            owner: &str,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            self.point().await;
            let taken = self.inner.try_lock(barber, owner, now, lease_until).await?;
            if taken {
                self.chaos.note(|| format!("{owner} locks {barber}"));
                self.maybe_crash(FaultKind::CrashAfterLock).await;
            }
            Ok(taken)
        }
    }
}

delegate_with_yield_points! {
    NotificationOutbox {
        fn record_notification(
            notification: &Notification,
            at: DateTime<Utc>,
            retry_at: DateTime<Utc>,
        ) -> Result<bool, StoreError>;
        fn settle_notification(
            dedupe_key: &str,
            delivery: NoticeDelivery,
        ) -> Result<(), StoreError>;
        fn due_notifications(
            now: DateTime<Utc>,
            limit: usize,
        ) -> Result<Vec<PendingNotification>, StoreError>;
        fn list_notifications(
            barber: &BarberId,
            limit: usize,
        ) -> Result<Vec<SentNotification>, StoreError>;
    }
}

delegate_with_yield_points! {
    EventOutbox {
        fn unpublished_events(limit: usize) -> Result<Vec<(u64, AuditEvent)>, StoreError>;
        fn mark_published(events: &[(u64, AuditEvent)]) -> Result<(), StoreError>;
    }
}

delegate_with_yield_points! {
    WebhookInbox {
        fn record_webhook_event(event_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
        fn forget_webhook_event(event_id: &str) -> Result<(), StoreError>;
    }
}

delegate_with_yield_points! {
    PlanningFailures {
        fn record_planning_failure(
            barber: &BarberId,
            reason: &str,
            at: DateTime<Utc>,
            retry_at: DateTime<Utc>,
        ) -> Result<PlanningFailure, StoreError>;
        fn clear_planning_failure(barber: &BarberId) -> Result<(), StoreError>;
        fn planning_failure(barber: &BarberId) -> Result<Option<PlanningFailure>, StoreError>;
        fn planning_failures(limit: usize) -> Result<Vec<PlanningFailure>, StoreError>;
    }
}

delegate_with_yield_points! {
    AccountRestrictions {
        fn restrict_account(
            account: &str,
            reason: &str,
            at: DateTime<Utc>,
            as_of: DateTime<Utc>,
        ) -> Result<Option<AccountRestriction>, StoreError>;
        fn account_restrictions(accounts: &[String]) -> Result<Vec<AccountRestriction>, StoreError>;
        fn lift_account_restriction(
            account: &str,
            as_of: DateTime<Utc>,
        ) -> Result<Option<AccountRestriction>, StoreError>;
    }
}

delegate_with_yield_points! {
    Heartbeats {
        fn record_heartbeat(component: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
        fn last_heartbeat(component: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    }
}

delegate_with_yield_points! {
    Reports {
        fn totals(buckets: &[Bucket]) -> Result<Totals, StoreError>;
        fn ledger_totals(currency: Currency) -> Result<LedgerTotals, StoreError>;
    }
}

/// Puts the answers for the members that were tried back among those that lost to a
/// concurrent writer (`lost`, answered with `lost_answer`).
fn merge<T: Copy>(lost: &[bool], tried: Vec<T>, lost_answer: T) -> Vec<T> {
    let mut tried = tried.into_iter();
    lost.iter()
        .map(|&lost| {
            if lost {
                lost_answer
            } else {
                tried.next().unwrap_or(lost_answer)
            }
        })
        .collect()
}

fn kept<T: Clone>(all: &[T], lost: &[bool]) -> Vec<T> {
    all.iter()
        .zip(lost)
        .filter(|(_, lost)| !**lost)
        .map(|(item, _)| item.clone())
        .collect()
}

#[async_trait]
impl AttemptBatches for ChaosStore {
    async fn lock_and_record_attempts(
        &self,
        attempts: &[PayoutWrite],
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        self.point().await;
        self.maybe_stall().await;
        let lost = self.conflicts(attempts.len());
        let tried = kept(attempts, &lost);
        let started = if self.chaos.sabotage == Sabotage::PayBeforeAttemptsRecorded {
            let mut started = Vec::with_capacity(tried.len());
            for attempt in tried {
                let locked = self
                    .inner
                    .try_lock(&attempt.payout.barber_id, owner, now, lease_until)
                    .await?;
                if locked {
                    self.unwritten_attempts.lock().push(attempt);
                }
                started.push(locked);
            }
            started
        } else {
            self.inner
                .lock_and_record_attempts(&tried, owner, now, lease_until)
                .await?
        };
        let started = merge(&lost, started, false);
        if started.contains(&true) {
            self.chaos.note(|| {
                let ids: Vec<_> = attempts.iter().map(|a| a.payout.id.as_str()).collect();
                format!("{owner} locks and records attempts of {ids:?}: {started:?}")
            });
            self.maybe_crash(FaultKind::CrashAfterProcessing).await;
            // Paused with the attempts recorded, just before paying.
            self.maybe_stall().await;
        }
        Ok(started)
    }

    async fn record_outcomes_and_unlock(
        &self,
        outcomes: &[OutcomeWrite],
        unlock: &[BarberId],
        owner: &str,
        notice_retry_at: DateTime<Utc>,
    ) -> Result<Vec<OutcomeRecorded>, StoreError> {
        self.point().await;
        self.maybe_stall().await;
        let unwritten = std::mem::take(&mut *self.unwritten_attempts.lock());
        for attempt in unwritten {
            self.inner
                .update_payout(&attempt.payout, attempt.expected_version, &attempt.event)
                .await?;
        }
        let lost = self.conflicts(outcomes.len());
        let mut tried = kept(outcomes, &lost);
        let dropped = match self.chaos.sabotage {
            Sabotage::LoseOneOutcome if tried.len() > 1 => tried.pop(),
            _ => None,
        };
        let mut written = self
            .inner
            .record_outcomes_and_unlock(&tried, unlock, owner, notice_retry_at)
            .await?;
        if dropped.is_some() {
            written.push(OutcomeRecorded {
                write: WriteOutcome::Written,
                new_notice: false,
            });
        }
        let written = merge(&lost, written, OutcomeRecorded::STALE);
        if written.iter().any(|w| w.write == WriteOutcome::Written) {
            self.chaos.note(|| {
                let ids: Vec<_> = outcomes
                    .iter()
                    .map(|o| format!("{} -> {}", o.write.payout.id, o.write.payout.status))
                    .collect();
                format!("{owner} records {ids:?}: {written:?}")
            });
            self.maybe_crash(FaultKind::CrashAfterResult).await;
            self.maybe_stall().await;
        }
        Ok(written)
    }

    async fn settle_notifications(
        &self,
        deliveries: &[(String, NoticeDelivery)],
    ) -> Result<(), StoreError> {
        self.point().await;
        self.inner.settle_notifications(deliveries).await
    }
}
