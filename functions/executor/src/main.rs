//! The executor Lambda: pays each job of an SQS batch exactly once and reports only the jobs to
//! see again (ReportBatchItemFailures). The logic is `payout_aws::lambda`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use payout_app::rails::RailsByMethod;
use payout_aws::config::sdk_config;
use payout_aws::lambda::{deadline_at, handle_job_batch, init_logging, runtime_from_env};
use payout_aws::secrets::{STRIPE_KEY, STRIPE_KEY_PARAMETER, secret};
use payout_stripe::{StripeConfig, StripeRail};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let key = secret(&sdk_config().await, STRIPE_KEY_PARAMETER, STRIPE_KEY).await?;
    let stripe = Arc::new(StripeRail::new(&StripeConfig::with_key(key))?);
    let runtime = runtime_from_env("executor", Arc::new(RailsByMethod::new(stripe))).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let runtime = runtime.clone();
        async move {
            let owner = event.context.request_id.clone();
            let deadline = deadline_at(event.context.deadline);
            let now = chrono::Utc::now();
            let response: SqsBatchResponse =
                handle_job_batch(&runtime, event.payload, &owner, now, deadline).await;
            Ok::<_, Error>(response)
        }
    }))
    .await
}
