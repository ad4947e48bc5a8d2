//! `payouts-tools bench`: the whole pipeline on a durable SQLite file, phase by phase, against the
//! storage floor (the same rows written raw to the same kind of file).
//!
//! Every barber has a weekly schedule due at one cut-off; E earnings are spread over them and
//! ingested in API-sized batches; one planner run closes every period; the executor pays every
//! payout through the simulated rail and records each notification. Earnings are generated as
//! they are ingested, never held all at once.

mod floor;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use payout_app::ingest::{MAX_BATCH, ingest_earnings};
use payout_app::plan::plan_due_payouts;
use payout_app::ports::{NoMetrics, SystemClock};
use payout_app::schedule_change::add_schedule;
use payout_app::worker::drain_once;
use payout_app::{AppConfig, AppError, Services};
use payout_core::calendar::{Calendar, Frequency};
use payout_core::ids::{BarberId, EarningId};
use payout_core::ledger::{Earning, EarningKind};
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use payout_core::priority::BarberStanding;
use payout_core::schedule::{NotificationPrefs, PayoutSchedule, ScheduleState};
use serde::Serialize;

use crate::memory_queue::MemoryQueue;

/// Clients writing schedules at once.
const SCHEDULE_WRITERS: usize = 32;
use crate::notices::log::LogNotifier;
use crate::simulated_rail::{FailurePlan, SimulatedRail};
use crate::sqlite::{Durability, SqliteStore};

#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub barbers: usize,
    pub earnings: usize,
    /// A fresh file; the caller deletes it.
    pub db_path: PathBuf,
    pub durability: Durability,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub items: u64,
    pub seconds: f64,
    pub per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub barbers: usize,
    pub earnings: usize,
    pub durability: &'static str,
    pub phases: Vec<Phase>,
    pub pipeline_seconds: f64,
    pub payouts_completed: u64,
    /// Rows the pipeline left in its file, and the same count written raw.
    pub floor_rows: u64,
    pub floor_seconds: f64,
    /// Pipeline time over floor time.
    pub floor_ratio: f64,
    pub peak_rss_mb: Option<f64>,
}

/// The cut-off every schedule shares: a Friday, 23:00 UTC, outside the peak window (a payout
/// created in it could be deferred to off-peak).
fn cutoff() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 6, 23, 0, 0).unwrap()
}

/// A schedule as the benchmarks want it: Stripe standard, a $1 minimum, email on, no advance
/// notice, next run at `next_run_at`.
pub fn bench_schedule(
    barber_id: BarberId,
    calendar: Calendar,
    next_run_at: DateTime<Utc>,
) -> PayoutSchedule {
    PayoutSchedule {
        connected_account: Some(format!("acct_{barber_id}")),
        barber_id,
        calendar,
        currency: Currency::Usd,
        minimum_payout: Money::from_minor(100, Currency::Usd),
        method: PaymentMethod::StripeStandard,
        auto_payout_enabled: true,
        state: ScheduleState::Active,
        standing: BarberStanding::Regular,
        notifications: NotificationPrefs {
            display_name: None,
            email: Some("barber@example.com".into()),
            phone: None,
            email_notifications: true,
            sms_notifications: false,
            advance_notice_hours: 0,
            time_zone: chrono_tz::UTC,
        },
        recurring_deductions: Vec::new(),
        holds: Default::default(),
        next_run_at,
        destination_changes: Vec::new(),
        version: 0,
    }
}

fn schedule(index: usize) -> Result<PayoutSchedule, AppError> {
    let barber_id = BarberId::parse(format!("barber-{index:06}"))
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    let calendar = Calendar {
        frequency: Frequency::Weekly {
            day_of_week: Weekday::Fri,
        },
        time_zone: Tz::UTC,
        local_time: NaiveTime::from_hms_opt(23, 0, 0).expect("a valid time"),
    };
    Ok(bench_schedule(barber_id, calendar, cutoff()))
}

fn earning(index: usize, barbers: usize) -> Result<Earning, AppError> {
    let at = cutoff() - TimeDelta::hours(2);
    Ok(Earning {
        id: EarningId::parse(format!("e{index:08}"))
            .map_err(|e| AppError::Invalid(e.to_string()))?,
        barber_id: BarberId::parse(format!("barber-{:06}", index % barbers))
            .map_err(|e| AppError::Invalid(e.to_string()))?,
        amount: Money::from_minor(2_000 + (index % 97) as i64 * 50, Currency::Usd),
        occurred_at: at,
        service: "haircut".into(),
        kind: EarningKind::Service,
        recorded_at: at,
    })
}

struct PhaseLog {
    phases: Vec<Phase>,
}

impl PhaseLog {
    fn record(&mut self, name: &'static str, items: u64, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(phase = name, items, seconds, "bench phase done");
        self.phases.push(Phase {
            name,
            items,
            seconds,
            per_second: items as f64 / seconds.max(f64::EPSILON),
        });
    }
}

/// Runs the pipeline once; `progress(phase)` is called as each phase starts.
pub async fn run_bench(
    config: &BenchConfig,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<BenchReport, AppError> {
    let barbers = config.barbers.max(1);
    let store = Arc::new(SqliteStore::open(&config.db_path, config.durability)?);
    let p = Services {
        store: store.clone(),
        queue: Arc::new(MemoryQueue::default()),
        rail: Arc::new(SimulatedRail::new(1, FailurePlan::default())),
        notifier: Arc::new(LogNotifier),
        metrics: Arc::new(NoMetrics),
        stopwatch: Arc::new(SystemClock),
        config: AppConfig::default(),
    };
    let mut log = PhaseLog { phases: Vec::new() };
    let all = Instant::now();

    progress("schedules");
    let started = Instant::now();
    // One schedule per request, from many clients at once, as an API under load sees them:
    // their commits are grouped.
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..SCHEDULE_WRITERS {
        let store = p.store.clone();
        writers.spawn(async move {
            for index in (writer..barbers).step_by(SCHEDULE_WRITERS) {
                add_schedule(store.as_ref(), &schedule(index)?).await?;
            }
            Ok::<(), AppError>(())
        });
    }
    while let Some(written) = writers.join_next().await {
        written.map_err(|e| AppError::Invalid(format!("a schedule writer stopped: {e}")))??;
    }
    log.record("schedules", barbers as u64, started);

    progress("earnings");
    let started = Instant::now();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    for index in 0..config.earnings {
        batch.push(earning(index, barbers)?);
        if batch.len() == MAX_BATCH || index + 1 == config.earnings {
            ingest_earnings(p.store.as_ref(), &batch).await?;
            batch.clear();
        }
    }
    log.record("earnings", config.earnings as u64, started);

    progress("plan");
    let started = Instant::now();
    let now = cutoff() + TimeDelta::minutes(1);
    let planned = plan_due_payouts(&p, now, &|| true).await?;
    log.record("plan", planned.payouts_queued, started);

    progress("execute");
    let started = Instant::now();
    let mut received = 0u64;
    loop {
        let count = drain_once(&p, "bench", now, 100).await?;
        if count == 0 {
            break;
        }
        received += count as u64;
    }
    log.record("execute", received, started);
    let pipeline_seconds = all.elapsed().as_secs_f64();

    let payouts_completed = p
        .store
        .count_by_status()
        .await?
        .into_iter()
        .filter(|(status, _)| *status == payout_core::status::PayoutStatus::Completed)
        .map(|(_, count)| count)
        .sum();
    progress("storage floor");
    let shape = store.shape()?;
    let mut floor_path = config.db_path.clone().into_os_string();
    floor_path.push(".floor");
    let floor_path = PathBuf::from(floor_path);
    let floor_seconds = floor::write_rows(&floor_path, config.durability, &shape)?;
    let _ = std::fs::remove_file(&floor_path);
    Ok(BenchReport {
        barbers,
        earnings: config.earnings,
        durability: config.durability.name(),
        phases: log.phases,
        pipeline_seconds,
        payouts_completed,
        floor_rows: shape.rows,
        floor_seconds,
        floor_ratio: pipeline_seconds / floor_seconds.max(f64::EPSILON),
        peak_rss_mb: peak_rss_mb(),
    })
}

/// The process's peak resident set, from Linux's `/proc/self/status`.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
