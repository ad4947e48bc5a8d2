//! The AWS shape end to end on moto's server: the planner and executor handlers with real
//! DynamoDB, SQS (ReceiveMessage batches, delays, redrive to the dead-letter queue) and SNS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeDelta, Utc, Weekday};
use payout_app::ingest::ingest_earnings;
use payout_app::payout_actions::manual_payout;
use payout_aws::DynamoStore;
use payout_aws::dynamo::due_shard_of;
use payout_aws::dynamo::status_index::backfill_step;
use payout_aws::lambda::Resources;
use payout_aws::lambda::{AwsRuntime, handle_job_batch, handle_schedule_tick, handle_shard_plans};
use payout_aws::stack::{StackNames, create_stack};
use payout_core::retry::{FailureKind, RetryPolicy};
use payout_core::status::PayoutStatus;
use payout_local::{FailurePlan, SimulatedRail};
use payout_tests::aws_events::{a_minute_from_now, invoke_executor};
use payout_tests::inboxes::SnsInbox;
use payout_tests::moto::Moto;
use payout_tests::notifier_contract::Inbox;
use payout_tests::scenarios::racing_executors_pay_exactly_once;
use payout_tests::world::{World, off_peak_in_the_past};
use serde_json::{Value, json};

/// A stack on a moto server of its own (kept alive by the returned handle) and a runtime on it
/// that pays through `rail`.
async fn stack_with_runtime(
    prefix: &str,
    service: &str,
    rail: Arc<SimulatedRail>,
) -> (Moto, aws_config::SdkConfig, Resources, AwsRuntime) {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let resources = create_stack(&sdk, &StackNames::with_prefix(prefix), None)
        .await
        .unwrap();
    let runtime = AwsRuntime::new(&sdk, &resources, rail, service);
    (moto, sdk, resources, runtime)
}

/// A weekly schedule due a minute ago, with `services` earnings of $60.00 before it.
async fn seed_due_barber(
    p: &payout_app::Services,
    barber: &str,
    services: usize,
    now: chrono::DateTime<Utc>,
) -> payout_core::ids::BarberId {
    let mut schedule = World::weekly_schedule(barber, Weekday::Fri, now - TimeDelta::days(8));
    schedule.next_run_at = now - TimeDelta::minutes(1);
    p.store.insert_schedule(&schedule).await.unwrap();
    let earnings: Vec<_> = (0..services)
        .map(|n| World::earning(barber, n, "60.00", now - TimeDelta::hours(2)))
        .collect();
    ingest_earnings(p.store.as_ref(), &earnings).await.unwrap();
    schedule.barber_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_executors_on_dynamodb_pay_every_earning_exactly_once() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    payout_aws::dynamo::table::create_table(&client, "race")
        .await
        .unwrap();
    let store = Arc::new(DynamoStore::new(client, "race"));
    let flaky = FailurePlan {
        retryable_per_mille: 300,
        ..FailurePlan::default()
    };
    let world = World::with_store(
        store,
        tempfile::tempdir().unwrap(),
        11,
        flaky,
        true,
        Duration::from_millis(2),
    );
    racing_executors_pay_exactly_once(&world).await;
}

#[tokio::test]
async fn planner_and_executor_handlers_on_real_sqs_dynamodb_and_sns() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let resources = create_stack(&sdk, &StackNames::with_prefix("e2e"), Some(1))
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // A queue subscribed to the topic stands in for the email and SMS subscriptions.
    let inbox = SnsInbox::subscribe(&sdk, &resources.topic_arn).await;

    let rail = Arc::new(SimulatedRail::new(5, FailurePlan::default()));
    let mut runtime = AwsRuntime::new(&sdk, &resources, rail.clone(), "executor");
    // Real SQS delays run in real time: seconds instead of 5 / 15 / 60 minutes.
    runtime.services.config.retry = RetryPolicy {
        delays_seconds: vec![2, 2, 2],
    };
    let p = &runtime.services;

    let now = off_peak_in_the_past();
    let barbers = ["steady", "flaky", "unverified"];
    for barber in barbers {
        seed_due_barber(p, barber, 4, now).await;
    }
    // "flaky" fails its first attempt retryably; "unverified" fails for good.
    let flaky_id = payout_core::ids::BarberId::parse("flaky").unwrap();
    rail.set_plan(
        &flaky_id,
        FailurePlan {
            retryable_per_mille: 1000,
            ..FailurePlan::default()
        },
    );
    rail.set_plan(
        &payout_core::ids::BarberId::parse("unverified").unwrap(),
        FailurePlan {
            permanent: Some(FailureKind::AccountNotVerified),
            ..FailurePlan::default()
        },
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let report = handle_schedule_tick(&runtime, now, deadline).await.unwrap();
    assert_eq!(report.payouts_queued, 3);
    assert_eq!(report.jobs_enqueued, 3);

    let (received, failed) = invoke_executor(&runtime, &sqs, &resources.queue_url).await;
    assert_eq!((received, failed), (3, 0));
    let flaky_payout =
        payout_core::ids::PayoutId::scheduled(&flaky_id, now - TimeDelta::minutes(1));
    let retrying = p.store.get_payout(&flaky_payout).await.unwrap().unwrap();
    assert_eq!(retrying.status, PayoutStatus::RetryScheduled);
    // The retry job is delayed: not visible at once, back after its delay.
    let (early, _) = invoke_executor(&runtime, &sqs, &resources.queue_url).await;
    assert_eq!(early, 0, "the retry came back before its delay");
    rail.set_plan(&flaky_id, FailurePlan::default());
    let mut settled = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        invoke_executor(&runtime, &sqs, &resources.queue_url).await;
        if p.store
            .get_payout(&flaky_payout)
            .await
            .unwrap()
            .unwrap()
            .status
            == PayoutStatus::Completed
        {
            settled = true;
            break;
        }
    }
    assert!(settled, "the retried payout completed after its delay");

    let totals = p.store.count_by_status().await.unwrap();
    assert_eq!(
        totals,
        vec![(PayoutStatus::Completed, 2), (PayoutStatus::Failed, 1)]
    );
    let failed = p
        .store
        .list_payouts(
            &payout_app::ports::PayoutQuery {
                status: Some(PayoutStatus::Failed),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(
        failed[0]
            .failure_reason
            .as_deref()
            .unwrap()
            .contains("not verified")
    );
    assert_eq!(rail.duplicate_payments(), 0);
    assert_eq!(rail.transfers().len(), 2);
    assert_eq!(
        payout_app::totals_check::totals_differences(p.store.as_ref())
            .await
            .unwrap(),
        Vec::<String>::new()
    );

    // A poison message is reported every time and reaches the dead-letter queue.
    sqs.send_message()
        .queue_url(&resources.queue_url)
        .message_body("not a job")
        .send()
        .await
        .unwrap();
    for _ in 0..8 {
        invoke_executor(&runtime, &sqs, &resources.queue_url).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let depth = runtime.services.queue.depth(Utc::now()).await.unwrap();
    assert_eq!(depth.dead_letter, 1, "{depth:?}");

    // One "completed" notice per completed payout, with filterable attributes; an account notice.
    let notices = inbox.received().await;
    let kinds: Vec<String> = notices.iter().map(|n| n.kind.clone()).collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "completed").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "account_action_needed")
            .count(),
        1,
        "{kinds:?}"
    );
    for notice in &notices {
        assert_eq!(notice.channel, "email");
        assert!(!notice.barber_id.is_empty());
    }
}

/// An operator's payout goes in the urgent lane, and an executor invoked for the bulk's batch
/// pays it before its own jobs: on a Friday it never waits behind the scheduled payouts.
#[tokio::test]
async fn an_executor_pays_the_urgent_lane_before_its_own_batch() {
    let rail = Arc::new(SimulatedRail::default());
    let (_moto, sdk, resources, runtime) =
        stack_with_runtime("lanes", "executor", rail.clone()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let p = &runtime.services;
    let now = off_peak_in_the_past();
    for barber in ["bulk-1", "bulk-2", "bulk-3"] {
        seed_due_barber(p, barber, 1, now).await;
    }
    let report = handle_schedule_tick(&runtime, now, Instant::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(report.jobs_enqueued, 3);
    let operator_pays = World::open_barber(p, "urgent", Some("80.00"), now).await;
    manual_payout(p, &operator_pays, "end of day", "operator", now)
        .await
        .unwrap();

    let urgent_lane = resources.urgent_queue_url.as_ref().unwrap();
    let (received, failed) = invoke_executor(&runtime, &sqs, &resources.queue_url).await;
    assert_eq!((received, failed), (3, 0), "the bulk's batch");
    let paid: Vec<String> = rail
        .transfers()
        .iter()
        .map(|transfer| transfer.barber_id.to_string())
        .collect();
    assert_eq!(paid.len(), 4, "{paid:?}");
    assert_eq!(paid[0], "urgent", "the urgent lane first: {paid:?}");
    let (left, _) = invoke_executor(&runtime, &sqs, urgent_lane).await;
    assert_eq!(left, 0, "the urgent job was deleted once paid");
    assert_eq!(rail.duplicate_payments(), 0);
}

/// One planner invocation at a time per shard of the due index: a shard message that finds
/// another invocation's lease on its shard leaves the shard to it, and one that comes after the
/// lease is given back (or has lapsed) plans it.
#[tokio::test]
async fn a_shard_is_planned_by_one_invocation_at_a_time() {
    let rail = Arc::new(SimulatedRail::default());
    let (_moto, _, _, runtime) = stack_with_runtime("leases", "planner", rail).await;
    let p = &runtime.services;
    let now = off_peak_in_the_past();
    let shard = due_shard_of(&seed_due_barber(p, "leased", 1, now).await);
    let shard_message = |id: &str| -> SqsEvent {
        serde_json::from_value(json!({"Records": [{
            "messageId": id, "eventSource": "aws:sqs",
            "body": json!({"shard": shard, "after": null}).to_string(),
        }]}))
        .unwrap()
    };
    let still_due = || async { p.store.due_schedules(now, None, 10).await.unwrap().len() };
    let leases = &runtime.shard_leases;

    assert!(
        leases
            .lease_shard(shard, "another", now, now + TimeDelta::seconds(60))
            .await
            .unwrap()
    );
    let answer = handle_shard_plans(&runtime, shard_message("m1"), now, in_a_minute()).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(
        still_due().await,
        1,
        "left to the invocation holding the lease"
    );

    leases.release_shard(shard, "another").await.unwrap();
    let answer = handle_shard_plans(&runtime, shard_message("m2"), now, in_a_minute()).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(
        still_due().await,
        0,
        "planned once the lease was given back"
    );
    assert!(
        leases
            .lease_shard(shard, "next", now, now + TimeDelta::seconds(1))
            .await
            .unwrap(),
        "the invocation gave its own lease back"
    );
    assert!(
        !leases
            .lease_shard(shard, "other", now, now + TimeDelta::seconds(1))
            .await
            .unwrap(),
        "a lease that has not lapsed is refused"
    );
    let later = now + TimeDelta::seconds(2);
    assert!(
        leases
            .lease_shard(shard, "other", later, later)
            .await
            .unwrap(),
        "a lapsed lease (a killed invocation's) is taken over"
    );
}

fn in_a_minute() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn the_executor_reports_only_the_poison_message_of_a_recorded_batch() {
    let rail = Arc::new(SimulatedRail::default());
    let (_moto, _, _, runtime) = stack_with_runtime("fixture", "executor", rail).await;
    let event: SqsEvent = serde_json::from_str(include_str!("fixtures/sqs_batch.json")).unwrap();
    // The first job names a payout that does not exist (acknowledged); the second is poison.
    let response =
        handle_job_batch(&runtime, event, "fixture", Utc::now(), a_minute_from_now()).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["2e1424d4-f796-459a-8184-9c92662be6da"]);
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(
        wire,
        json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
    );

    let scheduled: Value =
        serde_json::from_str(include_str!("fixtures/scheduled_event.json")).unwrap();
    let now = scheduled["time"].as_str().unwrap().parse().unwrap();
    let report = handle_schedule_tick(&runtime, now, Instant::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(report.schedules_due, 0);
    assert!(
        runtime
            .services
            .store
            .last_heartbeat(payout_app::plan::PLANNER)
            .await
            .unwrap()
            .is_some()
    );
}

/// A function's secrets and configuration come from SSM Parameter Store at init: a
/// SecureString decrypted, and the configuration file's text checked like a file.
#[tokio::test]
async fn secrets_and_configuration_are_read_from_parameter_store() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    moto.put_parameters(&[
        ("/payouts/stripe/secret-key", "sk_test_from_ssm", true),
        ("/payouts/config", "[rail]\ntimeout = \"3s\"\n", false),
    ])
    .await;
    let key = payout_aws::secrets::parameter(&sdk, "/payouts/stripe/secret-key")
        .await
        .unwrap();
    assert_eq!(key, "sk_test_from_ssm");
    let text = payout_aws::secrets::parameter(&sdk, "/payouts/config")
        .await
        .unwrap();
    let (_, config) = payout_app::config::load::load_text(&text).unwrap();
    assert_eq!(config.rail_timeout, Duration::from_secs(3));
    let missing = payout_aws::secrets::parameter(&sdk, "/payouts/nothing").await;
    assert!(missing.is_err(), "a missing parameter stops the cold start");
}

/// A payout written before the status index existed (no `gsi3pk`) is invisible to the sweep of
/// stalled payouts until the planner's tick backfills the index; then the sweep finds it, and
/// the backfill, done, costs a read.
#[tokio::test]
async fn a_payout_from_before_the_status_index_is_swept_once_the_tick_backfills_it() {
    let rail = Arc::new(SimulatedRail::new(1, FailurePlan::default()));
    let (_moto, sdk, resources, runtime) = stack_with_runtime("backfill", "planner", rail).await;
    let p = &runtime.services;
    let now = Utc::now();
    let barber = World::open_barber(p, "legacy", Some("80.00"), now).await;
    let payout = manual_payout(p, &barber, "before the upgrade", "test", now)
        .await
        .unwrap();
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let payout_key = |id: &str| {
        std::collections::HashMap::from([
            ("pk".to_string(), AttributeValue::S(format!("PAYOUT#{id}"))),
            ("sk".to_string(), AttributeValue::S("PAYOUT".into())),
        ])
    };
    client
        .update_item()
        .table_name(&resources.table)
        .set_key(Some(payout_key(payout.id.as_str())))
        .update_expression("REMOVE gsi3pk, gsi3sk")
        .send()
        .await
        .unwrap();
    let stale_before = now + TimeDelta::hours(1);
    let swept = || async { p.store.stalled_payouts(stale_before, 10).await.unwrap() };
    assert!(swept().await.is_empty(), "not in the index yet");

    let store = DynamoStore::new(client, &resources.table);
    assert!(
        backfill_step(&store, 8).await.unwrap(),
        "one page holds the table"
    );
    let found: Vec<_> = swept().await.into_iter().map(|p| p.id).collect();
    assert_eq!(found, [payout.id]);
    assert!(backfill_step(&store, 8).await.unwrap(), "done, and says so");
}
