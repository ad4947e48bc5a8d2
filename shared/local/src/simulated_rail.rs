//! A payment rail that moves no money, for the demo and the tests.
//!
//! It behaves like Stripe where it matters for exactly-once: an idempotency key replays its
//! saved result (errors included), a key reused with other parameters is refused, every
//! transfer is findable by its payout (Stripe's transfer_group), and a "lost response" fault
//! makes the transfer and then reports a timeout. Failures are injected per barber from a seed,
//! so one seed reproduces one run exactly. Its own ledger is the ground truth the checks use.
//!
//! `payouts serve` keeps that ledger in a journal file (one fsynced line per transfer, read back
//! at start), so the simulated provider outlives a crash of the process, as Stripe would.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use async_trait::async_trait;
use parking_lot::Mutex;
use payout_app::ports::{PaymentRail, RailError, TransferReceipt, TransferRequest};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::retry::FailureKind;
use serde::{Deserialize, Serialize};

/// How a barber's payments fail, in parts per thousand of attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailurePlan {
    /// Attempts refused with a retryable error (429, 5xx, timeout before the transfer).
    pub retryable_per_mille: u16,
    /// Attempts that make the transfer but lose the response (the caller sees a timeout).
    pub lost_response_per_mille: u16,
    /// Every attempt fails with this permanent error.
    pub permanent: Option<FailureKind>,
}

/// One transfer the rail made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RailTransfer {
    pub transfer_id: String,
    pub payout_id: PayoutId,
    pub barber_id: BarberId,
    pub amount: Money,
    pub idempotency_key: String,
}

#[derive(Debug, Default)]
struct Ledger {
    saved: HashMap<String, (TransferRequest, Result<TransferReceipt, RailError>)>,
    transfers: Vec<RailTransfer>,
    by_payout: HashMap<PayoutId, Vec<usize>>,
    calls: u64,
}

#[derive(Debug, Default)]
pub struct SimulatedRail {
    seed: u64,
    plans: Mutex<HashMap<BarberId, FailurePlan>>,
    default_plan: FailurePlan,
    ledger: Mutex<Ledger>,
    journal: Mutex<Option<File>>,
    /// How long the provider takes to answer a transfer.
    latency: std::time::Duration,
}

/// A transfer as the journal keeps it.
#[derive(Serialize, Deserialize)]
struct JournalEntry {
    transfer_id: String,
    payout_id: PayoutId,
    barber_id: BarberId,
    destination: Option<String>,
    amount: Money,
    method: PaymentMethod,
    idempotency_key: String,
}

/// SplitMix64 over the seed and a string: a stable, well-mixed roll per idempotency key.
fn roll(seed: u64, key: &str) -> u64 {
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    for byte in key.bytes() {
        state = (state ^ u64::from(byte)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        state ^= state >> 31;
    }
    state = (state ^ (state >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    state = (state ^ (state >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    state ^ (state >> 31)
}

const RETRYABLE_KINDS: [FailureKind; 4] = [
    FailureKind::ProviderUnavailable,
    FailureKind::RateLimited,
    FailureKind::Timeout,
    FailureKind::Connection,
];

impl SimulatedRail {
    pub fn new(seed: u64, default_plan: FailurePlan) -> Self {
        Self {
            seed,
            default_plan,
            ..Self::default()
        }
    }

    /// A rail whose transfers are appended to `path` and were read back from it.
    pub fn journaled(seed: u64, default_plan: FailurePlan, path: &Path) -> std::io::Result<Self> {
        let rail = Self::new(seed, default_plan);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        {
            let mut ledger = rail.ledger.lock();
            for line in BufReader::new(&file).lines() {
                let entry: JournalEntry = serde_json::from_str(&line?)?;
                let request = TransferRequest {
                    payout_id: entry.payout_id,
                    barber_id: entry.barber_id,
                    destination: entry.destination,
                    amount: entry.amount,
                    method: entry.method,
                    idempotency_key: entry.idempotency_key,
                };
                let receipt = Self::record_transfer(&mut ledger, &request, entry.transfer_id);
                ledger
                    .saved
                    .insert(request.idempotency_key.clone(), (request, Ok(receipt)));
            }
        }
        *rail.journal.lock() = Some(file);
        Ok(rail)
    }

    /// The same rail, answering transfers after `latency`, as a real provider does.
    pub fn with_latency(mut self, latency: std::time::Duration) -> Self {
        self.latency = latency;
        self
    }

    pub fn set_plan(&self, barber: &BarberId, plan: FailurePlan) {
        self.plans.lock().insert(barber.clone(), plan);
    }

    pub fn transfers(&self) -> Vec<RailTransfer> {
        self.ledger.lock().transfers.clone()
    }

    /// Payouts the rail paid more than once: must be zero.
    pub fn duplicate_payments(&self) -> u64 {
        self.ledger
            .lock()
            .by_payout
            .values()
            .filter(|transfers| transfers.len() > 1)
            .count() as u64
    }

    pub fn calls(&self) -> u64 {
        self.ledger.lock().calls
    }

    fn plan_for(&self, barber: &BarberId) -> FailurePlan {
        self.plans
            .lock()
            .get(barber)
            .copied()
            .unwrap_or(self.default_plan)
    }

    /// Makes a transfer: journaled first (when there is a journal), then in the ledger.
    fn make_transfer(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
    ) -> Result<TransferReceipt, RailError> {
        let transfer_id = format!("tr_sim_{:08}", ledger.transfers.len());
        if let Some(journal) = self.journal.lock().as_mut() {
            let entry = JournalEntry {
                transfer_id: transfer_id.clone(),
                payout_id: request.payout_id.clone(),
                barber_id: request.barber_id.clone(),
                destination: request.destination.clone(),
                amount: request.amount,
                method: request.method,
                idempotency_key: request.idempotency_key.clone(),
            };
            let line = serde_json::to_string(&entry).map_err(|e| e.to_string());
            line.and_then(|line| {
                writeln!(journal, "{line}")
                    .and_then(|()| journal.sync_data())
                    .map_err(|e| e.to_string())
            })
            .map_err(|error| RailError {
                kind: FailureKind::ProviderUnavailable,
                message: format!("the simulated provider could not journal: {error}"),
            })?;
        }
        Ok(Self::record_transfer(ledger, request, transfer_id))
    }

    fn record_transfer(
        ledger: &mut Ledger,
        request: &TransferRequest,
        transfer_id: String,
    ) -> TransferReceipt {
        let index = ledger.transfers.len();
        ledger.transfers.push(RailTransfer {
            transfer_id: transfer_id.clone(),
            payout_id: request.payout_id.clone(),
            barber_id: request.barber_id.clone(),
            amount: request.amount,
            idempotency_key: request.idempotency_key.clone(),
        });
        ledger
            .by_payout
            .entry(request.payout_id.clone())
            .or_default()
            .push(index);
        // Like Stripe: an instant payout is in transit until its payout.paid webhook.
        TransferReceipt::paid(transfer_id, request.method != PaymentMethod::StripeInstant)
    }
}

#[async_trait]
impl PaymentRail for SimulatedRail {
    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let plan = self.plan_for(&request.barber_id);
        let mut ledger = self.ledger.lock();
        ledger.calls += 1;
        if let Some((saved_request, saved_result)) = ledger.saved.get(&request.idempotency_key) {
            if saved_request != request {
                return Err(RailError {
                    kind: FailureKind::IdempotencyConflict,
                    message: format!(
                        "key {} was used with different parameters",
                        request.idempotency_key
                    ),
                });
            }
            return saved_result.clone();
        }
        if !request.amount.is_positive() {
            return Err(RailError {
                kind: FailureKind::InvalidAmount,
                message: format!("amount {} must be positive", request.amount),
            });
        }
        let dice = roll(self.seed, &request.idempotency_key);
        let per_mille = dice % 1000;
        let result = if let Some(kind) = plan.permanent {
            Err(RailError {
                kind,
                message: "refused by the simulated provider".to_string(),
            })
        } else if per_mille < u64::from(plan.retryable_per_mille) {
            let kind = RETRYABLE_KINDS[((dice >> 32) % RETRYABLE_KINDS.len() as u64) as usize];
            Err(RailError {
                kind,
                message: "simulated transient failure".to_string(),
            })
        } else if per_mille
            < u64::from(plan.retryable_per_mille) + u64::from(plan.lost_response_per_mille)
        {
            self.make_transfer(&mut ledger, request).and(Err(RailError {
                kind: FailureKind::Timeout,
                message: "simulated lost response (the transfer was made)".to_string(),
            }))
        } else {
            self.make_transfer(&mut ledger, request)
        };
        ledger.saved.insert(
            request.idempotency_key.clone(),
            (request.clone(), result.clone()),
        );
        result
    }

    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
        let ledger = self.ledger.lock();
        Ok(ledger
            .by_payout
            .get(payout)
            .and_then(|indexes| indexes.first())
            .map(|&index| TransferReceipt::paid(ledger.transfers[index].transfer_id.clone(), true)))
    }
}

/// How long a simulated onboarding link is said to last: Stripe's account links expire within
/// minutes.
const SIMULATED_LINK_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Onboarding links that lead nowhere: the embedded default has no provider to verify accounts.
#[async_trait]
impl payout_app::ports::AccountOnboarding for SimulatedRail {
    async fn onboarding_link(
        &self,
        account: &str,
        _refresh_url: &str,
        return_url: &str,
    ) -> Result<payout_app::ports::OnboardingLink, RailError> {
        Ok(payout_app::ports::OnboardingLink {
            url: format!("{return_url}?simulated_onboarding={account}"),
            // As long as Stripe's own account links last.
            expires_at: chrono::Utc::now() + SIMULATED_LINK_LIFETIME,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payout_core::money::Currency;

    fn request(key: &str, amount: &str) -> TransferRequest {
        TransferRequest {
            payout_id: PayoutId::parse("po_1").unwrap(),
            barber_id: BarberId::parse("b1").unwrap(),
            destination: Some("acct_1".into()),
            amount: Money::parse(amount, Currency::Usd).unwrap(),
            method: PaymentMethod::StripeStandard,
            idempotency_key: key.into(),
        }
    }

    #[tokio::test]
    async fn a_key_replays_its_result_and_refuses_new_parameters() {
        let rail = SimulatedRail::new(7, FailurePlan::default());
        let first = rail.transfer(&request("po_1:1", "10.00")).await.unwrap();
        let again = rail.transfer(&request("po_1:1", "10.00")).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(rail.transfers().len(), 1);
        let changed = rail
            .transfer(&request("po_1:1", "11.00"))
            .await
            .unwrap_err();
        assert_eq!(changed.kind, FailureKind::IdempotencyConflict);
    }

    #[tokio::test]
    async fn a_lost_response_still_pays_and_is_found() {
        let rail = SimulatedRail::new(
            7,
            FailurePlan {
                lost_response_per_mille: 1000,
                ..FailurePlan::default()
            },
        );
        let error = rail
            .transfer(&request("po_1:1", "10.00"))
            .await
            .unwrap_err();
        assert_eq!(error.kind, FailureKind::Timeout);
        let found = rail
            .find_transfer(&PayoutId::parse("po_1").unwrap())
            .await
            .unwrap();
        assert!(found.is_some());
    }

    #[tokio::test]
    async fn failure_injection_is_deterministic_per_seed() {
        let plan = FailurePlan {
            retryable_per_mille: 500,
            ..FailurePlan::default()
        };
        let outcomes = |seed| async move {
            let rail = SimulatedRail::new(seed, plan);
            let mut out = Vec::new();
            for attempt in 0..50 {
                out.push(
                    rail.transfer(&request(&format!("po_1:{attempt}"), "1.00"))
                        .await
                        .is_ok(),
                );
            }
            out
        };
        assert_eq!(outcomes(1).await, outcomes(1).await);
        assert_ne!(outcomes(1).await, outcomes(2).await);
    }
}
