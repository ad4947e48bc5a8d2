//! Barbers the planner could not plan: each failure is recorded against the barber with its
//! reason, counted, and retried with backoff, so one bad record never stops the others.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use payout_core::ids::BarberId;

use crate::error::AppError;
use crate::ports::{Metric, PlanningFailure};
use crate::services::Services;

/// Records that planning `barber` failed, leaving it alone for the configured backoff,
/// doubled per failure in a row up to its maximum.
pub async fn record_planning_failure(
    p: &Services,
    barber: &BarberId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<PlanningFailure, AppError> {
    let previous = p
        .store
        .planning_failure(barber)
        .await?
        .map_or(0, |failure| failure.failures);
    let backoff = (0..previous.min(16))
        .fold(p.config.planning_backoff, |delay, _| delay * 2)
        .min(p.config.planning_backoff_max);
    let failure = p
        .store
        .record_planning_failure(barber, reason, now, now + backoff)
        .await?;
    tracing::error!(%barber, reason, failures = failure.failures, retry_at = %failure.retry_at,
        "planning this barber failed; the others go on");
    p.metrics
        .publish(&[], &[Metric::count("PlanningFailures", 1)]);
    Ok(failure)
}

/// The most planning failures read at once; past this many, the rest are simply tried again
/// each run (still one at a time, still isolated).
const READ_LIMIT: usize = 1000;

/// The barbers whose planning is failing, by barber.
pub async fn planning_failures_by_barber(
    p: &Services,
) -> Result<HashMap<BarberId, PlanningFailure>, AppError> {
    Ok(p.store
        .planning_failures(READ_LIMIT)
        .await?
        .into_iter()
        .map(|failure| (failure.barber_id.clone(), failure))
        .collect())
}
