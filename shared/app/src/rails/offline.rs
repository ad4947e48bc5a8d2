//! Bank transfers and manual payments: nothing leaves the system when the executor "pays"; the
//! payout goes in transit, a bank transfer into its business day's export file, and an operator
//! later confirms it (with the bank's or their own reference) or records it as returned.

use async_trait::async_trait;
use payout_core::ids::PayoutId;
use payout_core::method::PaymentMethod;
use payout_core::retry::FailureKind;

use crate::ports::{PaymentRail, RailError, TransferReceipt, TransferRequest};

pub struct OfflineRail;

#[async_trait]
impl PaymentRail for OfflineRail {
    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError> {
        let prefix = match request.method {
            PaymentMethod::BankTransfer => "bank",
            PaymentMethod::Manual => "manual",
            PaymentMethod::StripeStandard | PaymentMethod::StripeInstant => {
                return Err(RailError {
                    kind: FailureKind::InvalidPaymentMethod,
                    message: format!("{} is not paid offline", request.method),
                });
            }
        };
        if !request.amount.is_positive() {
            return Err(RailError {
                kind: FailureKind::InvalidAmount,
                message: format!("amount {} must be positive", request.amount),
            });
        }
        Ok(TransferReceipt::paid(
            format!("{prefix}:{}", request.payout_id),
            false,
        ))
    }

    async fn find_transfer(
        &self,
        _payout: &PayoutId,
    ) -> Result<Option<TransferReceipt>, RailError> {
        Ok(None)
    }
}
