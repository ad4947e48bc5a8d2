//! Whether the system is loaded, for the priority policy: low-priority payouts planned on a
//! loaded system wait up to `max_wait`; on an idle one nobody waits.
//!
//! Loaded means either signal: the rail held a transfer back (its pace full, or the provider's
//! 429) within `rate_limited_within`, where the process can see it (`payouts serve`; on Lambda
//! the executors' holds show in the queue instead: a held-back job waits there); or more jobs
//! waiting than the executors clear in `max_wait` at the rail's rate.

use chrono::{DateTime, Utc};
use payout_core::priority::{Deferral, SystemLoad};

use crate::services::Services;

/// The load at `now`, measured only when the policy defers by load. A measurement that fails
/// counts as idle: a barber is paid on time rather than made to wait for want of a number.
pub async fn system_load(p: &Services, now: DateTime<Utc>) -> SystemLoad {
    let Deferral::WhenLoaded { max_wait } = p.config.priority.deferral else {
        return SystemLoad::Idle;
    };
    let held_back = p
        .metrics
        .totals_since(now - p.config.rate_limited_within)
        .and_then(|totals| totals.get("PayoutsHeldBack").copied())
        .unwrap_or(0);
    if held_back > 0 {
        return SystemLoad::Loaded;
    }
    let cleared_in_max_wait = u64::from(p.config.rail_pace.rate.requests_per_second.get())
        .saturating_mul(u64::try_from(max_wait.num_seconds()).unwrap_or(0));
    match p.queue.waiting(now).await {
        Ok(waiting) if waiting > cleared_in_max_wait => SystemLoad::Loaded,
        Ok(_) => SystemLoad::Idle,
        Err(error) => {
            tracing::warn!(%error, "could not measure the queue's depth; planning as idle");
            SystemLoad::Idle
        }
    }
}
