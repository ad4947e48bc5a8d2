//! The Stripe rail against the project's fake Stripe server: standard and instant payouts,
//! idempotent replay, reconciliation of a lost response, and the mapping of Stripe's errors.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Weekday};
use payout_app::execute::{JobOutcome, execute_payout};
use payout_app::ingest::ingest_earnings;
use payout_app::payout_actions::manual_payout;
use payout_app::ports::{PaymentRail, TransferRequest};
use payout_app::reconcile::ReconcileScope;
use payout_core::ids::{BarberId, PayoutId};
use payout_core::method::PaymentMethod;
use payout_core::retry::{FailureClass, FailureKind};
use payout_core::status::PayoutStatus;
use payout_local::FailurePlan;
use payout_stripe::{StripeConfig, StripeRail};
use payout_tests::fake_stripe::{FakeStripe, Scenario};
use payout_tests::world::{World, usd, utc};

fn rail(fake: &FakeStripe) -> StripeRail {
    StripeRail::new(&StripeConfig {
        secret_key: "sk_test_fake".into(),
        base_url: Some(fake.base_url.clone()),
        timeout: payout_stripe::DEFAULT_TIMEOUT,
    })
    .unwrap()
}

fn request(account: &str, method: PaymentMethod, key: &str) -> TransferRequest {
    TransferRequest {
        payout_id: PayoutId::parse("po_1772834400_barber-1").unwrap(),
        barber_id: BarberId::parse("barber-1").unwrap(),
        destination: Some(account.to_string()),
        amount: usd("667.25"),
        method,
        idempotency_key: key.to_string(),
    }
}

#[tokio::test]
async fn a_standard_payout_is_a_transfer_to_the_connected_account() {
    let fake = FakeStripe::start().await;
    let receipt = rail(&fake)
        .transfer(&request(
            "acct_1",
            PaymentMethod::StripeStandard,
            "po_1772834400_barber-1:1",
        ))
        .await
        .unwrap();
    assert!(receipt.transfer_id.starts_with("tr_"));
    assert!(receipt.settled);
    let transfers = fake.transfers();
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0]["amount"], 66725);
    assert_eq!(transfers[0]["destination"], "acct_1");
    assert_eq!(transfers[0]["transfer_group"], "po_1772834400_barber-1");
    assert_eq!(transfers[0]["metadata"]["barber_id"], "barber-1");
    assert!(fake.payouts().is_empty());
}

#[tokio::test]
async fn an_instant_payout_is_the_transfer_then_an_instant_payout_on_the_account() {
    let fake = FakeStripe::start().await;
    let receipt = rail(&fake)
        .transfer(&request("acct_2", PaymentMethod::StripeInstant, "k:1"))
        .await
        .unwrap();
    assert!(!receipt.settled, "in transit until payout.paid");
    let payouts = fake.payouts();
    assert_eq!(payouts.len(), 1);
    assert_eq!(
        payouts[0].0, "acct_2",
        "sent with the Stripe-Account header"
    );
    assert_eq!(payouts[0].1["method"], "instant");
}

#[tokio::test]
async fn an_instant_payout_stripe_refuses_is_paid_out_standard_once() {
    let fake = FakeStripe::start().await;
    let rail = rail(&fake);
    for (account, code) in [
        ("acct_r1", "instant_payouts_unsupported"),
        ("acct_r2", "instant_payouts_limit_exceeded"),
    ] {
        fake.set_scenario(account, Scenario::InstantError { code });
        let mut request = request(
            account,
            PaymentMethod::StripeInstant,
            &format!("{account}:1"),
        );
        request.payout_id = PayoutId::parse(format!("po_1772834400_{account}")).unwrap();
        let receipt = rail.transfer(&request).await.unwrap();
        assert!(!receipt.settled, "in transit until payout.paid");
        assert_eq!(receipt.instant_refused.as_deref(), Some(code));
        // A replay of the attempt, and its resumption, find the same payout: never a second.
        assert_eq!(rail.transfer(&request).await.unwrap(), receipt);
        let resumed = rail.resume_transfer(&request.payout_id).await.unwrap();
        assert_eq!(resumed, Some(receipt));
        let made: Vec<_> = fake
            .payouts()
            .into_iter()
            .filter(|(on, _)| on == account)
            .map(|(_, payout)| payout)
            .collect();
        assert_eq!(made.len(), 1, "one standard payout: {made:?}");
        assert_eq!(made[0]["method"], "standard");
        assert_eq!(made[0]["amount"], 66725);
        assert_eq!(made[0]["metadata"]["instant_refused"], code);
        assert_eq!(made[0]["metadata"]["payout_id"], request.payout_id.as_str());
    }
}

#[test]
fn a_test_key_is_held_to_stripes_sandbox_limits_and_a_live_key_to_its_live_ones() {
    use payout_core::pace::Endpoint;
    let limits = |key: &str| {
        StripeRail::new(&StripeConfig {
            secret_key: key.into(),
            base_url: None,
            timeout: payout_stripe::DEFAULT_TIMEOUT,
        })
        .unwrap()
        .default_limits()
    };
    for (key, total) in [("sk_test_x", 25), ("rk_test_x", 25), ("sk_live_x", 100)] {
        let limits = limits(key);
        assert_eq!(limits.total.get(), total, "{key}");
        assert_eq!(limits.of(Endpoint::Transfers).get(), 25, "{key}");
    }
}

#[tokio::test]
async fn the_same_key_returns_the_same_transfer() {
    let fake = FakeStripe::start().await;
    let rail = rail(&fake);
    let first = rail
        .transfer(&request("acct_1", PaymentMethod::StripeStandard, "k:1"))
        .await
        .unwrap();
    let again = rail
        .transfer(&request("acct_1", PaymentMethod::StripeStandard, "k:1"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.transfers().len(), 1);
    let mut changed = request("acct_1", PaymentMethod::StripeStandard, "k:1");
    changed.amount = usd("1.00");
    let refused = rail.transfer(&changed).await.unwrap_err();
    assert_eq!(refused.kind, FailureKind::IdempotencyConflict);
    let found = rail
        .find_transfer(&changed.payout_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.transfer_id, first.transfer_id);
}

#[tokio::test]
async fn a_lost_response_is_reconciled_and_never_paid_twice() {
    let fake = FakeStripe::start().await;
    fake.set_scenario("acct_barber-1", Scenario::LoseResponse);
    let world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
    let p = payout_app::Services {
        rail: Arc::new(rail(&fake)),
        ..world.services.clone()
    };
    let monday = utc(2026, 3, 2, 12, 0);
    p.store
        .insert_schedule(&World::weekly_schedule("barber-1", Weekday::Fri, monday))
        .await
        .unwrap();
    ingest_earnings(
        p.store.as_ref(),
        &[World::earning("barber-1", 0, "200.00", monday)],
    )
    .await
    .unwrap();
    let now = monday + TimeDelta::hours(1);
    let payout = manual_payout(
        &p,
        &BarberId::parse("barber-1").unwrap(),
        "early",
        "operator",
        now,
    )
    .await
    .unwrap();
    let JobOutcome::RetryAt(retry_at) = execute_payout(&p, &payout.id, "exec", now).await.unwrap()
    else {
        panic!("a 500 is retried");
    };
    fake.clear_scenario("acct_barber-1");
    assert_eq!(
        execute_payout(&p, &payout.id, "exec", retry_at)
            .await
            .unwrap(),
        JobOutcome::Finished
    );
    let paid = p.store.get_payout(&payout.id).await.unwrap().unwrap();
    assert_eq!(paid.status, PayoutStatus::Completed);
    assert_eq!(paid.attempts, 1, "adopted, not attempted again");
    assert_eq!(fake.transfers().len(), 1);
    assert_eq!(
        paid.transfer_id.as_deref(),
        fake.transfers()[0]["id"].as_str()
    );
}

#[tokio::test]
async fn stripe_errors_map_onto_the_retry_policy() {
    let fake = FakeStripe::start().await;
    let rail = rail(&fake);
    let cases: [(&str, Scenario, FailureKind); 10] = [
        (
            "acct_a",
            Scenario::Error {
                status: 400,
                code: Some("account_invalid"),
                kind: "invalid_request_error",
            },
            FailureKind::AccountNotVerified,
        ),
        (
            "acct_b",
            Scenario::Error {
                status: 400,
                code: Some("payouts_not_allowed"),
                kind: "invalid_request_error",
            },
            FailureKind::AccountUnusable,
        ),
        (
            "acct_c",
            Scenario::Error {
                status: 403,
                code: Some("insufficient_permissions"),
                kind: "invalid_request_error",
            },
            FailureKind::InsufficientPermissions,
        ),
        (
            "acct_d",
            Scenario::Error {
                status: 400,
                code: Some("amount_too_small"),
                kind: "invalid_request_error",
            },
            FailureKind::InvalidAmount,
        ),
        (
            "acct_e",
            Scenario::Error {
                status: 400,
                code: Some("no_account"),
                kind: "invalid_request_error",
            },
            FailureKind::AccountUnusable,
        ),
        (
            "acct_f",
            Scenario::InstantError {
                code: "invalid_card_type",
            },
            FailureKind::InvalidPaymentMethod,
        ),
        (
            "acct_g",
            Scenario::Error {
                status: 429,
                code: Some("rate_limit"),
                kind: "invalid_request_error",
            },
            FailureKind::RateLimited,
        ),
        (
            "acct_h",
            Scenario::Error {
                status: 429,
                code: Some("lock_timeout"),
                kind: "invalid_request_error",
            },
            FailureKind::ProviderUnavailable,
        ),
        (
            "acct_i",
            Scenario::Error {
                status: 500,
                code: None,
                kind: "api_error",
            },
            FailureKind::ProviderUnavailable,
        ),
        (
            "acct_j",
            Scenario::Error {
                status: 503,
                code: None,
                kind: "api_error",
            },
            FailureKind::ProviderUnavailable,
        ),
    ];
    for (i, (account, scenario, expected)) in cases.into_iter().enumerate() {
        fake.set_scenario(account, scenario);
        let error = rail
            .transfer(&request(
                account,
                PaymentMethod::StripeInstant,
                &format!("case:{i}"),
            ))
            .await
            .unwrap_err();
        assert_eq!(error.kind, expected, "{account}: {}", error.message);
        let retryable = matches!(
            expected,
            FailureKind::RateLimited | FailureKind::ProviderUnavailable
        );
        assert_eq!(
            error.kind.class() == FailureClass::Retryable,
            retryable,
            "{account}"
        );
    }
    // Nothing listens on this port: a connection error, retryable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = StripeRail::new(&StripeConfig {
        secret_key: "sk_test_fake".into(),
        base_url: Some(format!("http://{closed}/")),
        timeout: payout_stripe::DEFAULT_TIMEOUT,
    })
    .unwrap();
    let error = unreachable
        .transfer(&request("acct_1", PaymentMethod::StripeStandard, "k:9"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, FailureKind::Connection);
    let no_account = TransferRequest {
        destination: None,
        ..request("x", PaymentMethod::StripeStandard, "k:10")
    };
    assert_eq!(
        rail.transfer(&no_account).await.unwrap_err().kind,
        FailureKind::AccountNotVerified
    );
}

#[tokio::test]
async fn reconciliation_reports_and_repairs_differences_with_stripe() {
    let fake = FakeStripe::start().await;
    fake.set_scenario("acct_barber-1", Scenario::LoseResponse);
    let world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
    let stripe = payout_app::Services {
        rail: Arc::new(rail(&fake)),
        ..world.services.clone()
    };
    let monday = utc(2026, 3, 2, 12, 0);
    for barber in ["barber-1", "barber-2"] {
        stripe
            .store
            .insert_schedule(&World::weekly_schedule(barber, Weekday::Fri, monday))
            .await
            .unwrap();
        ingest_earnings(
            stripe.store.as_ref(),
            &[World::earning(barber, 0, "200.00", monday)],
        )
        .await
        .unwrap();
    }
    let now = monday + TimeDelta::hours(1);
    // barber-1: Stripe paid, the answer was lost; the store says retry_scheduled.
    let lost = manual_payout(
        &stripe,
        &BarberId::parse("barber-1").unwrap(),
        "r",
        "operator",
        now,
    )
    .await
    .unwrap();
    execute_payout(&stripe, &lost.id, "exec", now)
        .await
        .unwrap();
    // barber-2: recorded as paid by another rail; Stripe has no transfer for it.
    let other = manual_payout(
        &world.services,
        &BarberId::parse("barber-2").unwrap(),
        "r",
        "operator",
        now,
    )
    .await
    .unwrap();
    execute_payout(&world.services, &other.id, "exec", now)
        .await
        .unwrap();

    let later = now + TimeDelta::minutes(1);
    let report = payout_app::reconcile::reconcile(
        &stripe,
        later,
        7,
        ReconcileScope::Everything,
        false,
        &|| true,
    )
    .await
    .unwrap();
    assert_eq!(report.paid_not_recorded, [lost.id.to_string()]);
    assert!(report.adopted.is_empty(), "a report changes nothing");
    assert_eq!(report.recorded_not_paid, [other.id.to_string()]);

    let repaired = payout_app::reconcile::reconcile(
        &stripe,
        later,
        7,
        ReconcileScope::Unsettled,
        true,
        &|| true,
    )
    .await
    .unwrap();
    assert_eq!(repaired.adopted, [lost.id.to_string()]);
    let adopted = stripe.store.get_payout(&lost.id).await.unwrap().unwrap();
    assert_eq!(adopted.status, PayoutStatus::Completed);
    assert_eq!(fake.transfers().len(), 1, "nothing paid twice");
    let told = stripe
        .store
        .list_notifications(&adopted.barber_id, 10)
        .await
        .unwrap();
    assert_eq!(
        told.iter()
            .filter(
                |sent| sent.notification.payout_id.as_ref() == Some(&lost.id)
                    && sent.notification.kind == payout_app::ports::NotificationKind::Completed
            )
            .count(),
        1,
        "the barber is told of the adopted payout once: {told:?}"
    );
}

#[tokio::test]
async fn an_onboarding_link_comes_from_stripe_for_the_connected_account() {
    use payout_app::ports::AccountOnboarding;
    let fake = FakeStripe::start().await;
    let link = rail(&fake)
        .onboarding_link(
            "acct_new",
            "https://shop.example/refresh",
            "https://shop.example/done",
        )
        .await
        .unwrap();
    assert_eq!(link.url, "https://connect.stripe.com/setup/e/acct_new/fake");
    assert_eq!(link.expires_at.timestamp(), 1_772_834_700);
}

/// The rail contract suite on the Stripe rail against the fake.
async fn with_rail(test: impl AsyncFnOnce(&dyn PaymentRail)) {
    let fake = FakeStripe::start().await;
    test(&rail(&fake)).await;
}

mod contract {
    use super::with_rail;
    payout_tests::rail_contract_suite!(with_rail);
}
