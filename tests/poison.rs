//! One bad barber never stops the others: the poison scenario on SQLite and on DynamoDB.

use std::sync::Arc;
use std::time::Duration;

use payout_aws::DynamoStore;
use payout_aws::dynamo::table::create_table;
use payout_local::FailurePlan;
use payout_tests::moto::Moto;
use payout_tests::scenarios::poison_barbers_never_stop_the_healthy_ones;
use payout_tests::world::World;

#[tokio::test]
async fn poison_barbers_on_sqlite() {
    let mut world = World::new(7, FailurePlan::default(), false, Duration::ZERO);
    poison_barbers_never_stop_the_healthy_ones(&mut world).await;
}

#[tokio::test]
async fn poison_barbers_on_dynamodb() {
    let moto = Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    create_table(&client, "payouts").await.unwrap();
    let store = Arc::new(DynamoStore::new(client, "payouts"));
    let mut world = World::with_store(
        store,
        tempfile::tempdir().unwrap(),
        7,
        FailurePlan::default(),
        false,
        Duration::ZERO,
    );
    poison_barbers_never_stop_the_healthy_ones(&mut world).await;
}
