//! Shared pieces of the black-box tests.
//!
//! - [`world`]: a fresh embedded pipeline on a temporary SQLite file, with helpers to add
//!   barbers and earnings, and fault-injecting wrappers (duplicating queue, slow rail).
//! - [`app`]: `spawn_app`, the whole service on a free port, and an HTTP client for it.
//! - [`served`]: the real `payouts serve` binary on a free port, for black-box tests.
//! - [`issuer`]: an OpenID Connect issuer (signed tokens, its JWKS on a free port) and API
//!   Gateway's JWT authorizer in front of it.
//! - [`emulator`]: an emulator process on a free port, killed by PID ([`moto`] is one);
//!   [`sinks`]: the SMTP sink and the SMS provider fake the notice tests read.
//! - [`aws_events`]: API Gateway, SQS and Scheduler events as AWS shapes them.
//! - [`lambda`]: a Lambda bootstrap run as Lambda runs it, behind a Runtime API of the test's.
//! - [`scenarios`]: whole-pipeline scenarios run on more than one store.
//! - [`contract`]: the store contract suite, one set of checks every `Store` adapter must
//!   pass (SQLite here; DynamoDB runs the same functions).
//! - [`queue_contract`]: the same for every `JobQueue` (the in-process queue and SQS).
//! - [`rail_contract`]: the same for every rail that moves money itself (the simulated
//!   provider and the Stripe rail on the fake).
//! - [`notifier_contract`]: the same for every notifier (the log and SNS), reading back what
//!   each delivered through [`inboxes`].
//! - [`suites`]: each suite's list of checks, expanded into tests for one adapter by a macro.

pub mod app;
pub mod aws_events;
pub mod contract;
pub mod emulator;
pub mod fake_stripe;
pub mod inboxes;
pub mod issuer;
pub mod lambda;
pub mod moto;
pub mod notifier_contract;
pub mod queue_contract;
pub mod rail_contract;
pub mod scenarios;
pub mod served;
pub mod sinks;
pub mod suites;
pub mod world;
