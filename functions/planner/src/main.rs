//! The planner Lambda. On each EventBridge schedule tick it sends every shard of the due index
//! to its shard queue, re-enqueues stalled payouts and reconciles unsettled ones with Stripe; on
//! each batch from the shard queue (its second event source) it plans those shards until done
//! or close to the deadline. The logic is `payout_aws::lambda`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::sync::Arc;

use payout_app::rails::RailsByMethod;
use payout_aws::config::sdk_config;
use payout_aws::lambda::{
    deadline_instant, handle_schedule_tick, handle_shard_plans, init_logging, runtime_from_env,
};
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
            if event.payload.get("Records").is_some() {
                let batch = serde_json::from_value(event.payload)?;
                let response =
                    handle_shard_plans(&runtime, batch, chrono::Utc::now(), deadline).await;
                return Ok::<_, Error>(serde_json::to_value(response)?);
            }
            let report = handle_schedule_tick(&runtime, chrono::Utc::now(), deadline).await?;
            Ok(serde_json::to_value(report)?)
        }
    }))
    .await
}
