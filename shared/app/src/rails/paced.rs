//! The provider's rail at its limits: each call waits for its turn on every endpoint it calls
//! and on the account's total (see [`payout_core::pace`]), and a 429 holds every later turn of
//! this process back.
//!
//! A call whose turn is further away than the patience is not sent: it is answered as rate
//! limited at once, which the executor treats as backpressure (the payout waits without using
//! a retry), as it treats the provider's own 429. A lookup, which moves no money, waits for a
//! turn of the total that no transfer is waiting for, up to the same patience.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::TimeDelta;
use parking_lot::Mutex;
use payout_core::ids::PayoutId;
use payout_core::pace::{Endpoint, EndpointPace, PaceSettings, RailLimits};
use payout_core::retry::FailureKind;

use crate::ports::{
    BalancePayout, Clock, PaymentRail, RailCall, RailError, TransferReceipt, TransferRequest,
};

pub struct PacedRail {
    inner: Arc<dyn PaymentRail>,
    pace: Mutex<EndpointPace>,
    patience: TimeDelta,
    hold_after_429: TimeDelta,
    clock: Arc<dyn Clock>,
}

impl PacedRail {
    /// `inner` paced as `settings` say, which hold the limits in force (the provider's
    /// defaults under `[rail.limits]`: see [`PacedRail::limits_for`]).
    pub fn new(inner: Arc<dyn PaymentRail>, settings: PaceSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            pace: Mutex::new(EndpointPace::new(&settings)),
            patience: settings.effective_patience(),
            hold_after_429: settings.hold_after_429,
            clock,
        }
    }

    /// `settings` with their limits laid over the provider's own defaults (Stripe's sandbox
    /// allows a quarter of what a live account does).
    pub fn limits_for(rail: &dyn PaymentRail, settings: &mut PaceSettings) {
        settings.limits = settings.overrides.over(rail.default_limits());
    }

    /// Waits for `call`'s turn, makes it, and holds the pace back after a 429.
    async fn paced<T>(
        &self,
        call: RailCall,
        make: impl std::future::Future<Output = Result<T, RailError>>,
    ) -> Result<T, RailError> {
        self.wait_turn(self.inner.endpoints(call)).await?;
        let result = make.await;
        if let Err(error) = &result
            && error.kind.is_backpressure()
        {
            self.pace
                .lock()
                .hold_until(self.clock.now() + self.hold_after_429);
        }
        result
    }

    async fn wait_turn(&self, endpoints: &[Endpoint]) -> Result<(), RailError> {
        // Measured on tokio's clock, which moves even where the service clock is held still.
        let give_up = tokio::time::Instant::now() + self.patience.to_std().unwrap_or_default();
        let moves_money = endpoints.iter().any(|endpoint| endpoint.moves_money());
        loop {
            let now = self.clock.now();
            let reserved = self.pace.lock().reserve(endpoints, now, self.patience);
            if let Some(slot) = reserved {
                if let Ok(wait) = (slot - now).to_std() {
                    tokio::time::sleep(wait).await;
                }
                return Ok(());
            }
            if moves_money || tokio::time::Instant::now() >= give_up {
                return Err(RailError {
                    kind: FailureKind::RateLimited,
                    message: "held back before sending: over the provider's rate limits".into(),
                });
            }
            tokio::time::sleep(LOOKUP_RETRY).await;
        }
    }
}

/// How often a lookup asks again for a turn of the total that no transfer is waiting for.
const LOOKUP_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

#[async_trait]
impl PaymentRail for PacedRail {
    fn endpoints(&self, call: RailCall) -> &'static [Endpoint] {
        self.inner.endpoints(call)
    }

    fn default_limits(&self) -> RailLimits {
        self.inner.default_limits()
    }

    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError> {
        let call = RailCall::Transfer(request.method);
        self.paced(call, self.inner.transfer(request)).await
    }

    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
        self.paced(RailCall::Lookup, self.inner.find_transfer(payout))
            .await
    }

    async fn resume_transfer(
        &self,
        payout: &PayoutId,
    ) -> Result<Option<TransferReceipt>, RailError> {
        self.paced(RailCall::Resume, self.inner.resume_transfer(payout))
            .await
    }

    async fn pay_out_balance(&self, request: &BalancePayout) -> Result<(), RailError> {
        self.paced(RailCall::PayOut, self.inner.pay_out_balance(request))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use payout_core::ids::BarberId;
    use payout_core::method::PaymentMethod;
    use payout_core::money::{Currency, Money};
    use payout_core::pace::LimitOverrides;

    use super::*;
    use crate::ports::SystemClock;

    /// Answers 429 to the calls whose (0-based) number it is given, and pays the others.
    struct Provider {
        calls: AtomicUsize,
        rate_limited: Vec<usize>,
    }

    #[async_trait]
    impl PaymentRail for Provider {
        async fn transfer(&self, _: &TransferRequest) -> Result<TransferReceipt, RailError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.rate_limited.contains(&call) {
                return Err(RailError {
                    kind: FailureKind::RateLimited,
                    message: "429".into(),
                });
            }
            Ok(TransferReceipt::paid(format!("tr_{call}"), false))
        }

        async fn find_transfer(&self, _: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
            Ok(None)
        }
    }

    fn paced(rate_limited: Vec<usize>, requests_per_second: u32) -> (PacedRail, Arc<Provider>) {
        let provider = Arc::new(Provider {
            calls: AtomicUsize::new(0),
            rate_limited,
        });
        let limit = NonZeroU32::new(requests_per_second).unwrap();
        let settings = PaceSettings {
            limits: RailLimits::uniform(limit, limit),
            overrides: LimitOverrides::default(),
            shares: NonZeroU32::MIN,
            patience: TimeDelta::milliseconds(200),
            hold_after_429: TimeDelta::seconds(5),
        };
        let rail = PacedRail::new(provider.clone(), settings, Arc::new(SystemClock));
        (rail, provider)
    }

    fn request() -> TransferRequest {
        TransferRequest {
            payout_id: PayoutId::parse("po_1").unwrap(),
            barber_id: BarberId::parse("123").unwrap(),
            destination: Some("acct_1".into()),
            amount: Money::from_minor(10_000, Currency::Usd),
            method: PaymentMethod::StripeStandard,
            idempotency_key: "po_1:1".into(),
        }
    }

    #[tokio::test]
    async fn transfers_go_no_faster_than_the_rate() {
        let (rail, provider) = paced(Vec::new(), 50);
        let started = Instant::now();
        for _ in 0..6 {
            rail.transfer(&request()).await.unwrap();
        }
        // Five intervals of 20 ms between six calls.
        assert!(
            started.elapsed().as_millis() >= 100,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(provider.calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn after_a_429_nothing_is_sent_until_the_hold_is_over() {
        let (rail, provider) = paced(vec![0], 100);
        let first = rail.transfer(&request()).await.unwrap_err();
        assert!(first.kind.is_backpressure());
        let held = rail.transfer(&request()).await.unwrap_err();
        assert!(held.kind.is_backpressure(), "{held:?}");
        assert!(held.message.contains("held back"), "{}", held.message);
        assert_eq!(
            provider.calls.load(Ordering::SeqCst),
            1,
            "nothing sent while held"
        );
    }
}
