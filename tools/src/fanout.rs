//! `payouts-tools fanout`: the planner's fan-out on an emulator (`AWS_ENDPOINT_URL`, never real
//! AWS). Barbers due at the same cut-off are seeded, all in one shard; the tick handler sends
//! the due index's shards to a shard queue; each shard message is then handed to the shard handler as the
//! queue's event source does (a batch of one), one invocation at a time, every AWS request
//! going through the counting proxy. An invocation's rate on AWS is modelled from the requests
//! a schedule makes and a region's round trip for each (moto's own time is no guide: it copies
//! a table for each transaction).
//!
//! On AWS the shards' invocations run at the same time and share nothing but the table's
//! throughput, so a million due schedules take the longest of: one shard's share at one
//! invocation's measured rate, the table's write units at its throughput limit, and a due-index
//! partition's writes at DynamoDB's per-partition limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, TimeDelta, Utc};
use payout_app::ports::ScheduleStore;
use payout_aws::DynamoStore;
use payout_aws::dynamo::{DUE_SHARDS, due_shard_of};
use payout_aws::event_source::receive_as_event_source;
use payout_aws::lambda::{
    AwsRuntime, PLANNER_MARGIN, Resources, handle_schedule_tick, handle_shard_plans,
};
use payout_aws::sqs::SqsShardQueue;
use payout_aws::stack::{StackNames, create_stack};
use payout_local::{FailurePlan, SimulatedRail};

use crate::aws_cost::{barber_id, seed_due_barber, yesterday_off_peak};
use payout_aws::counting_proxy::{Counter, Tally, start_proxy};

/// The planner's timeout in the SAM template.
const PLANNER_TIMEOUT: Duration = Duration::from_secs(300);
/// The schedules the projection is for: a Friday evening.
const FRIDAY: f64 = 1_000_000.0;
/// DynamoDB on-demand's default throughput limit per table (an account quota AWS raises on
/// request), in write request units a second.
const TABLE_WRITE_UNITS_PER_SECOND: f64 = 40_000.0;
/// DynamoDB's limit per partition key, in write units a second; a due-index shard is one.
const PARTITION_WRITE_UNITS_PER_SECOND: f64 = 1_000.0;
/// Index write units per planned schedule in its due-index shard: its entry moves to the
/// next run (a delete and a put on the index).
const INDEX_WRITES_PER_SCHEDULE: f64 = 2.0;

/// A region's round trip, as assumed by the model (AWS publishes no latency figures beyond DynamoDB's
/// "single-digit milliseconds"): the upper end of that for single-item requests and queries,
/// more for batches and transactions (a transaction is two phases), SQS a little slower.
fn region_latency(service: &str, op: &str) -> Duration {
    Duration::from_millis(match (service, op) {
        ("DynamoDB", "TransactWriteItems") => 25,
        ("DynamoDB", "BatchGetItem" | "BatchWriteItem") => 12,
        ("DynamoDB", _) => 8,
        ("SQS", _) => 15,
        _ => 20,
    })
}

/// The planner's shard queue, beside the stack's job queue.
pub async fn create_shard_queue(
    sqs: &aws_sdk_sqs::Client,
    names: &StackNames,
) -> anyhow::Result<String> {
    Ok(sqs
        .create_queue()
        .queue_name(format!("{}-plan", names.job_queue))
        .send()
        .await?
        .queue_url
        .unwrap_or_default())
}

/// A runtime whose every AWS request goes through a counting proxy, paying
/// through a simulated rail, its planner's tick sending the due index's shards to
/// `shard_queue_url` as deployed; with the proxy's counter and the SDK configuration that goes
/// through it.
pub async fn counted_runtime(
    endpoint: String,
    resources: &Resources,
    shard_queue_url: &str,
) -> anyhow::Result<(AwsRuntime, Counter, SdkConfig)> {
    let counter = Counter::default();
    let proxy = start_proxy(endpoint, counter.clone()).await?;
    let counted = aws_config::from_env().endpoint_url(&proxy).load().await;
    let mut runtime = AwsRuntime::new(
        &counted,
        resources,
        Arc::new(SimulatedRail::new(1, FailurePlan::default())),
        "executor",
    );
    // Metric lines cost no request; they would only crowd the figures.
    runtime.services.metrics = Arc::new(payout_app::ports::NoMetrics);
    runtime.shards = Some(Arc::new(SqsShardQueue::new(
        aws_sdk_sqs::Client::new(&counted),
        shard_queue_url,
    )));
    Ok((runtime, counter, counted))
}

/// Hands each message of the shard queue to the shard handler as its event source does (a
/// batch of one), deleting each once handled, until the queue is empty; returns each
/// invocation's time in seconds.
pub async fn drain_shard_queue(
    runtime: &AwsRuntime,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<f64>> {
    let mut seconds = Vec::new();
    loop {
        let (event, handles) = receive_as_event_source(sqs, queue_url).await?;
        if handles.is_empty() {
            return Ok(seconds);
        }
        for (record, (id, handle)) in event.records.into_iter().zip(handles) {
            let mut one = SqsEvent::default();
            one.records.push(record);
            let started = Instant::now();
            let response = handle_shard_plans(runtime, one, now, started + PLANNER_TIMEOUT).await;
            seconds.push(started.elapsed().as_secs_f64());
            anyhow::ensure!(
                response.batch_item_failures.is_empty(),
                "shard message {id} failed; the planner's log says why"
            );
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .send()
                .await?;
        }
    }
}

pub async fn fanout(schedules: usize) -> anyhow::Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        anyhow::anyhow!("set AWS_ENDPOINT_URL to an emulator (this command never touches real AWS)")
    })?;
    let sdk = payout_aws::config::sdk_config().await;
    let names = StackNames::with_prefix(&format!("fanout{}", std::process::id()));
    let resources = create_stack(&sdk, &names, None).await?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let plan_queue_url = create_shard_queue(&sqs, &names).await?;
    let cutoff = yesterday_off_peak()?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &resources.table);
    let seeded = Instant::now();
    // Every barber in shard 0: one invocation plans them all, in full pages, which is the rate
    // of a shard on a Friday (each of the 32 plans its share at once). moto copies a table for
    // each transaction, so a table of a Friday's size cannot be seeded there.
    let mut seeded_barbers = 0;
    for index in 0.. {
        if seeded_barbers == schedules {
            break;
        }
        if due_shard_of(&barber_id(index)?) == 0 {
            seed_due_barber(&store, index, cutoff).await?;
            seeded_barbers += 1;
        }
    }
    println!(
        "{schedules} barbers due at {cutoff}, all in shard 0, seeded in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    let (runtime, counter, _) = counted_runtime(endpoint, &resources, &plan_queue_url).await?;

    let started = Instant::now();
    let now = cutoff + TimeDelta::minutes(1);
    let tick = handle_schedule_tick(&runtime, now, Instant::now() + PLANNER_TIMEOUT).await?;
    let tick_seconds = started.elapsed().as_secs_f64();
    let tick_tally = counter.total();
    counter.by_service.lock().clear();

    // The event source's part (receiving and deleting) goes straight to the emulator: it is
    // not the invocations' time.
    let invocation_seconds = drain_shard_queue(&runtime, &sqs, &plan_queue_url, now).await?;
    let invocations = invocation_seconds.len();
    let left = store
        .due_schedules(now + TimeDelta::minutes(1), None, 10)
        .await?;
    anyhow::ensure!(left.is_empty(), "schedules left unplanned: {left:?}");

    let shards = counter.by_service.lock().clone();
    let planning_seconds: f64 = invocation_seconds.iter().sum();
    let slowest = invocation_seconds.iter().copied().fold(0.0, f64::max);
    let per = |value: f64| value / schedules as f64;
    // A schedule's requests one after another at a region's round trips, and the planner's
    // periods at once: a page's reads and its closes each go that many at a time.
    let in_sequence: f64 = shards
        .iter()
        .map(|((service, op), tally)| {
            per(tally.requests as f64) * region_latency(service, op).as_secs_f64()
        })
        .sum();
    let at_once = runtime.services.config.planner_concurrency;
    let rate = at_once as f64 / in_sequence;
    println!(
        "\ntick: {} shards sent in {tick_seconds:.2} s ({} requests)",
        tick.shards_sent, tick_tally.requests
    );
    println!(
        "shard invocations: {invocations}, {planning_seconds:.1} s in all on the emulator, shard 0's \
         {slowest:.1} s (moto copies a table for each transaction: its time, not a region's)"
    );
    println!(
        "a schedule's requests in sequence at a region's round trips: {:.1} ms; {at_once} at once: \
         an invocation plans {rate:.0} schedules a second",
        in_sequence * 1000.0
    );
    println!(
        "\n  {:<10} {:<24} {:>14} {:>14}",
        "service", "operation", "req/schedule", "WRU/schedule"
    );
    let mut all = Tally::default();
    for ((service, op), tally) in &shards {
        println!(
            "  {service:<10} {op:<24} {:>14.2} {:>14.2}",
            per(tally.requests as f64),
            per(tally.write_units)
        );
        all.add(tally);
    }
    println!(
        "  {:<35} {:>14.2} {:>14.2}",
        "all",
        per(all.requests as f64),
        per(all.write_units)
    );

    let per_shard = FRIDAY / f64::from(DUE_SHARDS);
    let invocations_bound = per_shard / rate;
    let table_bound =
        FRIDAY * (per(all.write_units) + INDEX_WRITES_PER_SCHEDULE) / TABLE_WRITE_UNITS_PER_SECOND;
    let partition_bound = per_shard * INDEX_WRITES_PER_SCHEDULE / PARTITION_WRITE_UNITS_PER_SECOND;
    let planned_in = invocations_bound.max(table_bound).max(partition_bound);
    println!("\na million due schedules in one tick, projected:");
    println!(
        "  {per_shard:.0} per shard at {rate:.0}/s:           {invocations_bound:>7.0} s (an invocation stops {} s before its deadline and sends the rest of its shard on)",
        PLANNER_MARGIN.as_secs()
    );
    println!(
        "  table writes at {TABLE_WRITE_UNITS_PER_SECOND:.0} WRU/s:          {table_bound:>7.0} s ({:.1} WRU a schedule, index entries included)",
        per(all.write_units) + INDEX_WRITES_PER_SCHEDULE
    );
    println!(
        "  a due-index partition at {PARTITION_WRITE_UNITS_PER_SECOND:.0} WRU/s:  {partition_bound:>7.0} s"
    );
    println!(
        "  planned in {planned_in:.0} s: {} the planner's {} s timeout",
        if planned_in <= PLANNER_TIMEOUT.as_secs_f64() {
            "within"
        } else {
            "beyond"
        },
        PLANNER_TIMEOUT.as_secs()
    );
    Ok(())
}
