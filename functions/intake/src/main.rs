//! The intake Lambda: the booking platform's completed and refunded services, from EventBridge
//! through the intake queue, recorded as earnings, voided or clawed back; rejected events go to
//! the intake dead-letter queue with their reason. The logic is `payout_aws::intake`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use payout_aws::config::sdk_config;
use payout_aws::intake::{Rejections, handle_intake_batch};
use payout_aws::lambda::{UnconfiguredRail, init_logging, runtime_from_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let runtime = runtime_from_env("intake", Arc::new(UnconfiguredRail)).await?;
    let dead_letters = std::env::var("INTAKE_DEAD_LETTER_QUEUE_URL")
        .map_err(|_| "INTAKE_DEAD_LETTER_QUEUE_URL is not set")?;
    let rejections = Rejections::new(aws_sdk_sqs::Client::new(&sdk_config().await), dead_letters);
    let (runtime, rejections) = (&runtime, &rejections);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let response: SqsBatchResponse =
            handle_intake_batch(runtime, rejections, event.payload, chrono::Utc::now()).await;
        Ok::<_, Error>(response)
    }))
    .await
}
