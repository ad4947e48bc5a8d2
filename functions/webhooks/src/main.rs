//! The Stripe webhooks Lambda: the webhook route of the shared router, behind API Gateway.

use std::sync::Arc;

use payout_app::ports::SystemClock;
use payout_aws::config::sdk_config;
use payout_aws::lambda::{UnconfiguredRail, init_logging, runtime_from_env};
use payout_aws::secrets::secret;
use payout_http::auth::{AuthConfig, ClaimMapping};
use payout_http::{ApiState, webhooks_router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let runtime = runtime_from_env("webhooks", Arc::new(UnconfiguredRail)).await?;
    let signing = secret(
        &sdk_config().await,
        "STRIPE_WEBHOOK_SECRET_PARAMETER",
        "STRIPE_WEBHOOK_SECRET",
    )
    .await?;
    let app = webhooks_router(ApiState {
        services: runtime.services,
        clock: Arc::new(SystemClock),
        // Webhooks authenticate by signature. No bearer token is ever accepted here: the
        // authorizer mode with no claims attached refuses every caller.
        auth: AuthConfig::authorizer(ClaimMapping::from(&runtime.settings.auth)),
        onboarding: None,
        stripe_webhook_secret: Some(Arc::from(signing.as_bytes())),
    });
    lambda_http::run(app).await
}
