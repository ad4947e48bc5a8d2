//! A fresh embedded world for a test.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;
use payout_app::ingest::ingest_earnings;
use payout_app::ports::{
    Delivery, JobQueue, PaymentRail, PayoutJob, QueueDepth, QueueError, RailError, Store,
    TransferReceipt, TransferRequest,
};
use payout_app::{AppConfig, Services};
use payout_core::calendar::{Calendar, Frequency};
use payout_core::ids::{BarberId, EarningId, PayoutId};
use payout_core::ledger::{Earning, EarningKind};
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use payout_core::priority::BarberStanding;
use payout_core::schedule::{NotificationPrefs, PayoutSchedule, ScheduleState};
use payout_local::sqlite::Durability;
use payout_local::{FailurePlan, LogNotifier, MemoryQueue, SimulatedRail, SqliteStore};

pub struct World {
    pub services: Services,
    pub rail: Arc<SimulatedRail>,
    pub queue: Arc<MemoryQueue>,
    _dir: tempfile::TempDir,
}

pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap()
        .and_utc()
}

/// The instant a test plans at when its queue keeps real time (SQS on moto): off-peak, so no
/// low-priority job is deferred to the peak window's end, and in the past, so every delay
/// counted from it on the queue's clock is zero, whatever the hour the test runs.
pub fn off_peak_in_the_past() -> DateTime<Utc> {
    utc(2026, 3, 4, 3, 0)
}

pub fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::Usd).unwrap()
}

impl World {
    /// A world whose rail fails with `plan`, seeded by `seed`. Every job sent is delivered
    /// twice when `duplicate_deliveries`; every rail call yields for `rail_delay`.
    pub fn new(
        seed: u64,
        plan: FailurePlan,
        duplicate_deliveries: bool,
        rail_delay: Duration,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("test.db"), Durability::ProcessCrashSafe).unwrap(),
        );
        Self::with_store(store, dir, seed, plan, duplicate_deliveries, rail_delay)
    }

    /// The same world on another store (DynamoDB on the emulator, say); `dir` lives as long.
    pub fn with_store(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        seed: u64,
        plan: FailurePlan,
        duplicate_deliveries: bool,
        rail_delay: Duration,
    ) -> Self {
        let rail = Arc::new(SimulatedRail::new(seed, plan));
        let queue = Arc::new(MemoryQueue::new(TimeDelta::minutes(30), 20));
        let services = Services {
            store,
            queue: if duplicate_deliveries {
                Arc::new(DuplicatingQueue(queue.clone()))
            } else {
                queue.clone()
            },
            rail: Arc::new(SlowRail {
                inner: rail.clone(),
                delay: rail_delay,
            }),
            notifier: Arc::new(LogNotifier),
            metrics: Arc::new(payout_app::ports::NoMetrics),
            stopwatch: Arc::new(payout_app::ports::SystemClock),
            config: AppConfig::default(),
        };
        Self {
            services,
            rail,
            queue,
            _dir: dir,
        }
    }

    pub fn weekly_schedule(barber: &str, day: Weekday, after: DateTime<Utc>) -> PayoutSchedule {
        let calendar = Calendar {
            frequency: Frequency::Weekly { day_of_week: day },
            time_zone: Tz::America__New_York,
            local_time: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        };
        PayoutSchedule {
            barber_id: BarberId::parse(barber).unwrap(),
            recurring_deductions: Vec::new(),
            holds: Default::default(),
            next_run_at: calendar.next_run_after(after).unwrap(),
            destination_changes: Vec::new(),
            version: 0,
            calendar,
            currency: Currency::Usd,
            minimum_payout: usd("25.00"),
            method: PaymentMethod::StripeStandard,
            auto_payout_enabled: true,
            state: ScheduleState::Active,
            standing: BarberStanding::Regular,
            connected_account: Some(format!("acct_{barber}")),
            notifications: NotificationPrefs {
                display_name: None,
                email: Some(format!("{barber}@example.com")),
                phone: None,
                email_notifications: true,
                sms_notifications: false,
                advance_notice_hours: 24,
                time_zone: Tz::America__New_York,
            },
        }
    }

    /// Gives `barber` a weekly schedule in `p`'s store and, with `amount`, one open earning
    /// from an hour before `now`.
    pub async fn open_barber(
        p: &Services,
        barber: &str,
        amount: Option<&str>,
        now: DateTime<Utc>,
    ) -> BarberId {
        let schedule = Self::weekly_schedule(barber, Weekday::Fri, now - TimeDelta::days(1));
        p.store.insert_schedule(&schedule).await.unwrap();
        if let Some(amount) = amount {
            let earning = Self::earning(barber, 0, amount, now - TimeDelta::hours(1));
            ingest_earnings(p.store.as_ref(), &[earning]).await.unwrap();
        }
        schedule.barber_id
    }

    pub fn earning(barber: &str, n: usize, amount: &str, at: DateTime<Utc>) -> Earning {
        Earning {
            id: EarningId::parse(format!("{barber}-svc-{n}")).unwrap(),
            barber_id: BarberId::parse(barber).unwrap(),
            amount: usd(amount),
            occurred_at: at,
            service: "haircut".into(),
            kind: EarningKind::Service,
            recorded_at: at,
        }
    }
}

/// Delivers every job twice, as SQS standard queues may.
pub struct DuplicatingQueue(pub Arc<MemoryQueue>);

#[async_trait]
impl JobQueue for DuplicatingQueue {
    async fn send(&self, jobs: &[PayoutJob]) -> Result<(), QueueError> {
        self.0.send(jobs).await?;
        self.0.send(jobs).await
    }
    async fn receive(&self, now: DateTime<Utc>, max: usize) -> Result<Vec<Delivery>, QueueError> {
        self.0.receive(now, max).await
    }
    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.0.ack(receipt).await
    }
    async fn defer(&self, delivery: &Delivery, until: DateTime<Utc>) -> Result<(), QueueError> {
        self.0.defer(delivery, until).await
    }
    async fn depth(&self, now: DateTime<Utc>) -> Result<QueueDepth, QueueError> {
        self.0.depth(now).await
    }
    async fn redrive_dead_letters(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
        self.0.redrive_dead_letters(now).await
    }
}

/// A rail that takes real time to answer, so concurrent executors genuinely overlap.
pub struct SlowRail {
    pub inner: Arc<SimulatedRail>,
    pub delay: Duration,
}

#[async_trait]
impl PaymentRail for SlowRail {
    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError> {
        tokio::time::sleep(self.delay).await;
        self.inner.transfer(request).await
    }
    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
        tokio::time::sleep(self.delay).await;
        self.inner.find_transfer(payout).await
    }
}
