//! Scenarios run against more than one set of adapters (SQLite and DynamoDB).

use std::collections::HashMap;

use chrono::{TimeDelta, Weekday};
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
    let p = &world.pipeline;
    let monday = utc(2026, 3, 2, 12, 0);
    for b in 0..BARBERS {
        let barber = format!("barber-{b}");
        p.store
            .put_schedule(&World::weekly_schedule(&barber, Weekday::Fri, monday))
            .await
            .unwrap();
        let earnings: Vec<_> = (0..SERVICES)
            .map(|n| World::earning(&barber, n, "40.00", monday + TimeDelta::minutes(n as i64)))
            .collect();
        ingest_earnings(p.store.as_ref(), &earnings).await.unwrap();
    }

    // Friday 17:00 New York (EST) is 22:00 UTC; run a minute-by-minute clock well past the
    // last retry (5 + 15 + 60 minutes plus peak deferral).
    let mut now = utc(2026, 3, 6, 21, 55);
    let end = utc(2026, 3, 7, 4, 0);
    let always = || true;
    while now <= end {
        plan_due_payouts(p, now, &always).await.unwrap();
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
            if event.to != PayoutStatus::RetryScheduled {
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
}
