//! Whether the system is loaded, for the priority policy: low-priority payouts planned on a
//! loaded system wait up to `max_wait`; on an idle one nobody waits.
//!
//! Loaded means either signal: the rail held a transfer back (its pace full, or the provider's
//! 429) within `rate_limited_within`, where the process can see it (`payouts serve`; the
//! planner's Lambda cannot see the executors', so there only the queue speaks); or more jobs
//! ready to run than the executors clear in `max_wait` at the rail's rate (a saturated rail
//! leaves them piling up).

use chrono::{DateTime, Utc};
use payout_core::pace::Endpoint;
use payout_core::priority::{Deferral, SystemLoad};

use crate::services::Services;

/// The longest planning waits to learn the queue's depth: a page is not held up by a count.
const MEASURE_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

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
    let transfers = p.config.rail_pace.limits.effective(Endpoint::Transfers);
    let cleared_in_max_wait = u64::from(transfers.get())
        .saturating_mul(u64::try_from(max_wait.num_seconds()).unwrap_or(0));
    match tokio::time::timeout(MEASURE_WITHIN, p.queue.ready(now)).await {
        Ok(Ok(ready)) if ready > cleared_in_max_wait => SystemLoad::Loaded,
        Ok(Ok(_)) => SystemLoad::Idle,
        Ok(Err(error)) => {
            tracing::warn!(%error, "could not count the jobs ready to run; planning as idle");
            SystemLoad::Idle
        }
        Err(_) => {
            tracing::warn!(
                "the queue did not say how many jobs are ready in time; planning as idle"
            );
            SystemLoad::Idle
        }
    }
}
