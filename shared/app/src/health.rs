//! Is the scheduler working? The brief's alert thresholds (failure rate, webhook failure rate,
//! processing time, daily volume drop) and the pipeline's own (planner silent or behind, dead
//! letters), the same rules as the CloudWatch alarms of the SAM template.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use payout_core::status::PayoutStatus;
use payout_core::totals::Bucket;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::Serialize;

use crate::error::AppError;
use crate::plan::{PLANNER, planner_lag};
use crate::ports::{PayoutQuery, PlanningFailure, QueueDepth};
use crate::services::Services;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub name: String,
    pub message: String,
    pub value: String,
    pub threshold: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
/// The UTC hours that overlap the last hour (the current one and the one before), from the
/// kept totals.
pub struct WindowStats {
    /// Payouts paid (completed or in transit) in those hours.
    pub completed: u64,
    /// Changes into `failed` in those hours.
    pub failed: u64,
    pub failure_rate: Option<String>,
    pub success_rate: Option<String>,
    pub average_processing_seconds: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueHealth {
    pub waiting: u64,
    pub in_flight: u64,
    pub dead_letter: u64,
    /// How long the oldest job ready to run has waited (not reported by SQS here).
    pub oldest_ready_seconds: Option<String>,
}

impl From<QueueDepth> for QueueHealth {
    fn from(depth: QueueDepth) -> Self {
        Self {
            waiting: depth.waiting,
            in_flight: depth.in_flight,
            dead_letter: depth.dead_letter,
            oldest_ready_seconds: depth
                .oldest_ready_ms
                .map(|ms| fraction(Decimal::from(ms) / dec!(1000))),
        }
    }
}

/// A barber the planner could not plan, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanningFailureView {
    pub barber_id: String,
    pub reason: String,
    /// Failures in a row.
    pub failures: u32,
    pub first_failed_at: DateTime<Utc>,
    /// When the planner tries this barber again.
    pub retry_at: DateTime<Utc>,
}

impl From<&PlanningFailure> for PlanningFailureView {
    fn from(f: &PlanningFailure) -> Self {
        Self {
            barber_id: f.barber_id.to_string(),
            reason: f.reason.clone(),
            failures: f.failures,
            first_failed_at: f.first_failed_at,
            retry_at: f.retry_at,
        }
    }
}

/// The most planning failures a health report lists.
const LISTED_PLANNING_FAILURES: usize = 100;
/// The most overdue approvals counted (the alert says "at least" past this).
const LISTED_OVERDUE_APPROVALS: usize = 100;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// healthy or unhealthy.
    pub status: String,
    pub checked_at: DateTime<Utc>,
    pub last_planner_run: Option<DateTime<Utc>>,
    /// How long the oldest due schedule has waited for the planner (0 when none is due).
    pub planner_lag_seconds: i64,
    pub queue: QueueHealth,
    pub last_hour: WindowStats,
    pub alerts: Vec<Alert>,
    /// Barbers the planner could not plan (the first 100), each retried with backoff.
    pub planning_failures: Vec<PlanningFailureView>,
    pub payouts_by_status: BTreeMap<String, u64>,
    /// Payouts created in the last 24 hours and in the 24 hours before.
    pub payouts_created_today: u64,
    pub payouts_created_yesterday: u64,
    /// The operational figures of the last hour, where this process keeps them.
    pub metrics_last_hour: Option<BTreeMap<String, i64>>,
}

impl HealthReport {
    pub fn is_healthy(&self) -> bool {
        self.alerts.is_empty()
    }
}

/// What anybody may know of the scheduler's health (the public route, polled by uptime
/// monitors): whether the planner runs and whether jobs are stuck, from a fixed number of reads
/// whatever the table holds; nothing of any barber or amount. The full report is an
/// operator's ([`check_health`]).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Liveness {
    /// healthy or unhealthy.
    pub status: String,
    pub checked_at: DateTime<Utc>,
    /// running, silent or never_run.
    pub planner: String,
    /// ok, or dead_letters when jobs reached the dead-letter queue.
    pub queue: String,
    /// ok, or failing when a barber could not be planned (which the operators' report names).
    pub planning: String,
}

impl Liveness {
    pub fn is_healthy(&self) -> bool {
        self.status == "healthy"
    }
}

/// The public liveness: the planner's heartbeat, the queue's depth and whether any barber's
/// planning is failing (three reads on SQLite; a GetItem, a one-item Query and the queues'
/// attributes on AWS).
pub async fn check_liveness(p: &Services, now: DateTime<Utc>) -> Result<Liveness, AppError> {
    let last_planner_run = p.store.last_heartbeat(PLANNER).await?;
    let queue = p.queue.depth(now).await?;
    let planning = if p.store.planning_failures(1).await?.is_empty() {
        "ok"
    } else {
        "failing"
    };
    let planner = match (last_planner_run, planner_silence(p, last_planner_run, now)) {
        (_, None) => "running",
        (Some(_), Some(_)) => "silent",
        (None, Some(_)) => "never_run",
    };
    let queue = if queue.dead_letter > 0 {
        "dead_letters"
    } else {
        "ok"
    };
    let healthy = planner == "running" && queue == "ok" && planning == "ok";
    Ok(Liveness {
        status: if healthy { "healthy" } else { "unhealthy" }.to_string(),
        checked_at: now,
        planner: planner.to_string(),
        queue: queue.to_string(),
        planning: planning.to_string(),
    })
}

/// The planner_silent alert, when the planner's last run is too long ago (or never was).
fn planner_silence(
    p: &Services,
    last_planner_run: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Alert> {
    let threshold = p.config.health.planner_silence;
    match last_planner_run {
        Some(at) if now - at <= threshold => None,
        Some(at) => Some(Alert {
            name: "planner_silent".into(),
            message: "the planner has not run recently; due payouts are not being planned".into(),
            value: format!("{}s", (now - at).num_seconds()),
            threshold: format!("{}s", threshold.num_seconds()),
        }),
        None => Some(Alert {
            name: "planner_silent".into(),
            message: "the planner has never run".into(),
            value: "never".into(),
            threshold: format!("{}s", threshold.num_seconds()),
        }),
    }
}

fn fraction(value: Decimal) -> String {
    value.round_dp(4).normalize().to_string()
}

pub async fn check_health(p: &Services, now: DateTime<Utc>) -> Result<HealthReport, AppError> {
    let thresholds = &p.config.health;
    let last_planner_run = p.store.last_heartbeat(PLANNER).await?;
    let queue = p.queue.depth(now).await?;
    // The last hour: the UTC hours it overlaps, read from the kept totals.
    let hours = [
        Bucket::hour_of(now - TimeDelta::hours(1)),
        Bucket::hour_of(now),
    ];
    let kept = p.store.totals(&hours).await?;
    let sum = |counter: &str| -> u64 {
        let total: i64 = hours.iter().map(|hour| kept.get(hour, counter)).sum();
        u64::try_from(total).unwrap_or_default()
    };
    let (completed, failed, processed) = (sum("paid"), sum("failed"), sum("processed"));
    let finished = completed + failed;
    let failure_rate = (finished > 0).then(|| Decimal::from(failed) / Decimal::from(finished));
    let average_processing = (processed > 0)
        .then(|| Decimal::from(sum("processing_ms")) / Decimal::from(processed) / dec!(1000));

    let mut alerts: Vec<Alert> = planner_silence(p, last_planner_run, now)
        .into_iter()
        .collect();
    if let Some(rate) = failure_rate
        && rate > thresholds.failure_rate
    {
        alerts.push(Alert {
            name: "failure_rate".into(),
            message: "payment failure rate over the last hour is above the threshold".into(),
            value: fraction(rate),
            threshold: fraction(thresholds.failure_rate),
        });
    }
    let limit = Decimal::from(thresholds.processing_time.num_milliseconds()) / dec!(1000);
    if let Some(average) = average_processing
        && average > limit
    {
        alerts.push(Alert {
            name: "processing_time".into(),
            message: "average payout processing time over the last hour is above the threshold"
                .into(),
            value: format!("{}s", fraction(average)),
            threshold: format!("{}s", fraction(limit)),
        });
    }
    let planner_lag = planner_lag(p, now).await?;
    if planner_lag > thresholds.planner_silence {
        alerts.push(Alert {
            name: "planner_lag".into(),
            message: "a due schedule has waited too long for the planner".into(),
            value: format!("{}s", planner_lag.num_seconds()),
            threshold: format!("{}s", thresholds.planner_silence.num_seconds()),
        });
    }
    let planning_failures = p.store.planning_failures(LISTED_PLANNING_FAILURES).await?;
    if !planning_failures.is_empty() {
        alerts.push(Alert {
            name: "planning_failures".into(),
            message: "some barbers could not be planned; see planning_failures for why".into(),
            value: planning_failures.len().to_string(),
            threshold: "0".into(),
        });
    }
    let metrics = p.metrics.totals_since(now - TimeDelta::hours(1));
    if let Some(metrics) = &metrics {
        let figure = |name| Decimal::from(metrics.get(name).copied().unwrap_or_default());
        let abandoned = figure("NotificationsAbandoned");
        if abandoned > Decimal::ZERO {
            alerts.push(Alert {
                name: "notifications_abandoned".into(),
                message: "notices could not be delivered after every retry".into(),
                value: abandoned.to_string(),
                threshold: "0".into(),
            });
        }
        let received = figure("WebhooksReceived");
        if received > Decimal::ZERO {
            let rate = figure("WebhooksFailed") / received;
            if rate > thresholds.webhook_failure_rate {
                alerts.push(Alert {
                    name: "webhook_failure_rate".into(),
                    message: "webhook failure rate over the last hour is above the threshold"
                        .into(),
                    value: fraction(rate),
                    threshold: fraction(thresholds.webhook_failure_rate),
                });
            }
        }
    }
    let day = TimeDelta::days(1);
    let today = p.store.count_payouts_created(now - day, now).await?;
    let yesterday = p
        .store
        .count_payouts_created(now - day * 2, now - day)
        .await?;
    if yesterday > 0
        && Decimal::from(today) < Decimal::from(yesterday) * thresholds.daily_volume_floor
    {
        alerts.push(Alert {
            name: "daily_volume_drop".into(),
            message: "payouts created in the last day fell by more than half from the day before"
                .into(),
            value: format!("{today} vs {yesterday}"),
            threshold: fraction(thresholds.daily_volume_floor),
        });
    }
    if queue.dead_letter > 0 {
        alerts.push(Alert {
            name: "dead_letters".into(),
            message: "jobs reached the dead-letter queue; inspect and replay them".into(),
            value: queue.dead_letter.to_string(),
            threshold: "0".into(),
        });
    }
    let counts = p.store.count_by_status().await?;
    let awaiting = counts
        .iter()
        .find(|(status, _)| *status == PayoutStatus::AwaitingApproval)
        .map_or(0, |(_, count)| *count);
    // Read only when some payout waits: the oldest are those created before the limit.
    if awaiting > 0 {
        let expire_after = p.config.approvals.expire_after;
        let overdue = PayoutQuery {
            status: Some(PayoutStatus::AwaitingApproval),
            to: Some(now - expire_after),
            ..PayoutQuery::default()
        };
        let overdue = p
            .store
            .list_payouts(&overdue, LISTED_OVERDUE_APPROVALS)
            .await?;
        if !overdue.is_empty() {
            alerts.push(Alert {
                name: "approvals_waiting".into(),
                message: "payouts have waited for a second operator's approval too long".into(),
                value: overdue.len().to_string(),
                threshold: format!("{}s", expire_after.num_seconds()),
            });
        }
    }
    let payouts_by_status = counts
        .into_iter()
        .map(|(status, count)| (status.to_string(), count))
        .collect();
    Ok(HealthReport {
        status: if alerts.is_empty() {
            "healthy"
        } else {
            "unhealthy"
        }
        .to_string(),
        checked_at: now,
        last_planner_run,
        planner_lag_seconds: planner_lag.num_seconds(),
        queue: queue.into(),
        last_hour: WindowStats {
            completed,
            failed,
            failure_rate: failure_rate.map(fraction),
            success_rate: failure_rate.map(|rate| fraction(Decimal::ONE - rate)),
            average_processing_seconds: average_processing.map(fraction),
        },
        alerts,
        planning_failures: planning_failures
            .iter()
            .map(PlanningFailureView::from)
            .collect(),
        payouts_by_status,
        payouts_created_today: today,
        payouts_created_yesterday: yesterday,
        metrics_last_hour: metrics.map(|totals| {
            totals
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect()
        }),
    })
}
