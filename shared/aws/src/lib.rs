//! The AWS adapters of the payout ports.
//!
//! - [`dynamo`]: the store (schedules, ledger, payouts, audit, lock, outbox) in one DynamoDB
//!   table, with the conditional writes the port promises; [`dynamo::table`] is the table's
//!   definition, shared by tests, `payouts-tools aws-local up` and checked against the SAM template.
//! - [`sqs`]: the job queue on SQS (with its urgent lane), delays beyond SQS's 15-minute limit
//!   included; [`event_source`], the SQS event source mapping's part, which the executor plays
//!   for the urgent lane (and tests for every queue).
//! - [`sns`]: notifications through SNS with filterable message attributes.
//! - [`emf`]: metrics as CloudWatch Embedded Metric Format log lines.
//! - [`eventbridge`]: payout events onto the platform's EventBridge bus.
//! - [`lambda`]: what the Lambda functions do with their events (thin mains call these);
//!   [`intake`]: the booking platform's events from EventBridge through the intake queue.
//! - With the `emulator` feature (tests and `payouts-tools`, never a Lambda): [`stack`], the
//!   deployment's resources created on an emulator (`payouts-tools aws-local up`), and
//!   [`counting_proxy`], which counts every request to the emulator and the items it read.
//! - [`secrets`]: secrets (and the configuration) read at init from SSM Parameter Store.
//! - [`config`]: SDK configuration (an `AWS_ENDPOINT_URL` points everything at an emulator).

pub mod config;
#[cfg(feature = "emulator")]
pub mod counting_proxy;
pub mod dynamo;
pub mod emf;
pub mod event_source;
pub mod eventbridge;
pub mod intake;
pub mod lambda;
pub mod secrets;
pub mod sns;
pub mod sqs;
#[cfg(feature = "emulator")]
pub mod stack;

pub use dynamo::DynamoStore;
pub use sns::SnsNotifier;
pub use sqs::SqsQueue;
