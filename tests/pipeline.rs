//! The whole pipeline under duplicate deliveries, two racing executors and a flaky rail.

use std::time::Duration;

use chrono::{TimeDelta, Weekday};
use payout_app::ingest::ingest_earnings;
use payout_app::plan::plan_due_payouts;
use payout_core::money::Currency;
use payout_local::FailurePlan;
use payout_tests::scenarios::racing_executors_pay_exactly_once;
use payout_tests::world::{World, utc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_executors_with_duplicate_deliveries_pay_every_earning_exactly_once() {
    let flaky = FailurePlan {
        retryable_per_mille: 300,
        ..FailurePlan::default()
    };
    racing_executors_pay_exactly_once(&World::new(11, flaky, true, Duration::from_millis(2))).await;
}

#[tokio::test]
async fn a_recurring_deduction_is_charged_once_per_scheduled_period() {
    use payout_core::deduction::DeductionKind;
    use payout_core::ids::DeductionId;
    use payout_core::schedule::RecurringDeduction;
    use payout_tests::world::usd;

    let world = World::new(3, FailurePlan::default(), false, Duration::ZERO);
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    let mut schedule = World::weekly_schedule("barber-r", Weekday::Fri, monday);
    schedule.recurring_deductions.push(RecurringDeduction {
        id: DeductionId::parse("rent").unwrap(),
        kind: DeductionKind::BoothRent,
        amount: usd("75.00"),
        description: "weekly booth rent".into(),
    });
    p.store.insert_schedule(&schedule).await.unwrap();
    let always = || true;
    for week in 0..2 {
        let start = monday + TimeDelta::weeks(week);
        let earnings: Vec<_> = (0..10)
            .map(|n| World::earning("barber-r", (week as usize) * 10 + n, "50.00", start))
            .collect();
        ingest_earnings(p.store.as_ref(), &earnings).await.unwrap();
        let friday_evening = start + TimeDelta::days(4) + TimeDelta::hours(11);
        // Twice: a planner that runs again charges nothing more.
        plan_due_payouts(p, friday_evening, &always).await.unwrap();
        plan_due_payouts(p, friday_evening, &always).await.unwrap();
    }
    let totals = p.store.ledger_totals(Currency::Usd).await.unwrap();
    let queued: u64 = totals.payouts.iter().map(|row| row.totals.count).sum();
    assert_eq!(queued, 2);
    let deducted: i64 = totals
        .payouts
        .iter()
        .map(|row| row.totals.deductions_minor)
        .sum();
    assert_eq!(deducted, 2 * 7500, "75.00 per period, twice");
    assert_eq!(totals.open_deductions_minor, 0);
}

#[tokio::test]
async fn a_planner_cut_off_by_its_deadline_leaves_the_rest_for_the_next_run() {
    let mut world = World::new(4, FailurePlan::default(), false, Duration::ZERO);
    world.services.config.planner_page_size = 2;
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    for b in 0..5 {
        let barber = format!("barber-{b}");
        p.store
            .insert_schedule(&World::weekly_schedule(&barber, Weekday::Fri, monday))
            .await
            .unwrap();
        let earnings = vec![World::earning(&barber, 0, "80.00", monday)];
        ingest_earnings(p.store.as_ref(), &earnings).await.unwrap();
    }
    let friday_evening = utc(2026, 3, 6, 23, 0);
    let out_of_time = || false;
    let first = plan_due_payouts(p, friday_evening, &out_of_time)
        .await
        .unwrap();
    assert_eq!(first.payouts_queued, 2, "one page, then it stops");
    let always = || true;
    let second = plan_due_payouts(p, friday_evening, &always).await.unwrap();
    assert_eq!(second.payouts_queued, 3);
    let third = plan_due_payouts(p, friday_evening, &always).await.unwrap();
    assert_eq!(third.schedules_due, 0, "nothing planned twice");
    let totals = p.store.ledger_totals(Currency::Usd).await.unwrap();
    assert_eq!(
        totals.payouts.iter().map(|r| r.totals.count).sum::<u64>(),
        5
    );
}

#[tokio::test]
async fn a_scheduled_run_pays_only_the_earnings_its_hold_has_released() {
    use payout_core::hold::HoldDays;
    use payout_core::status::PayoutStatus;

    let world = World::new(4, FailurePlan::default(), false, Duration::ZERO);
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    let mut schedule = World::weekly_schedule("barber-h", Weekday::Fri, monday);
    schedule.holds.hold_days = HoldDays::new(3).unwrap();
    p.store.insert_schedule(&schedule).await.unwrap();
    let thursday = monday + TimeDelta::days(3);
    let earnings = [
        World::earning("barber-h", 1, "100.00", monday),
        World::earning("barber-h", 2, "40.00", thursday),
    ];
    ingest_earnings(p.store.as_ref(), &earnings).await.unwrap();
    let always = || true;
    let friday_evening = monday + TimeDelta::days(4) + TimeDelta::hours(11);
    plan_due_payouts(p, friday_evening, &always).await.unwrap();
    let next_friday = friday_evening + TimeDelta::weeks(1);
    plan_due_payouts(p, next_friday, &always).await.unwrap();

    let query = payout_app::ports::PayoutQuery::default();
    let mut payouts = p.store.list_payouts(&query, 10).await.unwrap();
    payouts.sort_by_key(|payout| payout.cutoff);
    let gross: Vec<_> = payouts
        .iter()
        .map(|payout| payout.breakdown.gross.amount().to_string())
        .collect();
    assert_eq!(
        gross,
        ["100.00", "40.00"],
        "Thursday's service waits a week"
    );
    assert!(payouts.iter().all(|p| p.status == PayoutStatus::Queued));
}

#[tokio::test]
async fn a_cancelled_payout_is_not_a_first_payout() {
    use payout_app::payout_actions::{cancel_payout, manual_payout};
    use payout_core::ids::BarberId;

    let mut world = World::new(5, FailurePlan::default(), false, Duration::ZERO);
    world.services.config.first_payout_after = TimeDelta::days(2);
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    let schedule = World::weekly_schedule("barber-f", Weekday::Fri, monday);
    p.store.insert_schedule(&schedule).await.unwrap();
    let later = monday + TimeDelta::days(2);
    let earnings = [
        World::earning("barber-f", 1, "100.00", monday),
        World::earning("barber-f", 2, "50.00", later),
    ];
    ingest_earnings(p.store.as_ref(), &earnings).await.unwrap();
    let barber = BarberId::parse("barber-f").unwrap();
    let now = later + TimeDelta::hours(12);
    // Two days after the first service: paid, then cancelled, and the first service refunded.
    let first = manual_payout(p, &barber, "asked", "operator:a", now)
        .await
        .unwrap();
    cancel_payout(p, &first.id, "operator:a", "wrong amount", now)
        .await
        .unwrap();
    p.store.void_earning(&earnings[0].id, now).await.unwrap();
    // The barber was never paid: the wait runs from the first service still open.
    let refused = manual_payout(p, &barber, "asked again", "operator:a", now).await;
    assert!(
        matches!(&refused, Err(payout_app::AppError::Conflict(why)) if why.contains("first payout waits")),
        "{refused:?}"
    );
}
