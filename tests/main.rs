//! The integration tests, one binary (each test binary links the whole workspace and the AWS
//! SDK, so one link instead of thirteen), one concern per module:
//!
//! - Contract suites, one per port (store, queue, rail, notifier), run on every adapter:
//!   [`contracts_embedded`] (SQLite, the in-process queue, the simulated rail, the log
//!   notifier), [`contracts_aws`] (DynamoDB, SQS and SNS on moto's server), [`stripe_rail`]
//!   (the Stripe rail on the project's Stripe fake).
//! - The SQLite store on a multi-threaded runtime: [`embedded_store`].
//! - The pipeline: [`pipeline`] (duplicates, racing executors, a flaky rail), [`operator`]
//!   (manual payouts, retry, cancel), [`notifications`], [`health`], [`poison`] (one bad barber
//!   among healthy ones).
//! - The AWS shape: [`aws_pipeline`] (the handlers on moto), [`platform_events_aws`] (the
//!   platform's events from an EventBridge rule through the intake queue), [`bootstrap`] (the
//!   five Lambda bootstraps behind a Runtime API, driven with AWS's events), [`infra_drift`]
//!   (the template and the local stack agree).
//! - The deterministic simulation under faults: [`chaos`], [`chaos_dynamodb`].
//! - What the barber and the accountant read agrees with the payouts: [`books`] (a property
//!   over generated ledgers).
//! - The REST API as a black box: [`api`]; the platform's event contract: [`event_schemas`];
//!   what its reads cost as the table grows: [`request_budget`].
//!
//! The shared rig (moto, the Stripe fake, scenarios, the contract functions) is the crate's
//! library, `support/`.

mod api;
mod aws_pipeline;
mod books;
mod bootstrap;
mod chaos;
mod chaos_dynamodb;
mod contracts_aws;
mod contracts_embedded;
mod embedded_store;
mod event_schemas;
mod health;
mod infra_drift;
mod notifications;
mod operator;
mod pipeline;
mod platform_events_aws;
mod poison;
mod request_budget;
mod stripe_rail;
