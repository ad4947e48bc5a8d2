//! Friday 17:00 at scale, on a simulated clock: most barbers are due at the same local time,
//! and the provider takes 25 transfers a second (Stripe's default limit on creating transfers)
//! or what it has raised it to. How long until the last barber is paid, how close that is to
//! what the limit allows, how many are still unpaid at 21:00 local, how many requests the
//! provider refuses, and whether higher-priority payouts are paid first.
//!
//! A discrete-event model of the deployed executor fleet, built from the product's own parts:
//! each executor paces its transfers with [`RailPace`] at its share of the transfers' limit
//! (holding back after a 429, as [`PacedRail`] does), a 429 or a transfer held back waits
//! [`PaceSettings::hold_after_429`] plus the same spread without using a retry, a retryable
//! failure waits the [`RetryPolicy`]'s delay, and the payouts' priorities are the
//! [`PriorityPolicy`]'s scores. The planner sends each page of due payouts highest priority
//! first. The queue is SQS's as deployed (two queues, each delivered in the order sent as
//! standard queues roughly do: the urgent lane, which every executor looks at first and a few
//! more executors read alone, and the bulk), one SQS queue (before the urgent lane), or
//! `serve`'s own [`MemoryQueue`] itself (the highest priority ready job first). The
//! provider refuses a request that finds its token bucket empty (a second's worth, refilled at
//! the limit), as Stripe's limiter does. Not modelled: the
//! store's own latency beyond a fixed cost per write, and the planner's time to plan (jobs are
//! on the queue when due).
//!
//! [`PacedRail`]: payout_app::rails::paced::PacedRail

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::num::NonZeroU32;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use payout_core::pace::{
    Endpoint, LimitOverrides, PaceSettings, RailLimits, RailPace, STRIPE_PER_ENDPOINT,
};
use payout_core::priority::{BarberStanding, PriorityClass, PriorityInput, PriorityPolicy};
use payout_core::retry::{RetryDecision, RetryPolicy};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::chaos::rng::SimRng;
use crate::memory_queue::MemoryQueue;
use payout_app::ports::{JobQueue, PayoutJob};
use payout_core::ids::PayoutId;

/// The scenario.
#[derive(Debug, Clone)]
pub struct FridayConfig {
    pub barbers: u64,
    /// Each zone with its share of the barbers (weights); all due at 17:00 local on `day`.
    pub zones: Vec<(Tz, u64)>,
    pub day: NaiveDate,
    /// What the provider accepts in any one second; beyond it, 429.
    pub provider_limit: u32,
    /// The deployment's configured rail rate and the executors sharing it.
    pub pace: PaceSettings,
    pub executors: u32,
    /// With [`QueueKind::Lanes`], the executors started for the urgent lane alone (the
    /// template's UrgentExecutorMaximumConcurrency); `pace` is shared by them too.
    pub urgent_executors: u32,
    /// The provider's answer time: `latency_base` plus an exponential tail of mean
    /// `latency_tail`.
    pub latency_base: TimeDelta,
    pub latency_tail: TimeDelta,
    /// One store write (lock with the attempt, or the outcome with the unlock).
    pub store_write: TimeDelta,
    pub retryable_failures_per_mille: u64,
    pub planner_page: usize,
    pub queue: QueueKind,
    pub retry: RetryPolicy,
    pub priority: PriorityPolicy,
    pub seed: u64,
}

impl FridayConfig {
    /// The brief's scale: a million barbers across the four mainland US zones (weighted as the
    /// population is), Stripe's live limit, a 2% retryable failure rate.
    pub fn million() -> Self {
        Self {
            barbers: 1_000_000,
            zones: vec![
                (chrono_tz::America::New_York, 47),
                (chrono_tz::America::Chicago, 29),
                (chrono_tz::America::Denver, 7),
                (chrono_tz::America::Los_Angeles, 17),
            ],
            day: NaiveDate::from_ymd_opt(2026, 11, 27).expect("a Friday"),
            provider_limit: STRIPE_PER_ENDPOINT.get(),
            pace: PaceSettings {
                limits: RailLimits::stripe(false),
                overrides: LimitOverrides::default(),
                shares: NonZeroU32::new(52).expect("positive"),
                patience: TimeDelta::seconds(5),
                hold_after_429: TimeDelta::seconds(2),
            },
            executors: 50,
            urgent_executors: 2,
            latency_base: TimeDelta::milliseconds(250),
            latency_tail: TimeDelta::milliseconds(150),
            store_write: TimeDelta::milliseconds(8),
            retryable_failures_per_mille: 20,
            planner_page: 500,
            queue: QueueKind::Lanes,
            retry: RetryPolicy::default(),
            priority: PriorityPolicy::default(),
            seed: 17,
        }
    }
}

impl FridayConfig {
    /// Every executor running at once: the bulk's and, with the urgent lane, the lane's own.
    /// Together they share the rail's rate (the template's `RAIL_PACE_SHARES`).
    pub fn executors_at_once(&self) -> u32 {
        match self.queue {
            QueueKind::Lanes => self.executors.saturating_add(self.urgent_executors),
            QueueKind::SentOrder | QueueKind::Priority => self.executors,
        }
    }
}

/// How the job queue hands out ready jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// As deployed: two SQS queues, each in the order sent. The jobs
    /// [`PayoutJob::urgent_lane_takes`] go to the urgent lane, which every executor looks at
    /// before the bulk (before each job here; before each batch of up to 10 on Lambda), and
    /// which [`FridayConfig::urgent_executors`] more read alone.
    Lanes,
    /// One SQS queue, in the order sent (the deployment before the urgent lane).
    SentOrder,
    /// `serve`'s in-process queue: the highest priority ready job first.
    Priority,
}

#[derive(Debug, Serialize)]
pub struct ClassFigures {
    pub payouts: u64,
    /// Seconds from the payout's due time to its payment.
    pub mean_wait_s: f64,
    pub p99_wait_s: f64,
}

#[derive(Debug, Serialize)]
pub struct FridayReport {
    pub queue: QueueKind,
    pub barbers: u64,
    pub paid: u64,
    pub failed: u64,
    /// Seconds from the first due time to the last payment.
    pub last_paid_s: f64,
    /// The same for payouts paid at their first attempt (a 429 is not an attempt that
    /// failed): the throughput's figure, apart from the retry ladder's tail (a payout that
    /// fails three times in a row waits 5 + 15 + 60 minutes whatever the rate).
    pub last_paid_first_try_s: f64,
    /// The earliest the last payment could be at the provider's limit, given when each zone
    /// is due (a zone's wave cannot start before its 17:00).
    pub floor_s: f64,
    pub over_floor_percent: f64,
    /// `barbers / provider_limit`: the floor were every barber due at once.
    pub all_at_once_floor_s: f64,
    pub provider_requests: u64,
    pub rate_limited: u64,
    pub rate_limited_percent: f64,
    /// Transfers an executor held back itself (its turn further than its patience).
    pub held_back_locally: u64,
    pub retried_failures: u64,
    /// Barbers not paid by 21:00 their local time (four hours after their 17:00), the failed
    /// ones with them.
    pub unpaid_at_21_local: u64,
    pub by_priority: BTreeMap<&'static str, ClassFigures>,
    pub wall_seconds: f64,
}

struct Job {
    due: DateTime<Utc>,
    score: u8,
    failures: u32,
}

/// The job queue as the executors see it; jobs are indices into the night's payouts.
#[async_trait::async_trait]
trait NightQueue: Send {
    async fn send(&mut self, at: DateTime<Utc>, job: usize, priority: u8);
    /// The next job ready at `now` (of the urgent lane only, for an executor started for it);
    /// without one, when to look again (`None`: never, the queue is empty).
    async fn take(
        &mut self,
        now: DateTime<Utc>,
        urgent_only: bool,
    ) -> Result<usize, Option<DateTime<Utc>>>;
}

/// From 17:00, when the barbers are due, to 21:00 local.
const EVENING: TimeDelta = TimeDelta::hours(4);

/// An idle executor polls again after this (a long poll, on SQS).
const POLL: TimeDelta = TimeDelta::seconds(1);

#[derive(Default)]
struct SentOrder {
    jobs: BTreeMap<(DateTime<Utc>, u64), usize>,
    sent: u64,
}

#[async_trait::async_trait]
impl NightQueue for SentOrder {
    async fn send(&mut self, at: DateTime<Utc>, job: usize, _: u8) {
        self.sent += 1;
        self.jobs.insert((at, self.sent), job);
    }

    async fn take(&mut self, now: DateTime<Utc>, _: bool) -> Result<usize, Option<DateTime<Utc>>> {
        match self.jobs.first_entry() {
            Some(entry) if entry.key().0 <= now => Ok(entry.remove()),
            Some(entry) => Err(Some(entry.key().0.max(now + POLL))),
            None => Err(None),
        }
    }
}

/// The deployment's two queues.
#[derive(Default)]
struct Lanes {
    urgent: SentOrder,
    bulk: SentOrder,
}

#[async_trait::async_trait]
impl NightQueue for Lanes {
    async fn send(&mut self, at: DateTime<Utc>, job: usize, priority: u8) {
        match PayoutJob::urgent_lane_takes(priority) {
            true => self.urgent.send(at, job, priority).await,
            false => self.bulk.send(at, job, priority).await,
        }
    }

    async fn take(
        &mut self,
        now: DateTime<Utc>,
        urgent_only: bool,
    ) -> Result<usize, Option<DateTime<Utc>>> {
        let urgent_again = match self.urgent.take(now, true).await {
            Ok(job) => return Ok(job),
            Err(again) => again,
        };
        if urgent_only {
            return Err(urgent_again);
        }
        match self.bulk.take(now, false).await {
            Ok(job) => Ok(job),
            Err(bulk_again) => Err(match (urgent_again, bulk_again) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }),
        }
    }
}

/// `serve`'s queue itself.
struct Prioritised {
    queue: MemoryQueue,
    pending: usize,
}

#[async_trait::async_trait]
impl NightQueue for Prioritised {
    async fn send(&mut self, at: DateTime<Utc>, job: usize, priority: u8) {
        let payout_id = PayoutId::parse(format!("po_{job}")).expect("a valid id");
        let job = PayoutJob {
            payout_id,
            not_before: at,
            priority,
        };
        self.queue.send(&[job]).await.expect("in memory");
        self.pending += 1;
    }

    async fn take(&mut self, now: DateTime<Utc>, _: bool) -> Result<usize, Option<DateTime<Utc>>> {
        let delivery = self.queue.receive(now, 1).await.expect("in memory");
        let Some(delivery) = delivery.first() else {
            return Err((self.pending > 0).then_some(now + POLL));
        };
        // Taken for good: the night has no crashed executor to hand it back.
        self.queue.ack(&delivery.receipt).await.expect("in memory");
        self.pending -= 1;
        Ok(delivery.job.payout_id.as_str()["po_".len()..]
            .parse()
            .expect("the index sent"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// An executor is free to take its next job.
    Free(u32),
    /// An executor's transfer reaches the provider, which takes requests in the order they
    /// arrive.
    Arrives(u32),
}

/// A transfer on its way: the job and how long the provider takes to answer after it arrives.
struct InFlight {
    job: usize,
    answer_after: TimeDelta,
}

struct Provider {
    limit: f64,
    /// Stripe's limiter is a token bucket: a second's worth, refilled at the limit.
    tokens: f64,
    filled_at: Option<DateTime<Utc>>,
}

impl Provider {
    fn new(limit: u32) -> Self {
        Self {
            limit: f64::from(limit),
            tokens: f64::from(limit),
            filled_at: None,
        }
    }

    /// Whether a request arriving `at` finds a token.
    fn admit(&mut self, at: DateTime<Utc>) -> bool {
        let since = self.filled_at.map_or(0.0, |filled| seconds(at - filled));
        self.tokens = (self.tokens + since.max(0.0) * self.limit).min(self.limit);
        self.filled_at = Some(self.filled_at.map_or(at, |filled| filled.max(at)));
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// The planned payouts of every zone in the order the planner sends them: each page highest
/// priority first.
fn plan(config: &FridayConfig, rng: &mut SimRng) -> Vec<Job> {
    let total_weight: u64 = config.zones.iter().map(|(_, weight)| weight).sum();
    let mut night = Vec::new();
    for (zone, weight) in &config.zones {
        let due = zone
            .from_local_datetime(&config.day.and_hms_opt(17, 0, 0).expect("valid"))
            .single()
            .expect("17:00 exists")
            .with_timezone(&Utc);
        let barbers = config.barbers * weight / total_weight;
        let mut planned: Vec<Job> = (0..barbers)
            .map(|_| Job {
                due,
                score: config.priority.score(&PriorityInput {
                    overdue: TimeDelta::zero(),
                    net: Decimal::from(20 + rng.below(40) * rng.below(60)),
                    standing: match rng.below(10) {
                        0 => BarberStanding::Top,
                        1..=3 => BarberStanding::New,
                        _ => BarberStanding::Regular,
                    },
                    past_failures: u32::from(rng.chance(50)),
                }),
                failures: 0,
            })
            .collect();
        for page in planned.chunks_mut(config.planner_page) {
            page.sort_by_key(|job| Reverse(job.score));
        }
        night.extend(planned);
    }
    night
}

/// The earliest the last payment can be: for each wave, its start plus everything due from
/// it on at the provider's limit.
fn floor(night: &[Job], limit: u32) -> TimeDelta {
    let mut waves: BTreeMap<DateTime<Utc>, u64> = BTreeMap::new();
    for job in night {
        *waves.entry(job.due).or_default() += 1;
    }
    let first = waves.keys().next().copied();
    let total: u64 = waves.values().sum();
    let mut before = 0_u64;
    let mut latest = TimeDelta::zero();
    for (due, count) in waves {
        let rest = i64::try_from(total - before).unwrap_or(i64::MAX);
        let drain = TimeDelta::milliseconds(rest * 1000 / i64::from(limit));
        latest = latest.max(due - first.unwrap_or(due) + drain);
        before += count;
    }
    latest
}

fn seconds(delta: TimeDelta) -> f64 {
    delta.num_milliseconds() as f64 / 1000.0
}

/// Runs the scenario; deterministic for a seed.
pub async fn simulate(config: &FridayConfig) -> FridayReport {
    let started = Instant::now();
    let mut rng = SimRng::new(config.seed);
    let mut night = plan(config, &mut rng);
    let floor = floor(&night, config.provider_limit);
    let first_due = night.iter().map(|job| job.due).min().unwrap_or_default();
    let mut queue: Box<dyn NightQueue> = match config.queue {
        QueueKind::Lanes => Box::new(Lanes::default()),
        QueueKind::SentOrder => Box::new(SentOrder::default()),
        QueueKind::Priority => Box::new(Prioritised {
            queue: MemoryQueue::default(),
            pending: 0,
        }),
    };
    for (index, job) in night.iter().enumerate() {
        queue.send(job.due, index, job.score).await;
    }
    let mut provider = Provider::new(config.provider_limit);
    // The bulk's executors, then the urgent lane's own.
    let executors = config.executors_at_once();
    let mut paces: Vec<RailPace> = (0..executors)
        .map(|_| RailPace::new(config.pace.rate(Endpoint::Transfers)))
        .collect();
    let patience = config.pace.effective_patience();
    let hold = config.pace.hold_after_429;
    // Between one and two holds, as the executor spreads payouts held back together.
    let hold_ms = u64::try_from(hold.num_milliseconds()).unwrap_or(0).max(1);
    let mut events = BinaryHeap::new();
    // Invocations start as the queue's pollers find the first messages, not in step.
    for executor in 0..executors {
        let offset = TimeDelta::milliseconds(i64::try_from(rng.below(1000)).unwrap_or(0));
        events.push(Reverse((first_due + offset, Event::Free(executor))));
    }
    let (mut requests, mut rate_limited, mut held_locally, mut retried, mut failed) =
        (0, 0, 0, 0, 0);
    let mut waits: BTreeMap<PriorityClass, Vec<i64>> = BTreeMap::new();
    let mut last_paid = first_due;
    let mut last_paid_first_try = first_due;
    let mut paid_after_21_local = 0;

    let mut in_flight: Vec<Option<InFlight>> = (0..executors).map(|_| None).collect();
    while let Some(Reverse((now, event))) = events.pop() {
        match event {
            Event::Free(executor) => {
                let index = match queue.take(now, executor >= config.executors).await {
                    Ok(index) => index,
                    Err(Some(again)) => {
                        events.push(Reverse((again, Event::Free(executor))));
                        continue;
                    }
                    Err(None) => continue,
                };
                let attempt_recorded = now + config.store_write;
                let Some(slot) = paces[executor as usize].reserve(attempt_recorded, patience)
                else {
                    held_locally += 1;
                    let outcome_recorded = attempt_recorded + config.store_write;
                    let spread =
                        TimeDelta::milliseconds(i64::try_from(rng.below(hold_ms)).unwrap_or(0));
                    let score = night[index].score;
                    queue
                        .send(outcome_recorded + hold + spread, index, score)
                        .await;
                    events.push(Reverse((outcome_recorded, Event::Free(executor))));
                    continue;
                };
                requests += 1;
                let tail_ms = config.latency_tail.num_milliseconds() as f64;
                let tail = -tail_ms * (1.0 - (rng.below(1_000_000) as f64 / 1_000_000.0)).ln();
                let latency = config.latency_base + TimeDelta::milliseconds(tail as i64);
                in_flight[executor as usize] = Some(InFlight {
                    job: index,
                    answer_after: latency / 2,
                });
                events.push(Reverse((slot + latency / 2, Event::Arrives(executor))));
            }
            Event::Arrives(executor) => {
                let InFlight {
                    job: index,
                    answer_after,
                } = in_flight[executor as usize]
                    .take()
                    .expect("a transfer in flight");
                let answered = now + answer_after;
                let outcome_recorded = answered + config.store_write;
                events.push(Reverse((outcome_recorded, Event::Free(executor))));
                let job = &mut night[index];
                if !provider.admit(now) {
                    rate_limited += 1;
                    paces[executor as usize].hold_until(answered + hold);
                    let spread =
                        TimeDelta::milliseconds(i64::try_from(rng.below(hold_ms)).unwrap_or(0));
                    queue
                        .send(outcome_recorded + hold + spread, index, job.score)
                        .await;
                } else if rng.chance(config.retryable_failures_per_mille) {
                    retried += 1;
                    job.failures += 1;
                    match config.retry.after_failure(job.failures) {
                        RetryDecision::RetryAfter(delay) => {
                            queue.send(outcome_recorded + delay, index, job.score).await;
                        }
                        RetryDecision::GiveUp => failed += 1,
                    }
                } else {
                    last_paid = last_paid.max(outcome_recorded);
                    if job.failures == 0 {
                        last_paid_first_try = last_paid_first_try.max(outcome_recorded);
                    }
                    let wait = outcome_recorded - job.due;
                    if wait > EVENING {
                        paid_after_21_local += 1;
                    }
                    waits
                        .entry(config.priority.class(job.score))
                        .or_default()
                        .push(wait.num_milliseconds());
                }
            }
        }
    }

    let paid = waits.values().map(|w| w.len() as u64).sum();
    let by_priority = waits
        .into_iter()
        .rev()
        .map(|(class, mut waits)| {
            waits.sort_unstable();
            let mean = waits.iter().sum::<i64>() as f64 / waits.len().max(1) as f64 / 1000.0;
            let p99 = waits[(waits.len() * 99 / 100).min(waits.len() - 1)] as f64 / 1000.0;
            (
                class_name(class),
                ClassFigures {
                    payouts: waits.len() as u64,
                    mean_wait_s: mean,
                    p99_wait_s: p99,
                },
            )
        })
        .collect();
    let last_paid_s = seconds(last_paid - first_due);
    FridayReport {
        queue: config.queue,
        barbers: config.barbers,
        paid,
        failed,
        last_paid_s,
        last_paid_first_try_s: seconds(last_paid_first_try - first_due),
        floor_s: seconds(floor),
        over_floor_percent: (last_paid_s / seconds(floor) - 1.0) * 100.0,
        all_at_once_floor_s: config.barbers as f64 / f64::from(config.provider_limit),
        provider_requests: requests,
        rate_limited,
        rate_limited_percent: rate_limited as f64 * 100.0 / requests.max(1) as f64,
        held_back_locally: held_locally,
        retried_failures: retried,
        unpaid_at_21_local: paid_after_21_local + failed,
        by_priority,
        wall_seconds: started.elapsed().as_secs_f64(),
    }
}

fn class_name(class: PriorityClass) -> &'static str {
    match class {
        PriorityClass::Urgent => "urgent",
        PriorityClass::High => "high",
        PriorityClass::Normal => "normal",
        PriorityClass::Low => "low",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> FridayConfig {
        FridayConfig {
            barbers: 20_000,
            executors: 20,
            pace: PaceSettings {
                // The bulk's 20 executors and the urgent lane's 2.
                shares: NonZeroU32::new(22).unwrap(),
                ..FridayConfig::million().pace
            },
            ..FridayConfig::million()
        }
    }

    #[tokio::test]
    async fn everybody_is_paid_near_the_floor_with_few_refusals() {
        let report = simulate(&small()).await;
        assert_eq!(report.paid + report.failed, report.barbers);
        assert!(report.over_floor_percent < 15.0, "{report:?}");
        assert!(report.rate_limited_percent < 1.0, "{report:?}");
    }

    #[tokio::test]
    async fn serves_queue_pays_higher_priority_first() {
        let priority = simulate(&FridayConfig {
            queue: QueueKind::Priority,
            ..small()
        })
        .await;
        let mean = |report: &FridayReport, class: &str| report.by_priority[class].mean_wait_s;
        assert!(
            mean(&priority, "high") < mean(&priority, "normal"),
            "{priority:?}"
        );
        assert!(
            mean(&priority, "normal") < mean(&priority, "low"),
            "{priority:?}"
        );
        assert!(priority.over_floor_percent < 15.0, "{priority:?}");
    }

    #[tokio::test]
    async fn the_urgent_lane_pays_high_priority_first_where_one_sqs_queue_does_not() {
        let lanes = simulate(&small()).await;
        let one_queue = simulate(&FridayConfig {
            queue: QueueKind::SentOrder,
            ..small()
        })
        .await;
        let mean = |report: &FridayReport, class: &str| report.by_priority[class].mean_wait_s;
        assert!(
            mean(&lanes, "high") * 4.0 < mean(&lanes, "normal"),
            "{lanes:?}"
        );
        assert!(
            mean(&one_queue, "high") * 1.25 > mean(&one_queue, "normal"),
            "{one_queue:?}"
        );
        assert!(lanes.over_floor_percent < 15.0, "{lanes:?}");
    }

    #[tokio::test]
    async fn a_seed_replays_the_same_night() {
        let (a, b) = (simulate(&small()).await, simulate(&small()).await);
        assert_eq!(
            (a.last_paid_s, a.rate_limited, a.paid),
            (b.last_paid_s, b.rate_limited, b.paid)
        );
    }
}
