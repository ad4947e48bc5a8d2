//! The planner Lambda: on each EventBridge schedule tick, plan due payouts until done or close to
//! the deadline, re-enqueue stalled ones, and reconcile unsettled ones with Stripe. The logic is `payout_aws::lambda`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::sync::Arc;

use payout_app::rails::RailsByMethod;
use payout_aws::config::sdk_config;
use payout_aws::lambda::{deadline_instant, handle_schedule_tick, init_logging, runtime_from_env};
use payout_aws::secrets::{STRIPE_KEY, STRIPE_KEY_PARAMETER, secret};
use payout_stripe::{StripeConfig, StripeRail};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let key = secret(&sdk_config().await, STRIPE_KEY_PARAMETER, STRIPE_KEY).await?;
    let stripe = Arc::new(StripeRail::new(&StripeConfig::with_key(key))?);
    let runtime = runtime_from_env("planner", Arc::new(RailsByMethod::new(stripe))).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let runtime = runtime.clone();
        async move {
            let deadline = deadline_instant(event.context.deadline);
            let report = handle_schedule_tick(&runtime, chrono::Utc::now(), deadline).await?;
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
