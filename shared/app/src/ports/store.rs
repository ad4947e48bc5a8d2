//! Durable state: schedules, the earnings ledger, payouts with their audit trail, the per-barber
//! lock and the notification outbox, one narrow trait per aggregate ([`ScheduleStore`],
//! [`LedgerStore`], [`PayoutStore`], [`BarberLocks`], [`NotificationOutbox`], [`WebhookInbox`],
//! [`PlanningFailures`], [`AccountRestrictions`], [`Heartbeats`], [`Reports`]) under one
//! [`Store`] an adapter provides, and the batch steps: [`PeriodBatches`] (the planner's) and
//! [`AttemptBatches`] (the executor's), for many barbers at once.
//!
//! Every write that could race is conditional, with the same meaning in every adapter:
//! a payout is created only if its id is new and every earning it claims is still open; a
//! payout is updated only if its stored version is the one read; a schedule advances only from
//! the cut-off the planner saw; a lock is taken only if free or its lease has expired.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use payout_core::deduction::DeductionLine;
use payout_core::hold::HoldDays;
use payout_core::ids::{BarberId, DeductionId, EarningId, PayoutId};
use payout_core::ledger::{Deduction, Earning};
use payout_core::method::PaymentMethod;
use payout_core::money::Currency;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::schedule::PayoutSchedule;
use payout_core::status::PayoutStatus;
use payout_core::totals::{Bucket, Totals};
use serde::{Deserialize, Serialize};

use crate::ports::{Notification, PendingNotification, SentNotification};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage backend: {0}")]
    Backend(String),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

/// The result of an idempotent insert keyed by the record's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    Created,
    /// The same id with the same content: nothing written.
    Duplicate,
    /// The same id with different content.
    Conflict,
}

/// What became of voiding an earning (its service was refunded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoidOutcome {
    /// It was open and is out of the balance for good.
    Voided,
    AlreadyVoided,
    /// A payout holds it (paid, or on its way): the barber is paid for it.
    Claimed(PayoutId),
    /// No such earning.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The stored version was not the expected one; somebody else moved the record first.
    Stale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// A payout with this id exists already, or the schedule has moved past this cut-off: the
    /// period was closed by another planner run.
    AlreadyExists,
    /// The open earnings or deductions changed since they were read; read again.
    ClaimChanged,
}

/// Which open entries a period takes: the earnings recorded by `cutoff` for services
/// performed by `earned_by` (the cut-off less the schedule's hold), and the deductions recorded
/// by `cutoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenWindow {
    pub cutoff: DateTime<Utc>,
    pub earned_by: DateTime<Utc>,
}

impl OpenWindow {
    /// Everything recorded by `cutoff`, nothing held.
    pub fn at(cutoff: DateTime<Utc>) -> Self {
        Self {
            cutoff,
            earned_by: cutoff,
        }
    }

    /// What a schedule holding earnings `hold` days pays at `cutoff`.
    pub fn held(cutoff: DateTime<Utc>, hold: HoldDays) -> Self {
        Self {
            cutoff,
            earned_by: hold.earned_by(cutoff),
        }
    }
}

/// A barber's open (unpaid) entries in an [`OpenWindow`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenActivity {
    /// The open service earnings: their sum and their number.
    pub gross_minor: i64,
    pub services: u32,
    /// The open tips: their sum and their number.
    pub tips_minor: i64,
    pub tips: u32,
    pub deductions: Vec<DeductionLine>,
    /// The open earnings recorded by the cut-off whose service is after `earned_by`.
    pub held: HeldEarnings,
    /// When the earliest open earning's service was, held or not.
    pub earliest_service: Option<DateTime<Utc>>,
}

/// Open earnings still held: recorded, but their service too recent to be paid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldEarnings {
    pub gross_minor: i64,
    pub services: u32,
    pub earliest_service: Option<DateTime<Utc>>,
    pub latest_service: Option<DateTime<Utc>>,
}

impl HeldEarnings {
    /// Counts one held earning of `amount_minor` for a service at `occurred_at`.
    pub fn add(&mut self, amount_minor: i64, occurred_at: DateTime<Utc>) -> Option<()> {
        self.gross_minor = self.gross_minor.checked_add(amount_minor)?;
        self.services += 1;
        self.earliest_service = Some(
            self.earliest_service
                .map_or(occurred_at, |t| t.min(occurred_at)),
        );
        self.latest_service = Some(
            self.latest_service
                .map_or(occurred_at, |t| t.max(occurred_at)),
        );
        Some(())
    }
}

/// Everything that must happen at once when a period closes.
#[derive(Debug, Clone)]
pub struct PayoutCreation {
    pub payout: Payout,
    pub event: AuditEvent,
    /// The open earnings (services and tips) recorded up to `payout.cutoff` for services by
    /// `earned_by` must still total exactly this, and be this many.
    pub claimed_earnings_minor: i64,
    pub claimed_earnings: u32,
    pub claimed_deductions: Vec<DeductionId>,
    /// The latest service the payout pays for: the cut-off less the schedule's hold.
    pub earned_by: DateTime<Utc>,
    /// A negative period's balance, opened as a deduction for the next period.
    pub carried_balance: Option<Deduction>,
    /// The release of the reserve the payout keeps, opened payable after the reserve's days.
    pub reserve_release: Option<Deduction>,
    /// Advance the schedule from `.0` to `.1` in the same write (scheduled payouts only).
    pub schedule_advance: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Filters of a payout listing; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct PayoutQuery {
    pub barber: Option<BarberId>,
    pub status: Option<PayoutStatus>,
    pub method: Option<PaymentMethod>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// Last changed at or after.
    pub updated_from: Option<DateTime<Utc>>,
    /// Continue after this (created_at, id), from a previous page.
    pub after: Option<(DateTime<Utc>, PayoutId)>,
}

/// A due schedule as the store holds it: readable, or a record that cannot be decoded, still
/// placed in the due order by its key so the planner can record it against the barber and go
/// on with everybody else.
#[derive(Debug, Clone, PartialEq)]
pub enum DueSchedule {
    Ready(Box<PayoutSchedule>),
    Unreadable {
        barber_id: BarberId,
        next_run_at: DateTime<Utc>,
        reason: String,
    },
}

impl DueSchedule {
    pub fn barber_id(&self) -> &BarberId {
        match self {
            DueSchedule::Ready(schedule) => &schedule.barber_id,
            DueSchedule::Unreadable { barber_id, .. } => barber_id,
        }
    }

    pub fn next_run_at(&self) -> DateTime<Utc> {
        match self {
            DueSchedule::Ready(schedule) => schedule.next_run_at,
            DueSchedule::Unreadable { next_run_at, .. } => *next_run_at,
        }
    }
}

/// Where a page of due schedules ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueCursor {
    pub next_run_at: DateTime<Utc>,
    pub barber_id: BarberId,
}

/// A barber to tell, ahead of time, about the scheduled run at `cutoff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvanceNotice {
    pub barber_id: BarberId,
    pub cutoff: DateTime<Utc>,
}

/// A barber the planner could not plan (an overflowing balance, a corrupt record, a payout
/// over the limit): kept, with its reason, until planning it succeeds; the planner leaves the
/// barber alone until `retry_at` and plans everybody else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanningFailure {
    pub barber_id: BarberId,
    pub reason: String,
    /// Failures in a row.
    pub failures: u32,
    pub first_failed_at: DateTime<Utc>,
    pub last_failed_at: DateTime<Utc>,
    pub retry_at: DateTime<Utc>,
}

/// A destination the provider will not pay (it disabled payouts, or the account is closed):
/// payouts to it wait on hold until the restriction is lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRestriction {
    /// The connected account (the payout's destination).
    pub account: String,
    pub reason: String,
    pub since: DateTime<Utc>,
}

impl AccountRestriction {
    /// What an adapter records of an account lifted before anything restricted it: no
    /// reason, and the time of the word that lifted it.
    pub fn never_restricted(account: &str, at: DateTime<Utc>) -> Self {
        Self {
            account: account.to_string(),
            reason: String::new(),
            since: at,
        }
    }
}

/// What became of an attempt to deliver a pending notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeDelivery {
    Delivered,
    /// Not delivered; try again at `at`.
    Retry {
        attempts: u32,
        at: DateTime<Utc>,
    },
    /// Not delivered, and no attempts are left.
    GaveUp {
        attempts: u32,
    },
    /// Not sent: no channel it is for has an address.
    SkippedNoAddress,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusTotals {
    pub count: u64,
    pub gross_minor: i64,
    pub shop_share_minor: i64,
    pub deductions_minor: i64,
    pub fee_minor: i64,
    pub net_minor: i64,
    /// Net of the payouts that moved money (a carried balance owed is negative and moves none).
    pub paid_net_minor: i64,
    /// Attempts beyond each payout's first.
    pub retries: u64,
}

/// Payout sums for one status and method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutTotalsRow {
    pub status: PayoutStatus,
    pub method: PaymentMethod,
    pub totals: StatusTotals,
}

/// Sums over the whole ledger in one currency, for summaries and conservation checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LedgerTotals {
    pub earnings_minor: i64,
    pub earnings_count: u64,
    pub open_earnings_minor: i64,
    pub open_deductions_minor: i64,
    pub open_carried_balance_minor: i64,
    pub payouts: Vec<PayoutTotalsRow>,
}

impl LedgerTotals {
    /// The store's two money identities: every earning is either open or in a payout that
    /// still holds it (a cancelled one returned its earnings), and each payout's gross splits
    /// exactly into the shop's share, deductions, fees and the barber's net.
    pub fn conserves_money(&self) -> bool {
        let held: Vec<&StatusTotals> = self
            .payouts
            .iter()
            .filter(|row| row.status != PayoutStatus::Cancelled)
            .map(|row| &row.totals)
            .collect();
        let gross: i64 = held.iter().map(|t| t.gross_minor).sum();
        let split: i64 = held
            .iter()
            .map(|t| t.shop_share_minor + t.deductions_minor + t.fee_minor + t.net_minor)
            .sum();
        self.earnings_minor == gross + self.open_earnings_minor && gross == split
    }
}

/// Schedules, their due index and pending advance notices.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Stores `schedule` over the stored one only if that is still at `schedule.version`, as
    /// the next version; false when another write came first (nothing is written) or the
    /// barber has no schedule.
    async fn replace_schedule(&self, schedule: &PayoutSchedule) -> Result<bool, StoreError>;
    /// Stores a new schedule only if the barber has none; false when one exists (nothing is
    /// written), so two requests creating the same barber's schedule cannot both succeed.
    async fn insert_schedule(&self, schedule: &PayoutSchedule) -> Result<bool, StoreError>;
    async fn get_schedule(&self, barber: &BarberId) -> Result<Option<PayoutSchedule>, StoreError>;
    /// Active schedules with `next_run_at <= now`, ordered by (next_run_at, barber), after
    /// `cursor`; a record that cannot be decoded is reported in its place, not as an error.
    async fn due_schedules(
        &self,
        now: DateTime<Utc>,
        cursor: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError>;
    /// How many shards the due index is kept in. Each can be planned apart from the others
    /// (on AWS, by an invocation of its own) through `due_schedules_in_shard`.
    fn due_shards(&self) -> u32;
    /// `due_schedules` of one shard, `0..due_shards()` (a shard past the last has none).
    async fn due_schedules_in_shard(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        cursor: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError>;
    /// Moves `next_run_at` from `expected` to `next`, as the schedule's next version; false if
    /// it was not `expected`. Nothing else of the schedule is written.
    async fn advance_schedule(
        &self,
        barber: &BarberId,
        expected: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Remembers to tell the barber about the run at `notice.cutoff` once `notice_at` passes;
    /// replaces any notice the barber had pending (one per barber).
    async fn mark_advance_notice(
        &self,
        notice: &AdvanceNotice,
        notice_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Pending notices whose time is at or before `now`, earliest first.
    async fn due_advance_notices(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<AdvanceNotice>, StoreError>;
    /// Forgets the pending notice if it is still this one.
    async fn clear_advance_notice(&self, notice: &AdvanceNotice) -> Result<(), StoreError>;
    /// Schedules ordered by barber id, after `after`.
    async fn list_schedules(
        &self,
        after: Option<&BarberId>,
        limit: usize,
    ) -> Result<Vec<PayoutSchedule>, StoreError>;
}

/// Earnings and deductions, and the open balance they make.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Inserts each earning unless its id exists; `content_hashes[i]` belongs to `earnings[i]`.
    /// All or nothing: if any outcome is `Conflict`, nothing of the batch is written.
    async fn insert_earnings(
        &self,
        earnings: &[Earning],
        content_hashes: &[String],
    ) -> Result<Vec<IntakeOutcome>, StoreError>;
    async fn get_earning(&self, id: &EarningId) -> Result<Option<Earning>, StoreError>;
    /// The earnings `payout` claims, in the order they were performed: what its statement
    /// lists. One query on the claim's index, whatever the ledger's size.
    async fn earnings_of_payout(&self, payout: &PayoutId) -> Result<Vec<Earning>, StoreError>;
    /// Takes an open earning out of the balance for good, if no payout holds it; a voided
    /// earning is never claimed, counted or re-created by a repeat of its id.
    async fn void_earning(
        &self,
        id: &EarningId,
        at: DateTime<Utc>,
    ) -> Result<VoidOutcome, StoreError>;
    async fn insert_deduction(
        &self,
        deduction: &Deduction,
        content_hash: &str,
    ) -> Result<IntakeOutcome, StoreError>;
    async fn open_activity(
        &self,
        barber: &BarberId,
        currency: Currency,
        window: OpenWindow,
    ) -> Result<OpenActivity, StoreError>;
    /// The barber's open deductions in `currency` not payable until after `after`: the
    /// reserves still kept, and what is owed back against them.
    async fn deductions_payable_after(
        &self,
        barber: &BarberId,
        currency: Currency,
        after: DateTime<Utc>,
    ) -> Result<Vec<Deduction>, StoreError>;
    /// The open activity of each (barber, currency) in its window, in the same order. An
    /// adapter that can read many at once overrides this; by default it asks one at a time.
    async fn open_activities(
        &self,
        barbers: &[(BarberId, Currency, OpenWindow)],
    ) -> Result<Vec<OpenActivity>, StoreError> {
        let mut all = Vec::with_capacity(barbers.len());
        for (barber, currency, window) in barbers {
            all.push(self.open_activity(barber, *currency, *window).await?);
        }
        Ok(all)
    }
}

/// Payouts with their claims on the ledger, attempts and audit trail.
#[async_trait]
pub trait PayoutStore: Send + Sync {
    async fn create_payout(&self, creation: &PayoutCreation) -> Result<CreateOutcome, StoreError>;
    async fn get_payout(&self, id: &PayoutId) -> Result<Option<Payout>, StoreError>;
    /// Those of `ids` that exist, each once, in no particular order: what the payout-events
    /// publisher describes and what a batch of jobs pays (one request per 100 on DynamoDB).
    async fn get_payouts(&self, ids: &[PayoutId]) -> Result<Vec<Payout>, StoreError>;
    /// Payouts matching `query`, ordered by (created_at, id).
    async fn list_payouts(
        &self,
        query: &PayoutQuery,
        limit: usize,
    ) -> Result<Vec<Payout>, StoreError>;
    /// Writes `payout` and appends `event` if the stored version is `expected_version`.
    async fn update_payout(
        &self,
        payout: &Payout,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<WriteOutcome, StoreError>;
    /// As `update_payout`, and returns the payout's earnings and deductions to the open balance.
    async fn cancel_payout(
        &self,
        payout: &Payout,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<WriteOutcome, StoreError>;
    /// How many of the barber's payouts have failed for good (feeds priority scoring).
    async fn failed_payout_count(&self, barber: &BarberId) -> Result<u32, StoreError>;
    async fn audit_trail(&self, id: &PayoutId) -> Result<Vec<AuditEvent>, StoreError>;
    /// Payouts the executor still owes work whose `next_attempt_at` (or last update, while
    /// processing) is before `stale_before`: their job may have been lost.
    async fn stalled_payouts(
        &self,
        stale_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Payout>, StoreError>;
}

/// The per-barber lock the executor pays under.
#[async_trait]
pub trait BarberLocks: Send + Sync {
    /// Takes the barber's lock for `owner` until `lease_until` if it is free or expired.
    async fn try_lock(
        &self,
        barber: &BarberId,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Releases the lock only if `owner` still holds it.
    async fn release_lock(&self, barber: &BarberId, owner: &str) -> Result<(), StoreError>;
}

/// How one barber's period closes, as the planner writes it.
#[derive(Debug, Clone)]
pub enum PeriodClose {
    /// A payout (queued, or settled with the balance owed), its claims and the schedule's
    /// advance, as [`PayoutStore::create_payout`] writes them.
    Create(Box<PayoutCreation>),
    /// Nothing to pay (or under the minimum): the schedule advances from `from` to `to`.
    Advance {
        barber: BarberId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// A period to close, and the advance notice of the schedule's next run to remember with it.
#[derive(Debug, Clone)]
pub struct PeriodWrite {
    pub close: PeriodClose,
    pub advance_notice: Option<(AdvanceNotice, DateTime<Utc>)>,
}

/// Members of a page the default `close_periods` writes at the same time.
pub const PERIODS_AT_ONCE: usize = 16;

/// The planner's writes for a page of due schedules, one commit where the adapter can make it
/// one. The default takes each member by itself, as the single steps do, [`PERIODS_AT_ONCE`]
/// members at a time: they are different barbers, so their order does not matter, and a store
/// with a round trip per write (DynamoDB) would otherwise spend a page's time waiting.
#[async_trait]
pub trait PeriodBatches: ScheduleStore + PayoutStore {
    /// Closes each period, all of a member's close or none of it: `Created` where it closed,
    /// `AlreadyExists` where another run closed it first (the payout exists, or the schedule
    /// moved on), `ClaimChanged` where the open balance moved since it was read. Each notice is
    /// remembered before its close, and may outlive a close that did not happen (a notice whose
    /// run does not happen is dropped when it comes due).
    async fn close_periods(
        &self,
        periods: &[PeriodWrite],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let closes: Vec<_> = periods
            .iter()
            .map(|period| async move {
                if let Some((notice, notice_at)) = &period.advance_notice {
                    self.mark_advance_notice(notice, *notice_at).await?;
                }
                match &period.close {
                    PeriodClose::Create(creation) => self.create_payout(creation).await,
                    PeriodClose::Advance { barber, from, to } => {
                        Ok(if self.advance_schedule(barber, *from, *to).await? {
                            CreateOutcome::Created
                        } else {
                            CreateOutcome::AlreadyExists
                        })
                    }
                }
            })
            .collect();
        futures::stream::iter(closes)
            .buffered(PERIODS_AT_ONCE)
            .try_collect()
            .await
    }
}

/// One payout's state change in a batch: `payout` with `event` appended, written only if the
/// stored version is `expected_version`.
#[derive(Debug, Clone)]
pub struct PayoutWrite {
    pub payout: Payout,
    pub expected_version: u64,
    pub event: AuditEvent,
}

/// An outcome to record for a payout paid under its barber's lock, and the notice it gives.
#[derive(Debug, Clone)]
pub struct OutcomeWrite {
    pub write: PayoutWrite,
    /// Recorded in the outbox (pending, due again at `notice_retry_at`) with the outcome, only
    /// if the outcome is written.
    pub notice: Option<Notification>,
}

/// What became of an outcome's write, and whether its notice is new to the outbox: a notice
/// whose key was recorded before (the barber was told already) is not told again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeRecorded {
    pub write: WriteOutcome,
    pub new_notice: bool,
}

impl OutcomeRecorded {
    /// Nothing written, nothing to tell.
    pub const STALE: Self = Self {
        write: WriteOutcome::Stale,
        new_notice: false,
    };
}

/// The executor's protocol steps for a batch of payouts (docs/design.md, the exactly-once
/// protocol), each step one commit where the adapter can make it one; the meaning per member
/// is exactly that of the single steps, which the default methods take one by one (DynamoDB
/// keeps them: a request per step either way).
#[async_trait]
pub trait AttemptBatches: PayoutStore + BarberLocks + NotificationOutbox {
    /// For each write (a payout marked processing with its new attempt): takes its barber's
    /// lock for `owner` until `lease_until` and records the attempt, both or neither. `true`
    /// where both happened: the attempt is durable before the caller pays.
    async fn lock_and_record_attempts(
        &self,
        attempts: &[PayoutWrite],
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        let mut started = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            let barber = &attempt.payout.barber_id;
            let mut recorded = false;
            if self.try_lock(barber, owner, now, lease_until).await? {
                recorded = self
                    .update_payout(&attempt.payout, attempt.expected_version, &attempt.event)
                    .await?
                    == WriteOutcome::Written;
                if !recorded {
                    self.release_lock(barber, owner).await?;
                }
            }
            started.push(recorded);
        }
        Ok(started)
    }

    /// Records each outcome (with its notice) if its payout is still at the expected version,
    /// then releases `owner`'s lock on every barber of `unlock`.
    async fn record_outcomes_and_unlock(
        &self,
        outcomes: &[OutcomeWrite],
        unlock: &[BarberId],
        owner: &str,
        notice_retry_at: DateTime<Utc>,
    ) -> Result<Vec<OutcomeRecorded>, StoreError> {
        let mut written = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            let write = &outcome.write;
            let result = self
                .update_payout(&write.payout, write.expected_version, &write.event)
                .await?;
            let mut new_notice = false;
            if let (WriteOutcome::Written, Some(notice)) = (result, &outcome.notice) {
                new_notice = self
                    .record_notification(notice, write.event.at, notice_retry_at)
                    .await?;
            }
            written.push(OutcomeRecorded {
                write: result,
                new_notice,
            });
        }
        for barber in unlock {
            self.release_lock(barber, owner).await?;
        }
        Ok(written)
    }

    /// Records what became of each delivery attempt of pending notices.
    async fn settle_notifications(
        &self,
        deliveries: &[(String, NoticeDelivery)],
    ) -> Result<(), StoreError> {
        for (dedupe_key, delivery) in deliveries {
            self.settle_notification(dedupe_key, *delivery).await?;
        }
        Ok(())
    }
}

/// Notices to barbers, recorded before they are sent and kept until delivered.
#[async_trait]
pub trait NotificationOutbox: Send + Sync {
    /// Records `notification` in the outbox, pending delivery, before it is sent; false if its
    /// dedupe key was recorded already. Unless settled first, it is due for delivery (again) at
    /// `retry_at`, so a process that dies before publishing loses nothing.
    async fn record_notification(
        &self,
        notification: &Notification,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Records what became of a delivery attempt of the pending notice `dedupe_key`.
    async fn settle_notification(
        &self,
        dedupe_key: &str,
        delivery: NoticeDelivery,
    ) -> Result<(), StoreError>;
    /// Pending notices due for delivery at `now`, earliest first.
    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingNotification>, StoreError>;
    /// The barber's most recent notifications, newest first.
    async fn list_notifications(
        &self,
        barber: &BarberId,
        limit: usize,
    ) -> Result<Vec<SentNotification>, StoreError>;
}

/// Provider webhook events seen, so a redelivery is applied once.
#[async_trait]
pub trait WebhookInbox: Send + Sync {
    /// Records a provider's webhook event id; false if it was recorded before (a redelivery).
    async fn record_webhook_event(
        &self,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Forgets an event whose processing failed, so the provider's redelivery is applied.
    async fn forget_webhook_event(&self, event_id: &str) -> Result<(), StoreError>;
}

/// The payout events the platform hears of: each audit event is written with the state change
/// it records (in the same transaction), unpublished, and stays so until a publisher delivered
/// it. Events of a store older than this outbox count as published.
#[async_trait]
pub trait EventOutbox: Send + Sync {
    /// Up to `limit` unpublished audit events with their sequence in the payout's trail,
    /// oldest first.
    async fn unpublished_events(&self, limit: usize) -> Result<Vec<(u64, AuditEvent)>, StoreError>;
    /// Marks these events (with their sequence, as [`Self::unpublished_events`] gave them)
    /// published. The whole event is given so that a store can rewrite it in bulk.
    async fn mark_published(&self, events: &[(u64, AuditEvent)]) -> Result<(), StoreError>;
}

/// Barbers the planner could not plan.
#[async_trait]
pub trait PlanningFailures: Send + Sync {
    /// Records that planning `barber` failed at `at` for `reason`, to be tried again at
    /// `retry_at`; returns the record with its count of failures in a row.
    async fn record_planning_failure(
        &self,
        barber: &BarberId,
        reason: &str,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<PlanningFailure, StoreError>;
    /// Forgets the barber's planning failure (it planned).
    async fn clear_planning_failure(&self, barber: &BarberId) -> Result<(), StoreError>;
    async fn planning_failure(
        &self,
        barber: &BarberId,
    ) -> Result<Option<PlanningFailure>, StoreError>;
    /// Barbers whose planning is failing, by barber id.
    async fn planning_failures(&self, limit: usize) -> Result<Vec<PlanningFailure>, StoreError>;
}

/// Destinations the provider will not pay. Each account remembers when the provider last said
/// (`as_of`: its event's creation, or the moment of a refusal), restricted or not, so an older
/// word that arrives late (Stripe does not order its events, and redelivers for days) changes
/// nothing.
#[async_trait]
pub trait AccountRestrictions: Send + Sync {
    /// Restricts `account` for `reason` from `at`, as the provider said at `as_of`; `None` when
    /// it said something newer already. An account already restricted keeps its first reason
    /// and time (the barber is told once per restriction). Returns the restriction in force.
    async fn restrict_account(
        &self,
        account: &str,
        reason: &str,
        at: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<Option<AccountRestriction>, StoreError>;
    /// The restrictions in force of those of `accounts` that have one, in one read.
    async fn account_restrictions(
        &self,
        accounts: &[String],
    ) -> Result<Vec<AccountRestriction>, StoreError>;
    /// Lifts the restriction of `account`, as the provider said at `as_of` (remembered even
    /// with none in force); returns the one lifted, `None` when there was none or the provider
    /// said something newer already.
    async fn lift_account_restriction(
        &self,
        account: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<AccountRestriction>, StoreError>;
}

/// When components last ran.
#[async_trait]
pub trait Heartbeats: Send + Sync {
    /// Records that `component` (the planner) ran at `at`.
    async fn record_heartbeat(&self, component: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn last_heartbeat(&self, component: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// Counts and sums over everything, for health, summaries and conservation checks.
#[async_trait]
pub trait Reports: Send + Sync {
    /// The kept totals of `buckets` ([`payout_core::totals`]), written with every payout
    /// change: a cost per bucket whatever the history's length (a row on SQLite, 8 items on
    /// DynamoDB, read eventually consistently: a change of the last second may be missing).
    async fn totals(&self, buckets: &[Bucket]) -> Result<Totals, StoreError>;

    /// How many payouts were created in the UTC hours that overlap `[from, to)`, all
    /// currencies (counted by the hour: a window's partial first and last hours count whole).
    async fn count_payouts_created(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let first = payout_core::totals::start_of_hour(from);
        let hours: Vec<Bucket> = (0..)
            .map(|i| first + chrono::TimeDelta::hours(i))
            .take_while(|start| *start < to)
            .map(Bucket::Hour)
            .collect();
        let totals = self.totals(&hours).await?;
        let created: i64 = hours.iter().map(|hour| totals.get(hour, "created")).sum();
        Ok(u64::try_from(created).unwrap_or_default())
    }

    /// Payouts per status, all currencies.
    async fn count_by_status(&self) -> Result<Vec<(PayoutStatus, u64)>, StoreError> {
        let totals = self.totals(&[Bucket::Status]).await?;
        Ok(PayoutStatus::ALL
            .into_iter()
            .filter_map(|status| {
                let count = totals.get(&Bucket::Status, status.as_str());
                (count != 0).then(|| (status, u64::try_from(count).unwrap_or_default()))
            })
            .collect())
    }

    async fn ledger_totals(&self, currency: Currency) -> Result<LedgerTotals, StoreError>;
}

/// The whole store, as an adapter provides it; each use case takes the parts it uses.
pub trait Store:
    ScheduleStore
    + LedgerStore
    + PayoutStore
    + BarberLocks
    + PeriodBatches
    + AttemptBatches
    + NotificationOutbox
    + EventOutbox
    + WebhookInbox
    + PlanningFailures
    + AccountRestrictions
    + Heartbeats
    + Reports
{
}

impl<T> Store for T where
    T: ScheduleStore
        + LedgerStore
        + PayoutStore
        + BarberLocks
        + PeriodBatches
        + AttemptBatches
        + NotificationOutbox
        + EventOutbox
        + WebhookInbox
        + PlanningFailures
        + AccountRestrictions
        + Heartbeats
        + Reports
{
}
