//! The embedded store: one SQLite file in WAL mode holding the same logical records as the
//! DynamoDB table (README, "The table"), with the same conditional writes.
//!
//! SQLite serialises writers, so each conditional write is a statement (or an IMMEDIATE
//! transaction) whose WHERE clause is the condition; `changes() == 0` means the condition
//! failed, exactly where DynamoDB raises ConditionalCheckFailed. Money is stored in minor
//! units (INTEGER), so sums in SQL are exact.

pub mod backup;
mod codec;
mod group_commit;
mod kept_totals;
mod ledger;
mod locks;
pub mod migrations;
mod outbox;
mod payouts;
mod planning;
mod restrictions;
mod schedules;
pub mod statement_cost;
mod totals;

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use group_commit::GroupCommit;
use payout_app::ports::{
    AccountRestriction, AccountRestrictions, AdvanceNotice, AttemptBatches, BarberLocks,
    CreateOutcome, DueCursor, DueSchedule, EventOutbox, Heartbeats, IntakeOutcome, LedgerStore,
    LedgerTotals, NotificationOutbox, OpenActivity, OpenWindow, PayoutCreation, PayoutQuery,
    PayoutStore, PeriodBatches, PeriodClose, PeriodWrite, PlanningFailures, Reports, ScheduleStore,
    StoreError, WebhookInbox, WriteOutcome,
};
use payout_app::ports::{
    NoticeDelivery, Notification, OutcomeRecorded, OutcomeWrite, PayoutWrite, PendingNotification,
    PlanningFailure, SentNotification, VoidOutcome,
};
use payout_core::ids::{BarberId, EarningId, PayoutId};
use payout_core::ledger::{Deduction, Earning};
use payout_core::money::Currency;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::schedule::PayoutSchedule;
use payout_core::totals::{Bucket, Totals};
use rusqlite::Connection;
use tokio::runtime::RuntimeFlavor;

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync at every commit: nothing committed is lost even on power failure.
    Full,
    /// Commits reach the operating system at once but are never fsynced: a crash of the
    /// process loses nothing, a crash of the machine may lose or corrupt the file. For
    /// throw-away databases only (the demo, tests).
    ProcessCrashSafe,
}

impl Durability {
    /// SQLite's `synchronous` setting for this durability.
    pub fn synchronous(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::ProcessCrashSafe => "OFF",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Durability::Full => "full (fsync at every commit)",
            Durability::ProcessCrashSafe => "process-crash-safe (no fsync)",
        }
    }
}

/// How many rows the store holds, and their average size on disk.
#[derive(Debug, Clone, Copy)]
pub struct StoreShape {
    pub rows: u64,
    pub average_row_bytes: u64,
}

pub struct SqliteStore {
    conn: GroupCommit,
    /// The lock on `<db>.lock` that makes this process the file's only writer; released when
    /// the store is dropped or the process dies.
    _owner: Option<std::fs::File>,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS schedules (
    barber_id    TEXT PRIMARY KEY,
    active       INTEGER NOT NULL,
    next_run_at  INTEGER NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (next_run_at, barber_id) WHERE active = 1;

CREATE TABLE IF NOT EXISTS advance_notices (
    barber_id  TEXT PRIMARY KEY,
    cutoff     INTEGER NOT NULL,
    notice_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS advance_notices_due ON advance_notices (notice_at, barber_id);

CREATE TABLE IF NOT EXISTS earnings (
    id            TEXT PRIMARY KEY,
    barber_id     TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL,
    occurred_at   INTEGER NOT NULL,
    recorded_at   INTEGER NOT NULL,
    service       TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    payout_id     TEXT
);
CREATE INDEX IF NOT EXISTS earnings_open ON earnings (barber_id, recorded_at) WHERE payout_id IS NULL;
CREATE INDEX IF NOT EXISTS earnings_by_payout ON earnings (payout_id) WHERE payout_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS deductions (
    id            TEXT PRIMARY KEY,
    barber_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL,
    description   TEXT NOT NULL,
    recorded_at   INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    payout_id     TEXT
);
CREATE INDEX IF NOT EXISTS deductions_open ON deductions (barber_id, recorded_at) WHERE payout_id IS NULL;
CREATE INDEX IF NOT EXISTS deductions_by_payout ON deductions (payout_id) WHERE payout_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS payouts (
    id               TEXT PRIMARY KEY,
    barber_id        TEXT NOT NULL,
    status           TEXT NOT NULL,
    method           TEXT NOT NULL,
    version          INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    updated_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    gross_minor      INTEGER NOT NULL,
    shop_minor       INTEGER NOT NULL,
    deductions_minor INTEGER NOT NULL,
    fee_minor        INTEGER NOT NULL,
    net_minor        INTEGER NOT NULL,
    body             TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payouts_by_status ON payouts (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS payouts_by_barber ON payouts (barber_id, status);
CREATE INDEX IF NOT EXISTS payouts_by_created ON payouts (created_at, id);
CREATE INDEX IF NOT EXISTS payouts_by_barber_created ON payouts (barber_id, created_at, id);

CREATE TABLE IF NOT EXISTS webhook_events (
    event_id     TEXT PRIMARY KEY,
    received_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS heartbeats (
    component  TEXT PRIMARY KEY,
    at         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_events (
    payout_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (payout_id, seq)
);

CREATE TABLE IF NOT EXISTS locks (
    barber_id    TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    lease_until  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS notifications (
    dedupe_key  TEXT PRIMARY KEY,
    barber_id   TEXT NOT NULL,
    sent_at     INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_by_barber ON notifications (barber_id, sent_at);
"#;

impl SqliteStore {
    /// Opens (creating or migrating) the database at `path` for this process alone: a second
    /// process opening it is refused, since two writers' barber locks and recoveries would
    /// trample each other. Readers such as `payouts backup` are not writers and may read it.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let owner = claim(path)?;
        let mut conn = Connection::open(path).map_err(backend)?;
        let synchronous = durability.synchronous();
        // A group commit keeps each writer in a savepoint, whose undo journal SQLite writes to a
        // temporary file unless told to keep it in memory (a fifth of the planner's time).
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
             PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 4000; \
             PRAGMA temp_store = MEMORY;"
        ))
        .map_err(backend)?;
        migrations::migrate(&mut conn)?;
        // Every statement of the store stays prepared (rusqlite keeps 16 by default, fewer
        // than the store has, and re-preparing costs more than running).
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self {
            conn: GroupCommit::new(conn),
            _owner: owner,
        })
    }
}

/// Takes the lock on `<path>.lock` (keeping this process's id in it for the next one's error
/// message), or refuses when another process holds it. An in-memory database has no file.
fn claim(path: &Path) -> Result<Option<std::fs::File>, StoreError> {
    use std::io::{Read, Seek, Write};
    if path == Path::new(":memory:") {
        return Ok(None);
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&name)
        .map_err(|e| StoreError::Backend(format!("{}: {e}", Path::new(&name).display())))?;
    if file.try_lock().is_err() {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        return Err(StoreError::Backend(format!(
            "{} is in use by another process (pid {}); stop it first",
            path.display(),
            holder.trim()
        )));
    }
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()));
    written.map_err(|e| StoreError::Backend(format!("{}: {e}", Path::new(&name).display())))?;
    Ok(Some(file))
}

impl SqliteStore {
    /// Rows in every table and the file's size per row (for the benchmark's storage floor).
    pub fn shape(&self) -> Result<StoreShape, StoreError> {
        self.blocking(|conn| shape(conn))
    }

    /// Releases the barber locks a previous process left behind. This process owns the file
    /// alone (see [`SqliteStore::open`]), so the holders of those locks are certainly dead and
    /// their jobs need not wait out the lease.
    pub fn release_locks_of_dead_processes(&self) -> Result<usize, StoreError> {
        self.blocking(|conn| locks::release_all(conn))
    }

    /// Calls `on` with what every statement run from now on read ([`statement_cost`]).
    pub fn report_statement_costs(
        &self,
        on: impl Fn(statement_cost::StatementCost) + Send + 'static,
    ) -> Result<(), StoreError> {
        self.blocking(|conn| statement_cost::report(conn, on))
    }
}

pub(crate) fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Rows in every table and the file's size per row.
fn shape(conn: &Connection) -> Result<StoreShape, StoreError> {
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(backend)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(backend)?;
    let mut rows = 0u64;
    for table in tables {
        let count: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |row| {
                row.get(0)
            })
            .map_err(backend)?;
        rows += u64::try_from(count).unwrap_or_default();
    }
    let bytes: i64 = conn
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |row| row.get(0),
        )
        .map_err(backend)?;
    Ok(StoreShape {
        rows,
        average_row_bytes: u64::try_from(bytes).unwrap_or_default() / rows.max(1),
    })
}

impl SqliteStore {
    /// Runs `work` on the connection (on its own, or in the open group of writes: see
    /// [`group_commit`]).
    fn blocking<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        off_the_workers(|| self.conn.run(work))
    }

    /// Runs `write` in an IMMEDIATE transaction (shared with concurrent writers: one commit for
    /// the group, see [`group_commit`]), its writes kept only when `keep` says so; returns once
    /// they are durable.
    fn transaction<T>(
        &self,
        write: impl FnOnce(&Connection) -> Result<T, StoreError>,
        keep: impl FnOnce(&T) -> bool,
    ) -> Result<T, StoreError> {
        off_the_workers(|| self.conn.write(write, keep))
    }
}

/// Runs a store call off the async runtime's workers: every commit may fsync and another
/// writer may hold the connection, so on a multi-threaded runtime the worker thread becomes a
/// blocking thread for the call (`block_in_place`) and the runtime's other tasks move to a
/// fresh worker. A current-thread runtime (the deterministic simulation, `#[tokio::test]`) has
/// no other worker and runs it inline.
fn off_the_workers<T>(call: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(call)
        }
        _ => call(),
    }
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn replace_schedule(&self, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
        self.transaction(|tx| schedules::replace(tx, schedule), |_| true)
    }

    async fn insert_schedule(&self, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
        self.transaction(|tx| schedules::insert(tx, schedule), |_| true)
    }

    async fn get_schedule(&self, barber: &BarberId) -> Result<Option<PayoutSchedule>, StoreError> {
        self.blocking(|conn| schedules::get(conn, barber))
    }

    async fn due_schedules(
        &self,
        now: DateTime<Utc>,
        cursor: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError> {
        self.blocking(|conn| schedules::due(conn, now, cursor, limit))
    }

    /// One process plans the whole index; it is not sharded.
    fn due_shards(&self) -> u32 {
        1
    }

    async fn due_schedules_in_shard(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        cursor: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError> {
        if shard == 0 {
            self.due_schedules(now, cursor, limit).await
        } else {
            Ok(Vec::new())
        }
    }

    async fn advance_schedule(
        &self,
        barber: &BarberId,
        expected: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.transaction(
            |tx| schedules::advance(tx, barber, expected, next),
            |_| true,
        )
    }

    async fn mark_advance_notice(
        &self,
        notice: &AdvanceNotice,
        notice_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| schedules::mark_notice(tx, notice, notice_at), |_| true)
    }

    async fn due_advance_notices(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<AdvanceNotice>, StoreError> {
        self.blocking(|conn| schedules::due_notices(conn, now, limit))
    }

    async fn clear_advance_notice(&self, notice: &AdvanceNotice) -> Result<(), StoreError> {
        self.transaction(|tx| schedules::clear_notice(tx, notice), |_| true)
    }

    async fn list_schedules(
        &self,
        after: Option<&BarberId>,
        limit: usize,
    ) -> Result<Vec<PayoutSchedule>, StoreError> {
        self.blocking(|conn| schedules::list(conn, after, limit))
    }
}

#[async_trait]
impl EventOutbox for SqliteStore {
    async fn unpublished_events(&self, limit: usize) -> Result<Vec<(u64, AuditEvent)>, StoreError> {
        self.blocking(|conn| payouts::unpublished_events(conn, limit))
    }

    async fn mark_published(&self, events: &[(u64, AuditEvent)]) -> Result<(), StoreError> {
        self.transaction(|tx| payouts::mark_published(tx, events), |_| true)
    }
}

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn insert_earnings(
        &self,
        earnings: &[Earning],
        content_hashes: &[String],
    ) -> Result<Vec<IntakeOutcome>, StoreError> {
        self.transaction(
            |tx| ledger::insert_earnings(tx, earnings, content_hashes),
            |outcomes| !outcomes.contains(&IntakeOutcome::Conflict),
        )
    }

    async fn get_earning(&self, id: &EarningId) -> Result<Option<Earning>, StoreError> {
        self.blocking(|conn| ledger::get_earning(conn, id))
    }

    async fn earnings_of_payout(&self, payout: &PayoutId) -> Result<Vec<Earning>, StoreError> {
        self.blocking(|conn| ledger::earnings_of_payout(conn, payout))
    }

    async fn void_earning(
        &self,
        id: &EarningId,
        at: DateTime<Utc>,
    ) -> Result<VoidOutcome, StoreError> {
        self.transaction(|tx| ledger::void_earning(tx, id, at), |_| true)
    }

    async fn insert_deduction(
        &self,
        deduction: &Deduction,
        content_hash: &str,
    ) -> Result<IntakeOutcome, StoreError> {
        self.transaction(
            |tx| ledger::insert_deduction(tx, deduction, content_hash),
            |_| true,
        )
    }

    async fn open_activity(
        &self,
        barber: &BarberId,
        currency: Currency,
        window: OpenWindow,
    ) -> Result<OpenActivity, StoreError> {
        self.blocking(|conn| ledger::open_activity(conn, barber, currency, window))
    }

    async fn deductions_payable_after(
        &self,
        barber: &BarberId,
        currency: Currency,
        after: DateTime<Utc>,
    ) -> Result<Vec<Deduction>, StoreError> {
        self.blocking(|conn| ledger::deductions_payable_after(conn, barber, currency, after))
    }

    async fn open_activities(
        &self,
        barbers: &[(BarberId, Currency, OpenWindow)],
    ) -> Result<Vec<OpenActivity>, StoreError> {
        self.blocking(|conn| ledger::open_activities(conn, barbers))
    }
}

#[async_trait]
impl PayoutStore for SqliteStore {
    async fn create_payout(&self, creation: &PayoutCreation) -> Result<CreateOutcome, StoreError> {
        self.transaction(
            |tx| payouts::create(tx, creation),
            |outcome| *outcome == CreateOutcome::Created,
        )
    }

    async fn get_payout(&self, id: &PayoutId) -> Result<Option<Payout>, StoreError> {
        self.blocking(|conn| payouts::get(conn, id))
    }

    async fn get_payouts(&self, ids: &[PayoutId]) -> Result<Vec<Payout>, StoreError> {
        let unique: std::collections::BTreeSet<&PayoutId> = ids.iter().collect();
        self.blocking(|conn| {
            unique
                .into_iter()
                .filter_map(|id| payouts::get(conn, id).transpose())
                .collect()
        })
    }

    async fn list_payouts(
        &self,
        query: &PayoutQuery,
        limit: usize,
    ) -> Result<Vec<Payout>, StoreError> {
        self.blocking(|conn| payouts::list(conn, query, limit))
    }

    async fn update_payout(
        &self,
        payout: &Payout,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<WriteOutcome, StoreError> {
        self.transaction(
            |tx| payouts::update(tx, payout, expected_version, event),
            |outcome| *outcome == WriteOutcome::Written,
        )
    }

    async fn cancel_payout(
        &self,
        payout: &Payout,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<WriteOutcome, StoreError> {
        self.transaction(
            |tx| {
                let outcome = payouts::update(tx, payout, expected_version, event)?;
                if outcome == WriteOutcome::Written {
                    payouts::release_claims(tx, payout)?;
                }
                Ok(outcome)
            },
            |outcome| *outcome == WriteOutcome::Written,
        )
    }

    async fn failed_payout_count(&self, barber: &BarberId) -> Result<u32, StoreError> {
        self.blocking(|conn| payouts::failed_count(conn, barber))
    }

    async fn audit_trail(&self, id: &PayoutId) -> Result<Vec<AuditEvent>, StoreError> {
        self.blocking(|conn| payouts::audit_trail(conn, id))
    }

    async fn stalled_payouts(
        &self,
        stale_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Payout>, StoreError> {
        self.blocking(|conn| payouts::stalled(conn, stale_before, limit))
    }
}

#[async_trait]
impl BarberLocks for SqliteStore {
    async fn try_lock(
        &self,
        barber: &BarberId,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.transaction(
            |tx| locks::try_lock(tx, barber, owner, now, lease_until),
            |_| true,
        )
    }

    async fn release_lock(&self, barber: &BarberId, owner: &str) -> Result<(), StoreError> {
        self.transaction(|tx| locks::release(tx, barber, owner), |_| true)
    }
}

/// A page of periods is one IMMEDIATE transaction. A member that does not close leaves nothing
/// behind (each close reads its conditions before it writes), and the others commit together.
#[async_trait]
impl PeriodBatches for SqliteStore {
    async fn close_periods(
        &self,
        periods: &[PeriodWrite],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        self.transaction(
            |tx| {
                let mut outcomes = Vec::with_capacity(periods.len());
                for period in periods {
                    let outcome = match &period.close {
                        PeriodClose::Create(creation) => payouts::create(tx, creation)?,
                        PeriodClose::Advance { barber, from, to } => {
                            if schedules::advance(tx, barber, *from, *to)? {
                                CreateOutcome::Created
                            } else {
                                CreateOutcome::AlreadyExists
                            }
                        }
                    };
                    if outcome == CreateOutcome::Created
                        && let Some((notice, notice_at)) = &period.advance_notice
                    {
                        schedules::mark_notice(tx, notice, *notice_at)?;
                    }
                    outcomes.push(outcome);
                }
                Ok(outcomes)
            },
            |_| true,
        )
    }
}

/// Each batch step is one IMMEDIATE transaction: one commit (one fsync) for the batch, with
/// every member's condition checked as in the single steps.
#[async_trait]
impl AttemptBatches for SqliteStore {
    async fn lock_and_record_attempts(
        &self,
        attempts: &[PayoutWrite],
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        self.transaction(
            |tx| {
                let mut started = Vec::with_capacity(attempts.len());
                for attempt in attempts {
                    let barber = &attempt.payout.barber_id;
                    let mut recorded = false;
                    if locks::try_lock(tx, barber, owner, now, lease_until)? {
                        recorded = payouts::update(
                            tx,
                            &attempt.payout,
                            attempt.expected_version,
                            &attempt.event,
                        )? == WriteOutcome::Written;
                        if !recorded {
                            locks::release(tx, barber, owner)?;
                        }
                    }
                    started.push(recorded);
                }
                Ok(started)
            },
            |_| true,
        )
    }

    async fn record_outcomes_and_unlock(
        &self,
        outcomes: &[OutcomeWrite],
        unlock: &[BarberId],
        owner: &str,
        notice_retry_at: DateTime<Utc>,
    ) -> Result<Vec<OutcomeRecorded>, StoreError> {
        self.transaction(
            |tx| {
                let mut written = Vec::with_capacity(outcomes.len());
                for outcome in outcomes {
                    let write = &outcome.write;
                    let result =
                        payouts::update(tx, &write.payout, write.expected_version, &write.event)?;
                    let mut new_notice = false;
                    if let (WriteOutcome::Written, Some(notice)) = (result, &outcome.notice) {
                        new_notice = outbox::record(tx, notice, write.event.at, notice_retry_at)?;
                    }
                    written.push(OutcomeRecorded {
                        write: result,
                        new_notice,
                    });
                }
                for barber in unlock {
                    locks::release(tx, barber, owner)?;
                }
                Ok(written)
            },
            |_| true,
        )
    }

    async fn settle_notifications(
        &self,
        deliveries: &[(String, NoticeDelivery)],
    ) -> Result<(), StoreError> {
        self.transaction(
            |tx| {
                for (dedupe_key, delivery) in deliveries {
                    outbox::settle(tx, dedupe_key, *delivery)?;
                }
                Ok(())
            },
            |_| true,
        )
    }
}

#[async_trait]
impl NotificationOutbox for SqliteStore {
    async fn record_notification(
        &self,
        notification: &Notification,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.transaction(
            |tx| outbox::record(tx, notification, at, retry_at),
            |_| true,
        )
    }

    async fn settle_notification(
        &self,
        dedupe_key: &str,
        delivery: NoticeDelivery,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| outbox::settle(tx, dedupe_key, delivery), |_| true)
    }

    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        self.blocking(|conn| outbox::due(conn, now, limit))
    }

    async fn list_notifications(
        &self,
        barber: &BarberId,
        limit: usize,
    ) -> Result<Vec<SentNotification>, StoreError> {
        self.blocking(|conn| outbox::list(conn, barber, limit))
    }
}

#[async_trait]
impl WebhookInbox for SqliteStore {
    async fn record_webhook_event(
        &self,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = self.transaction(
            |tx| {
                tx.prepare_cached(
                    "INSERT INTO webhook_events (event_id, received_at) VALUES (?1, ?2)
                     ON CONFLICT (event_id) DO NOTHING",
                )
                .and_then(|mut statement| {
                    statement.execute(rusqlite::params![event_id, codec::micros(at)])
                })
                .map_err(backend)
            },
            |_| true,
        )?;
        Ok(inserted == 1)
    }

    async fn forget_webhook_event(&self, event_id: &str) -> Result<(), StoreError> {
        self.transaction(
            |tx| {
                tx.prepare_cached("DELETE FROM webhook_events WHERE event_id = ?1")
                    .and_then(|mut statement| statement.execute([event_id]))
                    .map_err(backend)
            },
            |_| true,
        )?;
        Ok(())
    }
}

#[async_trait]
impl PlanningFailures for SqliteStore {
    async fn record_planning_failure(
        &self,
        barber: &BarberId,
        reason: &str,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<PlanningFailure, StoreError> {
        self.transaction(
            |tx| planning::record(tx, barber, reason, at, retry_at),
            |_| true,
        )
    }

    async fn clear_planning_failure(&self, barber: &BarberId) -> Result<(), StoreError> {
        self.transaction(|tx| planning::clear(tx, barber), |_| true)
    }

    async fn planning_failure(
        &self,
        barber: &BarberId,
    ) -> Result<Option<PlanningFailure>, StoreError> {
        self.blocking(|conn| planning::get(conn, barber))
    }

    async fn planning_failures(&self, limit: usize) -> Result<Vec<PlanningFailure>, StoreError> {
        self.blocking(|conn| planning::list(conn, limit))
    }
}

#[async_trait]
impl AccountRestrictions for SqliteStore {
    async fn restrict_account(
        &self,
        account: &str,
        reason: &str,
        at: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<Option<AccountRestriction>, StoreError> {
        self.transaction(
            |tx| restrictions::restrict(tx, account, reason, at, as_of),
            |_| true,
        )
    }

    async fn account_restrictions(
        &self,
        accounts: &[String],
    ) -> Result<Vec<AccountRestriction>, StoreError> {
        self.blocking(|conn| restrictions::among(conn, accounts))
    }

    async fn lift_account_restriction(
        &self,
        account: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<AccountRestriction>, StoreError> {
        self.transaction(|tx| restrictions::lift(tx, account, as_of), |_| true)
    }
}

#[async_trait]
impl Heartbeats for SqliteStore {
    async fn record_heartbeat(&self, component: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.transaction(
            |tx| {
                tx.prepare_cached(
                    "INSERT INTO heartbeats (component, at) VALUES (?1, ?2)
                     ON CONFLICT (component) DO UPDATE SET at = MAX(at, excluded.at)",
                )
                .and_then(|mut statement| {
                    statement.execute(rusqlite::params![component, codec::micros(at)])
                })
                .map_err(backend)
            },
            |_| true,
        )?;
        Ok(())
    }

    async fn last_heartbeat(&self, component: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let micros: Option<i64> = self.blocking(|conn| {
            conn.prepare_cached("SELECT at FROM heartbeats WHERE component = ?1")
                .and_then(|mut statement| {
                    rusqlite::OptionalExtension::optional(
                        statement.query_row([component], |row| row.get(0)),
                    )
                })
                .map_err(backend)
        })?;
        micros.map(codec::instant).transpose()
    }
}

#[async_trait]
impl Reports for SqliteStore {
    async fn totals(&self, buckets: &[Bucket]) -> Result<Totals, StoreError> {
        self.blocking(|conn| kept_totals::read(conn, buckets))
    }

    async fn ledger_totals(&self, currency: Currency) -> Result<LedgerTotals, StoreError> {
        self.blocking(|conn| totals::ledger_totals(conn, currency))
    }
}
