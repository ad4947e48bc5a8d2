//! The contract suites on the embedded adapters: the SQLite store, the in-process queue, the
//! simulated rail and the log notifier; each suite also meets a sabotaged adapter it must catch.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payout_app::ports::{
    Delivery, JobQueue, Notification, Notifier, NotifyError, PaymentRail, PayoutJob, QueueDepth,
    QueueError, Store,
};
use payout_local::sqlite::Durability;
use payout_local::{FailurePlan, LogNotifier, MemoryQueue, SimulatedRail, SqliteStore};
use payout_tests::inboxes::LogInbox;
use payout_tests::notifier_contract::Wired;

async fn with_store(test: impl AsyncFnOnce(&dyn Store)) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("contract.db"), Durability::Full).unwrap();
    test(&store).await;
}

async fn with_queue(test: impl AsyncFnOnce(&dyn JobQueue)) {
    test(&MemoryQueue::default()).await;
}

async fn with_rail(test: impl AsyncFnOnce(&dyn PaymentRail)) {
    test(&SimulatedRail::new(1, FailurePlan::default())).await;
}

/// The log notifier, its lines captured from `tracing` on this test's thread.
async fn with_notifier(test: impl AsyncFnOnce(&Wired<'_>)) {
    let (inbox, _capturing) = LogInbox::capture();
    test(&Wired {
        notifier: &LogNotifier,
        inbox: &inbox,
    })
    .await;
}

mod store {
    use super::with_store;
    payout_tests::store_contract_suite!(with_store);
}

mod queue {
    use super::with_queue;
    payout_tests::queue_contract_suite!(with_queue);
}

mod rail {
    use super::with_rail;
    payout_tests::rail_contract_suite!(with_rail);
}

mod notifier {
    use super::with_notifier;
    payout_tests::notifier_contract_suite!(with_notifier);
}

/// A queue whose acknowledgement is lost: the kind of difference the suite must catch.
struct ForgetfulAck(MemoryQueue);

#[async_trait]
impl JobQueue for ForgetfulAck {
    async fn send(&self, jobs: &[PayoutJob]) -> Result<(), QueueError> {
        self.0.send(jobs).await
    }
    async fn receive(&self, now: DateTime<Utc>, max: usize) -> Result<Vec<Delivery>, QueueError> {
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
    payout_tests::queue_contract::a_job_is_delivered_then_gone_once_acknowledged(&ForgetfulAck(
        MemoryQueue::default(),
    ))
    .await;
}

/// A notifier that tells only the first channel: the kind of difference the suite must catch.
struct FirstChannelOnly;

#[async_trait]
impl Notifier for FirstChannelOnly {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        let mut first = notification.clone();
        first.channels.truncate(1);
        LogNotifier.publish(&first).await
    }
}

#[tokio::test]
#[should_panic(expected = "sms")]
async fn the_suite_catches_a_notifier_that_drops_a_channel() {
    let (inbox, _capturing) = LogInbox::capture();
    let wired = Wired {
        notifier: &FirstChannelOnly,
        inbox: &inbox,
    };
    payout_tests::notifier_contract::a_notice_reaches_each_of_its_channels_once(&wired).await;
}
