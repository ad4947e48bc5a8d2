//! Payment rails that are not a provider's API, and the router that sends each payout to the
//! rail of its method.
//!
//! - [`offline`]: bank transfer (an export file an operator submits) and manual (paid outside
//!   the system); both hand the payout over in transit until an operator confirms it.
//! - [`paced`]: the provider's rail at its rate limits, a 429 treated as backpressure.

pub mod offline;
pub mod paced;

use std::sync::Arc;

use async_trait::async_trait;
use payout_core::ids::PayoutId;
use payout_core::method::PaymentMethod;

use payout_core::pace::{Endpoint, RailLimits};

use crate::ports::{
    BalancePayout, PaymentRail, RailCall, RailError, TransferReceipt, TransferRequest,
};
use offline::OfflineRail;

/// Stripe methods go to the provider's rail, bank transfer and manual to the offline rail.
pub struct RailsByMethod {
    provider: Arc<dyn PaymentRail>,
    offline: OfflineRail,
}

impl RailsByMethod {
    pub fn new(provider: Arc<dyn PaymentRail>) -> Self {
        Self {
            provider,
            offline: OfflineRail,
        }
    }
}

#[async_trait]
impl PaymentRail for RailsByMethod {
    /// An offline handover calls no provider.
    fn endpoints(&self, call: RailCall) -> &'static [Endpoint] {
        match call {
            RailCall::Transfer(PaymentMethod::BankTransfer | PaymentMethod::Manual) => &[],
            call => self.provider.endpoints(call),
        }
    }

    fn default_limits(&self) -> RailLimits {
        self.provider.default_limits()
    }

    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError> {
        match request.method {
            PaymentMethod::StripeStandard | PaymentMethod::StripeInstant => {
                self.provider.transfer(request).await
            }
            PaymentMethod::BankTransfer | PaymentMethod::Manual => {
                self.offline.transfer(request).await
            }
        }
    }

    /// Only the provider can have moved money on its own; offline handovers are recorded by
    /// the payout itself.
    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
        self.provider.find_transfer(payout).await
    }

    async fn resume_transfer(
        &self,
        payout: &PayoutId,
    ) -> Result<Option<TransferReceipt>, RailError> {
        self.provider.resume_transfer(payout).await
    }

    async fn pay_out_balance(&self, request: &BalancePayout) -> Result<(), RailError> {
        self.provider.pay_out_balance(request).await
    }
}
