//! One simulated run: the marketplace, the seeded script of ticks, the drain, the check.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use payout_app::ingest::ingest_earnings;
use payout_app::payout_actions::{approve_payout, reject_payout};
use payout_app::planner_tick::planner_tick;
use payout_app::ports::{Clock, JobQueue, ManualClock, Metric, Metrics, PayoutQuery, Store};
use payout_app::reconcile::sweep;
use payout_app::recovery::{recover_owed_work, recover_stalled};
use payout_app::schedule_change::{add_schedule, amend_schedule};
use payout_app::webhooks::{handle_stripe_webhook, sign};
use payout_app::worker::{process_deliveries, process_delivery};
use payout_app::{AppConfig, AppError, Services};
use payout_core::calendar::{Calendar, Frequency};
use payout_core::hold::{HoldDays, Holds, Reserve};
use payout_core::ids::{BarberId, EarningId};
use payout_core::ledger::{Earning, EarningKind};
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use payout_core::priority::BarberStanding;
use payout_core::schedule::{NotificationPrefs, PayoutSchedule, ScheduleState};
use payout_core::status::PayoutStatus;

use super::faults::{Chaos, FaultKind, FaultRates, Sabotage};
use super::queue::ChaosQueue;
use super::rail::ChaosRail;
use super::rng::SimRng;
use super::scheduler::{STALL, STALL_YIELDS, TaskCtx, Tasks, yield_now};
use super::store::ChaosStore;
use crate::sqlite::{Durability, SqliteStore};
use crate::{FailurePlan, LogNotifier, MemoryQueue, SimulatedRail};

/// What one run did and found.
#[derive(Debug, Default)]
pub struct RunOutcome {
    pub seed: u64,
    pub payouts: u64,
    pub completed: u64,
    pub faults: BTreeMap<FaultKind, u64>,
    pub violations: Vec<String>,
    /// Kept only when asked for, to explain a violation.
    pub trace: Vec<String>,
}

/// Ticks of one run on the embedded store.
pub const TICKS: u64 = 48;
/// Drain steps of ten simulated minutes; retries end within 1 h 20 min and leases within 5.
const DRAIN_STEPS: usize = 200;
/// The rail's timeout under [`Sabotage::DropLookupTimeout`]: a year, as good as none.
const NO_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 60 * 60);

/// Receive-and-process rounds of one executor task.
const EXECUTOR_ROUNDS: usize = 3;

/// Replays the run of `seed`. `trace` keeps a line per step for explaining a violation.
pub fn run_one(seed: u64, sabotage: Sabotage, trace: bool) -> RunOutcome {
    // The rail's timeouts run on the runtime's clock, paused: it moves only when every task
    // waits on a timer, so a lookup may hang for its whole timeout in no time, the same way for
    // a seed. The embedded store never waits on I/O, which a paused clock would not wait for.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime starts");
    runtime.block_on(async {
        match SqliteStore::open(Path::new(":memory:"), Durability::ProcessCrashSafe) {
            Ok(store) => {
                let queue = Arc::new(MemoryQueue::default());
                let run = Run::new(Arc::new(store), queue, seed, sabotage, trace);
                run.chaos.pause_time();
                run.play(TICKS).await
            }
            Err(error) => RunOutcome {
                seed,
                violations: vec![format!("the run could not start: {error}")],
                ..RunOutcome::default()
            },
        }
    })
}

/// The run of `seed` on `store` (empty) and `queue` (empty), `ticks` long: the embedded
/// adapters in [`run_one`], the DynamoDB and SQS adapters on an emulator in the AWS tests.
pub async fn run_on(
    store: Arc<dyn Store>,
    queue: Arc<dyn JobQueue>,
    seed: u64,
    sabotage: Sabotage,
    trace: bool,
    ticks: u64,
) -> RunOutcome {
    Run::new(store, queue, seed, sabotage, trace)
        .play(ticks)
        .await
}

struct Run {
    seed: u64,
    chaos: Chaos,
    clock: ManualClock,
    store: Arc<dyn Store>,
    rail: Arc<SimulatedRail>,
    queue: Arc<ChaosQueue>,
    config: AppConfig,
    /// What the pipeline counted as paid, to hold against the rail's ledger.
    paid: Arc<PaidCounter>,
    schedules: Vec<PayoutSchedule>,
    earnings: Vec<Earning>,
    next_task: u64,
    /// Drawn apart from the faults' generator, so that a run without approvals replays as it
    /// did before they existed.
    approvals: Option<SimRng>,
    /// Stripe disabling and enabling the barbers' accounts' payouts (`account.updated`), in the
    /// runs without sabotage; drawn apart like the approvals.
    restrictions: Option<SimRng>,
}

/// Half the runs without sabotage make payouts netting more than this wait for approval.
const CHAOS_APPROVAL_ABOVE: i64 = 100;
/// The second operator who approves: never the planner, who asks for scheduled payouts.
const APPROVER: &str = "operator:chaos-approver";

/// The `AmountPaid` the pipeline publishes, added up: each payment counted once at most.
#[derive(Default)]
struct PaidCounter(AtomicI64);

impl Metrics for PaidCounter {
    fn publish(&self, _dimensions: &[(&str, &str)], metrics: &[Metric]) {
        for metric in metrics.iter().filter(|m| m.name == "AmountPaid") {
            self.0.fetch_add(metric.value, Ordering::SeqCst);
        }
    }
}

/// The secret the simulation's Stripe signs its webhooks with.
const WEBHOOK_SECRET: &[u8] = b"whsec_chaos";

fn start_instant(rng: &mut SimRng) -> (DateTime<Utc>, bool) {
    // The days before New York's clocks move (8 March and 1 November 2026), or an ordinary week.
    match rng.below(10) {
        0..=1 => (Utc.with_ymd_and_hms(2026, 3, 6, 12, 0, 0).unwrap(), true),
        2 => (Utc.with_ymd_and_hms(2026, 10, 30, 12, 0, 0).unwrap(), true),
        _ => (
            Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap()
                + TimeDelta::hours(rng.range(0, 24 * 6)),
            false,
        ),
    }
}

/// In the runs without sabotage, half the barbers' earnings wait a day after the service and
/// half keep a 10 % reserve for a day (drawn apart, like the approvals): the run lasts about
/// two days and a half, so both are released within it.
fn drawn_holds(rng: &mut SimRng) -> Holds {
    Holds {
        hold_days: HoldDays::new(u32::from(rng.chance(500))).expect("0 or 1 day"),
        reserve: match rng.chance(500) {
            true => Reserve::new(10, 1).expect("10 % for a day"),
            false => None,
        },
    }
}

fn calendar(rng: &mut SimRng) -> Calendar {
    const DAYS: [Weekday; 3] = [Weekday::Sat, Weekday::Sun, Weekday::Mon];
    // 02:30 does not exist on the spring-forward night and 01:30 happens twice in the fall.
    const TIMES: [(u32, u32); 3] = [(2, 30), (1, 30), (17, 0)];
    let (hour, minute) = TIMES[rng.below(3) as usize];
    Calendar {
        frequency: if rng.chance(500) {
            Frequency::Daily
        } else {
            Frequency::Weekly {
                day_of_week: DAYS[rng.below(3) as usize],
            }
        },
        time_zone: Tz::America__New_York,
        local_time: NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid time"),
    }
}

impl Run {
    fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn JobQueue>,
        seed: u64,
        sabotage: Sabotage,
        trace: bool,
    ) -> Self {
        let mut rng = SimRng::new(seed ^ 0x5eed);
        let (start, dst) = start_instant(&mut rng);
        let clock = ManualClock::starting_at(start);
        let mut config = AppConfig::default();
        let approvals = (sabotage == Sabotage::None && seed.is_multiple_of(2)).then(|| {
            config.approvals.above = Some(rust_decimal::Decimal::from(CHAOS_APPROVAL_ABOVE));
            SimRng::new(seed ^ 0xa990_7a15)
        });
        let restrictions = (sabotage == Sabotage::None).then(|| SimRng::new(seed ^ 0x0acc_0075));
        let chaos = Chaos::new(seed, clock.clone(), sabotage, trace);
        if dst {
            chaos.injected(FaultKind::DstEdge);
        }
        let mut schedules: Vec<PayoutSchedule> = (0..rng.range(2, 4))
            .map(|i| {
                let calendar = calendar(&mut rng);
                PayoutSchedule {
                    barber_id: BarberId::parse(format!("b{i}")).expect("a valid id"),
                    next_run_at: calendar.next_run_after(start).expect("calendars recur"),
                    destination_changes: Vec::new(),
                    version: 0,
                    calendar,
                    currency: Currency::Usd,
                    minimum_payout: Money::from_minor(1_000, Currency::Usd),
                    method: if rng.chance(700) {
                        PaymentMethod::StripeStandard
                    } else {
                        PaymentMethod::StripeInstant
                    },
                    auto_payout_enabled: true,
                    state: ScheduleState::Active,
                    standing: BarberStanding::Regular,
                    connected_account: Some(format!("acct_b{i}")),
                    notifications: NotificationPrefs {
                        display_name: None,
                        email: Some(format!("b{i}@example.com")),
                        phone: None,
                        email_notifications: true,
                        sms_notifications: false,
                        advance_notice_hours: if rng.chance(500) { 12 } else { 0 },
                        time_zone: chrono_tz::UTC,
                    },
                    recurring_deductions: Vec::new(),
                    holds: Holds::default(),
                }
            })
            .collect();
        if sabotage == Sabotage::None {
            let mut holds = SimRng::new(seed ^ 0x401d_5e5e);
            for schedule in &mut schedules {
                schedule.holds = drawn_holds(&mut holds);
            }
        }
        Self {
            seed,
            queue: Arc::new(ChaosQueue::new(queue, store.clone(), chaos.clone())),
            rail: Arc::new(SimulatedRail::new(seed, FailurePlan::default())),
            chaos,
            clock,
            store,
            config,
            paid: Arc::default(),
            schedules,
            earnings: Vec::new(),
            next_task: 0,
            approvals,
            restrictions,
        }
    }

    /// The pipeline one task sees, every port behind its injector.
    fn services(&self, task: &Arc<TaskCtx>) -> Services {
        let store = self.store.clone();
        Services {
            store: Arc::new(ChaosStore {
                inner: store,
                chaos: self.chaos.clone(),
                task: task.clone(),
                unwritten_attempts: Mutex::default(),
            }),
            queue: self.queue.clone(),
            rail: Arc::new(ChaosRail {
                inner: self.rail.clone(),
                chaos: self.chaos.clone(),
                task: task.clone(),
                store: self.store.clone(),
                timeout: self.config.rail_timeout,
            }),
            notifier: Arc::new(LogNotifier),
            metrics: self.paid.clone(),
            stopwatch: match self.chaos.sabotage {
                Sabotage::IgnoreLeaseExpiry => Arc::new(ManualClock::starting_at(self.clock.now())),
                Sabotage::None
                | Sabotage::SkipReconciliation
                | Sabotage::PayBeforeAttemptsRecorded
                | Sabotage::LoseOneOutcome
                | Sabotage::IgnoreScheduleVersion
                | Sabotage::ReconcileFailed
                | Sabotage::RecoverOnlyStale
                | Sabotage::DropLookupTimeout => Arc::new(self.clock.clone()),
            },
            config: self.config.clone(),
        }
    }

    fn roll(&self, per_mille: u64) -> bool {
        self.chaos.with_rng(|rng| rng.chance(per_mille))
    }

    async fn play(mut self, ticks: u64) -> RunOutcome {
        for schedule in &self.schedules {
            if let Err(error) = add_schedule(self.store.as_ref(), schedule).await {
                return self.failed_to_run(error);
            }
        }
        for _ in 0..ticks {
            let mut tasks = Tasks::default();
            if self.roll(600) {
                self.spawn_earnings(&mut tasks);
            }
            if self.roll(60) {
                self.edit_a_schedule(&mut tasks).await;
            }
            if self.roll(350) {
                self.spawn_planners(&mut tasks).await;
            }
            if self.roll(300) {
                self.spawn_reconciler(&mut tasks);
            }
            if self.roll(120) {
                self.spawn_stripe_report(&mut tasks).await;
            }
            self.spawn_approver(&mut tasks).await;
            self.spawn_account_update(&mut tasks);
            if self.roll(850) {
                let executors = self.chaos.with_rng(|rng| rng.range(1, 3));
                if executors > 1 {
                    self.chaos.injected(FaultKind::ConcurrentExecutors);
                }
                for _ in 0..executors {
                    self.spawn_executor(&mut tasks);
                }
            }
            tasks.run(&self.chaos).await;
            self.check(
                super::invariants::cut_offs_put_back(self.store.as_ref(), &self.barbers()).await,
            );
            if self.roll(40) {
                self.crash_and_restart().await;
            }
            let minutes = self.chaos.with_rng(|rng| rng.range(1, 150));
            self.clock.advance(TimeDelta::minutes(minutes));
        }
        self.drain().await;
        let now = self.clock.now();
        let mut last = Tasks::default();
        self.spawn_planner(&mut last);
        last.run(&self.chaos).await;
        self.check(
            super::invariants::overdue_barbers(self.store.as_ref(), &self.barbers(), now).await,
        );
        let slow = self.chaos.take_slow_calls();
        self.check(super::invariants::processing_times(self.store.as_ref(), &slow).await);
        let mut violations = self.chaos.take_violations();
        match super::invariants::check(
            self.store.as_ref(),
            &self.rail,
            now,
            self.paid.0.load(Ordering::SeqCst),
        )
        .await
        {
            Ok(found) => violations.extend(found),
            Err(error) => violations.push(format!("the check could not read the store: {error}")),
        }
        let (payouts, completed) = self.payout_counts().await;
        RunOutcome {
            seed: self.seed,
            payouts,
            completed,
            faults: self.chaos.counts(),
            violations,
            trace: self.chaos.take_trace(),
        }
    }

    fn barbers(&self) -> Vec<BarberId> {
        self.schedules.iter().map(|s| s.barber_id.clone()).collect()
    }

    /// Records what an invariant found, or that the store could not be read for it.
    fn check(&self, found: Result<Vec<String>, AppError>) {
        match found {
            Ok(found) => found.into_iter().for_each(|v| self.chaos.violated(v)),
            Err(error) => self
                .chaos
                .violated(format!("the check could not read the store: {error}")),
        }
    }

    fn failed_to_run(&self, error: AppError) -> RunOutcome {
        RunOutcome {
            seed: self.seed,
            violations: vec![format!("the run could not start: {error}")],
            ..RunOutcome::default()
        }
    }

    async fn payout_counts(&self) -> (u64, u64) {
        self.store
            .count_by_status()
            .await
            .unwrap_or_default()
            .into_iter()
            .fold((0, 0), |(all, done), (status, count)| {
                let paid = matches!(status, PayoutStatus::Completed | PayoutStatus::InTransit);
                (all + count, done + if paid { count } else { 0 })
            })
    }

    /// Faults off; every account ready again (the barbers fixed them); the clock runs on until
    /// no payout is owed work.
    async fn drain(&mut self) {
        self.chaos.set_rates(FaultRates::CALM);
        let mut ready = Tasks::default();
        for schedule in self.schedules.clone() {
            if let Some(account) = &schedule.connected_account {
                self.send_account_updated(&mut ready, account, true);
            }
        }
        ready.run(&self.chaos).await;
        for _ in 0..DRAIN_STEPS {
            self.clock.advance(TimeDelta::minutes(10));
            let mut tasks = Tasks::default();
            self.spawn_planner(&mut tasks);
            self.spawn_executor(&mut tasks);
            self.spawn_executor(&mut tasks);
            tasks.run(&self.chaos).await;
            let owed = self
                .store
                .stalled_payouts(self.clock.now() + TimeDelta::days(3650), 1)
                .await;
            if owed.is_ok_and(|owed| owed.is_empty()) {
                return;
            }
        }
    }

    fn owner(&mut self, role: &str) -> String {
        self.next_task += 1;
        format!("{role}-{}", self.next_task)
    }

    fn spawn_executor(&mut self, tasks: &mut Tasks) {
        let ctx = TaskCtx::new(true);
        let p = self.services(&ctx);
        let owner = self.owner("executor");
        let (clock, chaos) = (self.clock.clone(), self.chaos.clone());
        let max = usize::try_from(self.chaos.with_rng(|rng| rng.range(1, 4))).unwrap_or(1);
        let batched = self.roll(500);
        tasks.spawn(ctx, async move {
            // An executor polls the queue a few times, as a Lambda poller does, so it may pick up
            // what a stalled one let go of.
            for _ in 0..EXECUTOR_ROUNDS {
                let Ok(deliveries) = p.queue.receive(clock.now(), max).await else {
                    return;
                };
                if deliveries.is_empty() {
                    for _ in 0..STALL_YIELDS / 4 {
                        yield_now().await;
                    }
                }
                // Half the executors take their deliveries through the batch path, half one by
                // one, so both are vetted against each other in the same runs.
                if batched {
                    stall_past_visibility(&chaos, &clock).await;
                    chaos.note(|| format!("{owner} runs a batch of {}", deliveries.len()));
                    // An error leaves the deliveries to come back after their visibility timeout.
                    let _ = process_deliveries(&p, &deliveries, &owner, clock.now()).await;
                    continue;
                }
                for delivery in &deliveries {
                    stall_past_visibility(&chaos, &clock).await;
                    chaos.note(|| format!("{owner} runs {}", delivery.job.payout_id));
                    // An error leaves the delivery to come back after its visibility timeout.
                    let _ = process_delivery(&p, delivery, &owner, clock.now()).await;
                }
            }
        });
    }

    fn spawn_planner(&mut self, tasks: &mut Tasks) {
        let ctx = TaskCtx::new(false);
        let p = self.services(&ctx);
        let clock = self.clock.clone();
        tasks.spawn(ctx, async move {
            // The run production makes: held payouts resumed, the due planned, lost jobs found.
            // A failed run is the next tick's to repeat; each of its writes is conditional.
            let _ = planner_tick(&p, clock.now(), &|| true, None).await;
        });
    }

    /// The whole process dies between ticks, losing its in-process queue with the retries it
    /// held, and starts again as `payouts serve` does: every payout owed work is re-enqueued
    /// for its own next attempt. (m) Checked at once: none is left without a job.
    async fn crash_and_restart(&mut self) {
        self.chaos.injected(FaultKind::ProcessCrash);
        self.queue.crash().await;
        let now = self.clock.now();
        let ctx = TaskCtx::new(false);
        let p = self.services(&ctx);
        let restarted = match self.chaos.sabotage {
            Sabotage::RecoverOnlyStale => recover_stalled(&p, now).await.map(drop),
            _ => recover_owed_work(&p, now).await.map(drop),
        };
        if let Err(error) = restarted {
            self.chaos
                .violated(format!("the restart could not re-enqueue: {error}"));
            return;
        }
        let owed = super::invariants::owed_without_a_job(self.store.as_ref(), |id| {
            self.queue.sent_since_crash(id)
        })
        .await;
        self.check(owed);
    }

    /// The reconciliation sweep, as it runs beside the planner.
    fn spawn_reconciler(&mut self, tasks: &mut Tasks) {
        let ctx = TaskCtx::new(false);
        let mut p = self.services(&ctx);
        if self.chaos.sabotage == Sabotage::DropLookupTimeout {
            p.config.rail_timeout = NO_TIME_LIMIT;
        }
        let clock = self.clock.clone();
        tasks.spawn(ctx, async move {
            // A failed sweep is the next one's to repeat.
            let _ = sweep(&p, clock.now(), &|| true).await;
        });
    }

    /// Stripe reports, signed, that a payout's instant payout failed or its transfer was
    /// reversed, whatever the payout's state (the webhook applies only what its state allows).
    async fn spawn_stripe_report(&mut self, tasks: &mut Tasks) {
        let Ok(payouts) = self
            .store
            .list_payouts(&PayoutQuery::default(), 1_000)
            .await
        else {
            return;
        };
        if payouts.is_empty() {
            return;
        }
        let index = self.chaos.with_rng(|rng| rng.below(payouts.len() as u64)) as usize;
        let id = payouts[index].id.to_string();
        let (kind, object) = if self.roll(500) {
            self.chaos.injected(FaultKind::WebhookPayoutFailed);
            let object = serde_json::json!({"id": format!("po_{id}"), "object": "payout",
                "status": "failed", "failure_code": "account_closed",
                "metadata": {"payout_id": id}});
            ("payout.failed", object)
        } else {
            self.chaos.injected(FaultKind::WebhookTransferReversed);
            let object = serde_json::json!({"id": format!("trr_{id}"), "object": "transfer_reversal",
                "transfer_group": id});
            ("transfer.reversed", object)
        };
        self.send_stripe_event(tasks, kind, object);
    }

    /// Stripe disabling (or enabling again) the payouts of a barber's account, racing the
    /// planners and executors of the tick.
    fn spawn_account_update(&mut self, tasks: &mut Tasks) {
        let Some(rng) = self.restrictions.as_mut() else {
            return;
        };
        if !rng.chance(60) {
            return;
        }
        let enabled = rng.chance(500);
        let barber = rng.below(self.schedules.len() as u64) as usize;
        let Some(account) = self.schedules[barber].connected_account.clone() else {
            return;
        };
        self.chaos.injected(match enabled {
            true => FaultKind::AccountReady,
            false => FaultKind::AccountRestricted,
        });
        self.send_account_updated(tasks, &account, enabled);
    }

    /// Stripe's signed `account.updated` for `account`, its payouts `enabled` or not.
    fn send_account_updated(&mut self, tasks: &mut Tasks, account: &str, enabled: bool) {
        let object = serde_json::json!({"id": account, "object": "account",
            "payouts_enabled": enabled,
            "requirements": {"disabled_reason": (!enabled).then_some("requirements.past_due")}});
        self.send_stripe_event(tasks, "account.updated", object);
    }

    /// Stripe's event `kind` about `object`, signed, delivered to the webhook by a task.
    fn send_stripe_event(&mut self, tasks: &mut Tasks, kind: &str, object: serde_json::Value) {
        let now = self.clock.now();
        let body = serde_json::json!({"id": format!("evt_{}", self.next_task),
            "object": "event", "type": kind, "created": now.timestamp(),
            "data": {"object": object}})
        .to_string();
        self.next_task += 1;
        let signature = sign(body.as_bytes(), WEBHOOK_SECRET, now.timestamp());
        let ctx = TaskCtx::new(false);
        let p = self.services(&ctx);
        tasks.spawn(ctx, async move {
            // Refused when the payout changed meanwhile: Stripe would deliver it again.
            let _ =
                handle_stripe_webhook(&p, WEBHOOK_SECRET, Some(&signature), body.as_bytes(), now)
                    .await;
        });
    }

    /// A second operator approving (or rejecting) a payout waiting for approval, racing the
    /// planners and executors of the tick.
    async fn spawn_approver(&mut self, tasks: &mut Tasks) {
        let Some(rng) = self.approvals.as_mut() else {
            return;
        };
        if !rng.chance(400) {
            return;
        }
        let reject = rng.chance(200);
        let waiting = PayoutQuery {
            status: Some(PayoutStatus::AwaitingApproval),
            ..PayoutQuery::default()
        };
        let Ok(waiting) = self.store.list_payouts(&waiting, 100).await else {
            return;
        };
        let Some(rng) = self.approvals.as_mut() else {
            return;
        };
        if waiting.is_empty() {
            return;
        }
        let id = waiting[rng.below(waiting.len() as u64) as usize].id.clone();
        self.chaos.injected(match reject {
            true => FaultKind::ApprovalRejected,
            false => FaultKind::ApprovalGiven,
        });
        let ctx = TaskCtx::new(false);
        let p = self.services(&ctx);
        let now = self.clock.now();
        tasks.spawn(ctx, async move {
            // Refused when the payout moved on meanwhile: the operator would reload it.
            let _ = match reject {
                true => reject_payout(&p, &id, APPROVER, "not agreed", now).await,
                false => approve_payout(&p, &id, APPROVER, now).await,
            };
        });
    }

    async fn spawn_planners(&mut self, tasks: &mut Tasks) {
        match self.chaos.with_rng(|rng| rng.below(8)) {
            0 => {
                self.chaos.injected(FaultKind::PlannerLate);
                let hours = self.chaos.with_rng(|rng| rng.range(6, 60));
                self.clock.advance(TimeDelta::hours(hours));
                self.spawn_planner(tasks);
            }
            1 => {
                self.chaos.injected(FaultKind::PlannerTwice);
                self.spawn_planner(tasks);
                tasks.run(&self.chaos).await;
                self.spawn_planner(tasks);
            }
            2 => {
                self.chaos.injected(FaultKind::PlannerConcurrent);
                self.spawn_planner(tasks);
                self.spawn_planner(tasks);
            }
            _ => self.spawn_planner(tasks),
        }
    }

    fn spawn_earnings(&mut self, tasks: &mut Tasks) {
        let now = self.clock.now();
        let mut batch = Vec::new();
        for _ in 0..self.chaos.with_rng(|rng| rng.range(1, 4)) {
            if !self.earnings.is_empty() && self.roll(150) {
                self.chaos.injected(FaultKind::EarningDuplicate);
                let index = self
                    .chaos
                    .with_rng(|rng| rng.below(self.earnings.len() as u64));
                batch.push(self.earnings[index as usize].clone());
                continue;
            }
            let barber = self
                .chaos
                .with_rng(|rng| rng.below(self.schedules.len() as u64))
                as usize;
            let late = self.roll(120);
            if late {
                self.chaos.injected(FaultKind::EarningLate);
            }
            if self.schedules[barber].state == ScheduleState::Paused {
                self.chaos.injected(FaultKind::EarningPausedBarber);
            }
            let cents = self.chaos.with_rng(|rng| rng.range(500, 9_000));
            let earning = Earning {
                id: EarningId::parse(format!("e{}", self.earnings.len())).expect("a valid id"),
                barber_id: self.schedules[barber].barber_id.clone(),
                amount: Money::from_minor(cents, Currency::Usd),
                occurred_at: if late { now - TimeDelta::days(3) } else { now },
                service: "haircut".into(),
                // One in seven is a tip: paid whole, outside the tiers, in the same claims.
                kind: if cents % 7 == 0 {
                    EarningKind::Tip
                } else {
                    EarningKind::Service
                },
                recorded_at: now,
            };
            self.earnings.push(earning.clone());
            batch.push(earning);
        }
        let ctx = TaskCtx::new(false);
        let p = self.services(&ctx);
        tasks.spawn(ctx, async move {
            let _ = ingest_earnings(p.store.as_ref(), &batch).await;
        });
    }

    /// Pauses, resumes, or moves a barber to another calendar mid-period; or, racing the
    /// planner, changes the email of a barber whose cut-off is due now.
    async fn edit_a_schedule(&mut self, tasks: &mut Tasks) {
        let now = self.clock.now();
        let racing = self.roll(400);
        let mut candidates = Vec::new();
        for (i, schedule) in self.schedules.iter().enumerate() {
            let due = self
                .store
                .get_schedule(&schedule.barber_id)
                .await
                .ok()
                .flatten()
                .is_some_and(|stored| stored.is_due(now));
            if !racing || due {
                candidates.push(i);
            }
        }
        if candidates.is_empty() {
            return;
        }
        let index = candidates[self
            .chaos
            .with_rng(|rng| rng.below(candidates.len() as u64))
            as usize];
        let edit = match (racing, self.chaos.with_rng(|rng| rng.below(3))) {
            (true, _) => {
                self.chaos.injected(FaultKind::ScheduleEditRacingPlanner);
                ScheduleChaos::Email(format!("edit-{}@example.com", self.next_task))
            }
            (false, kind) => {
                self.chaos.injected(FaultKind::ScheduleEdit);
                match kind {
                    0 => ScheduleChaos::State(ScheduleState::Paused),
                    1 => ScheduleChaos::State(ScheduleState::Active),
                    _ => ScheduleChaos::Calendar(self.chaos.with_rng(calendar)),
                }
            }
        };
        if let ScheduleChaos::State(state) = edit {
            self.schedules[index].state = state;
        }
        let barber = self.schedules[index].barber_id.clone();
        let ctx = TaskCtx::new(false);
        let p = self.services(&ctx);
        let clock = self.clock.clone();
        tasks.spawn(ctx, async move {
            // The time is read at each attempt, as an edit through the API reads it.
            let _ = amend_schedule(p.store.as_ref(), &barber, |current| {
                Ok((Some(edit.apply(current, clock.now())), ()))
            })
            .await;
        });
        if racing {
            self.spawn_planner(tasks);
        }
    }
}

/// A change the simulation makes to a schedule, as an operator or the barber would.
#[derive(Clone)]
enum ScheduleChaos {
    State(ScheduleState),
    Calendar(Calendar),
    Email(String),
}

impl ScheduleChaos {
    fn apply(&self, current: &PayoutSchedule, now: DateTime<Utc>) -> PayoutSchedule {
        let mut changed = current.clone();
        match self {
            ScheduleChaos::State(state) => changed.state = *state,
            ScheduleChaos::Calendar(calendar) => {
                changed.calendar = calendar.clone();
                if let Some(next) = calendar.next_run_after(now) {
                    changed.next_run_at = next;
                }
            }
            ScheduleChaos::Email(email) => changed.notifications.email = Some(email.clone()),
        }
        changed
    }
}

/// Sometimes the executor is still working when its delivery becomes visible again: another
/// executor may receive the same job meanwhile.
async fn stall_past_visibility(chaos: &Chaos, clock: &ManualClock) {
    if chaos.roll(|r| r.visibility_expiry) {
        chaos.injected(FaultKind::VisibilityExpiry);
        clock.advance(STALL);
        for _ in 0..STALL_YIELDS {
            yield_now().await;
        }
    }
}
