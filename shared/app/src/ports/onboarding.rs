//! Connected-account onboarding: the link a barber follows to verify their payout account.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::RailError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait AccountOnboarding: Send + Sync {
    /// A one-time onboarding link for `account`; the provider sends the barber to `return_url`
    /// when done and to `refresh_url` when the link expired.
    async fn onboarding_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<OnboardingLink, RailError>;
}
