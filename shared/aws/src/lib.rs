//! The AWS adapters of the payout ports.
//!
//! - [`dynamo`]: the store (schedules, ledger, payouts, audit, lock, outbox) in one DynamoDB
//!   table, with the conditional writes the port promises; [`dynamo::table`] is the table's
//!   definition, shared by tests, `payouts aws-local up` and checked against the SAM template.
//! - [`sqs`]: the job queue on SQS, delays beyond SQS's 15-minute limit included.
//! - [`config`]: SDK configuration (an `AWS_ENDPOINT_URL` points everything at an emulator).

pub mod config;
pub mod dynamo;
pub mod sqs;

pub use dynamo::DynamoStore;
pub use sqs::SqsQueue;
