//! The SQLite store on a multi-threaded runtime, as `payouts serve` runs it: a store call
//! blocks (a commit fsyncs), so it must not hold a worker the other tasks need.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use payout_app::ports::LedgerStore;
use payout_local::SqliteStore;
use payout_local::sqlite::Durability;
use payout_tests::world::World;

/// With one worker, a task that only makes store calls (which never yield) would starve every
/// other task until it finished, were the calls not moved off the worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn store_calls_leave_the_runtime_to_the_other_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("payouts.db"), Durability::Full).unwrap());
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                ticks.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }
    });
    let writer = tokio::spawn(async move {
        let now = Utc::now();
        let before = ticks.load(Ordering::Relaxed);
        for n in 0..300 {
            let earning = World::earning("b1", n, "10.00", now);
            store
                .insert_earnings(&[earning], &[format!("hash-{n}")])
                .await
                .unwrap();
        }
        ticks.load(Ordering::Relaxed) - before
    });
    let ticks_while_writing = writer.await.unwrap();
    ticker.abort();
    assert!(
        ticks_while_writing > 0,
        "the other task never ran while the store was writing"
    );
}
