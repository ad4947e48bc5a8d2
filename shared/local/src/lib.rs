//! The embedded default: every port implemented in one process with no cloud account.
//!
//! - [`sqlite`]: the store (schedules, ledger, payouts, audit, lock, outbox) on a SQLite file
//!   in WAL mode, with the same conditional-write semantics as the DynamoDB adapter.
//! - [`memory_queue`]: an in-process delay queue with visibility timeouts and redelivery.
//! - [`simulated_rail`]: a payment rail with deterministic failure injection, Stripe-like
//!   idempotency keys, and its own ledger of transfers to check the store against.
//! - [`webhooks_out`]: payout events to the platform as signed webhooks.
//! - [`notices`]: notices by email (SMTP), SMS (an HTTP provider) or to the log.
//! - [`metrics_window`]: the last two days of operational figures, for `/health`.
//! - [`bench`]: the end-to-end benchmark against the storage floor.
//! - [`chaos`]: the deterministic fault-injection simulation of the whole pipeline.
//! - [`friday`]: a million barbers due at 17:00 against the provider's rate limit, simulated.
//! - [`demo`]: a simulated month of a barbershop marketplace, end to end.
//! - [`runtime`]: `payouts serve`: planner timer, executor workers and the HTTP API;
//!   [`serve_auth`]: its callers' tokens (its own HS256 secret or an OIDC issuer's keys).

pub mod bench;
pub mod chaos;
pub mod demo;
pub mod friday;
pub mod memory_queue;
pub mod metrics_window;
pub mod notices;
pub mod runtime;
pub mod serve_auth;
pub mod simulated_rail;
pub mod sqlite;
pub mod webhooks_out;

pub use memory_queue::MemoryQueue;
pub use metrics_window::MetricsWindow;
pub use notices::log::LogNotifier;
pub use simulated_rail::{FailurePlan, SimulatedRail};
pub use sqlite::SqliteStore;
