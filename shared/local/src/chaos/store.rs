//! The store as one task sees it: every call is a scheduling point; an executor may crash right
//! after its lock is taken or a payout write lands, stall until its lock lease has expired, or
//! lose a conditional write to a (simulated) concurrent writer.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payout_app::ports::{
    AdvanceNotice, BarberLocks, CreateOutcome, DueCursor, DueSchedule, Heartbeats, IntakeOutcome,
    LedgerStore, LedgerTotals, NoticeDelivery, Notification, NotificationOutbox, OpenActivity,
    PayoutCreation, PayoutQuery, PayoutStore, PendingNotification, PlanningFailure,
    PlanningFailures, Reports, ScheduleStore, SentNotification, Store, StoreError, WebhookInbox,
    WriteOutcome,
};
use payout_core::ids::{BarberId, EarningId, PayoutId};
use payout_core::ledger::{Deduction, Earning};
use payout_core::money::Currency;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::schedule::PayoutSchedule;
use payout_core::status::PayoutStatus;

use super::faults::{Chaos, FaultKind};
use super::scheduler::{STALL, STALL_YIELDS, TaskCtx, yield_now};

pub struct ChaosStore {
    pub inner: Arc<dyn Store>,
    pub chaos: Chaos,
    pub task: Arc<TaskCtx>,
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

#[async_trait]
impl ScheduleStore for ChaosStore {
    async fn put_schedule(&self, schedule: &PayoutSchedule) -> Result<(), StoreError> {
        self.point().await;
        self.inner.put_schedule(schedule).await
    }

    async fn insert_schedule(&self, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
        self.point().await;
        self.inner.insert_schedule(schedule).await
    }

    async fn get_schedule(&self, barber: &BarberId) -> Result<Option<PayoutSchedule>, StoreError> {
        self.point().await;
        self.inner.get_schedule(barber).await
    }

    async fn due_schedules(
        &self,
        now: DateTime<Utc>,
        cursor: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError> {
        self.point().await;
        self.inner.due_schedules(now, cursor, limit).await
    }

    async fn advance_schedule(
        &self,
        barber: &BarberId,
        expected: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.point().await;
        self.inner.advance_schedule(barber, expected, next).await
    }

    async fn mark_advance_notice(
        &self,
        notice: &AdvanceNotice,
        notice_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.point().await;
        self.inner.mark_advance_notice(notice, notice_at).await
    }

    async fn due_advance_notices(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<AdvanceNotice>, StoreError> {
        self.point().await;
        self.inner.due_advance_notices(now, limit).await
    }

    async fn clear_advance_notice(&self, notice: &AdvanceNotice) -> Result<(), StoreError> {
        self.point().await;
        self.inner.clear_advance_notice(notice).await
    }

    async fn list_schedules(
        &self,
        after: Option<&BarberId>,
        limit: usize,
    ) -> Result<Vec<PayoutSchedule>, StoreError> {
        self.point().await;
        self.inner.list_schedules(after, limit).await
    }
}

#[async_trait]
impl LedgerStore for ChaosStore {
    async fn insert_earnings(
        &self,
        earnings: &[Earning],
        content_hashes: &[String],
    ) -> Result<Vec<IntakeOutcome>, StoreError> {
        self.point().await;
        self.inner.insert_earnings(earnings, content_hashes).await
    }

    async fn get_earning(&self, id: &EarningId) -> Result<Option<Earning>, StoreError> {
        self.point().await;
        self.inner.get_earning(id).await
    }

    async fn insert_deduction(
        &self,
        deduction: &Deduction,
        content_hash: &str,
    ) -> Result<IntakeOutcome, StoreError> {
        self.point().await;
        self.inner.insert_deduction(deduction, content_hash).await
    }

    async fn open_activity(
        &self,
        barber: &BarberId,
        currency: Currency,
        cutoff: DateTime<Utc>,
    ) -> Result<OpenActivity, StoreError> {
        self.point().await;
        self.inner.open_activity(barber, currency, cutoff).await
    }
}

#[async_trait]
impl PayoutStore for ChaosStore {
    async fn create_payout(&self, creation: &PayoutCreation) -> Result<CreateOutcome, StoreError> {
        self.point().await;
        self.inner.create_payout(creation).await
    }

    async fn get_payout(&self, id: &PayoutId) -> Result<Option<Payout>, StoreError> {
        self.point().await;
        self.inner.get_payout(id).await
    }

    async fn list_payouts(
        &self,
        query: &PayoutQuery,
        limit: usize,
    ) -> Result<Vec<Payout>, StoreError> {
        self.point().await;
        self.inner.list_payouts(query, limit).await
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

    async fn cancel_payout(
        &self,
        payout: &Payout,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<WriteOutcome, StoreError> {
        self.point().await;
        self.inner
            .cancel_payout(payout, expected_version, event)
            .await
    }

    async fn failed_payout_count(&self, barber: &BarberId) -> Result<u32, StoreError> {
        self.point().await;
        self.inner.failed_payout_count(barber).await
    }

    async fn audit_trail(&self, id: &PayoutId) -> Result<Vec<AuditEvent>, StoreError> {
        self.point().await;
        self.inner.audit_trail(id).await
    }

    async fn stalled_payouts(
        &self,
        stale_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Payout>, StoreError> {
        self.point().await;
        self.inner.stalled_payouts(stale_before, limit).await
    }
}

#[async_trait]
impl BarberLocks for ChaosStore {
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

    async fn release_lock(&self, barber: &BarberId, owner: &str) -> Result<(), StoreError> {
        self.point().await;
        self.inner.release_lock(barber, owner).await
    }
}

#[async_trait]
impl NotificationOutbox for ChaosStore {
    async fn record_notification(
        &self,
        notification: &Notification,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.point().await;
        self.inner
            .record_notification(notification, at, retry_at)
            .await
    }

    async fn settle_notification(
        &self,
        dedupe_key: &str,
        delivery: NoticeDelivery,
    ) -> Result<(), StoreError> {
        self.point().await;
        self.inner.settle_notification(dedupe_key, delivery).await
    }

    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        self.point().await;
        self.inner.due_notifications(now, limit).await
    }

    async fn list_notifications(
        &self,
        barber: &BarberId,
        limit: usize,
    ) -> Result<Vec<SentNotification>, StoreError> {
        self.point().await;
        self.inner.list_notifications(barber, limit).await
    }
}

#[async_trait]
impl WebhookInbox for ChaosStore {
    async fn record_webhook_event(
        &self,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.point().await;
        self.inner.record_webhook_event(event_id, at).await
    }

    async fn forget_webhook_event(&self, event_id: &str) -> Result<(), StoreError> {
        self.point().await;
        self.inner.forget_webhook_event(event_id).await
    }
}

#[async_trait]
impl PlanningFailures for ChaosStore {
    async fn record_planning_failure(
        &self,
        barber: &BarberId,
        reason: &str,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<PlanningFailure, StoreError> {
        self.point().await;
        self.inner
            .record_planning_failure(barber, reason, at, retry_at)
            .await
    }

    async fn clear_planning_failure(&self, barber: &BarberId) -> Result<(), StoreError> {
        self.point().await;
        self.inner.clear_planning_failure(barber).await
    }

    async fn planning_failure(
        &self,
        barber: &BarberId,
    ) -> Result<Option<PlanningFailure>, StoreError> {
        self.point().await;
        self.inner.planning_failure(barber).await
    }

    async fn planning_failures(&self, limit: usize) -> Result<Vec<PlanningFailure>, StoreError> {
        self.point().await;
        self.inner.planning_failures(limit).await
    }
}

#[async_trait]
impl Heartbeats for ChaosStore {
    async fn record_heartbeat(&self, component: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.point().await;
        self.inner.record_heartbeat(component, at).await
    }

    async fn last_heartbeat(&self, component: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.point().await;
        self.inner.last_heartbeat(component).await
    }
}

#[async_trait]
impl Reports for ChaosStore {
    async fn count_payouts_created(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.point().await;
        self.inner.count_payouts_created(from, to).await
    }

    async fn count_by_status(&self) -> Result<Vec<(PayoutStatus, u64)>, StoreError> {
        self.point().await;
        self.inner.count_by_status().await
    }

    async fn ledger_totals(&self, currency: Currency) -> Result<LedgerTotals, StoreError> {
        self.point().await;
        self.inner.ledger_totals(currency).await
    }
}
