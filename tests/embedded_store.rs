//! The SQLite store on a multi-threaded runtime, as `payouts serve` runs it: a store call
//! blocks (a commit fsyncs), so it must not hold a worker the other tasks need.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use payout_app::ports::{IntakeOutcome, LedgerStore};
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

/// Concurrent writers share commits (group commit): each write is kept once, whole, and is on
/// disk when its call returns (read back by a fresh connection to the file, which sees only
/// committed data), and a write refused by its own condition leaves its neighbours alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits_and_each_returns_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payouts.db");
    let store = Arc::new(SqliteStore::open(&path, Durability::Full).unwrap());
    let now = Utc::now();
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..32 {
        let (store, path) = (store.clone(), path.clone());
        writers.spawn(async move {
            for n in 0..20 {
                let id = writer * 100 + n;
                let earning = World::earning("b1", id, "10.00", now);
                let hash = format!("hash-{id}");
                let created = store
                    .insert_earnings(std::slice::from_ref(&earning), &[hash])
                    .await;
                assert_eq!(created.unwrap(), [IntakeOutcome::Created]);
                // The same id with other content is refused and writes nothing.
                let refused = store.insert_earnings(&[earning], &["other".into()]).await;
                assert_eq!(refused.unwrap(), [IntakeOutcome::Conflict]);
                let reader = rusqlite::Connection::open(&path).unwrap();
                let kept: i64 = reader
                    .query_row(
                        "SELECT COUNT(*) FROM earnings WHERE id = ?1",
                        [format!("b1-svc-{id}")],
                        |row| row.get(0),
                    )
                    .unwrap();
                assert_eq!(kept, 1, "earning {id} is committed when its call returns");
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let reader = rusqlite::Connection::open(&path).unwrap();
    let all: i64 = reader
        .query_row("SELECT COUNT(*) FROM earnings", [], |row| row.get(0))
        .unwrap();
    assert_eq!(all, 32 * 20);
}
