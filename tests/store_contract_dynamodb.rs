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
    payouts_list_in_order_by_filters_and_cursor,
    heartbeats_keep_the_latest,
    a_period_beyond_one_transaction_is_claimed_and_released_whole,
);

/// The queue contract suite on SQS (moto's server), one queue per test.
mod queue {
    use payout_aws::SqsQueue;
    use payout_aws::stack::{StackNames, create_stack};
    use payout_tests::moto::Moto;
    use payout_tests::queue_contract;

    macro_rules! queue_contract_tests {
        ($($name:ident),* $(,)?) => {
            $(
                #[tokio::test]
                async fn $name() {
                    let moto = Moto::start();
                    let sdk = moto.sdk_config().await;
                    let resources = create_stack(&sdk, &StackNames::with_prefix("contract"), None)
                        .await
                        .unwrap();
                    let queue = SqsQueue::new(
                        aws_sdk_sqs::Client::new(&sdk),
                        &resources.queue_url,
                        &resources.dead_letter_url,
                    );
                    queue_contract::$name(&queue).await;
                }
            )*
        };
    }

    queue_contract_tests!(
        a_job_is_delivered_then_gone_once_acknowledged,
        a_deferred_job_comes_back_at_its_time,
        a_job_for_later_waits_and_depth_counts,
    );
}
