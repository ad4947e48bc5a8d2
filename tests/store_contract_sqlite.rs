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
    payouts_list_in_order_by_filters_and_cursor,
    heartbeats_keep_the_latest,
    a_period_beyond_one_transaction_is_claimed_and_released_whole,
);

/// The queue contract suite on the in-process queue.
mod queue {
    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use payout_app::ports::{Delivery, JobQueue, PayoutJob, QueueDepth, QueueError};
    use payout_local::MemoryQueue;
    use payout_tests::queue_contract;

    macro_rules! queue_contract_tests {
        ($($name:ident),* $(,)?) => {
            $(
                #[tokio::test]
                async fn $name() {
                    queue_contract::$name(&MemoryQueue::default()).await;
                }
            )*
        };
    }

    queue_contract_tests!(
        a_job_is_delivered_then_gone_once_acknowledged,
        a_deferred_job_comes_back_at_its_time,
        a_job_for_later_waits_and_depth_counts,
    );

    /// A queue whose acknowledgement is lost: the kind of difference the suite must catch.
    struct ForgetfulAck(MemoryQueue);

    #[async_trait]
    impl JobQueue for ForgetfulAck {
        async fn send(&self, jobs: &[PayoutJob]) -> Result<(), QueueError> {
            self.0.send(jobs).await
        }
        async fn receive(
            &self,
            now: DateTime<Utc>,
            max: usize,
        ) -> Result<Vec<Delivery>, QueueError> {
            self.0.receive(now, max).await
        }
        async fn ack(&self, _receipt: &str) -> Result<(), QueueError> {
            Ok(())
        }
        async fn defer(&self, delivery: &Delivery, until: DateTime<Utc>) -> Result<(), QueueError> {
            self.0.defer(delivery, until).await
        }
        async fn depth(&self, now: DateTime<Utc>) -> Result<QueueDepth, QueueError> {
            self.0.depth(now).await
        }
        async fn redrive_dead_letters(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
            self.0.redrive_dead_letters(now).await
        }
    }

    #[tokio::test]
    #[should_panic(expected = "in_flight")]
    async fn the_suite_catches_a_queue_that_loses_acknowledgements() {
        queue_contract::a_job_is_delivered_then_gone_once_acknowledged(&ForgetfulAck(
            MemoryQueue::default(),
        ))
        .await;
    }
}

/// The rail contract suite on the simulated provider.
mod rail {
    use payout_local::{FailurePlan, SimulatedRail};
    use payout_tests::rail_contract;

    macro_rules! rail_contract_tests {
        ($($name:ident),* $(,)?) => {
            $(
                #[tokio::test]
                async fn $name() {
                    rail_contract::$name(&SimulatedRail::new(1, FailurePlan::default())).await;
                }
            )*
        };
    }

    rail_contract_tests!(
        a_transfer_is_idempotent_by_its_key,
        a_paid_payout_is_found_and_an_unpaid_one_is_not,
    );
}
