//! Crash safety of the embedded default: `payouts serve` killed with SIGKILL while it is paying a
//! batch, then restarted on the same files, finishes the batch with every payout paid exactly
//! once. The simulated provider keeps its journal beside the database, so the restarted process
//! reconciles against what was paid before the kill, as it would against Stripe.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use payout_tests::app::{an_hour_ago, operator};
use payout_tests::served::Served;
use serde_json::{Value, json};

const BARBERS: usize = 80;

fn start(db: &Path) -> Served {
    // A provider that takes its time, so the kill lands mid-batch.
    Served::start(
        env!("CARGO_BIN_EXE_payouts"),
        db,
        &[],
        &[("PAYOUTS_RAIL__SIMULATED_LATENCY", "20ms")],
    )
}

fn journal_lines(db: &Path) -> Vec<Value> {
    let journal = db.with_file_name("crash.db.simulated-rail.jsonl");
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn a_server_killed_mid_batch_finishes_it_after_restart_paying_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let client = reqwest::Client::new();
    let first = start(&db);
    for barber in 0..BARBERS {
        let schedule = json!({"barber_id": format!("b{barber}"), "frequency": "weekly",
                              "day_of_week": 5, "minimum_payout_amount": "10.00"});
        assert_eq!(first.post(&client, "/schedules", schedule).await, 201);
        let earning = json!({"earning_id": format!("e{barber}"), "barber_id": format!("b{barber}"),
                             "amount": "120.00", "occurred_at": an_hour_ago(),
                             "service": "haircut"});
        assert_eq!(first.post(&client, "/earnings", earning).await, 201);
    }
    for barber in 0..BARBERS {
        let manual = json!({"barber_id": format!("b{barber}"), "reason": "batch"});
        assert_eq!(first.post(&client, "/payouts/manual", manual).await, 201);
    }
    // Kill as soon as the provider has paid a few: the rest are queued or mid-flight.
    let deadline = Instant::now() + Duration::from_secs(30);
    while journal_lines(&db).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    first.kill();
    let paid_before_kill = journal_lines(&db).len();
    assert!(
        (3..BARBERS).contains(&paid_before_kill),
        "not mid-batch: {paid_before_kill} of {BARBERS} paid at the kill"
    );

    let second = start(&db);
    let deadline = Instant::now() + Duration::from_secs(60);
    let payouts = loop {
        let page: Value = client
            .get(format!("{}/payouts?limit=200", second.base))
            .bearer_auth(operator())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap().clone();
        if items.iter().all(|p| p["status"] == "completed") || Instant::now() > deadline {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(payouts.len(), BARBERS, "one payout per barber, none lost");
    for payout in &payouts {
        assert_eq!(payout["status"], "completed", "{payout}");
    }

    let journal = journal_lines(&db);
    assert_eq!(journal.len(), BARBERS, "the provider paid each payout once");
    let paid: BTreeSet<&str> = journal
        .iter()
        .map(|line| line["payout_id"].as_str().unwrap())
        .collect();
    assert_eq!(paid.len(), BARBERS);
    for payout in &payouts {
        let transfer = payout["transfer_id"].as_str().unwrap();
        let line = journal
            .iter()
            .find(|line| line["transfer_id"] == transfer)
            .unwrap_or_else(|| panic!("{transfer} is not in the provider's journal"));
        assert_eq!(line["payout_id"], payout["id"]);
        assert_eq!(
            line["amount"]["amount"].as_str(),
            payout["net_amount"].as_str()
        );
    }
    second.kill();
}
