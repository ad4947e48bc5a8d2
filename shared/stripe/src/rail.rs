//! Paying through Stripe Connect.

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use payout_app::ports::{
    AccountOnboarding, OnboardingLink, PaymentRail, RailError, TransferReceipt, TransferRequest,
};
use payout_core::ids::PayoutId;
use payout_core::method::PaymentMethod;
use payout_core::retry::FailureKind;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::transfer::{CreateTransfer, ListTransfer};
use stripe_core::payout::{CreatePayout, CreatePayoutMethod};

use crate::errors::map_error;

/// Where and how to reach Stripe; tests point `base_url` at a local server.
#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: String,
    /// Stripe's API when `None`; otherwise a base URL ending in `/` (`v1/...` is appended).
    pub base_url: Option<String>,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"********")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl StripeConfig {
    /// `STRIPE_SECRET_KEY`, and `STRIPE_API_BASE` to point at another server.
    pub fn from_env() -> Result<Self, RailError> {
        let secret_key = std::env::var("STRIPE_SECRET_KEY")
            .ok()
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| {
                refused(
                    FailureKind::InsufficientPermissions,
                    "STRIPE_SECRET_KEY is not set",
                )
            })?;
        Ok(Self {
            secret_key,
            base_url: std::env::var("STRIPE_API_BASE").ok(),
        })
    }
}

pub struct StripeRail {
    client: Client,
}

fn refused(kind: FailureKind, message: impl Into<String>) -> RailError {
    RailError {
        kind,
        message: message.into(),
    }
}

fn key(value: String) -> Result<RequestStrategy, RailError> {
    IdempotencyKey::new(value)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| refused(FailureKind::IdempotencyConflict, e.to_string()))
}

impl StripeRail {
    pub fn new(config: &StripeConfig) -> Result<Self, RailError> {
        let mut builder = ClientBuilder::new(&config.secret_key);
        if let Some(url) = &config.base_url {
            builder = builder.url(url);
        }
        let client = builder
            .build()
            .map_err(|e| refused(FailureKind::InsufficientPermissions, e.to_string()))?;
        Ok(Self { client })
    }
}

#[async_trait]
impl PaymentRail for StripeRail {
    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError> {
        let instant = match request.method {
            PaymentMethod::StripeStandard => false,
            PaymentMethod::StripeInstant => true,
            PaymentMethod::BankTransfer | PaymentMethod::Manual => {
                return Err(refused(
                    FailureKind::InvalidPaymentMethod,
                    format!("{} is not paid through Stripe", request.method),
                ));
            }
        };
        let account = request.destination.clone().ok_or_else(|| {
            refused(
                FailureKind::AccountNotVerified,
                "the barber has no Stripe connected account; send them the onboarding link",
            )
        })?;
        let amount = request
            .amount
            .to_minor()
            .map_err(|e| refused(FailureKind::InvalidAmount, e.to_string()))?;
        let currency =
            stripe_types::Currency::from_str(&request.amount.currency().code().to_lowercase())
                .map_err(|_| {
                    refused(
                        FailureKind::InvalidAmount,
                        "currency not supported by Stripe",
                    )
                })?;
        let metadata = HashMap::from([
            ("payout_id".to_string(), request.payout_id.to_string()),
            ("barber_id".to_string(), request.barber_id.to_string()),
            ("attempt_key".to_string(), request.idempotency_key.clone()),
        ]);
        // Each step has its own key derived from the attempt's, so a replay of the attempt
        // replays both steps and never creates a second transfer or payout.
        let transfer = CreateTransfer::new(currency.clone(), account.clone())
            .amount(amount)
            .transfer_group(request.payout_id.to_string())
            .metadata(metadata.clone())
            .description(format!("payout {}", request.payout_id))
            .customize()
            .request_strategy(key(format!("{}:transfer", request.idempotency_key))?)
            .send(&self.client)
            .await
            .map_err(map_error)?;
        if !instant {
            return Ok(TransferReceipt {
                transfer_id: transfer.id.to_string(),
                settled: true,
            });
        }
        CreatePayout::new(amount, currency)
            .method(CreatePayoutMethod::Instant)
            .metadata(metadata)
            .customize()
            .account_id(
                stripe::AccountId::from_str(&account).map_err(|_| {
                    refused(FailureKind::AccountNotVerified, "malformed account id")
                })?,
            )
            .request_strategy(key(format!("{}:instant_payout", request.idempotency_key))?)
            .send(&self.client)
            .await
            .map_err(map_error)?;
        // The money is on its way to the card; payout.paid (webhook) confirms arrival.
        Ok(TransferReceipt {
            transfer_id: transfer.id.to_string(),
            settled: false,
        })
    }

    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
        let transfers = ListTransfer::new()
            .transfer_group(payout.to_string())
            .limit(10)
            .send(&self.client)
            .await
            .map_err(map_error)?;
        Ok(transfers
            .data
            .into_iter()
            .find(|t| !t.reversed)
            .map(|t| TransferReceipt {
                transfer_id: t.id.to_string(),
                settled: true,
            }))
    }
}

#[async_trait]
impl AccountOnboarding for StripeRail {
    async fn onboarding_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<OnboardingLink, RailError> {
        let link = CreateAccountLink::new(account, CreateAccountLinkType::AccountOnboarding)
            .refresh_url(refresh_url)
            .return_url(return_url)
            .send(&self.client)
            .await
            .map_err(map_error)?;
        Ok(OnboardingLink {
            url: link.url,
            expires_at: chrono::DateTime::from_timestamp(link.expires_at, 0).unwrap_or_default(),
        })
    }
}
