//! `payouts-tools aws-cost`: AWS requests, capacity units and list-price cost per payout, measured on
//! an emulator (`AWS_ENDPOINT_URL`, never real AWS). Barbers and earnings are seeded directly;
//! then the planner handlers (the tick, then each shard from the shard queue) and the executor
//! handler (fed by SQS receives, as the event source mapping does, with its deletes) run until
//! every payout is paid, every AWS call passing through a counting proxy on 127.0.0.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fanout::{counted_runtime, create_shard_queue, drain_shard_queue};
use crate::monthly_bill::{self, LAMBDA_GB, Measured, ROUND_TRIP_SECONDS, Usage};
use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use payout_app::ingest::ingest_earnings;
use payout_app::ports::SystemClock;
use payout_app::schedule_change::add_schedule;
use payout_aws::DynamoStore;
use payout_aws::counting_proxy::Counter;
use payout_aws::event_source::{delete_handled, receive_as_event_source};
use payout_aws::eventbridge::EventBridgePublisher;
use payout_aws::lambda::{AwsRuntime, handle_job_batch, handle_schedule_tick};
use payout_aws::stack::{StackNames, create_stack};
use payout_core::calendar::{Calendar, Frequency};
use payout_core::ids::{BarberId, EarningId};
use payout_core::ledger::{Earning, EarningKind};
use payout_core::money::{Currency, Money};
use payout_core::schedule::PayoutSchedule;
use payout_http::auth::{AuthConfig, Role};
use payout_http::{ApiState, BASE_PATH, router};
use payout_local::bench::bench_schedule;

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
                kind: EarningKind::Service,
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
    let (health_poll, dashboard_load) = measure_api(&runtime, &counter).await?;

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
    let tick = Usage {
        requests: idle_tick.clone(),
        invocations: idle_invocations as f64,
        handler_seconds: idle_seconds,
        scheduled: 1.0,
        ..Usage::default()
    };
    println!(
        "a planner tick with nothing due: {} requests and {idle_invocations} invocations \
         ({idle_seconds:.2} s on the emulator). The figures below leave out the one tick of this run.\n",
        tick.all_requests(),
    );
    for ((service, op), tally) in &idle_tick {
        println!("    {service} {op}: {}", tally.requests);
    }
    println!();
    let mut tallies = counter.by_service.lock();
    for (key, idle) in &idle_tick {
        if let Some(tally) = tallies.get_mut(key) {
            tally.requests = tally.requests.saturating_sub(idle.requests);
            tally.read_units = (tally.read_units - idle.read_units).max(0.0);
            tally.write_units = (tally.write_units - idle.write_units).max(0.0);
        }
    }
    tallies.retain(|_, tally| tally.requests > 0);
    let payout_run = Usage {
        requests: tallies.clone(),
        invocations: (invocations - idle_invocations) as f64,
        handler_seconds: (planner_seconds - idle_seconds).max(0.0) + executor_seconds,
        ..Usage::default()
    };
    drop(tallies);
    report(payouts, &payout_run);
    monthly_bill::print(&Measured {
        tick,
        health_poll,
        dashboard_load,
        payout_run,
        payouts,
        alarms: template_alarms()?,
    });
    Ok(())
}

/// The CloudWatch alarms `infra/template.yaml` declares.
fn template_alarms() -> anyhow::Result<u32> {
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"),
    )
    .context("reading infra/template.yaml")?;
    Ok(template.matches("Type: AWS::CloudWatch::Alarm").count() as u32)
}

/// What the API costs an idle platform: an uptime monitor's `GET /health`, and the dashboard's
/// overview (the operator's report and analytics of 30, 7 and 1 days), each an API Gateway
/// request and an invocation of the API function.
async fn measure_api(runtime: &AwsRuntime, counter: &Counter) -> anyhow::Result<(Usage, Usage)> {
    let auth = AuthConfig::hs256(b"cost".to_vec());
    let token = auth.issue(
        "cost",
        Role::Operator,
        None,
        Utc::now(),
        TimeDelta::hours(1),
    )?;
    let app = router(ApiState {
        services: runtime.services.clone(),
        clock: Arc::new(SystemClock),
        auth,
        onboarding: None,
        stripe_webhook_secret: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}{BASE_PATH}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let measure = |paths: &'static [&'static str], token: Option<String>| {
        let (client, base, counter) = (client.clone(), base.clone(), counter.clone());
        async move {
            counter.by_service.lock().clear();
            let started = Instant::now();
            for path in paths {
                let mut request = client.get(format!("{base}{path}"));
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                request.send().await?;
            }
            anyhow::Ok(Usage {
                requests: std::mem::take(&mut *counter.by_service.lock()),
                invocations: paths.len() as f64,
                handler_seconds: started.elapsed().as_secs_f64(),
                api_requests: paths.len() as f64,
                ..Usage::default()
            })
        }
    };
    let health = measure(&["/health"], None).await?;
    let dashboard = measure(
        &[
            "/health/report",
            "/analytics?days=30",
            "/analytics?days=7",
            "/analytics?days=1",
        ],
        Some(token),
    )
    .await?;
    Ok((health, dashboard))
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

fn report(payouts: usize, run: &Usage) {
    let per = |value: f64| value / payouts.max(1) as f64;
    println!("{payouts} payouts, planner + executor handlers on the emulator\n");
    println!(
        "  {:<10} {:<24} {:>12} {:>12} {:>12}",
        "service", "operation", "req/payout", "RRU/payout", "WRU/payout"
    );
    for ((service, op), tally) in &run.requests {
        println!(
            "  {service:<10} {op:<24} {:>12.2} {:>12.2} {:>12.2}",
            per(tally.requests as f64),
            per(tally.read_units),
            per(tally.write_units)
        );
    }
    println!(
        "\n  requests per payout, all services: {:.2}",
        per(run.all_requests() as f64)
    );
    println!(
        "\n  cost per million payouts (list prices of 2026-11-01, us-east-1; Stripe, email and SMS excluded):"
    );
    for (name, cost) in run.cost_lines() {
        println!("    {name:<18} ${:>8.2}", per(cost) * 1e6);
    }
    println!("    {:<18} ${:>8.2}", "total", per(run.dollars()) * 1e6);
    println!(
        "\n  Lambda: {} invocations at {LAMBDA_GB} GB, {:.2} s of handler time on the emulator \
         (slower than DynamoDB); billed as {:.2} s, {ROUND_TRIP_SECONDS} s a request in sequence",
        run.invocations,
        run.handler_seconds,
        run.modelled_seconds()
    );
}
