//! A `payouts.db` written by the build before schema versioning (`payouts demo --db`, at commit
//! 0774573) opens with this build, is migrated to the current version, and reads back whole.

use payout_app::ports::{NoticeState, PayoutQuery};
use payout_app::ports::{
    NotificationOutbox, PayoutStore, PlanningFailures, Reports, ScheduleStore,
};
use payout_core::ids::BarberId;
use payout_core::money::Currency;
use payout_local::SqliteStore;
use payout_local::sqlite::Durability;
use payout_local::sqlite::migrations::CURRENT;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/payouts-v0.db");

fn user_version(path: &std::path::Path) -> u32 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_database_from_before_versioning_opens_and_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payouts.db");
    std::fs::copy(FIXTURE, &path).unwrap();
    assert_eq!(user_version(&path), 0);

    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    let totals = store.ledger_totals(Currency::Usd).await.unwrap();
    assert!(totals.earnings_count > 0, "{totals:?}");
    let payouts = store
        .list_payouts(&PayoutQuery::default(), 1000)
        .await
        .unwrap();
    assert!(!payouts.is_empty());
    // Older payouts had no acceptance time; one in transit is given its last change's.
    for payout in &payouts {
        let accepted = (payout.status == payout_core::status::PayoutStatus::InTransit)
            .then_some(payout.updated_at);
        assert_eq!(payout.accepted_at, accepted, "{payout:?}");
    }
    // The kept totals were counted from the payouts already there.
    let by_status: u64 = store
        .count_by_status()
        .await
        .unwrap()
        .iter()
        .map(|(_, count)| count)
        .sum();
    assert_eq!(by_status, payouts.len() as u64);
    let agree = async || {
        let differences = payout_app::totals_check::totals_differences(&store).await;
        assert_eq!(differences.unwrap(), Vec::<String>::new());
    };
    agree().await;
    // An older payout in transit arrives days later: still counted on the day it was paid.
    let mut arrived = payouts
        .iter()
        .find(|p| p.status == payout_core::status::PayoutStatus::InTransit)
        .unwrap()
        .clone();
    let read = arrived.version;
    let later = arrived.updated_at + chrono::TimeDelta::days(3);
    let event = arrived
        .confirm_arrival(later, "stripe-webhook", "arrived")
        .unwrap();
    store.update_payout(&arrived, read, &event).await.unwrap();
    agree().await;
    let barber = payouts[0].barber_id.clone();
    assert!(store.get_schedule(&barber).await.unwrap().is_some());
    let notices = store.list_notifications(&barber, 50).await.unwrap();
    assert!(
        notices.iter().all(|n| n.state == NoticeState::Delivered),
        "notices from before the outbox kept state were published"
    );
    // The new tables work on the upgraded file.
    let now = payouts[0].created_at;
    store
        .record_planning_failure(&BarberId::parse("b1").unwrap(), "test", now, now)
        .await
        .unwrap();
    assert_eq!(store.planning_failures(10).await.unwrap().len(), 1);
    drop(store);
    assert_eq!(user_version(&path), CURRENT);

    // Opening again changes nothing.
    drop(SqliteStore::open(&path, Durability::Full).unwrap());
    assert_eq!(user_version(&path), CURRENT);
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payouts.db");
    drop(SqliteStore::open(&path, Durability::Full).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", CURRENT + 1)
        .unwrap();
    let error = SqliteStore::open(&path, Durability::Full)
        .err()
        .expect("a newer schema is refused");
    assert!(
        error.to_string().contains("newer than this build"),
        "{error}"
    );
}
