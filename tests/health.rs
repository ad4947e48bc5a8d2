//! The brief's alert thresholds in `/health`: a failure rate above 5 % and a processing time
//! above 30 s fire; just below them nothing does.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc, Weekday};
use payout_app::health::check_health;
use payout_app::plan::PLANNER;
use payout_app::ports::{PayoutCreation, PayoutStore};
use payout_core::breakdown::{PayoutPolicy, PeriodActivity};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::method::PaymentMethod;
use payout_core::payout::{Payout, PayoutTrigger, PlannedPayout};
use payout_core::retry::FailureKind;
use payout_local::FailurePlan;
use payout_tests::world::{World, usd, utc};

/// Writes `total` payouts finished in the last hour: `failed` of them failed, the others
/// completed `processing` after their first attempt.
async fn finished_payouts(
    store: &dyn PayoutStore,
    now: DateTime<Utc>,
    total: usize,
    failed: usize,
    processing: TimeDelta,
) {
    let breakdown = PayoutPolicy::default()
        .breakdown(
            &PeriodActivity {
                gross: usd("100.00"),
                services: 1,
                deductions: vec![],
            },
            PaymentMethod::StripeStandard,
        )
        .unwrap();
    for i in 0..total {
        let barber = BarberId::parse(format!("b{i}")).unwrap();
        let start = now - TimeDelta::minutes(10);
        let (mut payout, event) = Payout::queued(
            PlannedPayout {
                id: PayoutId::manual(&barber, start),
                barber_id: barber.clone(),
                method: PaymentMethod::StripeStandard,
                breakdown: breakdown.clone(),
                trigger: PayoutTrigger::Manual {
                    reason: "test".into(),
                },
                cutoff: start,
                destination: None,
                notifications: World::weekly_schedule("x", Weekday::Fri, start).notifications,
                priority: 50,
            },
            start,
            start,
            "test",
        );
        let creation = PayoutCreation {
            payout: payout.clone(),
            event,
            claimed_gross_minor: 0,
            claimed_services: 0,
            claimed_deductions: vec![],
            carried_balance: None,
            schedule_advance: None,
        };
        store.create_payout(&creation).await.unwrap();
        let read = payout.version;
        let attempt = payout.begin_attempt(start, "test").unwrap();
        store.update_payout(&payout, read, &attempt).await.unwrap();
        let read = payout.version;
        let outcome = if i < failed {
            payout
                .fail(
                    start + processing,
                    "test",
                    FailureKind::AccountNotVerified,
                    "test",
                )
                .unwrap()
        } else {
            payout
                .record_transfer(start + processing, "test", format!("tr_{i}"), true, "paid")
                .unwrap()
        };
        store.update_payout(&payout, read, &outcome).await.unwrap();
    }
    store.record_heartbeat(PLANNER, now).await.unwrap();
}

fn alert_names(report: &payout_app::health::HealthReport) -> Vec<&str> {
    report.alerts.iter().map(|a| a.name.as_str()).collect()
}

#[tokio::test]
async fn six_percent_failures_and_31_seconds_fire_both_alerts() {
    let world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
    let now = utc(2026, 3, 2, 12, 0);
    finished_payouts(
        world.pipeline.store.as_ref(),
        now,
        50,
        3,
        TimeDelta::seconds(31),
    )
    .await;
    let report = check_health(&world.pipeline, now).await.unwrap();
    assert_eq!(alert_names(&report), ["failure_rate", "processing_time"]);
    assert!(!report.is_healthy());
    assert_eq!(report.last_hour.failure_rate.as_deref(), Some("0.06"));
}

#[tokio::test]
async fn four_percent_failures_and_29_seconds_fire_none() {
    let world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
    let now = utc(2026, 3, 2, 12, 0);
    finished_payouts(
        world.pipeline.store.as_ref(),
        now,
        50,
        2,
        TimeDelta::seconds(29),
    )
    .await;
    let report = check_health(&world.pipeline, now).await.unwrap();
    assert!(report.alerts.is_empty(), "{:?}", report.alerts);
    assert_eq!(report.status, "healthy");
}
