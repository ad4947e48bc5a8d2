//! The SQS event source mapping's part: receive a batch shaped as the event Lambda invokes a
//! function with, and delete what the function did not report as failed. The executor plays it
//! for its urgent lane; the emulator tests and the cost measurement play it for every queue (on
//! AWS, Lambda's own poller does it for the queues the template wires).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use payout_app::ports::QueueError;

fn failed(e: &dyn std::fmt::Display) -> QueueError {
    QueueError(e.to_string())
}

/// One receive as the SQS event source mapping makes it (up to 10 messages), shaped as the
/// event it invokes the function with, and each message's (id, receipt handle) to delete after.
pub async fn receive_as_event_source(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<(SqsEvent, Vec<(String, String)>), QueueError> {
    let output = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| failed(&DisplayErrorContext(e)))?;
    let arn = queue_arn(sqs, queue_url);
    let mut handles = Vec::new();
    let records: Vec<serde_json::Value> = output
        .messages()
        .iter()
        .map(|m| {
            let id = m.message_id().unwrap_or_default().to_string();
            handles.push((
                id.clone(),
                m.receipt_handle().unwrap_or_default().to_string(),
            ));
            serde_json::json!({"messageId": id, "receiptHandle": m.receipt_handle(),
                "body": m.body(), "attributes": m.attributes().map(|attributes| attributes
                    .iter()
                    .map(|(name, value)| (name.as_str().to_string(), value.clone()))
                    .collect::<std::collections::BTreeMap<_, _>>()),
                "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": arn})
        })
        .collect();
    let event =
        serde_json::from_value(serde_json::json!({"Records": records})).map_err(|e| failed(&e))?;
    Ok((event, handles))
}

/// The queue's ARN as an event carries it, from its URL (`https://host/account/name`).
fn queue_arn(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> String {
    let mut path = queue_url.rsplit('/');
    let name = path.next().unwrap_or_default();
    let account = path.next().unwrap_or_default();
    let region = sqs
        .config()
        .region()
        .map(|r| r.as_ref())
        .unwrap_or("us-east-1");
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// Deletes the received messages the function did not report as failed, as the event source
/// does after an invocation.
pub async fn delete_handled(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    handles: &[(String, String)],
    response: &SqsBatchResponse,
) -> Result<(), QueueError> {
    let entries = handles
        .iter()
        .filter(|(id, _)| {
            !response
                .batch_item_failures
                .iter()
                .any(|failure| failure.item_identifier == *id)
        })
        .map(|(id, handle)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(id)
                .receipt_handle(handle)
                .build()
                .map_err(|e| failed(&e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if entries.is_empty() {
        return Ok(());
    }
    let output = sqs
        .delete_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| failed(&DisplayErrorContext(e)))?;
    match output.failed().first() {
        Some(failure) => Err(QueueError(format!(
            "{} messages not deleted: {}",
            output.failed().len(),
            failure.message().unwrap_or("no reason given")
        ))),
        None => Ok(()),
    }
}
