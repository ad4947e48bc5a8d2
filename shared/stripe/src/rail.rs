//! Paying through Stripe Connect.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use payout_app::ports::{
    AccountOnboarding, BalancePayout, OnboardingLink, PaymentRail, RailCall, RailError,
    TransferReceipt, TransferRequest,
};
use payout_core::ids::PayoutId;
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::pace::{Endpoint, RailLimits};
use payout_core::retry::FailureKind;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_connect::Transfer;
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::transfer::{CreateTransfer, ListTransfer};
use stripe_core::payout::{CreatePayout, CreatePayoutMethod, ListPayout};

use crate::errors::map_error;

/// Where and how to reach Stripe; tests point `base_url` at a local server.
#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: String,
    /// Stripe's API when `None`; otherwise a base URL ending in `/` (`v1/...` is appended).
    pub base_url: Option<String>,
    /// The client's own limit on each HTTP request: a backstop under the callers' deadlines,
    /// so no call to Stripe, from any caller, can hang.
    pub timeout: Duration,
}

/// The client's limit when the configuration sets none: the rail's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"********")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl StripeConfig {
    /// `secret_key` (read from wherever secrets are kept), and `STRIPE_API_BASE` to point at
    /// another server.
    pub fn with_key(secret_key: String) -> Self {
        Self {
            secret_key,
            base_url: std::env::var("STRIPE_API_BASE").ok(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

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
        Ok(Self::with_key(secret_key))
    }
}

pub struct StripeRail {
    client: Client,
    /// A test-mode key: Stripe's sandbox, which allows a quarter of a live account's requests.
    sandbox: bool,
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
        let mut builder = ClientBuilder::new(&config.secret_key).timeout(config.timeout);
        if let Some(url) = &config.base_url {
            builder = builder.url(url);
        }
        let client = builder
            .build()
            .map_err(|e| refused(FailureKind::InsufficientPermissions, e.to_string()))?;
        let sandbox = ["sk_test_", "rk_test_"]
            .iter()
            .any(|prefix| config.secret_key.starts_with(prefix));
        Ok(Self { client, sandbox })
    }
}

#[async_trait]
impl PaymentRail for StripeRail {
    /// An instant payout is a transfer and a payout on the connected account; a resumed one
    /// looks up both and may make the payout.
    fn endpoints(&self, call: RailCall) -> &'static [Endpoint] {
        match call {
            RailCall::Transfer(PaymentMethod::StripeInstant) => {
                &[Endpoint::Transfers, Endpoint::Payouts]
            }
            RailCall::Transfer(_) => &[Endpoint::Transfers],
            RailCall::Lookup => &[Endpoint::TransferLookups],
            RailCall::Resume => &[
                Endpoint::TransferLookups,
                Endpoint::PayoutLookups,
                Endpoint::Payouts,
            ],
            RailCall::PayOut => &[Endpoint::Payouts],
        }
    }

    fn default_limits(&self) -> RailLimits {
        RailLimits::stripe(self.sandbox)
    }

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
        let (amount, currency) = stripe_amount(request.amount)?;
        let metadata = HashMap::from([
            ("payout_id".to_string(), request.payout_id.to_string()),
            ("barber_id".to_string(), request.barber_id.to_string()),
            ("attempt_key".to_string(), request.idempotency_key.clone()),
            ("method".to_string(), request.method.to_string()),
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
            return Ok(TransferReceipt::paid(transfer.id.to_string(), true));
        }
        let instant_refused = self
            .instant_payout(&account, amount, currency, metadata)
            .await?;
        // The money is on its way to the card (or the bank); payout.paid (webhook) confirms
        // arrival.
        Ok(TransferReceipt {
            transfer_id: transfer.id.to_string(),
            settled: false,
            instant_refused,
        })
    }

    /// The payout's transfer, by its transfer group: a GET, nothing more. An instant payout's
    /// transfer is in transit (its instant payout is Stripe's to report).
    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
        Ok(self
            .standing_transfer(payout)
            .await?
            .map(|transfer| TransferReceipt::paid(transfer.id.to_string(), !is_instant(&transfer))))
    }

    /// An instant payout's protocol resumed where it stopped: the transfer found, its payout
    /// on the connected account found made (instant, or standard where Stripe refused instant)
    /// or made now under the attempt's keys, so a lost answer never leaves the barber paying
    /// the instant fee for a standard arrival, nor the money in their Stripe balance.
    async fn resume_transfer(
        &self,
        payout: &PayoutId,
    ) -> Result<Option<TransferReceipt>, RailError> {
        let Some(transfer) = self.standing_transfer(payout).await? else {
            return Ok(None);
        };
        let transfer_id = transfer.id.to_string();
        let account = transfer.destination.as_ref().map(|d| d.id().to_string());
        let (true, Some(account)) = (is_instant(&transfer), account) else {
            return Ok(Some(TransferReceipt::paid(transfer_id, true)));
        };
        let attempt_key = attempt_key_of(&transfer.metadata)?;
        let instant_refused = match self
            .made_payout(&account, &attempt_key, transfer.created)
            .await?
        {
            Some(made) => made,
            None => {
                self.instant_payout(
                    &account,
                    transfer.amount,
                    transfer.currency.clone(),
                    transfer.metadata.clone(),
                )
                .await?
            }
        };
        Ok(Some(TransferReceipt {
            transfer_id,
            settled: false,
            instant_refused,
        }))
    }

    /// A new payout, on the connected account the transfer went to, of what the transfer
    /// left in its balance; `payout.paid` (webhook) confirms arrival.
    async fn pay_out_balance(&self, request: &BalancePayout) -> Result<(), RailError> {
        let (amount, currency) = stripe_amount(request.amount)?;
        let metadata = HashMap::from([
            ("payout_id".to_string(), request.payout_id.to_string()),
            ("left_behind".to_string(), "true".to_string()),
        ]);
        self.payout_from_balance(
            &account_id(&request.account)?,
            amount,
            currency,
            request.instant,
            metadata,
            key(request.idempotency_key.clone())?,
        )
        .await
        .map_err(map_error)
    }
}

/// `amount` as Stripe takes it: in minor units, with its currency's name.
fn stripe_amount(amount: Money) -> Result<(i64, stripe_types::Currency), RailError> {
    let minor = amount
        .to_minor()
        .map_err(|e| refused(FailureKind::InvalidAmount, e.to_string()))?;
    let currency = stripe_types::Currency::from_str(&amount.currency().code().to_lowercase())
        .map_err(|_| {
            refused(
                FailureKind::InvalidAmount,
                "currency not supported by Stripe",
            )
        })?;
    Ok((minor, currency))
}

/// Whether `transfer` was made for an instant payout.
fn is_instant(transfer: &Transfer) -> bool {
    transfer.metadata.get("method").map(String::as_str)
        == Some(PaymentMethod::StripeInstant.as_str())
}

impl StripeRail {
    /// The payout's transfer that stands (not reversed), if Stripe has one.
    async fn standing_transfer(&self, payout: &PayoutId) -> Result<Option<Transfer>, RailError> {
        let transfers = ListTransfer::new()
            .transfer_group(payout.to_string())
            .limit(10)
            .send(&self.client)
            .await
            .map_err(map_error)?;
        Ok(transfers.data.into_iter().find(|t| !t.reversed))
    }

    /// The instant payout of a transfer's amount on the connected account, keyed by the
    /// attempt's key so a replay (or a resumed protocol) never makes a second one. Where Stripe
    /// refuses to pay it instantly, a standard payout of the same amount, under its own key
    /// derived from the attempt's, and the refusal.
    async fn instant_payout(
        &self,
        account: &str,
        amount: i64,
        currency: stripe_types::Currency,
        mut metadata: HashMap<String, String>,
    ) -> Result<Option<String>, RailError> {
        let attempt_key = attempt_key_of(&metadata)?;
        let account = account_id(account)?;
        let instant = self
            .payout_from_balance(
                &account,
                amount,
                currency.clone(),
                true,
                metadata.clone(),
                key(format!("{attempt_key}:instant_payout"))?,
            )
            .await;
        let refusal = match instant {
            Ok(()) => return Ok(None),
            Err(error) => match instant_refusal(&error) {
                Some(code) => code,
                None => return Err(map_error(error)),
            },
        };
        metadata.insert(INSTANT_REFUSED.to_string(), refusal.clone());
        self.payout_from_balance(
            &account,
            amount,
            currency,
            false,
            metadata,
            key(format!("{attempt_key}:standard_payout"))?,
        )
        .await
        .map_err(map_error)?;
        Ok(Some(refusal))
    }

    /// The payout made on `account` for the attempt `attempt_key`, if Stripe has one: `None`
    /// within it for an instant payout, the refusal for the standard payout made instead.
    /// Asked of the payouts created since the attempt's transfer, so an attempt resumed after
    /// its keys expired (24 hours) adopts what it made rather than asking again.
    async fn made_payout(
        &self,
        account: &str,
        attempt_key: &str,
        since: stripe_types::Timestamp,
    ) -> Result<Option<Option<String>>, RailError> {
        let payouts = ListPayout::new()
            .created(stripe_types::RangeQueryTs::gte(since))
            .limit(100)
            .customize()
            .account_id(account_id(account)?)
            .send(&self.client)
            .await
            .map_err(map_error)?;
        Ok(payouts
            .data
            .into_iter()
            .filter(|payout| payout.status != "failed" && payout.status != "canceled")
            .find_map(|payout| {
                let metadata = payout.metadata.unwrap_or_default();
                (metadata.get("attempt_key").map(String::as_str) == Some(attempt_key))
                    .then(|| metadata.get(INSTANT_REFUSED).cloned())
            }))
    }

    /// A payout of `amount` from the connected account's balance to its bank, instant or
    /// standard, under `strategy` (its idempotency key).
    async fn payout_from_balance(
        &self,
        account: &stripe::AccountId,
        amount: i64,
        currency: stripe_types::Currency,
        instant: bool,
        metadata: HashMap<String, String>,
        strategy: RequestStrategy,
    ) -> Result<(), StripeError> {
        CreatePayout::new(amount, currency)
            .method(if instant {
                CreatePayoutMethod::Instant
            } else {
                CreatePayoutMethod::Standard
            })
            .metadata(metadata)
            .customize()
            .account_id(account.clone())
            .request_strategy(strategy)
            .send(&self.client)
            .await?;
        Ok(())
    }
}

/// The metadata key of a standard payout made where Stripe refused an instant one: the refusal.
const INSTANT_REFUSED: &str = "instant_refused";

/// Stripe's refusals of an instant payout that a standard payout of the same balance answers:
/// the account's card or bank cannot take instant payouts, the account is not enabled for them
/// (or not in this currency), or it is over its instant limit.
const INSTANT_REFUSALS: [&str; 4] = [
    "instant_payouts_unsupported",
    "instant_payouts_limit_exceeded",
    "instant_payouts_config_disabled",
    "instant_payouts_currency_disabled",
];

/// The refusal's code, when `error` is Stripe refusing to pay instantly.
fn instant_refusal(error: &StripeError) -> Option<String> {
    let StripeError::Stripe(api, _) = error else {
        return None;
    };
    let code = api.code.as_ref()?.as_str();
    INSTANT_REFUSALS.contains(&code).then(|| code.to_string())
}

/// The attempt key a transfer (and its payout) carries in its metadata.
fn attempt_key_of(metadata: &HashMap<String, String>) -> Result<String, RailError> {
    metadata.get("attempt_key").cloned().ok_or_else(|| {
        refused(
            FailureKind::IdempotencyConflict,
            "the transfer has no attempt key to resume its instant payout with",
        )
    })
}

fn account_id(account: &str) -> Result<stripe::AccountId, RailError> {
    stripe::AccountId::from_str(account)
        .map_err(|_| refused(FailureKind::AccountNotVerified, "malformed account id"))
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
