//! The contract suites on the AWS adapters, on moto's server: DynamoDB, SQS and SNS. Each test
//! starts its own server.

use payout_app::ports::{JobQueue, Notifier, Store};
use payout_aws::dynamo::table::create_table;
use payout_aws::lambda::Resources;
use payout_aws::stack::{StackNames, create_stack};
use payout_aws::{DynamoStore, SnsNotifier, SqsQueue};
use payout_tests::inboxes::SnsInbox;
use payout_tests::moto::Moto;
use payout_tests::notifier_contract::Wired;

async fn with_store(test: impl AsyncFnOnce(&dyn Store)) {
    let moto = Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    create_table(&client, "payouts").await.unwrap();
    test(&DynamoStore::new(client, "payouts")).await;
}

/// The queues and topic the stack has, on a fresh server.
async fn with_stack(test: impl AsyncFnOnce(&aws_config::SdkConfig, &Resources)) {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let resources = create_stack(&sdk, &StackNames::with_prefix("contract"), None)
        .await
        .unwrap();
    test(&sdk, &resources).await;
}

/// The job queue as deployed, with its urgent lane.
async fn with_queue(test: impl AsyncFnOnce(&dyn JobQueue)) {
    with_stack(async |sdk, resources| {
        let client = aws_sdk_sqs::Client::new(sdk);
        let queue = SqsQueue::new(client, &resources.queue_url, &resources.dead_letter_url);
        let urgent_lane = resources.urgent_queue_url.as_ref().unwrap();
        test(&queue.with_urgent_lane(urgent_lane)).await;
    })
    .await;
}

async fn with_notifier(test: impl AsyncFnOnce(&Wired<'_>)) {
    with_stack(async |sdk, resources| {
        let inbox = SnsInbox::subscribe(sdk, &resources.topic_arn).await;
        let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &resources.topic_arn);
        let notifier: &dyn Notifier = &notifier;
        test(&Wired {
            notifier,
            inbox: &inbox,
        })
        .await;
    })
    .await;
}

mod store {
    use super::with_store;
    payout_tests::store_contract_suite!(with_store);
}

mod queue {
    use super::with_queue;
    payout_tests::queue_contract_suite!(with_queue);
}

mod notifier {
    use super::with_notifier;
    payout_tests::notifier_contract_suite!(with_notifier);
}
