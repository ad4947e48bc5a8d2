//! The API Lambda: the same axum router as `payouts serve`, behind API Gateway (HTTP API).

use std::sync::Arc;

use payout_app::ports::SystemClock;
use payout_app::rails::RailsByMethod;
use payout_aws::lambda::{init_logging, runtime_from_env};
use payout_http::auth::AuthConfig;
use payout_http::{ApiState, router};
use payout_stripe::{StripeConfig, StripeRail};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let stripe = Arc::new(StripeRail::new(&StripeConfig::from_env()?)?);
    let runtime = runtime_from_env("api", Arc::new(RailsByMethod::new(stripe.clone()))).await?;
    let secret =
        std::env::var("JWT_SECRET").map_err(|_| "environment variable JWT_SECRET is not set")?;
    let app = router(ApiState {
        services: runtime.services,
        clock: Arc::new(SystemClock),
        auth: AuthConfig::hs256(secret.as_bytes()),
        onboarding: Some(stripe),
        stripe_webhook_secret: None,
    });
    lambda_http::run(app).await
}
