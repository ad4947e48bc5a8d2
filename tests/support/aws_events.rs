//! Events shaped exactly as AWS delivers them to a function: API Gateway HTTP API (payload
//! 2.0) requests with the claims its JWT authorizer verified, SQS batches from received
//! messages, and EventBridge Scheduler's tick; and an executor invocation on a real batch.

use aws_sdk_sqs::types::Message;
use chrono::{DateTime, Utc};
use payout_aws::event_source::{delete_handled, receive_as_event_source};
use payout_aws::lambda::{AwsRuntime, handle_job_batch};
use serde_json::{Value, json};

pub const ROUTE_KEY: &str = "ANY /api/v1/payout-scheduler/{proxy+}";

/// An HTTP API request for `method path` (with its query) with `headers` and `body`, and the
/// claims the authorizer verified (none for a route without the authorizer).
pub fn http_request(
    method: &str,
    path: &str,
    claims: Option<Value>,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Value {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let now = Utc::now();
    let mut context = json!({
        "accountId": "123456789012", "apiId": "api1", "domainName": "api1.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "api1", "requestId": format!("req-{}", now.timestamp_nanos_opt().unwrap_or_default()),
        "routeKey": ROUTE_KEY, "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(), "timeEpoch": now.timestamp_millis(),
        "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.7", "userAgent": "curl/8"}
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let mut all_headers = json!({"content-type": "application/json",
        "host": "api1.execute-api.us-east-1.amazonaws.com"});
    for (name, value) in headers {
        all_headers[name.to_lowercase()] = json!(value);
    }
    json!({
        "version": "2.0", "routeKey": ROUTE_KEY,
        "rawPath": raw_path, "rawQueryString": query,
        "headers": all_headers,
        "requestContext": context,
        "body": body, "isBase64Encoded": false
    })
}

/// The batch the SQS event source hands the function for `messages` of the queue `queue_arn`.
pub fn sqs_batch(messages: &[Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: serde_json::Map<String, Value> = message
                .attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_string(), json!(value)))
                .collect();
            json!({
                "messageId": message.message_id(), "receiptHandle": message.receipt_handle(),
                "body": message.body(), "attributes": attributes, "messageAttributes": {},
                "md5OfBody": message.md5_of_body(), "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn, "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// EventBridge Scheduler's event for a tick at `time` (the planner's schedule).
pub fn scheduled_tick(time: DateTime<Utc>) -> Value {
    json!({
        "version": "0", "id": format!("tick-{}", time.timestamp()), "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "account": "123456789012",
        "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/payout-planner"],
        "detail": {}
    })
}

/// A Lambda invocation's deadline with the executor's timeout (60 s) ahead.
pub fn a_minute_from_now() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::TimeDelta::seconds(60)
}

/// One executor invocation over one real batch of the job queue at `url`, as the event source
/// makes it: the handler, then the deletion of what it did not report. (received, failed).
pub async fn invoke_executor(
    runtime: &AwsRuntime,
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> (usize, usize) {
    let (event, handles) = receive_as_event_source(sqs, url).await.unwrap();
    let received = handles.len();
    let response = handle_job_batch(
        runtime,
        event,
        "test-executor",
        Utc::now(),
        a_minute_from_now(),
    )
    .await;
    delete_handled(sqs, url, &handles, &response).await.unwrap();
    (received, response.batch_item_failures.len())
}
