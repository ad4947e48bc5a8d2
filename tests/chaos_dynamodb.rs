//! The chaos simulation with the DynamoDB adapter as its store, on moto's server: the real
//! condition expressions (lock, version, claims, schedule advance) under the same faults.
//! Fewer runs than on the embedded store, since every call is an HTTP request.

use std::sync::Arc;

use payout_aws::DynamoStore;
use payout_aws::dynamo::table::create_table;
use payout_local::chaos::{Sabotage, TICKS, run_on};
use payout_tests::moto::Moto;

const RUNS: u64 = 6;

#[tokio::test]
async fn chaos_runs_on_dynamodb_break_no_invariant() {
    let moto = Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let mut payouts = 0;
    for seed in 1..=RUNS {
        let table = format!("chaos-{seed}");
        create_table(&client, &table).await.unwrap();
        let store = Arc::new(DynamoStore::new(client.clone(), table));
        let outcome = run_on(store, seed, Sabotage::None, false, TICKS).await;
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
