//! Tunables of the pipeline, with the brief's defaults.

use chrono::TimeDelta;
use payout_core::breakdown::PayoutPolicy;
use payout_core::priority::PriorityPolicy;
use payout_core::retry::RetryPolicy;

use crate::health::HealthThresholds;

#[derive(Debug, Clone)]
pub struct AppConfig {
    pub policy: PayoutPolicy,
    pub retry: RetryPolicy,
    pub priority: PriorityPolicy,
    /// How long a barber lock is held without renewal. Longer than `rail_timeout` plus the
    /// bookkeeping around it, so a lock never expires while its holder can still pay.
    pub lock_lease: TimeDelta,
    /// The longest the executor waits for the rail before treating the outcome as unknown.
    pub rail_timeout: std::time::Duration,
    /// How long a delivery waits when the barber's lock is held by another executor.
    pub busy_backoff: TimeDelta,
    /// A payout whose job should have run this long ago is re-enqueued by recovery.
    pub stale_after: TimeDelta,
    pub planner_page_size: usize,
    pub health: HealthThresholds,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            policy: PayoutPolicy::default(),
            retry: RetryPolicy::default(),
            priority: PriorityPolicy::default(),
            lock_lease: TimeDelta::minutes(5),
            rail_timeout: std::time::Duration::from_secs(60),
            busy_backoff: TimeDelta::seconds(30),
            stale_after: TimeDelta::minutes(15),
            planner_page_size: 500,
            health: HealthThresholds::default(),
        }
    }
}
