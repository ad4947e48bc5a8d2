//! What every payment rail that moves money itself must do (the simulated provider and the
//! Stripe rail on the project's Stripe fake): a transfer is idempotent by its key, and the
//! transfer of a payout is found afterwards, which is what makes a lost response safe to retry.

use payout_app::ports::{PaymentRail, TransferRequest};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::method::PaymentMethod;

use crate::world::usd;

fn request(payout: &str, key: &str) -> TransferRequest {
    TransferRequest {
        payout_id: PayoutId::parse(payout).unwrap(),
        barber_id: BarberId::parse("barber-1").unwrap(),
        destination: Some("acct_barber1".to_string()),
        amount: usd("667.25"),
        method: PaymentMethod::StripeStandard,
        idempotency_key: key.to_string(),
    }
}

/// The same idempotency key twice is one transfer, reported the same both times.
pub async fn a_transfer_is_idempotent_by_its_key(rail: &dyn PaymentRail) {
    let first = rail.transfer(&request("po_1", "po_1:1")).await.unwrap();
    let again = rail.transfer(&request("po_1", "po_1:1")).await.unwrap();
    assert_eq!(first, again);
}

/// Before a payout is paid the rail has no transfer for it; afterwards it has that one.
pub async fn a_paid_payout_is_found_and_an_unpaid_one_is_not(rail: &dyn PaymentRail) {
    let payout = PayoutId::parse("po_2").unwrap();
    assert_eq!(rail.find_transfer(&payout).await.unwrap(), None);
    let receipt = rail.transfer(&request("po_2", "po_2:1")).await.unwrap();
    let found = rail
        .find_transfer(&payout)
        .await
        .unwrap()
        .expect("the transfer is found by its payout");
    assert_eq!(found.transfer_id, receipt.transfer_id);
    assert_eq!(
        rail.find_transfer(&PayoutId::parse("po_3").unwrap())
            .await
            .unwrap(),
        None,
        "another payout's transfer is not this one's"
    );
}
