//! The store contract suite against the DynamoDB adapter on moto's server.

use payout_aws::DynamoStore;
use payout_aws::dynamo::table::create_table;
use payout_tests::contract;
use payout_tests::moto::Moto;

async fn fresh(moto: &Moto) -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    create_table(&client, "payouts").await.unwrap();
    DynamoStore::new(client, "payouts")
}

macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let moto = Moto::start();
                let store = fresh(&moto).await;
                contract::$name(&store).await;
            }
        )*
    };
}

contract_tests!(
    lock_is_exclusive_until_its_lease_expires,
    earnings_are_idempotent_by_id_and_content,
    payout_creation_is_conditional_and_claims_earnings,
    payout_updates_are_conditional_on_version,
    cancel_returns_earnings_to_the_open_balance,
    due_schedules_page_in_order_and_advance_conditionally,
    schedules_are_created_once,
    advance_notices_come_due_once_per_barber,
    notifications_are_recorded_once,
    pending_notices_come_due_until_settled,
    planning_failures_count_until_cleared,
    webhook_events_are_recorded_once,
    a_period_beyond_one_transaction_is_claimed_and_released_whole,
);
