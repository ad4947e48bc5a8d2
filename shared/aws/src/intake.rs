//! The booking platform's events from EventBridge: a rule sends `ServiceCompleted` and
//! `ServiceRefunded` events to the intake queue, and the intake function applies each message
//! (an EventBridge event, whole) with [`apply_platform_event`]. A message the system will never
//! accept (malformed, or a repeat that disagrees with what was recorded) is moved to the intake
//! dead-letter queue at once with its reason and counted (`IntakeRejected`, alarmed); one that
//! may succeed later (a refund before its completion, a storage error) is reported as a batch
//! item failure, redelivered, and dead-lettered by the queue's redrive if it never does.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use chrono::{DateTime, Utc};
use payout_app::AppError;
use payout_app::platform_events::{PlatformEvent, apply_platform_event};
use payout_app::ports::Metric;
use serde::Deserialize;
use serde_json::Value;

use crate::lambda::AwsRuntime;

/// Where rejected events go, with their reason.
pub struct Rejections {
    client: Client,
    dead_letter_url: String,
}

/// The two fields of an EventBridge event this system reads.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Value,
}

impl Rejections {
    pub fn new(client: Client, dead_letter_url: impl Into<String>) -> Self {
        Self {
            client,
            dead_letter_url: dead_letter_url.into(),
        }
    }

    /// Moves `body` to the dead-letter queue, its `reason` in a message attribute.
    async fn reject(&self, body: &str, reason: &str) -> Result<(), String> {
        let reason = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(reason)
            .build()
            .map_err(|e| e.to_string())?;
        self.client
            .send_message()
            .queue_url(&self.dead_letter_url)
            .message_body(body)
            .message_attributes("reason", reason)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        Ok(())
    }
}

fn parse(body: &str) -> Result<PlatformEvent, AppError> {
    let envelope: Envelope = serde_json::from_str(body)
        .map_err(|e| AppError::Invalid(format!("not an EventBridge event: {e}")))?;
    PlatformEvent::parse(&envelope.detail_type, &envelope.detail)
}

/// One batch from the intake queue; the messages to see again are reported as failures.
pub async fn handle_intake_batch(
    runtime: &AwsRuntime,
    rejections: &Rejections,
    event: SqsEvent,
    now: DateTime<Utc>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.unwrap_or_default();
        let body = message.body.unwrap_or_default();
        let span = tracing::info_span!("platform_event", message_id = %id);
        let _entered = span.enter();
        let outcome = match parse(&body) {
            Ok(event) => apply_platform_event(&runtime.services, &event, now).await,
            Err(error) => Err(error),
        };
        let (kind, reason) = match outcome {
            Ok(applied) => {
                tracing::info!(?applied, "platform event applied");
                continue;
            }
            Err(AppError::Conflict(reason)) => ("conflict", reason),
            Err(error @ (AppError::Invalid(_) | AppError::Money(_))) => {
                ("invalid", error.to_string())
            }
            Err(error) => {
                tracing::warn!(%error, "platform event left for redelivery");
                response.add_failure(id);
                continue;
            }
        };
        tracing::warn!(kind, %reason, "platform event rejected to the dead-letter queue");
        runtime
            .services
            .metrics
            .publish(&[("Reason", kind)], &[Metric::count("IntakeRejected", 1)]);
        if let Err(error) = rejections.reject(&body, &reason).await {
            tracing::error!(%error, "cannot dead-letter the rejected event; left for redelivery");
            response.add_failure(id);
        }
    }
    response
}
