//! Running `payouts serve` as a service: a stop signal mid-batch, a second server on the same
//! database, a backup taken while writes go on and restored.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use payout_tests::served::Served;
use reqwest::Client;
use serde_json::json;

fn payouts(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args(args)
        .env("PAYOUTS_JWT_SECRET", payout_tests::app::SECRET)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[tokio::test]
async fn a_stop_signal_mid_batch_leaves_no_job_processing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stop.db");
    // A provider that takes its time and batches of two, so the signal lands while payments
    // are in hand and others wait.
    let server = Served::start(
        env!("CARGO_BIN_EXE_payouts"),
        &db,
        &[],
        &[
            ("PAYOUTS_RAIL__SIMULATED_LATENCY", "300ms"),
            ("PAYOUTS_EXECUTOR__BATCH_SIZE", "2"),
        ],
    );
    let client = Client::new();
    let at = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    for barber in 0..20 {
        let schedule = json!({"barber_id": format!("b{barber}"), "frequency": "weekly",
            "day_of_week": 5, "minimum_payout_amount": "10.00"});
        assert_eq!(server.post(&client, "/schedules", schedule).await, 201);
        let earning = json!({"earning_id": format!("e{barber}"), "barber_id": format!("b{barber}"),
            "amount": "50.00", "occurred_at": at, "service": "haircut"});
        assert_eq!(server.post(&client, "/earnings", earning).await, 201);
        let manual = json!({"barber_id": format!("b{barber}")});
        assert_eq!(server.post(&client, "/payouts/manual", manual).await, 201);
    }
    let journal = dir.path().join("stop.db.simulated-rail.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&journal)
        .unwrap_or_default()
        .lines()
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "nothing was paid");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = server.terminate();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status}");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM payouts WHERE status = 'processing'"
        ),
        0,
        "a job was left in hand"
    );
    let paid = count(
        &db,
        "SELECT COUNT(*) FROM payouts WHERE status = 'completed'",
    );
    assert!(
        (2..20).contains(&paid),
        "stopped mid-batch: {paid} of 20 paid"
    );
}

#[test]
fn a_second_server_on_the_same_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("one.db");
    let _first = Served::start(env!("CARGO_BIN_EXE_payouts"), &db, &[], &[]);
    let db = db.display().to_string();
    let second = payouts(&["serve", "--addr", "127.0.0.1:0", "--db", &db]);
    assert!(!second.status.success());
    assert!(
        text(&second).contains("in use by another process"),
        "{}",
        text(&second)
    );
    assert!(
        !text(&second).contains("payouts serving on"),
        "announced before it found the database taken: {}",
        text(&second)
    );
    // A check reads a snapshot: it runs on the live database.
    let check = payouts(&["check", "--db", &db]);
    assert!(check.status.success(), "{}", text(&check));
    let restore = payouts(&["restore", "--from", &db, "--db", &db]);
    assert!(
        !restore.status.success(),
        "a restore over a database in use"
    );
}

#[test]
fn a_backup_taken_during_writes_restores_to_a_sound_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db_text = db.display().to_string();
    // The demo writes as fast as it can: thousands of small transactions.
    let mut demo = Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args(["demo", "--barbers", "150", "--weeks", "3", "--db", &db_text])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count_or_zero(&db) < 50 {
        assert!(Instant::now() < deadline, "the demo never wrote");
        std::thread::sleep(Duration::from_millis(20));
    }
    let copy = dir.path().join("copy.db").display().to_string();
    let backup = payouts(&["backup", "--db", &db_text, "--to", &copy]);
    let still_writing = demo.try_wait().unwrap().is_none();
    assert!(backup.status.success(), "{}", text(&backup));
    assert!(still_writing, "the backup was not taken during writes");
    assert!(demo.wait().unwrap().success());

    let restored = dir.path().join("restored.db").display().to_string();
    let restore = payouts(&["restore", "--from", &copy, "--db", &restored]);
    assert!(restore.status.success(), "{}", text(&restore));
    let check = payouts(&["check", "--db", &copy]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains("integrity ok, money identities hold"));
    assert!(
        !Path::new(&format!("{copy}.lock")).exists(),
        "a check leaves no lock file beside a backup"
    );
    assert!(count(Path::new(&restored), "SELECT COUNT(*) FROM earnings") > 0);
}

/// Earnings in the database so far (none before the schema exists).
fn count_or_zero(db: &Path) -> i64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|conn| conn.query_row("SELECT COUNT(*) FROM earnings", [], |row| row.get(0)))
        .unwrap_or(0)
}
