//! `payouts demo`: a simulated barbershop marketplace, end to end on the embedded default.
//!
//! A manual clock moves in five-minute steps over the chosen weeks. Each evening the day's
//! services are ingested as earnings (booth rent on Mondays); every step runs the planner, the
//! recovery sweep and the executor over whatever the queue has due. The simulated rail fails
//! for some barbers (retryably or for good), so retries, failures and carried balances all show.

mod population;
mod report;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc, Weekday};
use payout_app::ingest::{MAX_BATCH, ingest_deduction, ingest_earnings};
use payout_app::plan::plan_due_payouts;
use payout_app::recovery::recover_stalled;
use payout_app::schedule_change::add_schedule;
use payout_app::worker::drain_once;
use payout_app::{AppConfig, AppError, Services};
use payout_core::deduction::DeductionKind;
use payout_core::ids::{DeductionId, EarningId};
use payout_core::ledger::{Deduction, Earning, EarningKind};
use payout_core::money::{Currency, Money};

pub use population::{Dice, default_start};
pub use report::DemoReport;

use crate::memory_queue::MemoryQueue;
use crate::notices::log::LogNotifier;
use crate::simulated_rail::{FailurePlan, SimulatedRail};
use crate::sqlite::{Durability, SqliteStore};
use payout_app::ports::Reports;
use population::Barber;

#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub barbers: usize,
    pub weeks: u32,
    pub seed: u64,
    /// Where the SQLite file goes; the caller keeps or deletes it.
    pub db_path: PathBuf,
}

const STEP: TimeDelta = TimeDelta::minutes(5);
/// After the last week the planner stops and retries in flight get this long to finish.
const GRACE: TimeDelta = TimeDelta::hours(2);
const WORKER: &str = "demo";

/// Runs the demo, calling `progress(step, total_steps)` as simulated time passes.
pub async fn run_demo(
    config: &DemoConfig,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DemoReport, AppError> {
    let start = default_start();
    let end = start + TimeDelta::weeks(i64::from(config.weeks));
    let store = Arc::new(SqliteStore::open(
        &config.db_path,
        Durability::ProcessCrashSafe,
    )?);
    let rail = Arc::new(SimulatedRail::new(config.seed, FailurePlan::default()));
    let services = Services {
        store: store.clone(),
        queue: Arc::new(MemoryQueue::default()),
        rail: rail.clone(),
        notifier: Arc::new(LogNotifier),
        metrics: Arc::new(payout_app::ports::NoMetrics),
        stopwatch: Arc::new(payout_app::ports::SystemClock),
        config: AppConfig::default(),
    };

    let barbers = population::generate(config.barbers, config.seed, start);
    for barber in &barbers {
        add_schedule(services.store.as_ref(), &barber.schedule).await?;
        rail.set_plan(&barber.schedule.barber_id, barber.rail_plan);
    }

    let mut dice = Dice::new(config.seed ^ 0x5eed);
    let total_steps = ((end + GRACE - start).num_minutes() / STEP.num_minutes()) as u64;
    let (mut below_minimum, mut settled_owed) = (0, 0);
    let never_stop = || true;
    for step in 0..total_steps {
        let now = start + STEP * i32::try_from(step).unwrap_or(i32::MAX);
        if now < end {
            if now.hour() == 23 && now.minute() == 0 {
                record_the_day(&services, &barbers, &mut dice, now).await?;
            }
            let report = plan_due_payouts(&services, now, &never_stop).await?;
            below_minimum += report.below_minimum;
            settled_owed += report.settled_with_balance_owed;
        }
        if now.minute() == 0 {
            recover_stalled(&services, now).await?;
        }
        while drain_once(&services, WORKER, now, 100).await? > 0 {}
        if step % 48 == 0 || step + 1 == total_steps {
            progress(step + 1, total_steps);
        }
    }

    let totals = store.ledger_totals(Currency::Usd).await?;
    Ok(report::build(report::ReportInputs {
        barbers: config.barbers,
        weeks: config.weeks,
        seed: config.seed,
        simulated_from: start.to_rfc3339(),
        simulated_to: (end + GRACE).to_rfc3339(),
        below_minimum_periods: below_minimum,
        settled_with_balance_owed: settled_owed,
        totals: &totals,
        rail: &rail,
    }))
}

/// Ingests each barber's services of the day ending at `now` (Sundays off), and booth rent on
/// Mondays.
async fn record_the_day(
    p: &Services,
    barbers: &[Barber],
    dice: &mut Dice,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let day = now.date_naive();
    let opening = day.and_hms_opt(14, 0, 0).expect("valid time").and_utc();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    for barber in barbers {
        let id = &barber.schedule.barber_id;
        if day.weekday() == Weekday::Mon
            && let Some(rent) = barber.weekly_booth_rent_minor
        {
            ingest_deduction(
                p.store.as_ref(),
                &Deduction {
                    id: DeductionId::parse(format!("rent-{id}-{day}")).expect("valid id"),
                    barber_id: id.clone(),
                    kind: DeductionKind::BoothRent,
                    amount: Money::from_minor(rent, Currency::Usd),
                    description: format!("booth rent, week of {day}"),
                    recorded_at: now,
                    payable_from: None,
                },
            )
            .await?;
        }
        if day.weekday() == Weekday::Sun {
            continue;
        }
        let services = barber.volume.services_per_working_day(dice);
        for n in 0..services {
            batch.push(Earning {
                id: EarningId::parse(format!("svc-{id}-{day}-{n}")).expect("valid id"),
                barber_id: id.clone(),
                amount: Money::from_minor(barber.volume.price_minor(dice), Currency::Usd),
                occurred_at: opening + TimeDelta::minutes(35 * i64::try_from(n).unwrap_or(0)),
                service: "haircut".to_string(),
                kind: EarningKind::Service,
                recorded_at: now,
            });
            if batch.len() == MAX_BATCH {
                ingest_earnings(p.store.as_ref(), &batch).await?;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        ingest_earnings(p.store.as_ref(), &batch).await?;
    }
    Ok(())
}
