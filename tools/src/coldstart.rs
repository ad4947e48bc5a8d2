//! `payouts-tools coldstart BINARY...`: each Lambda bootstrap started the way Lambda starts it,
//! against a minimal Runtime API on 127.0.0.1, measuring the time from exec to its first
//! `GET /runtime/invocation/next` (init) and the first invocation's latency (event handed out
//! to response posted). The same server answers the AWS calls an invocation makes with empty
//! results, so nothing leaves the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;

const RUNS: usize = 10;
const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

#[derive(Default)]
struct Timings {
    first_next: Option<Instant>,
    response: Option<Instant>,
    handed_out: bool,
}

#[derive(Clone)]
struct FakeLambda {
    event: Arc<Value>,
    timings: Arc<Mutex<Timings>>,
    answered: Arc<Notify>,
}

async fn next(State(fake): State<FakeLambda>) -> axum::response::Response {
    let first = {
        let mut timings = fake.timings.lock();
        timings.first_next.get_or_insert_with(Instant::now);
        !std::mem::replace(&mut timings.handed_out, true)
    };
    if !first {
        // The function waits here for its second event until it is stopped.
        std::future::pending::<()>().await;
    }
    let mut headers = HeaderMap::new();
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    for (name, value) in [
        ("lambda-runtime-aws-request-id", REQUEST_ID.to_string()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:000000000000:function:bench".to_string(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_string(),
        ),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).expect("ascii header"));
    }
    (headers, axum::Json(fake.event.as_ref().clone())).into_response()
}

async fn response(State(fake): State<FakeLambda>) -> &'static str {
    fake.timings
        .lock()
        .response
        .get_or_insert_with(Instant::now);
    fake.answered.notify_one();
    "{}"
}

/// Any AWS API call: an empty result that every read and write the functions make accepts.
async fn aws() -> impl IntoResponse {
    (
        [("content-type", "application/x-amz-json-1.0")],
        r#"{"Items":[],"Count":0,"ScannedCount":0}"#,
    )
}

fn api_gateway(method: &str, path: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "bench.local", "content-type": "application/json"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.local",
            "domainPrefix": "bench", "requestId": "bench", "routeKey": "$default",
            "stage": "$default", "time": "25/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"}
        },
        "body": "{}", "isBase64Encoded": false
    })
}

/// The event each function gets first, by its name.
fn first_event(binary: &Path) -> Value {
    let name = binary.to_string_lossy();
    if name.contains("executor") {
        json!({"Records": [{
            "messageId": "m1", "receiptHandle": "r1",
            "body": r#"{"payout_id":"po_1772834400_barber-1","not_before":"2026-03-06T22:00:00Z"}"#,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1772834400000"},
            "messageAttributes": {}, "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:jobs", "awsRegion": "us-east-1"
        }]})
    } else if name.contains("planner") {
        json!({"version": "0", "id": "bench", "detail-type": "Scheduled Event",
               "source": "aws.events", "account": "000000000000", "time": "2026-03-06T22:05:00Z",
               "region": "us-east-1", "resources": [], "detail": {}})
    } else if name.contains("webhooks") {
        api_gateway("POST", "/webhooks/stripe")
    } else {
        api_gateway("GET", "/api/v1/payout-scheduler/openapi.json")
    }
}

struct Sample {
    init: Duration,
    first_invocation: Duration,
}

async fn one_start(binary: &Path) -> anyhow::Result<Sample> {
    let fake = FakeLambda {
        event: Arc::new(first_event(binary)),
        timings: Arc::default(),
        answered: Arc::default(),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(response))
        .fallback(aws)
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let endpoint = format!("http://{addr}");
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "bench".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "bench".into()),
            ("AWS_SECRET_ACCESS_KEY", "bench".into()),
            ("AWS_SESSION_TOKEN", "bench".into()),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("TABLE_NAME", "payouts".into()),
            ("JOB_QUEUE_URL", format!("{endpoint}/000000000000/jobs")),
            (
                "URGENT_JOB_QUEUE_URL",
                format!("{endpoint}/000000000000/urgent-jobs"),
            ),
            (
                "DEAD_LETTER_QUEUE_URL",
                format!("{endpoint}/000000000000/jobs-dlq"),
            ),
            (
                "TOPIC_ARN",
                "arn:aws:sns:us-east-1:000000000000:notices".into(),
            ),
            ("STRIPE_SECRET_KEY", "sk_test_bench".into()),
            ("STRIPE_API_BASE", format!("{endpoint}/stripe")),
            ("STRIPE_WEBHOOK_SECRET", "whsec_bench".into()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let answered = tokio::time::timeout(Duration::from_secs(20), fake.answered.notified()).await;
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    answered.with_context(|| format!("{} never answered its first event", binary.display()))?;
    let timings = fake.timings.lock();
    let (Some(first_next), Some(response)) = (timings.first_next, timings.response) else {
        anyhow::bail!("{} answered without asking for an event", binary.display());
    };
    Ok(Sample {
        init: first_next - started,
        first_invocation: response - first_next,
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

pub async fn coldstart(binaries: Vec<PathBuf>) -> anyhow::Result<()> {
    println!(
        "{:<28} {:>10} {:>12} {:>16}   (median of {RUNS} starts)",
        "binary", "size MB", "init ms", "1st invoke ms"
    );
    for binary in binaries {
        let size = std::fs::metadata(&binary)
            .with_context(|| format!("no binary at {}", binary.display()))?
            .len();
        let mut samples = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            samples.push(one_start(&binary).await?);
        }
        println!(
            "{:<28} {:>10.1} {:>12.1} {:>16.1}",
            binary.file_name().map_or_else(
                || binary.display().to_string(),
                |n| n.to_string_lossy().into()
            ),
            size as f64 / 1_048_576.0,
            median(samples.iter().map(|s| s.init).collect()).as_secs_f64() * 1000.0,
            median(samples.iter().map(|s| s.first_invocation).collect()).as_secs_f64() * 1000.0,
        );
    }
    Ok(())
}
