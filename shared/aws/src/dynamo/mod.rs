//! The store in one DynamoDB table (README, "The table").
//!
//! | record          | pk                  | sk                  | gsi1 (pk / sk)                      | gsi2 (pk / sk)               | gsi3 (pk / sk) |
//! |-----------------|---------------------|---------------------|-------------------------------------|------------------------------|----------------|
//! | schedule        | `BARBER#b`          | `SCHEDULE`          | `DUE#shard` / `next_run#b` (active) | `SCHEDULES` / `b`            |
//! | advance notice  | `BARBER#b`          | `NOTICE`            | `NOTICE#shard` / `notice_at#b`      |                              |
//! | earning         | `EARNING#e`         | `EARNING`           | `OPEN#b` / `E#recorded#e` (open)    | `CLAIM#p` / `E#e` (claimed)  |
//! | deduction       | `DEDUCTION#d`       | `DEDUCTION`         | `OPEN#b` / `D#recorded#d` (open)    | `CLAIM#p` / `D#d` (claimed)  |
//! | payout          | `PAYOUT#p`          | `PAYOUT`            | `PAYOUTS#b` / `created#p`           | `PAYOUTS` / `created#p`      | `STATUS#status#shard` / `created#p` |
//! | audit event     | `PAYOUT#p`          | `EVENT#seq`         |                                     | `EVENTS_OUT` / `at#p#seq` (unpublished) |
//! | barber lock     | `LOCK#BARBER#b`     | `LOCK`              |                                     |                              |
//! | shard lease     | `LEASE#SHARD#n`     | `LOCK`              |                                     |                              |
//! | notification    | `NOTIFY#key`        | `NOTIFY`            | `NOTICES#b` / `sent#key`            | `OUTBOX` / `next#key` (pending) |
//! | planning failure| `BARBER#b`          | `PLANNING`          |                                     | `PLANNING_FAILURES` / `b`    |
//! | restriction     | `ACCOUNT#a`         | `RESTRICTION`       |                                     |                              |
//! | heartbeat       | `HEARTBEAT#name`    | `HEARTBEAT`         |                                     |                              |
//! | webhook event   | `WEBHOOK#event`     | `ONCE`              |                                     |                              |
//!
//! Times in keys are zero-padded microseconds, so string order is time order. The due index is
//! sharded so that one busy minute does not land on one partition; so is the status index
//! (gsi3), which lists the payouts in one status (the failed, those in transit, those a crashed
//! worker left) without reading the others. Locks and notification
//! records carry a TTL (`expires_at`). Every conditional write of the port is a condition
//! expression here; a failed one is `ConditionalCheckFailed`, reported as the port's typed
//! outcome, never as an error.

mod events_out;
mod item;
mod kept_totals;
mod ledger;
mod outbox;
mod payouts;
mod records;
mod restrictions;
mod schedules;
pub mod status_index;
pub use schedules::{DUE_SHARDS, due_shard_of};
pub mod table;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem};
use chrono::{DateTime, Utc};
use payout_app::ports::{
    AccountRestriction, AccountRestrictions, AdvanceNotice, AttemptBatches, BarberLocks,
    CreateOutcome, DueCursor, DueSchedule, EventOutbox, Heartbeats, IntakeOutcome, LedgerStore,
    LedgerTotals, NotificationOutbox, OpenActivity, OpenWindow, PayoutCreation, PayoutQuery,
    PayoutStore, PeriodBatches, PlanningFailures, Reports, ScheduleStore, StoreError, VoidOutcome,
    WebhookInbox, WriteOutcome,
};
use payout_app::ports::{
    NoticeDelivery, Notification, PendingNotification, PlanningFailure, SentNotification,
};
use payout_core::ids::{BarberId, EarningId, PayoutId};
use payout_core::ledger::{Deduction, Earning};
use payout_core::money::Currency;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::schedule::PayoutSchedule;
use payout_core::totals::{Bucket, Totals};

use item::{Item, backend};

/// The most items one TransactWriteItems call may hold.
const TRANSACTION_LIMIT: usize = 100;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// How a transaction ended: committed, or cancelled with which items' conditions failed.
enum Transaction {
    Committed,
    Cancelled(Vec<bool>),
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Every item a query returns, page after page, up to `limit` items.
    async fn query(
        &self,
        index: Option<&str>,
        condition: &str,
        values: Item,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        self.query_where(
            index,
            condition,
            values,
            limit.unwrap_or(usize::MAX),
            &|_| true,
        )
        .await
    }

    /// Query items that `keep` accepts, page after page, until `limit` are found.
    async fn query_where(
        &self,
        index: Option<&str>,
        condition: &str,
        values: Item,
        limit: usize,
        keep: &(dyn Fn(&Item) -> bool + Sync),
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start)
                // A page reads no more than is still wanted (without a limit DynamoDB reads a
                // megabyte), so a listing's cost is its page's, not its index's.
                .set_limit(i32::try_from(limit - items.len()).ok())
                // Reads of the table itself see every committed write; index reads cannot.
                .set_consistent_read(index.is_none().then_some(true))
                .send()
                .await
                .map_err(backend)?;
            items.extend(page.items().iter().filter(|item| keep(item)).cloned());
            start = page.last_evaluated_key().cloned();
            if start.is_none() || items.len() >= limit {
                break;
            }
        }
        items.truncate(limit);
        Ok(items)
    }

    /// Every item matching `filter` in the whole table: for reports, not for hot paths.
    async fn scan(&self, filter: &str, values: Item) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(filter)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        Ok(items)
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item
            .filter(|item| !item.is_empty()))
    }

    /// The items of `keys` that exist, read consistently 100 to a `BatchGetItem`, unprocessed
    /// keys asked again; in no particular order.
    async fn get_many(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        self.batch_get(keys, true).await
    }

    /// [`Self::get_many`], read consistently or (at half the read units, possibly a moment
    /// behind the last write) not.
    async fn batch_get(&self, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(consistent)
                    .build()
                    .map_err(item::build_error)?,
            );
            while let Some(keys) = pending.take() {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(backend)?;
                found.extend(
                    output
                        .responses()
                        .and_then(|r| r.get(&self.table))
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
                pending = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .cloned();
            }
        }
        Ok(found)
    }

    /// Writes `record` whatever was there.
    async fn put(&self, record: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Writes `items` all or none. A transaction cancelled only because another touched one of
    /// its items at the same time (the kept totals' items are shared) is sent again, a few
    /// times, after a growing pause: DynamoDB's advice for `TransactionConflict`. Sending again
    /// never applies a change twice: every transaction of a payout change has a write
    /// conditional on the payout (its version, its absence, its pending state), which a
    /// transaction that went through the first time fails.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Transaction, StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        const CONFLICT_RETRIES: u32 = 5;
        let count = items.len();
        let mut retry = 0;
        loop {
            let error = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
            {
                Ok(_) => return Ok(Transaction::Committed),
                Err(error) => error,
            };
            let reasons: Vec<Option<String>> = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let reasons = cancelled.cancellation_reasons();
                    (0..count)
                        .map(|i| reasons.get(i).and_then(|r| r.code()).map(str::to_string))
                        .collect()
                }
                _ => return Err(backend(error)),
            };
            let failed: Vec<bool> = reasons
                .iter()
                .map(|code| code.as_deref() == Some("ConditionalCheckFailed"))
                .collect();
            if failed.iter().any(|f| *f) {
                return Ok(Transaction::Cancelled(failed));
            }
            let conflict = reasons
                .iter()
                .any(|code| code.as_deref() == Some("TransactionConflict"));
            if !conflict || retry == CONFLICT_RETRIES {
                return Err(backend(error));
            }
            retry += 1;
            // Half the pause fixed, half drawn from the clock's nanoseconds: two writers that
            // conflicted do not send again at the same moment.
            let pause = std::time::Duration::from_millis(20 << retry);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.subsec_nanos());
            let jitter = pause.mul_f64(f64::from(nanos) / 2e9);
            tokio::time::sleep(pause / 2 + jitter).await;
        }
    }
}

#[async_trait]
impl ScheduleStore for DynamoStore {
    async fn replace_schedule(&self, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
        schedules::replace(self, schedule).await
    }

    async fn insert_schedule(&self, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
        schedules::insert(self, schedule).await
    }

    async fn get_schedule(&self, barber: &BarberId) -> Result<Option<PayoutSchedule>, StoreError> {
        schedules::get(self, barber).await
    }

    async fn due_schedules(
        &self,
        now: DateTime<Utc>,
        cursor: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError> {
        schedules::due(self, schedules::all_shards(), now, cursor, limit).await
    }

    fn due_shards(&self) -> u32 {
        schedules::DUE_SHARDS
    }

    async fn due_schedules_in_shard(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        cursor: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError> {
        let shards = (shard < schedules::DUE_SHARDS).then_some(shard);
        schedules::due(self, shards.into_iter(), now, cursor, limit).await
    }

    async fn advance_schedule(
        &self,
        barber: &BarberId,
        expected: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        schedules::advance(self, barber, expected, next).await
    }

    async fn mark_advance_notice(
        &self,
        notice: &AdvanceNotice,
        notice_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        schedules::mark_notice(self, notice, notice_at).await
    }

    async fn due_advance_notices(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<AdvanceNotice>, StoreError> {
        schedules::due_notices(self, now, limit).await
    }

    async fn clear_advance_notice(&self, notice: &AdvanceNotice) -> Result<(), StoreError> {
        schedules::clear_notice(self, notice).await
    }

    async fn list_schedules(
        &self,
        after: Option<&BarberId>,
        limit: usize,
    ) -> Result<Vec<PayoutSchedule>, StoreError> {
        schedules::list(self, after, limit).await
    }
}

#[async_trait]
impl EventOutbox for DynamoStore {
    async fn unpublished_events(&self, limit: usize) -> Result<Vec<(u64, AuditEvent)>, StoreError> {
        events_out::unpublished_events(self, limit).await
    }

    async fn mark_published(&self, events: &[(u64, AuditEvent)]) -> Result<(), StoreError> {
        events_out::mark_published(self, events).await
    }
}

#[async_trait]
impl LedgerStore for DynamoStore {
    async fn insert_earnings(
        &self,
        earnings: &[Earning],
        content_hashes: &[String],
    ) -> Result<Vec<IntakeOutcome>, StoreError> {
        ledger::insert_earnings(self, earnings, content_hashes).await
    }

    async fn get_earning(&self, id: &EarningId) -> Result<Option<Earning>, StoreError> {
        ledger::get_earning(self, id).await
    }

    async fn earnings_of_payout(&self, payout: &PayoutId) -> Result<Vec<Earning>, StoreError> {
        ledger::earnings_of_payout(self, payout).await
    }

    async fn void_earning(
        &self,
        id: &EarningId,
        at: DateTime<Utc>,
    ) -> Result<VoidOutcome, StoreError> {
        ledger::void_earning(self, id, at).await
    }

    async fn insert_deduction(
        &self,
        deduction: &Deduction,
        content_hash: &str,
    ) -> Result<IntakeOutcome, StoreError> {
        ledger::insert_deduction(self, deduction, content_hash).await
    }

    async fn open_activity(
        &self,
        barber: &BarberId,
        currency: Currency,
        window: OpenWindow,
    ) -> Result<OpenActivity, StoreError> {
        ledger::open_activity(self, barber, currency, window).await
    }

    async fn deductions_payable_after(
        &self,
        barber: &BarberId,
        currency: Currency,
        after: DateTime<Utc>,
    ) -> Result<Vec<Deduction>, StoreError> {
        ledger::deductions_payable_after(self, barber, currency, after).await
    }
}

#[async_trait]
impl PayoutStore for DynamoStore {
    async fn create_payout(&self, creation: &PayoutCreation) -> Result<CreateOutcome, StoreError> {
        payouts::create(self, creation).await
    }

    async fn get_payout(&self, id: &PayoutId) -> Result<Option<Payout>, StoreError> {
        payouts::get(self, id).await
    }

    async fn get_payouts(&self, ids: &[PayoutId]) -> Result<Vec<Payout>, StoreError> {
        payouts::get_many(self, ids).await
    }

    async fn list_payouts(
        &self,
        query: &PayoutQuery,
        limit: usize,
    ) -> Result<Vec<Payout>, StoreError> {
        payouts::list(self, query, limit).await
    }

    async fn update_payout(
        &self,
        payout: &Payout,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<WriteOutcome, StoreError> {
        payouts::update(self, payout, expected_version, event, false).await
    }

    async fn cancel_payout(
        &self,
        payout: &Payout,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<WriteOutcome, StoreError> {
        payouts::update(self, payout, expected_version, event, true).await
    }

    async fn failed_payout_count(&self, barber: &BarberId) -> Result<u32, StoreError> {
        payouts::failed_count(self, barber).await
    }

    async fn audit_trail(&self, id: &PayoutId) -> Result<Vec<AuditEvent>, StoreError> {
        payouts::audit_trail(self, id).await
    }

    async fn stalled_payouts(
        &self,
        stale_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Payout>, StoreError> {
        payouts::stalled(self, stale_before, limit).await
    }
}

#[async_trait]
impl BarberLocks for DynamoStore {
    async fn try_lock(
        &self,
        barber: &BarberId,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        records::try_lock(self, barber, owner, now, lease_until).await
    }

    async fn release_lock(&self, barber: &BarberId, owner: &str) -> Result<(), StoreError> {
        records::release_lock(self, barber, owner).await
    }
}

/// The planner's leases on the due index's shards: one invocation at a time plans a shard, so
/// a tick that comes while a Friday's shard is still being planned leaves it to the invocation
/// at work instead of planning the same schedules at once (which would double the reads and
/// fail every other write).
impl DynamoStore {
    /// Takes shard `shard`'s lease for `owner` until `until`, unless another's has not lapsed.
    pub async fn lease_shard(
        &self,
        shard: u32,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        records::take_lease(self, &format!("LEASE#SHARD#{shard}"), owner, now, until).await
    }

    /// Gives shard `shard`'s lease back if `owner` still holds it.
    pub async fn release_shard(&self, shard: u32, owner: &str) -> Result<(), StoreError> {
        records::give_back_lease(self, &format!("LEASE#SHARD#{shard}"), owner).await
    }
}

/// A transaction per member, as the single steps make.
impl PeriodBatches for DynamoStore {}

/// A request per member and step, as the single steps make: DynamoDB cannot condition many
/// items in one request more cheaply (a transaction costs twice the writes).
impl AttemptBatches for DynamoStore {}

#[async_trait]
impl NotificationOutbox for DynamoStore {
    async fn record_notification(
        &self,
        notification: &Notification,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        outbox::record_notification(self, notification, at, retry_at).await
    }

    async fn settle_notification(
        &self,
        dedupe_key: &str,
        delivery: NoticeDelivery,
    ) -> Result<(), StoreError> {
        outbox::settle_notification(self, dedupe_key, delivery).await
    }

    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        outbox::due_notifications(self, now, limit).await
    }

    async fn list_notifications(
        &self,
        barber: &BarberId,
        limit: usize,
    ) -> Result<Vec<SentNotification>, StoreError> {
        outbox::list_notifications(self, barber, limit).await
    }
}

#[async_trait]
impl WebhookInbox for DynamoStore {
    async fn record_webhook_event(
        &self,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        records::record_once(self, &format!("WEBHOOK#{event_id}"), at).await
    }

    async fn forget_webhook_event(&self, event_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::key(format!("WEBHOOK#{event_id}"), "ONCE")))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl PlanningFailures for DynamoStore {
    async fn record_planning_failure(
        &self,
        barber: &BarberId,
        reason: &str,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<PlanningFailure, StoreError> {
        outbox::record_planning_failure(self, barber, reason, at, retry_at).await
    }

    async fn clear_planning_failure(&self, barber: &BarberId) -> Result<(), StoreError> {
        outbox::clear_planning_failure(self, barber).await
    }

    async fn planning_failure(
        &self,
        barber: &BarberId,
    ) -> Result<Option<PlanningFailure>, StoreError> {
        outbox::get_planning_failure(self, barber).await
    }

    async fn planning_failures(&self, limit: usize) -> Result<Vec<PlanningFailure>, StoreError> {
        outbox::planning_failures(self, limit).await
    }
}

#[async_trait]
impl AccountRestrictions for DynamoStore {
    async fn restrict_account(
        &self,
        account: &str,
        reason: &str,
        at: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<Option<AccountRestriction>, StoreError> {
        restrictions::restrict(self, account, reason, at, as_of).await
    }

    async fn account_restrictions(
        &self,
        accounts: &[String],
    ) -> Result<Vec<AccountRestriction>, StoreError> {
        restrictions::among(self, accounts).await
    }

    async fn lift_account_restriction(
        &self,
        account: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<AccountRestriction>, StoreError> {
        restrictions::lift(self, account, as_of).await
    }
}

#[async_trait]
impl Heartbeats for DynamoStore {
    async fn record_heartbeat(&self, component: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        records::record_heartbeat(self, component, at).await
    }

    async fn last_heartbeat(&self, component: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        records::last_heartbeat(self, component).await
    }
}

#[async_trait]
impl Reports for DynamoStore {
    async fn totals(&self, buckets: &[Bucket]) -> Result<Totals, StoreError> {
        kept_totals::read(self, buckets).await
    }

    async fn ledger_totals(&self, currency: Currency) -> Result<LedgerTotals, StoreError> {
        records::ledger_totals(self, currency).await
    }
}
