//! Configuration: what the use cases run with ([`AppConfig`]), the file's shape ([`file`]) and
//! how it is read and checked ([`load`]). The defaults are the brief's, in one place: the
//! file's sections (over the domain's own policies); [`AppConfig::default`] is those checked.

pub mod file;
pub mod load;
pub mod locate;

use chrono::{NaiveTime, TimeDelta};
use payout_core::breakdown::PayoutPolicy;
use payout_core::hold::HoldDays;
use payout_core::priority::PriorityPolicy;
use payout_core::retry::RetryPolicy;
use rust_decimal::Decimal;

pub use file::Settings;
pub use load::{ConfigError, load};

/// The longest advance notice a schedule may ask for: two weeks.
pub const MAX_ADVANCE_NOTICE_HOURS: u32 = 24 * 14;

#[derive(Debug, Clone)]
pub struct AppConfig {
    pub policy: PayoutPolicy,
    pub retry: RetryPolicy,
    pub priority: PriorityPolicy,
    /// A transfer held back by the rail (its pace full, or a 429) this recently means the
    /// system is loaded, for the priority policy's deferral.
    pub rate_limited_within: TimeDelta,
    /// How long a barber lock is held without renewal. Longer than `rail_timeout` plus the
    /// bookkeeping around it, so a lock never expires while its holder can still pay.
    pub lock_lease: TimeDelta,
    /// The longest the executor waits for the rail before treating the outcome as unknown.
    pub rail_timeout: std::time::Duration,
    /// How fast this process may send transfers (one share of the deployment's rate), and how
    /// long a 429 holds it and the payout back.
    pub rail_pace: payout_core::pace::PaceSettings,
    /// How long a delivery waits when the barber's lock is held by another executor.
    pub busy_backoff: TimeDelta,
    /// Kept back from an invocation's deadline to record the rail's answer and unlock.
    pub deadline_margin: TimeDelta,
    /// A payout event not delivered this long after its change is given up.
    pub events_expire_after: TimeDelta,
    /// A payout whose job should have run this long ago is re-enqueued by recovery.
    pub stale_after: TimeDelta,
    pub planner_page_size: usize,
    /// Periods of a page read and decided at the same time.
    pub planner_concurrency: usize,
    /// A barber whose planning failed is left alone for this long, doubled per further
    /// failure up to `planning_backoff_max`, while everybody else is planned.
    pub planning_backoff: TimeDelta,
    pub planning_backoff_max: TimeDelta,
    /// Waits before each further attempt to deliver a notice; when they run out the notice is
    /// given up (counted, and alerted on).
    pub notice_retry_delays: Vec<TimeDelta>,
    pub intake: IntakeLimits,
    pub health: HealthThresholds,
    pub schedule_defaults: ScheduleDefaults,
    pub approvals: ApprovalPolicy,
    pub instant: InstantLimits,
    /// A barber who has never had a payout is first paid this long after their first
    /// earning's service.
    pub first_payout_after: TimeDelta,
    /// The shop's name, at the head of its barbers' statements.
    pub shop_name: String,
    /// Where barbers reach the dashboard; the completed notice links to the payout there.
    pub dashboard_url: Option<String>,
    /// A barber paid at least this in a year is flagged in the tax-year report.
    pub tax_reporting_threshold: Decimal,
}

/// Caps on instant payouts per UTC day, in the payout's currency.
#[derive(Debug, Clone, Default)]
pub struct InstantLimits {
    pub per_barber_daily: Option<Decimal>,
    pub platform_daily: Option<Decimal>,
}

/// Which payouts wait for a second operator's approval, and for how long before it is an
/// alert.
#[derive(Debug, Clone)]
pub struct ApprovalPolicy {
    /// Payouts netting more than this, in the barber's currency.
    pub above: Option<Decimal>,
    pub first_payout_after_destination_change: bool,
    pub expire_after: TimeDelta,
}

/// What a new schedule gets when its request does not say.
#[derive(Debug, Clone)]
pub struct ScheduleDefaults {
    pub minimum_payout: Decimal,
    /// The local time of day of the cut-off.
    pub local_time: NaiveTime,
    pub advance_notice_hours: u32,
    pub hold_days: HoldDays,
}

/// What intake accepts, so every sum the planner and the stores make stays far inside `i64`
/// minor units. Amounts are in the barber's currency.
#[derive(Debug, Clone)]
pub struct IntakeLimits {
    pub max_earning: Decimal,
    pub max_deduction: Decimal,
    /// The most one payout may pay; a larger open balance is held for an operator.
    pub max_payout: Decimal,
    /// How far back an earning's `occurred_at` may lie.
    pub occurred_within_past: TimeDelta,
    /// How far ahead an earning's `occurred_at` may lie (clock skew at the booking platform).
    pub occurred_within_future: TimeDelta,
}

/// When health turns unhealthy (the brief's alert thresholds).
#[derive(Debug, Clone)]
pub struct HealthThresholds {
    /// Failed / (completed + failed) over the last hour above this fires.
    pub failure_rate: Decimal,
    /// Average processing time over the last hour above this fires.
    pub processing_time: TimeDelta,
    /// No planner run for this long, or a due schedule left waiting this long, fires.
    pub planner_silence: TimeDelta,
    /// Failed / received webhook deliveries over the last hour above this fires.
    pub webhook_failure_rate: Decimal,
    /// Payouts created in the last day below this fraction of the day before fires.
    pub daily_volume_floor: Decimal,
}

impl Default for AppConfig {
    fn default() -> Self {
        load::app_config(&Settings::default()).expect("the brief's defaults pass every rule")
    }
}
