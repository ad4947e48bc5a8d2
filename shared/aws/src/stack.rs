//! The resources of a deployment, created on an emulator (moto's server, LocalStack) from the
//! same figures `infra/template.yaml` declares; a test reads the template and compares them.

use aws_sdk_sqs::types::QueueAttributeName;
use payout_app::ports::StoreError;

use crate::dynamo::table::create_table;
use crate::lambda::Resources;

/// The executor's timeout in the template (seconds).
pub const EXECUTOR_TIMEOUT_SECONDS: u32 = 60;
/// AWS recommends a visibility timeout of at least six times the function timeout.
pub const JOB_VISIBILITY_SECONDS: u32 = 6 * EXECUTOR_TIMEOUT_SECONDS;
/// Receives before a job moves to the dead-letter queue; at least 5, so that deferrals and
/// retries never push a healthy job there.
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// How long dead letters are kept (the SQS maximum, 14 days).
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 14 * 24 * 60 * 60;

/// Names of one stack's resources.
#[derive(Debug, Clone)]
pub struct StackNames {
    pub table: String,
    pub job_queue: String,
    pub urgent_job_queue: String,
    pub dead_letter_queue: String,
    pub topic: String,
}

impl StackNames {
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            table: format!("{prefix}-payouts"),
            job_queue: format!("{prefix}-payout-jobs"),
            urgent_job_queue: format!("{prefix}-payout-urgent-jobs"),
            dead_letter_queue: format!("{prefix}-payout-jobs-dlq"),
            topic: format!("{prefix}-payout-notifications"),
        }
    }
}

fn failed(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("{what}: {error}"))
}

/// Creates the table, the job queue and its urgent lane with their dead-letter queue and
/// redrive policy, and the notification topic. `visibility_seconds` overrides the job queue's visibility (tests use a
/// short one to see redeliveries quickly).
pub async fn create_stack(
    sdk: &aws_config::SdkConfig,
    names: &StackNames,
    visibility_seconds: Option<u32>,
) -> Result<Resources, StoreError> {
    create_table(&aws_sdk_dynamodb::Client::new(sdk), &names.table).await?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dead_letter_url = sqs
        .create_queue()
        .queue_name(&names.dead_letter_queue)
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            DEAD_LETTER_RETENTION_SECONDS.to_string(),
        )
        .send()
        .await
        .map_err(|e| {
            failed(
                "create dead-letter queue",
                aws_sdk_sqs::error::DisplayErrorContext(e),
            )
        })?
        .queue_url
        .unwrap_or_default();
    let dead_letter_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            failed(
                "read dead-letter queue",
                aws_sdk_sqs::error::DisplayErrorContext(e),
            )
        })?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    });
    let visibility = visibility_seconds.unwrap_or(JOB_VISIBILITY_SECONDS);
    let queue_url = create_job_queue(&sqs, &names.job_queue, visibility, &redrive).await?;
    let urgent_queue_url =
        create_job_queue(&sqs, &names.urgent_job_queue, visibility, &redrive).await?;
    let topic_arn = aws_sdk_sns::Client::new(sdk)
        .create_topic()
        .name(&names.topic)
        .send()
        .await
        .map_err(|e| failed("create topic", aws_sdk_sns::error::DisplayErrorContext(e)))?
        .topic_arn
        .unwrap_or_default();
    Ok(Resources {
        table: names.table.clone(),
        queue_url,
        urgent_queue_url: Some(urgent_queue_url),
        dead_letter_url,
        topic_arn,
    })
}

/// A lane of the job queue, dead-lettering by `redrive`.
async fn create_job_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility_seconds: u32,
    redrive: &serde_json::Value,
) -> Result<String, StoreError> {
    Ok(sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_seconds.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|e| {
            failed(
                "create job queue",
                aws_sdk_sqs::error::DisplayErrorContext(e),
            )
        })?
        .queue_url
        .unwrap_or_default())
}
