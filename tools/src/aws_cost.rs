//! `payouts-tools aws-cost`: AWS requests, capacity units and list-price cost per payout, measured on
//! an emulator (`AWS_ENDPOINT_URL`, never real AWS). Barbers and earnings are seeded directly;
//! then the planner handlers (the tick, then each shard from the shard queue) and the executor
//! handler (fed by SQS receives, as the event source mapping does, with its deletes) run until
//! every payout is paid, every AWS call passing through a counting proxy on 127.0.0.1.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fanout::{counted_runtime, create_shard_queue, drain_shard_queue};
use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use payout_app::ingest::ingest_earnings;
use payout_app::schedule_change::add_schedule;
use payout_aws::DynamoStore;
use payout_aws::counting_proxy::{Counter, Tally};
use payout_aws::event_source::{delete_handled, receive_as_event_source};
use payout_aws::eventbridge::EventBridgePublisher;
use payout_aws::lambda::{AwsRuntime, handle_job_batch, handle_schedule_tick};
use payout_aws::stack::{StackNames, create_stack};
use payout_core::calendar::{Calendar, Frequency};
use payout_core::ids::{BarberId, EarningId};
use payout_core::ledger::Earning;
use payout_core::money::{Currency, Money};
use payout_core::schedule::PayoutSchedule;
use payout_local::bench::bench_schedule;

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

/// Barber `index`'s id.
pub fn barber_id(index: usize) -> anyhow::Result<BarberId> {
    Ok(BarberId::parse(format!("cost-{index:05}"))?)
}

fn schedule(index: usize, cutoff: DateTime<Utc>) -> anyhow::Result<PayoutSchedule> {
    let calendar = Calendar {
        frequency: Frequency::Daily,
        time_zone: chrono_tz::Tz::UTC,
        local_time: cutoff.time(),
    };
    Ok(bench_schedule(barber_id(index)?, calendar, cutoff))
}

/// A cut-off off-peak, so no job is deferred, and in the past, so every SQS delay is zero.
pub fn yesterday_off_peak() -> anyhow::Result<DateTime<Utc>> {
    let today = Utc::now().date_naive();
    Ok(today
        .and_hms_opt(3, 0, 0)
        .context("a valid time")?
        .and_utc()
        - TimeDelta::days(1))
}

/// Barber `index`'s daily schedule, due at `cutoff`, and its earnings before it.
pub async fn seed_due_barber(
    store: &DynamoStore,
    index: usize,
    cutoff: DateTime<Utc>,
) -> anyhow::Result<()> {
    let schedule = schedule(index, cutoff)?;
    add_schedule(store, &schedule).await?;
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
    ingest_earnings(store, &earnings).await?;
    Ok(())
}

pub async fn aws_cost(payouts: usize) -> anyhow::Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        anyhow::anyhow!("set AWS_ENDPOINT_URL to an emulator (this command never touches real AWS)")
    })?;
    let sdk = payout_aws::config::sdk_config().await;
    let names = StackNames::with_prefix(&format!("cost{}", std::process::id()));
    let resources = create_stack(&sdk, &names, None).await?;
    let cutoff = yesterday_off_peak()?;
    // The planner as deployed: its tick sends the due index's shards to the shard queue, and
    // each is planned by an invocation of its own.
    let shard_queue_url = create_shard_queue(&aws_sdk_sqs::Client::new(&sdk), &names).await?;
    let (mut runtime, counter, counted) =
        counted_runtime(endpoint, &resources, &shard_queue_url).await?;
    // Payout events go to a bus, as in a deployment with `EventBusName` set: the outbox's
    // reads and marks are part of a payout's cost.
    runtime.events = Some(Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&counted),
        "default",
    )));
    let sqs = aws_sdk_sqs::Client::new(&counted);
    let now = cutoff + TimeDelta::minutes(1);
    // A tick costs the same requests whether anything is due or not (every shard is read):
    // measured on the empty stack, then set aside from the per-payout figures.
    let (idle_seconds, idle_invocations) = plan_tick(&runtime, &sqs, &shard_queue_url, now).await?;
    let idle_tick = std::mem::take(&mut *counter.by_service.lock());

    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &resources.table);
    for index in 0..payouts {
        seed_due_barber(&store, index, cutoff).await?;
    }
    let (planner_seconds, mut invocations) =
        plan_tick(&runtime, &sqs, &shard_queue_url, now).await?;
    let mut executor_seconds = 0.0;
    // Both lanes' event sources, the urgent one's first (a bulk invocation looks there too).
    let lanes: Vec<&str> = resources
        .urgent_queue_url
        .iter()
        .map(String::as_str)
        .chain([resources.queue_url.as_str()])
        .collect();
    let mut empty_polls = 0;
    while empty_polls < 3 {
        let mut received = 0;
        for lane in &lanes {
            let (event, handles) = receive_as_event_source(&sqs, lane).await?;
            if handles.is_empty() {
                continue;
            }
            received += handles.len();
            let started = Instant::now();
            let response =
                handle_job_batch(&runtime, event, "cost", now, DateTime::<Utc>::MAX_UTC).await;
            executor_seconds += started.elapsed().as_secs_f64();
            invocations += 1;
            delete_handled(&sqs, lane, &handles, &response).await?;
        }
        if received == 0 {
            empty_polls += 1;
        }
    }
    let tick = idle_tick.values().fold(Tally::default(), |mut all, t| {
        all.add(t);
        all
    });
    println!(
        "a planner tick with nothing due: {} requests and {idle_invocations} invocations \
         ({idle_seconds:.2} s on the emulator); every 5 minutes, {:.1} million requests a month. \
         The figures below leave out the one tick of this run.\n",
        tick.requests,
        tick.requests as f64 * 12.0 * 24.0 * 30.0 / 1e6
    );
    let mut tallies = counter.by_service.lock();
    for (key, idle) in &idle_tick {
        if let Some(tally) = tallies.get_mut(key) {
            tally.requests = tally.requests.saturating_sub(idle.requests);
            tally.read_units = (tally.read_units - idle.read_units).max(0.0);
            tally.write_units = (tally.write_units - idle.write_units).max(0.0);
        }
    }
    tallies.retain(|_, tally| tally.requests > 0);
    drop(tallies);
    report(
        payouts,
        &counter,
        invocations - idle_invocations,
        (planner_seconds - idle_seconds).max(0.0) + executor_seconds,
    );
    Ok(())
}

/// The planner's tick, then each shard it sent, as deployed: the handlers' time in seconds and
/// the invocations.
async fn plan_tick(
    runtime: &AwsRuntime,
    sqs: &aws_sdk_sqs::Client,
    shard_queue_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    handle_schedule_tick(runtime, now, Instant::now() + Duration::from_secs(600)).await?;
    let tick_seconds = started.elapsed().as_secs_f64();
    let shards = drain_shard_queue(runtime, sqs, shard_queue_url, now).await?;
    Ok((
        tick_seconds + shards.iter().sum::<f64>(),
        1 + shards.len() as u64,
    ))
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
        by_service.entry(service.clone()).or_default().add(tally);
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
