//! The SQS event source mapping's part, played by the emulator tests and the cost measurement
//! (on AWS, Lambda's own poller receives the jobs and invokes the executor).

use aws_lambda_events::event::sqs::SqsEvent;

/// One receive as the SQS event source mapping makes it (up to 10 messages), shaped as the
/// event it invokes the executor with, and each message's (id, receipt handle) to delete after.
pub async fn receive_as_event_source(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<(SqsEvent, Vec<(String, String)>), payout_app::ports::QueueError> {
    let failed = |e: &dyn std::fmt::Display| payout_app::ports::QueueError(e.to_string());
    let output = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| failed(&aws_sdk_sqs::error::DisplayErrorContext(e)))?;
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
                "messageAttributes": {}, "eventSource": "aws:sqs"})
        })
        .collect();
    let event =
        serde_json::from_value(serde_json::json!({"Records": records})).map_err(|e| failed(&e))?;
    Ok((event, handles))
}
