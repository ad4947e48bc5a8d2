//! The payout use cases, written once against the ports and run by every entry point: the
//! Lambda functions, `payouts serve`, `payouts demo` and the tests.
//!
//! Layers, each importing only downward (`tests/layers.rs` reads the `crate::` paths and fails
//! on a cycle or an upward import):
//!
//! 1. [`ports`] (the traits the use cases need: store with lock, queue, rail, notifier, clock)
//!    and [`error`].
//! 2. [`config`]: the tunables with the brief's defaults, intake limits, health thresholds.
//! 3. [`services`]: the ports and configuration a use case runs with.
//! 4. Use cases:
//!    - [`ingest`]: earnings and deductions in, idempotent by id, within the intake limits.
//!    - [`platform_events`]: the booking platform's completed and refunded services, as
//!      earnings recorded, voided or clawed back.
//!    - [`approval`]: which payouts wait for a second operator, and who may not approve.
//!    - [`instant_limits`]: caps on instant payouts per day; over one, a payout goes standard.
//!    - [`period`]: close one barber's period (shared by the planner and manual payouts), and
//!      what it would settle now.
//!    - [`load`]: whether the system is loaded, so low-priority payouts wait (at most
//!      `max_wait`) or not.
//!    - [`readiness`]: pay only ready accounts: payouts to a destination the provider will not
//!      pay wait on hold, and resume once it is ready again.
//!    - [`plan`]: close due periods into payouts and enqueue their jobs.
//!    - [`planner_tick`]: one planner run (plan, recover lost jobs), on a Lambda tick or in
//!      `payouts serve`'s loop.
//!    - [`planning_failure`]: a barber that could not be planned, recorded and retried with
//!      backoff.
//!    - [`lifecycle`]: the one writer of a payout's life: the lock, the attempt, and each
//!      change with its notice in one commit, counted once, whoever makes it.
//!    - [`execute`]: pay one payout exactly once (lock, record attempt, pay, record, notify).
//!    - `job_time`: each step recorded at the moment it happens (pick-up time plus the
//!      stopwatch).
//!    - [`worker`]: receive deliveries and hand them to [`execute`].
//!    - [`payout_actions`]: what people do to payouts: manual payout, retry, cancel, preview,
//!      confirm and return.
//!    - [`rails`]: bank transfer and manual rails, and the router by payment method.
//!    - [`bank_export`]: the daily bank transfer file.
//!    - [`statement`]: a payout's statement, line by line, as HTML and CSV.
//!    - [`schedule_edit`]: what a request makes of a schedule: defaults, partial changes, the
//!      cut-off rule.
//!    - [`schedule_change`]: saving a schedule; a new destination is audited and announced.
//!    - [`reconcile`]: the store compared with the payment provider; the sweep that adopts
//!      attempts whose outcome was unknown, beside the planner.
//!    - [`recovery`]: re-enqueue payouts whose job was lost.
//!    - [`notify`]: tell the barber once per event, delivered at least once.
//!    - [`payout_events`]: payout state changes out to the platform, from the store's outbox.
//!    - [`forecast`]: what the coming days' runs would pay, and what the platform must fund.
//!    - [`advance_notice`]: tell the barber ahead of a scheduled run what to expect.
//!    - [`webhooks`]: Stripe webhook verification and the events it applies.
//! 5. Read models: [`insights`] (analytics and schedule recommendations), [`health`] (the
//!    brief's alert thresholds over the last hour), [`year_summary`] (a barber's year by month
//!    of payment, the tax-year report), [`payout_export`] (every payout of a window as CSV
//!    rows or journal lines for the books) and [`totals_check`] (the totals the store keeps
//!    with every payout change, recounted from the records).
//!
//! The HTTP API over them is the `payout-http` crate, so the planner and executor link no web
//! framework; this crate's `openapi` feature gives the read models their schemas for it.

pub mod advance_notice;
pub mod approval;
pub mod bank_export;
pub mod config;
pub mod error;
pub mod execute;
pub mod forecast;
pub mod health;
pub mod ingest;
pub mod insights;
pub mod instant_limits;
mod job_time;
pub mod lifecycle;
pub mod load;
pub mod notify;
pub mod payout_actions;
pub mod payout_events;
pub mod payout_export;
pub mod period;
pub mod plan;
pub mod planner_tick;
pub mod planning_failure;
pub mod platform_events;
pub mod ports;
pub mod rails;
pub mod readiness;
pub mod reconcile;
pub mod recovery;
pub mod schedule_change;
pub mod schedule_edit;
pub mod services;
pub mod statement;
pub mod totals_check;
pub mod webhooks;
pub mod worker;
pub mod year_summary;

pub use config::AppConfig;
pub use error::AppError;
pub use services::Services;
