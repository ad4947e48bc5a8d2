//! Scenarios run against more than one set of adapters (SQLite and DynamoDB).

use std::collections::HashMap;

use chrono::{TimeDelta, Timelike, Weekday};
use payout_app::ingest::ingest_earnings;
use payout_app::plan::plan_due_payouts;
use payout_app::worker::drain_once;
use payout_core::money::Currency;
use payout_core::status::PayoutStatus;

use crate::world::{World, utc};

const BARBERS: usize = 24;
const SERVICES: usize = 30;

/// Two executors racing over every job delivered twice, against a rail that fails retryably
/// (the world's plan): every earning is paid exactly once and retries follow 5 / 15 / 60 min.
/// Needs a multi-threaded runtime, so the executors truly overlap.
pub async fn racing_executors_pay_exactly_once(world: &World) {
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    for b in 0..BARBERS {
        let barber = format!("barber-{b}");
        p.store
            .insert_schedule(&World::weekly_schedule(&barber, Weekday::Fri, monday))
            .await
            .unwrap();
        let earnings: Vec<_> = (0..SERVICES)
            .map(|n| World::earning(&barber, n, "40.00", monday + TimeDelta::minutes(n as i64)))
            .collect();
        ingest_earnings(p.store.as_ref(), &earnings).await.unwrap();
    }

    // Friday 17:00 New York (EST) is 22:00 UTC; run a minute-by-minute clock well past the
    // last retry (5 + 15 + 60 minutes plus peak deferral), the planner every five minutes as
    // its schedule runs it.
    let mut now = utc(2026, 3, 6, 21, 55);
    let end = utc(2026, 3, 7, 4, 0);
    let always = || true;
    while now <= end {
        if now.minute().is_multiple_of(5) {
            plan_due_payouts(p, now, &always).await.unwrap();
        }
        loop {
            let a = tokio::spawn({
                let p = p.clone();
                async move { drain_once(&p, "executor-a", now, 4).await.unwrap() }
            });
            let b = tokio::spawn({
                let p = p.clone();
                async move { drain_once(&p, "executor-b", now, 4).await.unwrap() }
            });
            let (a, b) = (a.await.unwrap(), b.await.unwrap());
            if a + b == 0 {
                break;
            }
        }
        now += TimeDelta::minutes(1);
    }

    // The rail's own ledger: one transfer per payout, never two.
    assert_eq!(world.rail.duplicate_payments(), 0);
    let transfers = world.rail.transfers();
    assert_eq!(transfers.len(), BARBERS);

    let totals = p.store.ledger_totals(Currency::Usd).await.unwrap();
    assert_eq!(totals.earnings_count, (BARBERS * SERVICES) as u64);
    assert_eq!(
        totals.open_earnings_minor, 0,
        "every earning was claimed by a payout"
    );
    let completed: Vec<_> = totals
        .payouts
        .iter()
        .filter(|row| row.status == PayoutStatus::Completed)
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].totals.count, BARBERS as u64, "{totals:?}");
    assert_eq!(completed[0].totals.gross_minor, totals.earnings_minor);
    let rail_paid: i64 = transfers.iter().map(|t| t.amount.to_minor().unwrap()).sum();
    assert_eq!(
        rail_paid, completed[0].totals.net_minor,
        "sum paid = sum of payout nets"
    );
    assert!(
        completed[0].totals.retries > 0,
        "the flaky rail forced retries"
    );

    // Each payout's transfer is for exactly its net, and its retries followed 5 / 15 / 60 min.
    let by_payout: HashMap<_, _> = transfers.iter().map(|t| (t.payout_id.clone(), t)).collect();
    let ladder = [
        TimeDelta::minutes(5),
        TimeDelta::minutes(15),
        TimeDelta::minutes(60),
    ];
    for (payout_id, transfer) in &by_payout {
        let payout = p.store.get_payout(payout_id).await.unwrap().unwrap();
        assert_eq!(transfer.amount, payout.breakdown.net);
        let trail = p.store.audit_trail(payout_id).await.unwrap();
        let mut retries = 0;
        for (i, event) in trail.iter().enumerate() {
            // A 429 holds the payout back without using a rung of the ladder.
            if event.to != PayoutStatus::RetryScheduled || event.reason.starts_with("held back") {
                continue;
            }
            let delay = ladder[retries];
            let due = event.at + delay;
            assert!(
                event
                    .reason
                    .contains(&format!("retry at {}", due.to_rfc3339())),
                "retry {retries} of {payout_id} not scheduled {delay} later: {}",
                event.reason
            );
            let next_attempt = trail[i + 1..]
                .iter()
                .find(|e| e.to == PayoutStatus::Processing)
                .expect("a retry is attempted");
            assert!(next_attempt.at >= due, "retried early: {trail:?}");
            assert!(
                next_attempt.at <= due + TimeDelta::minutes(2),
                "retried late: {trail:?}"
            );
            retries += 1;
        }
    }
    // The totals kept by every racing writer are what the records say.
    assert_eq!(
        payout_app::totals_check::totals_differences(p.store.as_ref())
            .await
            .unwrap(),
        Vec::<String>::new()
    );
}

/// A notifier that refuses every notice for one barber, as a broken address or a provider
/// outage for one channel would; every other notice goes through.
pub struct RefusingNotifier {
    pub refused: payout_core::ids::BarberId,
    pub delivered: parking_lot::Mutex<Vec<payout_app::ports::Notification>>,
}

#[async_trait::async_trait]
impl payout_app::ports::Notifier for RefusingNotifier {
    async fn publish(
        &self,
        notification: &payout_app::ports::Notification,
    ) -> Result<(), payout_app::ports::NotifyError> {
        if notification.barber_id == self.refused {
            return Err(payout_app::ports::NotifyError("mailbox unavailable".into()));
        }
        self.delivered.lock().push(notification.clone());
        Ok(())
    }
}

const HEALTHY: usize = 100;

/// The barber whose stored schedule the caller makes unreadable before the poison scenario.
pub const UNREADABLE: &str = "poison-unreadable";

/// The schedule to store, then corrupt in the store's own format, for [`UNREADABLE`].
pub fn unreadable_schedule() -> payout_core::schedule::PayoutSchedule {
    World::weekly_schedule(UNREADABLE, Weekday::Fri, utc(2026, 3, 2, 12, 0))
}

/// Poison barbers among 100 healthy ones: an overflowing balance and one over the payout limit
/// (planted past intake, as data from an older version or a direct write would be), a schedule
/// whose stored recurring deduction contradicts its currency, a stored schedule that cannot be
/// decoded at all (planted by the caller, [`UNREADABLE`]), and a barber no notice reaches.
/// Every healthy barber is planned and paid on the first run; each poison one is recorded with
/// its reason, shown by `/health`, skipped with backoff, and the undeliverable notices are
/// retried and then given up, without holding up anyone's money.
pub async fn poison_barbers_never_stop_the_healthy_ones(world: &mut World) {
    use payout_app::health::check_health;
    use payout_app::notify::deliver_due_notices;
    use payout_app::ports::{NoticeState, PayoutQuery};
    use payout_core::deduction::DeductionKind;
    use payout_core::ids::{BarberId, DeductionId};
    use payout_core::money::Money;
    use payout_core::schedule::RecurringDeduction;
    use std::sync::Arc;

    let refused = BarberId::parse("poison-mailbox").unwrap();
    let notifier = Arc::new(RefusingNotifier {
        refused: refused.clone(),
        delivered: parking_lot::Mutex::new(Vec::new()),
    });
    world.services.notifier = notifier.clone();
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    let mut healthy: Vec<String> = (0..HEALTHY).map(|b| format!("barber-{b}")).collect();
    healthy.push(refused.to_string());
    for barber in &healthy {
        p.store
            .insert_schedule(&World::weekly_schedule(barber, Weekday::Fri, monday))
            .await
            .unwrap();
        let earning = World::earning(barber, 0, "100.00", monday);
        p.store
            .insert_earnings(&[earning], &["h".to_string()])
            .await
            .unwrap();
    }
    // Past intake's limits, straight into the store.
    for (barber, amounts) in [
        (
            "poison-overflow",
            vec!["92233720368547758.07", "92233720368547758.07"],
        ),
        ("poison-limit", vec!["250000.00"]),
    ] {
        p.store
            .insert_schedule(&World::weekly_schedule(barber, Weekday::Fri, monday))
            .await
            .unwrap();
        let earnings: Vec<_> = amounts
            .iter()
            .enumerate()
            .map(|(n, amount)| World::earning(barber, n, amount, monday))
            .collect();
        let hashes = vec!["h".to_string(); earnings.len()];
        p.store.insert_earnings(&earnings, &hashes).await.unwrap();
    }
    let mut inconsistent = World::weekly_schedule("poison-record", Weekday::Fri, monday);
    inconsistent.recurring_deductions.push(RecurringDeduction {
        id: DeductionId::parse("rent").unwrap(),
        kind: DeductionKind::BoothRent,
        amount: Money::parse("5000", Currency::Jpy).unwrap(),
        description: "booth rent".into(),
    });
    p.store.insert_schedule(&inconsistent).await.unwrap();

    // Friday 17:00 New York is 22:00 UTC: every schedule is due.
    let friday = utc(2026, 3, 6, 22, 30);
    let always = || true;
    let report = plan_due_payouts(p, friday, &always).await.unwrap();
    assert_eq!(report.failed, 4, "{report:?}");
    assert_eq!(report.payouts_queued as usize, healthy.len(), "{report:?}");
    // Executors through the evening (off-peak deferral included), the planner not running.
    let mut now = friday;
    while now <= friday + TimeDelta::hours(12) {
        while drain_once(p, "executor", now, 10).await.unwrap() > 0 {}
        now += TimeDelta::minutes(10);
    }

    let paid = p
        .store
        .list_payouts(
            &PayoutQuery {
                status: Some(PayoutStatus::Completed),
                ..PayoutQuery::default()
            },
            1000,
        )
        .await
        .unwrap();
    let mut paid_barbers: Vec<String> = paid.iter().map(|p| p.barber_id.to_string()).collect();
    paid_barbers.sort();
    let mut expected = healthy.clone();
    expected.sort();
    assert_eq!(paid_barbers, expected, "every healthy barber paid on time");
    assert_eq!(world.rail.duplicate_payments(), 0);

    let health = check_health(p, friday).await.unwrap();
    let mut failing: Vec<(&str, &str)> = health
        .planning_failures
        .iter()
        .map(|f| (f.barber_id.as_str(), f.reason.as_str()))
        .collect();
    failing.sort();
    assert_eq!(failing.len(), 4, "{failing:?}");
    assert_eq!(failing[0].0, "poison-limit");
    assert!(
        failing[0].1.contains("intake.max_payout"),
        "{}",
        failing[0].1
    );
    assert_eq!(failing[1].0, "poison-overflow");
    assert_eq!(failing[2].0, "poison-record");
    assert!(failing[2].1.contains("JPY"), "{}", failing[2].1);
    assert_eq!(failing[3].0, UNREADABLE);
    assert!(failing[3].1.contains("cannot be read"), "{}", failing[3].1);
    assert!(health.alerts.iter().any(|a| a.name == "planning_failures"));
    assert!(
        health.alerts.iter().all(|a| a.name != "planner_lag"),
        "held barbers are failures, not lag"
    );
    let record = p
        .store
        .planning_failure(&BarberId::parse("poison-overflow").unwrap())
        .await
        .unwrap()
        .expect("recorded against the barber itself");
    assert_eq!(record.failures, 1);

    // The next run a minute later leaves the poison barbers alone (backoff); after it they are
    // tried again and fail again, with a longer wait.
    let again = plan_due_payouts(p, friday + TimeDelta::seconds(30), &always)
        .await
        .unwrap();
    assert_eq!((again.held, again.failed), (4, 0), "{again:?}");
    let later = friday + TimeDelta::minutes(2);
    let retried = plan_due_payouts(p, later, &always).await.unwrap();
    assert_eq!(retried.failed, 4, "{retried:?}");
    let record = p
        .store
        .planning_failure(&BarberId::parse("poison-overflow").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.failures, 2);
    assert_eq!(record.retry_at, later + TimeDelta::minutes(2));

    // The barber no notice reaches was paid; its notice is retried with backoff, then given
    // up; nobody else's notices are affected.
    let mut at = now;
    for _ in 0..p.config.notice_retry_delays.len() + 2 {
        at += TimeDelta::hours(3);
        deliver_due_notices(p, at).await.unwrap();
    }
    assert_eq!(deliver_due_notices(p, at).await.unwrap(), 0);
    let notices = p.store.list_notifications(&refused, 10).await.unwrap();
    assert!(!notices.is_empty());
    assert!(
        notices.iter().all(|n| n.state == NoticeState::GaveUp),
        "{notices:?}"
    );
    let told = p
        .store
        .list_notifications(&BarberId::parse("barber-7").unwrap(), 10)
        .await
        .unwrap();
    assert!(!told.is_empty());
    assert!(told.iter().all(|n| n.state == NoticeState::Delivered));
    assert!(notifier.delivered.lock().len() >= HEALTHY);
}
