//! A way of moving money to a barber. Each rail is one adapter behind this trait.

use async_trait::async_trait;
use payout_core::ids::{BarberId, PayoutId};
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReceipt {
    pub transfer_id: String,
    /// True when the money has arrived; false while it is in transit.
    pub settled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct RailError {
    pub kind: FailureKind,
    pub message: String,
}

#[async_trait]
pub trait PaymentRail: Send + Sync {
    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError>;

    /// The successful transfer for `payout`, if the rail has one (Stripe: by transfer_group).
    /// Asked before every attempt after the first, so an attempt whose outcome was unknown is
    /// adopted instead of paid again.
    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError>;
}
