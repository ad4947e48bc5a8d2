//! A way of moving money to a barber. Each rail is one adapter behind this trait.

use async_trait::async_trait;
use payout_core::ids::{BarberId, PayoutId};
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::pace::{Endpoint, RailLimits};
use payout_core::retry::FailureKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub payout_id: PayoutId,
    pub barber_id: BarberId,
    pub destination: Option<String>,
    pub amount: Money,
    pub method: PaymentMethod,
    /// `payout id : attempt`; the rail must return the saved result when it sees a key again.
    pub idempotency_key: String,
}

/// A payout of what a transfer left in the barber's balance at the rail (Stripe: the
/// connected account's balance) to their bank.
#[derive(Debug, Clone)]
pub struct BalancePayout {
    pub payout_id: PayoutId,
    /// The account holding the balance: where the payout's transfer went.
    pub account: String,
    pub amount: Money,
    /// Instant (to a card, for a fee) or standard (to the bank, in a few days).
    pub instant: bool,
    /// The rail returns the saved result when it sees a key again.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReceipt {
    pub transfer_id: String,
    /// True when the money has arrived; false while it is in transit.
    pub settled: bool,
    /// Why the provider refused to pay an instant payout instantly, when it paid it as a
    /// standard payout instead (Stripe: `instant_payouts_unsupported`, ...).
    pub instant_refused: Option<String>,
}

impl TransferReceipt {
    /// A transfer paid as it was asked for.
    pub fn paid(transfer_id: String, settled: bool) -> Self {
        Self {
            transfer_id,
            settled,
            instant_refused: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct RailError {
    pub kind: FailureKind,
    pub message: String,
}

/// A call of the rail, as its pace sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RailCall {
    Transfer(PaymentMethod),
    /// `find_transfer`.
    Lookup,
    /// `resume_transfer`.
    Resume,
    /// `pay_out_balance`.
    PayOut,
}

#[async_trait]
pub trait PaymentRail: Send + Sync {
    /// The provider's endpoints `call` makes a request of, one each: the pace takes a turn of
    /// each, and of the account's total for each.
    fn endpoints(&self, call: RailCall) -> &'static [Endpoint] {
        match call {
            RailCall::Transfer(_) => &[Endpoint::Transfers],
            RailCall::Lookup | RailCall::Resume => &[Endpoint::TransferLookups],
            RailCall::PayOut => &[Endpoint::Payouts],
        }
    }

    /// What the provider accepts by default, before `[rail.limits]`: Stripe's published live
    /// limits unless the rail knows better.
    fn default_limits(&self) -> RailLimits {
        RailLimits::stripe(false)
    }

    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError>;

    /// The successful transfer for `payout`, if the rail has one (Stripe: by transfer_group).
    /// A pure lookup: it changes nothing at the rail.
    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError>;

    /// The same, and where the rail pays in two steps, the second step the transfer's own
    /// attempt began is finished under that attempt's key (Stripe: the instant payout on the
    /// connected account, made now or found made). Asked before every attempt after the first,
    /// and by reconciliation, so that an attempt whose outcome was unknown is adopted whole
    /// instead of paid again; never for an outcome the provider reported (a failed instant
    /// payout would be replayed as the success Stripe saved for its key).
    async fn resume_transfer(
        &self,
        payout: &PayoutId,
    ) -> Result<Option<TransferReceipt>, RailError> {
        self.find_transfer(payout).await
    }

    /// Pays out what a transfer left in the barber's balance at the rail (a failed instant
    /// payout leaves its transfer there). A rail that keeps no balance refuses.
    async fn pay_out_balance(&self, request: &BalancePayout) -> Result<(), RailError> {
        Err(RailError {
            kind: FailureKind::InvalidPaymentMethod,
            message: format!(
                "this rail keeps no balance for payout {} to pay out",
                request.payout_id
            ),
        })
    }
}
