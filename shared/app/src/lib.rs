//! The payout use cases, written once against the ports and run by every entry point: the
//! Lambda functions, `payouts serve`, `payouts demo` and the tests.
//!
//! - [`ports`]: the traits the use cases need (store with lock, queue, rail, notifier, clock).
//! - [`pipeline`]: the ports and configuration bundled for the use cases.
//! - [`ingest`]: earnings and deductions in, idempotent by id.
//! - [`plan`]: close due periods into payouts and enqueue their jobs.
//! - [`planning_failure`]: a barber that could not be planned, recorded and retried with backoff.
//! - [`period`]: close one barber's period (shared by the planner and manual payouts).
//! - [`execute`]: pay one payout exactly once (lock, record attempt, pay, record, notify).
//! - [`operator`]: manual payout, retry and cancel.
//! - [`rails`]: bank transfer and manual rails, and the router by payment method.
//! - [`bank_export`]: the daily bank transfer file.
//! - [`schedule_change`]: saving a changed schedule; a new destination is audited and announced.
//! - [`reconcile`]: the store compared with the payment provider.
//! - [`recovery`]: re-enqueue payouts whose job was lost.
//! - [`worker`]: receive deliveries and hand them to [`execute`].
//! - [`notify`]: tell the barber, at most once per event.
//! - [`advance_notice`]: tell the barber ahead of a scheduled run what to expect.
//! - [`insights`]: analytics and schedule recommendations from payout history.
//! - [`health`]: the brief's alert thresholds over the last hour.
//! - [`webhooks`]: Stripe webhook verification and the events it applies.
//! - [`http`]: the axum router, its auth, wire types and the OpenAPI document.

pub mod advance_notice;
pub mod bank_export;
pub mod config;
pub mod error;
pub mod execute;
pub mod health;
pub mod http;
pub mod ingest;
pub mod insights;
pub mod notify;
pub mod operator;
pub mod period;
pub mod pipeline;
pub mod plan;
pub mod planning_failure;
pub mod ports;
pub mod rails;
pub mod reconcile;
pub mod recovery;
pub mod schedule_change;
pub mod webhooks;
pub mod worker;

pub use config::AppConfig;
pub use error::AppError;
pub use pipeline::Pipeline;
