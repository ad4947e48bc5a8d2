//! The store contract suite against the embedded SQLite store.

use payout_local::SqliteStore;
use payout_local::sqlite::Durability;
use payout_tests::contract;

fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("contract.db"), Durability::Full).unwrap();
    (store, dir)
}

macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (store, _dir) = fresh();
                contract::$name(&store).await;
            }
        )*
    };
}

contract_tests!(
    lock_is_exclusive_until_its_lease_expires,
    earnings_are_idempotent_by_id_and_content,
    payout_creation_is_conditional_and_claims_earnings,
    payout_updates_are_conditional_on_version,
    cancel_returns_earnings_to_the_open_balance,
    due_schedules_page_in_order_and_advance_conditionally,
    schedules_are_created_once,
    advance_notices_come_due_once_per_barber,
    notifications_are_recorded_once,
    pending_notices_come_due_until_settled,
    planning_failures_count_until_cleared,
    webhook_events_are_recorded_once,
    a_period_beyond_one_transaction_is_claimed_and_released_whole,
);
