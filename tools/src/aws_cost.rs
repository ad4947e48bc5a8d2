//! `payouts-tools aws-cost`: AWS requests, capacity units and list-price cost per payout, measured on
//! an emulator (`AWS_ENDPOINT_URL`, never real AWS). Barbers and earnings are seeded directly;
//! then the planner handler and the executor handler (fed by SQS receives, as the event source
//! mapping does, with its deletes) run until every payout is paid, every AWS call passing
//! through a counting proxy on 127.0.0.1.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;
use payout_app::ingest::ingest_earnings;
use payout_app::schedule_change::save_schedule;
use payout_aws::DynamoStore;
use payout_aws::event_source::receive_as_event_source;
use payout_aws::eventbridge::EventBridgePublisher;
use payout_aws::lambda::{AwsRuntime, handle_job_batch, handle_schedule_tick};
use payout_aws::stack::{StackNames, create_stack};
use payout_core::calendar::{Calendar, Frequency};
use payout_core::ids::{BarberId, EarningId};
use payout_core::ledger::Earning;
use payout_core::money::{Currency, Money};
use payout_core::schedule::PayoutSchedule;
use payout_local::bench::bench_schedule;
use payout_local::{FailurePlan, SimulatedRail};
use serde_json::Value;

/// AWS list prices, us-east-1, as published on 2026-11-01 (USD).
mod prices {
    /// DynamoDB on-demand, per million write request units.
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625;
    /// DynamoDB on-demand, per million read request units.
    pub const DYNAMODB_READ_UNIT: f64 = 0.125;
    /// SQS standard queue, per million requests (64 KB chunks).
    pub const SQS_REQUEST: f64 = 0.40;
    /// SNS standard topic, per million publishes.
    pub const SNS_PUBLISH: f64 = 0.50;
    /// Lambda on arm64, per GB-second.
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    /// Lambda, per million invocations.
    pub const LAMBDA_REQUEST: f64 = 0.20;
}

/// The executor's memory in the SAM template.
const LAMBDA_GB: f64 = 0.25;
const EARNINGS_PER_BARBER: usize = 5;

#[derive(Default, Clone, Copy)]
struct Tally {
    requests: u64,
    read_units: f64,
    write_units: f64,
}

#[derive(Clone, Default)]
struct Counter {
    by_service: Arc<Mutex<BTreeMap<(String, String), Tally>>>,
}

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    counter: Counter,
}

/// Which service and operation a request is: the JSON protocols name it in `X-Amz-Target`,
/// SNS's query protocol in the `Action` form field.
fn operation(headers: &HeaderMap, body: &[u8]) -> (String, String) {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or((target, ""));
        let service = if service.starts_with("DynamoDB") {
            "DynamoDB"
        } else if service.starts_with("AmazonSQS") {
            "SQS"
        } else {
            service
        };
        return (service.to_string(), op.to_string());
    }
    let form = String::from_utf8_lossy(body);
    let action = form
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown");
    ("SNS".to_string(), action.to_string())
}

/// Capacity units of a DynamoDB response that reports them (the proxy asks for them); a
/// total without a read/write split is a read's for the reading operations.
fn consumed(op: &str, response: &Value) -> (f64, f64) {
    let reads_only = matches!(
        op,
        "GetItem" | "BatchGetItem" | "Query" | "Scan" | "TransactGetItems"
    );
    let entries: Vec<&Value> = match response.get("ConsumedCapacity") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    entries.iter().fold((0.0, 0.0), |(read, write), entry| {
        let total = entry["CapacityUnits"].as_f64().unwrap_or_default();
        let reads = entry["ReadCapacityUnits"].as_f64();
        let writes = entry["WriteCapacityUnits"].as_f64();
        match (reads, writes) {
            (None, None) if reads_only => (read + total, write),
            (None, None) => (read, write + total),
            (r, w) => (read + r.unwrap_or_default(), write + w.unwrap_or_default()),
        }
    })
}

/// Units when the emulator reports none: one per item written (two in a transaction), half a
/// read unit per eventually consistent read request, one per consistent one.
fn estimated(op: &str, request: &Value) -> (f64, f64) {
    match op {
        "PutItem" | "UpdateItem" | "DeleteItem" => (0.0, 1.0),
        "TransactWriteItems" => (
            0.0,
            2.0 * request["TransactItems"].as_array().map_or(0, Vec::len) as f64,
        ),
        "BatchWriteItem" => (
            0.0,
            request["RequestItems"].as_object().map_or(0, |tables| {
                tables
                    .values()
                    .filter_map(Value::as_array)
                    .map(Vec::len)
                    .sum()
            }) as f64,
        ),
        _ if request["ConsistentRead"].as_bool() == Some(true) => (1.0, 0.0),
        _ => (0.5, 0.0),
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), StatusCode> {
    let (service, op) = operation(&headers, &body);
    let request_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = proxy
        .client
        .request(method, format!("{}{path}", proxy.upstream))
        .body(body.clone());
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let response = forwarded
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::OK);
    let mut out_headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            out_headers.insert(name.clone(), value.clone());
        }
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let (mut read, mut write) = (0.0, 0.0);
    if service == "DynamoDB" {
        let reported = consumed(&op, &serde_json::from_slice(&bytes).unwrap_or(Value::Null));
        let estimate = estimated(&op, &request_json);
        // moto reports nothing for most operations, and one unit for a whole BatchWriteItem
        // whatever it writes: no fewer write units than items written are counted.
        (read, write) = if reported == (0.0, 0.0) {
            estimate
        } else {
            (reported.0, reported.1.max(estimate.1))
        };
    }
    let mut tallies = proxy.counter.by_service.lock();
    let tally = tallies.entry((service, op)).or_default();
    tally.requests += 1;
    tally.read_units += read;
    tally.write_units += write;
    Ok((status, out_headers, bytes))
}

async fn start_proxy(upstream: String, counter: Counter) -> anyhow::Result<String> {
    let proxy = Arc::new(Proxy {
        upstream,
        client: reqwest::Client::new(),
        counter,
    });
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

fn schedule(index: usize, cutoff: DateTime<Utc>) -> anyhow::Result<PayoutSchedule> {
    let calendar = Calendar {
        frequency: Frequency::Daily,
        time_zone: chrono_tz::Tz::UTC,
        local_time: cutoff.time(),
    };
    Ok(bench_schedule(
        BarberId::parse(format!("cost-{index:05}"))?,
        calendar,
        cutoff,
    ))
}

pub async fn aws_cost(payouts: usize) -> anyhow::Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        anyhow::anyhow!("set AWS_ENDPOINT_URL to an emulator (this command never touches real AWS)")
    })?;
    let sdk = payout_aws::config::sdk_config().await;
    let names = StackNames::with_prefix(&format!("cost{}", std::process::id()));
    let resources = create_stack(&sdk, &names, None).await?;
    // Off-peak, so no job is deferred; in the past, so every SQS delay is zero.
    let today = Utc::now().date_naive();
    let cutoff = today
        .and_hms_opt(3, 0, 0)
        .context("a valid time")?
        .and_utc()
        - TimeDelta::days(1);
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &resources.table);
    for index in 0..payouts {
        let schedule = schedule(index, cutoff)?;
        save_schedule(&store, &schedule).await?;
        let earnings: Vec<Earning> = (0..EARNINGS_PER_BARBER)
            .map(|n| {
                Ok(Earning {
                    id: EarningId::parse(format!("cost-{index:05}-{n}"))?,
                    barber_id: schedule.barber_id.clone(),
                    amount: Money::from_minor(4_000, Currency::Usd),
                    occurred_at: cutoff - TimeDelta::hours(2),
                    service: "haircut".into(),
                    recorded_at: cutoff - TimeDelta::hours(2),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        ingest_earnings(&store, &earnings).await?;
    }

    let counter = Counter::default();
    let proxy = start_proxy(endpoint, counter.clone()).await?;
    let counted = aws_config::from_env().endpoint_url(&proxy).load().await;
    let mut runtime = AwsRuntime::new(
        &counted,
        &resources,
        Arc::new(SimulatedRail::new(1, FailurePlan::default())),
        "executor",
    );
    // Metric lines cost no request; they would only crowd the figures.
    runtime.services.metrics = Arc::new(payout_app::ports::NoMetrics);
    // Payout events go to a bus, as in a deployment with `EventBusName` set: the outbox's
    // reads and marks are part of a payout's cost.
    runtime.events = Some(Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&counted),
        "default",
    )));
    let now = cutoff + TimeDelta::minutes(1);
    let mut invocations = 0u64;
    let started = Instant::now();
    handle_schedule_tick(&runtime, now, Instant::now() + Duration::from_secs(600)).await?;
    let planner_seconds = started.elapsed().as_secs_f64();
    invocations += 1;
    let sqs = aws_sdk_sqs::Client::new(&counted);
    let mut executor_seconds = 0.0;
    let mut empty_polls = 0;
    while empty_polls < 3 {
        let (event, handles) = receive_as_event_source(&sqs, &resources.queue_url).await?;
        if handles.is_empty() {
            empty_polls += 1;
            continue;
        }
        let started = Instant::now();
        let response =
            handle_job_batch(&runtime, event, "cost", now, DateTime::<Utc>::MAX_UTC).await;
        executor_seconds += started.elapsed().as_secs_f64();
        invocations += 1;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let entries: Vec<_> = handles
            .iter()
            .filter(|(id, _)| !failed.contains(&id.as_str()))
            .map(|(id, handle)| {
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(handle)
                    .build()
            })
            .collect::<Result<_, _>>()?;
        if !entries.is_empty() {
            sqs.delete_message_batch()
                .queue_url(&resources.queue_url)
                .set_entries(Some(entries))
                .send()
                .await?;
        }
    }
    report(
        payouts,
        &counter,
        invocations,
        planner_seconds + executor_seconds,
    );
    Ok(())
}

fn report(payouts: usize, counter: &Counter, invocations: u64, handler_seconds: f64) {
    let per = |value: f64| value / payouts.max(1) as f64;
    let tallies = counter.by_service.lock().clone();
    println!("{payouts} payouts, planner + executor handlers on the emulator\n");
    println!(
        "  {:<10} {:<24} {:>12} {:>12} {:>12}",
        "service", "operation", "req/payout", "RRU/payout", "WRU/payout"
    );
    let mut by_service: BTreeMap<String, Tally> = BTreeMap::new();
    for ((service, op), tally) in &tallies {
        println!(
            "  {service:<10} {op:<24} {:>12.2} {:>12.2} {:>12.2}",
            per(tally.requests as f64),
            per(tally.read_units),
            per(tally.write_units)
        );
        let total = by_service.entry(service.clone()).or_default();
        total.requests += tally.requests;
        total.read_units += tally.read_units;
        total.write_units += tally.write_units;
    }
    let all_requests: u64 = by_service.values().map(|t| t.requests).sum();
    println!(
        "\n  requests per payout, all services: {:.2}",
        per(all_requests as f64)
    );
    let dynamo = by_service.get("DynamoDB").copied().unwrap_or_default();
    let sqs = by_service.get("SQS").copied().unwrap_or_default();
    let sns = by_service.get("SNS").copied().unwrap_or_default();
    let million = 1_000_000.0;
    let gb_seconds = handler_seconds * LAMBDA_GB;
    let costs = [
        (
            "DynamoDB writes",
            per(dynamo.write_units) * prices::DYNAMODB_WRITE_UNIT,
        ),
        (
            "DynamoDB reads",
            per(dynamo.read_units) * prices::DYNAMODB_READ_UNIT,
        ),
        ("SQS", per(sqs.requests as f64) * prices::SQS_REQUEST),
        (
            "SNS publish",
            per(sns.requests as f64) * prices::SNS_PUBLISH,
        ),
        (
            "Lambda requests",
            per(invocations as f64) * prices::LAMBDA_REQUEST,
        ),
        (
            "Lambda GB-s",
            per(gb_seconds) * million * prices::LAMBDA_GB_SECOND,
        ),
    ];
    println!(
        "\n  cost per million payouts (list prices of 2026-11-01, us-east-1; Stripe, email and SMS excluded):"
    );
    for (name, cost) in costs {
        println!("    {name:<16} ${cost:>8.2}");
    }
    println!(
        "    {:<16} ${:>8.2}",
        "total",
        costs.iter().map(|(_, c)| c).sum::<f64>()
    );
    println!(
        "\n  Lambda: {invocations} invocations, {handler_seconds:.2} s of handler time at {LAMBDA_GB} GB \
         (measured against the emulator, slower than DynamoDB)"
    );
}
