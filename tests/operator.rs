//! Manual payouts, operator retry and cancel, and the unknown-outcome cases that could pay twice.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc, Weekday};
use parking_lot::Mutex;
use payout_app::execute::{JobOutcome, execute_payout, execute_payout_before, time_for_a_job};
use payout_app::ingest::ingest_earnings;
use payout_app::payout_actions::{cancel_payout, manual_payout, retry_payout};
use payout_app::ports::{PaymentRail, RailError, TransferReceipt, TransferRequest};
use payout_app::{AppError, Services};
use payout_core::ids::PayoutId;
use payout_core::retry::FailureKind;
use payout_core::status::PayoutStatus;
use payout_local::FailurePlan;
use payout_tests::world::{SlowRail, World, utc};

const BARBER: &str = "barber-1";

async fn world_with_open_earnings(services: usize) -> (World, DateTime<Utc>) {
    let world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
    let monday = utc(2026, 3, 2, 12, 0);
    world
        .services
        .store
        .insert_schedule(&World::weekly_schedule(BARBER, Weekday::Fri, monday))
        .await
        .unwrap();
    let earnings: Vec<_> = (0..services)
        .map(|n| World::earning(BARBER, n, "50.00", monday + TimeDelta::minutes(n as i64)))
        .collect();
    ingest_earnings(world.services.store.as_ref(), &earnings)
        .await
        .unwrap();
    (world, monday + TimeDelta::hours(1))
}

/// Fails every call with `kind`; with `pays`, it makes the transfer first (a lost response).
struct ScriptedRail {
    kind: FailureKind,
    pays: bool,
    paid: Mutex<Vec<PayoutId>>,
}

#[async_trait]
impl PaymentRail for ScriptedRail {
    async fn transfer(&self, request: &TransferRequest) -> Result<TransferReceipt, RailError> {
        if self.pays {
            self.paid.lock().push(request.payout_id.clone());
        }
        Err(RailError {
            kind: self.kind,
            message: "scripted".into(),
        })
    }
    async fn find_transfer(&self, payout: &PayoutId) -> Result<Option<TransferReceipt>, RailError> {
        Ok(self
            .paid
            .lock()
            .contains(payout)
            .then(|| TransferReceipt::paid(format!("tr_{payout}"), true)))
    }
}

fn with_rail(world: &World, rail: Arc<dyn PaymentRail>) -> Services {
    Services {
        rail,
        ..world.services.clone()
    }
}

/// Executes the payout's job at each retry time until it settles; returns its final status.
async fn run_to_end(p: &Services, id: &PayoutId, mut now: DateTime<Utc>) -> PayoutStatus {
    for _ in 0..10 {
        match execute_payout(p, id, "test", now).await.unwrap() {
            JobOutcome::Finished => break,
            JobOutcome::RetryAt(at) | JobOutcome::NotYet(at) => now = at,
        }
    }
    p.store.get_payout(id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn manual_payout_pays_the_open_balance_now_and_only_once() {
    let (world, now) = world_with_open_earnings(1).await;
    let p = &world.services;
    let payout = manual_payout(p, &barber(), "early payout", "operator", now)
        .await
        .unwrap();
    // $50 gross at 70 % = $35.00, less a fee of 0.25 % + $0.25 = $0.38 (0.125 rounds up).
    assert_eq!(payout.breakdown.net.amount().to_string(), "34.62");
    assert_eq!(
        run_to_end(p, &payout.id, now).await,
        PayoutStatus::Completed
    );
    assert_eq!(world.rail.transfers().len(), 1);
    let again = manual_payout(p, &barber(), "again", "operator", now).await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
}

#[tokio::test]
async fn cancel_returns_the_earnings_and_a_new_payout_claims_them() {
    let (world, now) = world_with_open_earnings(3).await;
    let p = &world.services;
    let first = manual_payout(p, &barber(), "r", "operator", now)
        .await
        .unwrap();
    let cancelled = cancel_payout(p, &first.id, "operator", "wrong amount", now)
        .await
        .unwrap();
    assert_eq!(cancelled.status, PayoutStatus::Cancelled);
    assert_eq!(run_to_end(p, &first.id, now).await, PayoutStatus::Cancelled);
    let later = now + TimeDelta::seconds(1);
    let second = manual_payout(p, &barber(), "r", "operator", later)
        .await
        .unwrap();
    assert_eq!(second.breakdown.gross, first.breakdown.gross);
    assert_eq!(
        run_to_end(p, &second.id, later).await,
        PayoutStatus::Completed
    );
    assert_eq!(world.rail.duplicate_payments(), 0);
}

#[tokio::test]
async fn a_lost_response_on_the_last_attempt_is_adopted_not_failed() {
    let (world, now) = world_with_open_earnings(2).await;
    let rail = Arc::new(ScriptedRail {
        kind: FailureKind::Timeout,
        pays: false,
        paid: Mutex::new(Vec::new()),
    });
    let p = with_rail(&world, rail.clone());
    let payout = manual_payout(&p, &barber(), "r", "operator", now)
        .await
        .unwrap();
    // Three attempts time out without paying; the fourth pays but its answer is lost.
    let mut at = now;
    for _ in 0..3 {
        match execute_payout(&p, &payout.id, "test", at).await.unwrap() {
            JobOutcome::RetryAt(next) => at = next,
            other => panic!("expected a retry, got {other:?}"),
        }
    }
    let lossy = Arc::new(ScriptedRail {
        kind: FailureKind::Timeout,
        pays: true,
        paid: Mutex::new(Vec::new()),
    });
    let p = with_rail(&world, lossy);
    assert_eq!(
        run_to_end(&p, &payout.id, at).await,
        PayoutStatus::Completed
    );
}

#[tokio::test]
async fn permanent_failures_fail_at_once_and_an_operator_retry_pays() {
    let (world, now) = world_with_open_earnings(2).await;
    let refusing = Arc::new(ScriptedRail {
        kind: FailureKind::AccountNotVerified,
        pays: false,
        paid: Mutex::new(Vec::new()),
    });
    let p = with_rail(&world, refusing);
    let payout = manual_payout(&p, &barber(), "r", "operator", now)
        .await
        .unwrap();
    assert_eq!(run_to_end(&p, &payout.id, now).await, PayoutStatus::Failed);
    let failed = p.store.get_payout(&payout.id).await.unwrap().unwrap();
    assert_eq!(failed.attempts, 1, "a permanent error is not retried");
    assert!(failed.failure_reason.unwrap().contains("onboarding"));

    let p = &world.services;
    let later = now + TimeDelta::hours(1);
    retry_payout(p, &payout.id, "operator", later)
        .await
        .unwrap();
    assert_eq!(
        run_to_end(p, &payout.id, later).await,
        PayoutStatus::Completed
    );
    assert_eq!(world.rail.transfers().len(), 1);
}

#[tokio::test]
async fn cancelling_a_payout_whose_attempt_paid_records_it_as_paid() {
    let (world, now) = world_with_open_earnings(2).await;
    let lossy = Arc::new(ScriptedRail {
        kind: FailureKind::Timeout,
        pays: true,
        paid: Mutex::new(Vec::new()),
    });
    let p = with_rail(&world, lossy);
    let payout = manual_payout(&p, &barber(), "r", "operator", now)
        .await
        .unwrap();
    let outcome = execute_payout(&p, &payout.id, "test", now).await.unwrap();
    assert!(matches!(outcome, JobOutcome::RetryAt(_)));
    let refused = cancel_payout(&p, &payout.id, "operator", "changed my mind", now).await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    let stored = p.store.get_payout(&payout.id).await.unwrap().unwrap();
    assert_eq!(stored.status, PayoutStatus::Completed);
}

fn barber() -> payout_core::ids::BarberId {
    payout_core::ids::BarberId::parse(BARBER).unwrap()
}

#[tokio::test]
async fn a_manual_payout_never_waits_for_off_peak_hours() {
    let (world, _) = world_with_open_earnings(1).await;
    let peak = utc(2026, 3, 2, 15, 0);
    let payout = manual_payout(&world.services, &barber(), "now please", "operator", peak)
        .await
        .unwrap();
    assert_eq!(
        payout.next_attempt_at,
        Some(peak),
        "a small payout in the peak window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_rail_call_ends_before_the_invocations_deadline() {
    let (world, now) = world_with_open_earnings(2).await;
    let hung = Arc::new(SlowRail {
        inner: world.rail.clone(),
        delay: Duration::from_secs(3600),
    });
    let mut p = with_rail(&world, hung);
    p.config.deadline_margin = TimeDelta::seconds(1);
    let payout = manual_payout(&p, &barber(), "r", "operator", now)
        .await
        .unwrap();

    // Four seconds left: the call gets three (less the reads), then the outcome is recorded.
    let started = std::time::Instant::now();
    let deadline = Utc::now() + TimeDelta::seconds(4);
    let outcome = execute_payout_before(&p, &payout.id, "lambda", now, deadline)
        .await
        .unwrap();
    assert!(matches!(outcome, JobOutcome::RetryAt(_)), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "returned after the deadline: {:?}",
        started.elapsed()
    );
    let stored = p.store.get_payout(&payout.id).await.unwrap().unwrap();
    assert_eq!(stored.status, PayoutStatus::RetryScheduled);
    assert_eq!(stored.failure_kind, Some(FailureKind::Timeout));
    let later = now + TimeDelta::hours(1);
    assert!(
        p.store
            .try_lock(&barber(), "another", later, later + TimeDelta::minutes(1))
            .await
            .unwrap(),
        "the barber's lock was released"
    );
    p.store.release_lock(&barber(), "another").await.unwrap();

    // Too little left for a call: no attempt is recorded, the job waits for its next delivery.
    let deadline = Utc::now() + TimeDelta::milliseconds(2500);
    assert!(!time_for_a_job(&p, deadline));
    let retry_at = stored.next_attempt_at.unwrap();
    let outcome = execute_payout_before(&p, &payout.id, "lambda", retry_at, deadline)
        .await
        .unwrap();
    assert_eq!(outcome, JobOutcome::NotYet(retry_at));
    let untouched = p.store.get_payout(&payout.id).await.unwrap().unwrap();
    assert_eq!(untouched.attempts, stored.attempts, "no attempt recorded");
    assert_eq!(untouched.status, PayoutStatus::RetryScheduled);
    assert!(world.rail.transfers().is_empty());
}
