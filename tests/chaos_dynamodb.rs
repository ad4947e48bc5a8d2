//! The chaos simulation with the AWS adapters on moto's server: DynamoDB as the store (the real
//! condition expressions: lock, version, claims, schedule advance), then SQS as the queue too,
//! under the same faults. Fewer runs than on the embedded adapters, since every call is an HTTP
//! request.

use std::sync::Arc;

use payout_aws::DynamoStore;
use payout_aws::dynamo::table::create_table;
use payout_aws::sqs::SqsQueue;
use payout_aws::stack::{StackNames, create_stack};
use payout_local::MemoryQueue;
use payout_local::chaos::{Sabotage, TICKS, run_on};
use payout_tests::moto::Moto;

const RUNS: u64 = 6;
const SQS_RUNS: u64 = 3;
const SQS_TICKS: u64 = 24;

#[tokio::test]
async fn chaos_runs_on_dynamodb_break_no_invariant() {
    let moto = Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let mut payouts = 0;
    for seed in 1..=RUNS {
        let table = format!("chaos-{seed}");
        create_table(&client, &table).await.unwrap();
        let store = Arc::new(DynamoStore::new(client.clone(), table));
        let queue = Arc::new(MemoryQueue::default());
        let outcome = run_on(store, queue, seed, Sabotage::None, false, TICKS).await;
        assert!(
            outcome.violations.is_empty(),
            "seed {seed}: {:?}",
            outcome.violations
        );
        payouts += outcome.payouts;
    }
    assert!(
        payouts > 10,
        "the runs paid too little to prove much: {payouts}"
    );
}

/// With SQS as the queue too. Its delays and visibility run on real time, not the simulation's
/// clock: jobs dated in the simulated past arrive at once, a deferral to a simulated instant
/// is visible at once, and a delivery whose executor crashed comes back after the queue's
/// visibility timeout (one real second here). So these runs exercise the adapter's receive,
/// delete, visibility changes and redelivery under the same faults, not its timing.
#[tokio::test]
async fn chaos_runs_on_dynamodb_and_sqs_break_no_invariant() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let mut payouts = 0;
    for seed in 1..=SQS_RUNS {
        let resources = create_stack(
            &sdk,
            &StackNames::with_prefix(&format!("chaos{seed}")),
            Some(1),
        )
        .await
        .unwrap();
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &resources.table,
        ));
        // As deployed, with the urgent lane: the operators' payouts and retries of the chaos
        // runs go there.
        let queue = SqsQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            &resources.queue_url,
            &resources.dead_letter_url,
        );
        let queue = Arc::new(queue.with_urgent_lane(resources.urgent_queue_url.clone().unwrap()));
        let outcome = run_on(store, queue, seed, Sabotage::None, false, SQS_TICKS).await;
        assert!(
            outcome.violations.is_empty(),
            "seed {seed}: {:?}",
            outcome.violations
        );
        payouts += outcome.payouts;
    }
    assert!(payouts > 0, "the runs paid nothing");
}
