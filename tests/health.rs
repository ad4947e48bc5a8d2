//! The brief's alert thresholds in `/health`: a failure rate above 5 %, a webhook failure rate
//! above 2 %, a processing time above 30 s and a daily drop of more than half fire; just below
//! them nothing does. A planner that falls behind fires too.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc, Weekday};
use payout_app::health::check_health;
use payout_app::plan::PLANNER;
use payout_app::ports::{ManualClock, Metric, PayoutCreation, Store};
use payout_core::breakdown::{PayoutPolicy, PeriodActivity};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::method::PaymentMethod;
use payout_core::payout::{Payout, PayoutTrigger, PlannedPayout};
use payout_core::retry::FailureKind;
use payout_local::{FailurePlan, MetricsWindow};
use payout_tests::world::{World, usd, utc};

/// Writes `total` payouts created and first attempted 10 minutes before `now`: `failed` of them
/// failed, the others completed `processing` after their first attempt. The planner ran at `now`.
async fn finished_payouts(
    store: &dyn Store,
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
                tips: usd("0"),
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
                method_note: None,
            },
            start,
            start,
            "test",
        );
        let creation = PayoutCreation {
            payout: payout.clone(),
            event,
            claimed_earnings_minor: 0,
            claimed_earnings: 0,
            claimed_deductions: vec![],
            earned_by: start,
            carried_balance: None,
            reserve_release: None,
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
        world.services.store.as_ref(),
        now,
        50,
        3,
        TimeDelta::seconds(31),
    )
    .await;
    let report = check_health(&world.services, now).await.unwrap();
    assert_eq!(alert_names(&report), ["failure_rate", "processing_time"]);
    assert!(!report.is_healthy());
    assert_eq!(report.last_hour.failure_rate.as_deref(), Some("0.06"));
}

#[tokio::test]
async fn four_percent_failures_and_29_seconds_fire_none() {
    let world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
    let now = utc(2026, 3, 2, 12, 0);
    finished_payouts(
        world.services.store.as_ref(),
        now,
        50,
        2,
        TimeDelta::seconds(29),
    )
    .await;
    let report = check_health(&world.services, now).await.unwrap();
    assert!(report.alerts.is_empty(), "{:?}", report.alerts);
    assert_eq!(report.status, "healthy");
}

fn world_with_figures(now: DateTime<Utc>) -> World {
    let mut world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
    world.services.metrics = Arc::new(MetricsWindow::new(Arc::new(ManualClock::starting_at(
        now - TimeDelta::minutes(5),
    ))));
    world
}

async fn webhooks_with_failures(failed: usize) -> Vec<String> {
    let now = utc(2026, 3, 2, 12, 0);
    let world = world_with_figures(now);
    let p = &world.services;
    p.store.record_heartbeat(PLANNER, now).await.unwrap();
    for i in 0..100 {
        p.metrics.publish(
            &[("Provider", "stripe")],
            &[
                Metric::count("WebhooksReceived", 1),
                Metric::count("WebhooksFailed", i64::from(i < failed)),
            ],
        );
    }
    let report = check_health(p, now).await.unwrap();
    assert_eq!(
        report
            .metrics_last_hour
            .as_ref()
            .unwrap()
            .get("WebhooksReceived"),
        Some(&100)
    );
    alert_names(&report).into_iter().map(String::from).collect()
}

#[tokio::test]
async fn three_percent_webhook_failures_fire_and_two_percent_does_not() {
    assert_eq!(webhooks_with_failures(3).await, ["webhook_failure_rate"]);
    assert!(webhooks_with_failures(2).await.is_empty());
}

async fn volume_today_against_ten_yesterday(today: usize) -> Vec<String> {
    let now = utc(2026, 3, 2, 12, 0);
    let world = world_with_figures(now);
    let store = world.services.store.as_ref();
    finished_payouts(
        store,
        now - TimeDelta::hours(30),
        10,
        0,
        TimeDelta::seconds(1),
    )
    .await;
    finished_payouts(store, now, today, 0, TimeDelta::seconds(1)).await;
    let report = check_health(&world.services, now).await.unwrap();
    assert_eq!(report.payouts_created_yesterday, 10);
    assert_eq!(report.payouts_created_today as usize, today);
    alert_names(&report).into_iter().map(String::from).collect()
}

#[tokio::test]
async fn a_daily_drop_of_more_than_half_fires() {
    assert_eq!(
        volume_today_against_ten_yesterday(4).await,
        ["daily_volume_drop"]
    );
    assert!(volume_today_against_ten_yesterday(5).await.is_empty());
}

#[tokio::test]
async fn a_due_schedule_left_waiting_fires_planner_lag() {
    let now = utc(2026, 3, 6, 23, 0);
    let world = world_with_figures(now);
    let p = &world.services;
    p.store.record_heartbeat(PLANNER, now).await.unwrap();
    let mut schedule = World::weekly_schedule("b1", Weekday::Fri, now - TimeDelta::days(7));
    schedule.next_run_at = now - TimeDelta::minutes(20);
    p.store.insert_schedule(&schedule).await.unwrap();
    let report = check_health(p, now).await.unwrap();
    assert_eq!(alert_names(&report), ["planner_lag"]);
    assert_eq!(report.planner_lag_seconds, 20 * 60);
}
