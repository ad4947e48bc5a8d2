//! The API Lambda: the same axum router as `payouts serve`, behind API Gateway (HTTP API). Its
//! JWT authorizer verifies every token; the function authorises from the claims it forwards.

use std::sync::Arc;

use payout_app::ports::SystemClock;
use payout_app::rails::RailsByMethod;
use payout_aws::config::sdk_config;
use payout_aws::lambda::{init_logging, runtime_from_env};
use payout_aws::secrets::{STRIPE_KEY, STRIPE_KEY_PARAMETER, secret};
use payout_http::auth::{AuthConfig, ClaimMapping};
use payout_http::gateway::with_authorizer_claims;
use payout_http::{ApiState, router};
use payout_stripe::{StripeConfig, StripeRail};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let key = secret(&sdk_config().await, STRIPE_KEY_PARAMETER, STRIPE_KEY).await?;
    let stripe = Arc::new(StripeRail::new(&StripeConfig::with_key(key))?);
    let runtime = runtime_from_env("api", Arc::new(RailsByMethod::new(stripe.clone()))).await?;
    let app = router(ApiState {
        auth: AuthConfig::authorizer(ClaimMapping::from(&runtime.settings.auth)),
        services: runtime.services,
        clock: Arc::new(SystemClock),
        onboarding: Some(stripe),
        stripe_webhook_secret: None,
    });
    lambda_http::run(with_authorizer_claims(app)).await
}
