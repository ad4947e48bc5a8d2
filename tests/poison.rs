//! One bad barber never stops the others: the poison scenario on SQLite and on DynamoDB, each
//! with a schedule record corrupted in that store's own format.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use payout_app::ports::ScheduleStore;
use payout_aws::DynamoStore;
use payout_aws::dynamo::table::create_table;
use payout_local::sqlite::Durability;
use payout_local::{FailurePlan, SqliteStore};
use payout_tests::moto::Moto;
use payout_tests::scenarios::{
    UNREADABLE, poison_barbers_never_stop_the_healthy_ones, unreadable_schedule,
};
use payout_tests::world::World;

/// The body of a schedule no version of the store could decode.
const GARBAGE: &str = "{\"barber_id\": \"poison-unreadable\", \"calendar\": 7";

#[tokio::test]
async fn poison_barbers_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poison.db");
    {
        let store = SqliteStore::open(&path, Durability::ProcessCrashSafe).unwrap();
        store.insert_schedule(&unreadable_schedule()).await.unwrap();
    }
    // The store holds the file exclusively while open; corrupt the row between two opens.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE schedules SET body = ?1 WHERE barber_id = ?2",
            [GARBAGE, UNREADABLE],
        )
        .unwrap();
    let store = Arc::new(SqliteStore::open(&path, Durability::ProcessCrashSafe).unwrap());
    let mut world = World::with_store(store, dir, 7, FailurePlan::default(), false, Duration::ZERO);
    poison_barbers_never_stop_the_healthy_ones(&mut world).await;
}

#[tokio::test]
async fn poison_barbers_on_dynamodb() {
    let moto = Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    create_table(&client, "payouts").await.unwrap();
    let store = Arc::new(DynamoStore::new(client.clone(), "payouts"));
    store.insert_schedule(&unreadable_schedule()).await.unwrap();
    client
        .update_item()
        .table_name("payouts")
        .key("pk", AttributeValue::S(format!("BARBER#{UNREADABLE}")))
        .key("sk", AttributeValue::S("SCHEDULE".into()))
        .update_expression("SET json_doc = :garbage")
        .expression_attribute_values(":garbage", AttributeValue::S(GARBAGE.into()))
        .send()
        .await
        .unwrap();
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
