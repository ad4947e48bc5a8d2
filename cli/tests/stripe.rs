//! `payouts serve --config` with the issue's own configuration (`rail.kind = "stripe"`, a 3 s
//! timeout, retries after 1, 2 and 3 s) paying 25 barbers through the project's Stripe fake
//! while it misbehaves: responses lost after Stripe committed, 5xx and 429 answers, disabled
//! accounts, instant payouts (completed by Stripe's signed `payout.paid` webhook). Counted from
//! the fake's own ledger.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use payout_core::money::{Currency, Money};
use payout_tests::fake_stripe::{FakeStripe, Scenario};
use payout_tests::served::Served;
use reqwest::Client;
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_serve";

const CONFIG: &str = "[rail]\nkind = \"stripe\"\ntimeout = \"3s\"\nhold_after_429 = \"300ms\"\n[retry]\ndelays = [\"1s\", \"2s\", \"3s\"]\n";

/// How each barber's account behaves at the fake.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Account {
    Healthy,
    Instant,
    /// Instant, and the answer to its transfer is lost: recovery must still pay out instantly.
    InstantLosesResponses,
    LosesResponses,
    ServerErrors,
    RateLimited,
    Disabled,
}

fn accounts() -> Vec<(String, Account)> {
    let kinds = [
        (Account::Healthy, 12),
        (Account::Instant, 3),
        (Account::InstantLosesResponses, 1),
        (Account::LosesResponses, 3),
        (Account::ServerErrors, 2),
        (Account::RateLimited, 2),
        (Account::Disabled, 2),
    ];
    let mut accounts = Vec::new();
    for (kind, count) in kinds {
        for _ in 0..count {
            accounts.push((format!("b{}", accounts.len()), kind));
        }
    }
    accounts
}

#[tokio::test]
async fn serve_pays_every_barber_through_stripe_exactly_once_despite_its_faults() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("payouts.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let server = Served::on_stripe(
        env!("CARGO_BIN_EXE_payouts"),
        &dir.path().join("stripe.db"),
        &config,
        &fake.base_url,
        WEBHOOK_SECRET,
        &[],
    );
    let client = Client::new();
    let at = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    for (barber, kind) in accounts() {
        let account = format!("acct_{barber}");
        match kind {
            Account::LosesResponses | Account::InstantLosesResponses => {
                fake.set_scenario(&account, Scenario::LoseResponse)
            }
            Account::ServerErrors => fake.set_scenario(
                &account,
                Scenario::Transient {
                    status: 500,
                    times: 2,
                },
            ),
            // More 429s than the retry ladder has rungs: backpressure, not failure.
            Account::RateLimited => fake.set_scenario(
                &account,
                Scenario::Transient {
                    status: 429,
                    times: 5,
                },
            ),
            Account::Disabled => fake.set_scenario(
                &account,
                Scenario::Error {
                    status: 400,
                    code: Some("account_invalid"),
                    kind: "invalid_request_error",
                },
            ),
            Account::Healthy | Account::Instant => {}
        }
        let instant = matches!(kind, Account::Instant | Account::InstantLosesResponses);
        let method = if instant { "stripe_instant" } else { "stripe" };
        let schedule = json!({"barber_id": barber, "frequency": "weekly", "day_of_week": 5,
            "connected_account_id": account, "preferred_payment_method": method,
            "email": format!("{barber}@shop.example")});
        server.send(&client, "/schedules", Some(schedule)).await;
        let earnings: Vec<Value> = (0..3)
            .map(|n| {
                json!({"earning_id": format!("{barber}-e{n}"), "barber_id": barber,
                "amount": "40.00", "occurred_at": at, "service": "haircut"})
            })
            .collect();
        server
            .send(&client, "/earnings", Some(json!(earnings)))
            .await;
        let manual = json!({"barber_id": barber, "reason": "end of week"});
        server.send(&client, "/payouts/manual", Some(manual)).await;
    }

    // Every payout is paid (an instant one in transit until Stripe says it arrived), or failed
    // for good.
    let payouts = settled(&client, &server, &["completed", "failed", "in_transit"]).await;
    for (barber, kind) in accounts() {
        if matches!(kind, Account::Instant | Account::InstantLosesResponses) {
            assert_eq!(payouts[&barber]["status"], "in_transit", "{barber}");
            payout_paid(&client, &server, payouts[&barber]["id"].as_str().unwrap()).await;
        }
    }
    let payouts = settled(&client, &server, &["completed", "failed"]).await;

    let transfers = fake.transfers();
    for (barber, kind) in accounts() {
        let payout = &payouts[&barber];
        let paid: Vec<&Value> = transfers
            .iter()
            .filter(|t| t["destination"] == json!(format!("acct_{barber}")))
            .collect();
        if kind == Account::Disabled {
            assert_eq!(payout["status"], "failed", "{barber}: {payout}");
            assert!(paid.is_empty(), "{barber} was paid");
            let reason = payout["failure_reason"].as_str().unwrap_or_default();
            assert!(!reason.is_empty(), "{barber} failed without a reason");
            let told = server
                .send(&client, &format!("/notifications?barber_id={barber}"), None)
                .await;
            assert!(
                told.as_array().unwrap().iter().any(|n| n["kind"]
                    .as_str()
                    .is_some_and(|k| k == "failed" || k == "account_action_needed")),
                "{barber} was not told: {told}"
            );
        } else {
            assert_eq!(
                payout["status"], "completed",
                "{barber} ({kind:?}): {payout}"
            );
            assert_eq!(
                paid.len(),
                1,
                "{barber} ({kind:?}) paid {} times",
                paid.len()
            );
            assert_eq!(paid[0]["id"], payout["transfer_id"], "{barber}");
            assert_eq!(paid[0]["amount"], json!(payout_minor(payout)), "{barber}");
        }
    }
    // The machine's monitoring sees the same figures: every payout that moved money counted
    // once as it was paid (by the executor, or by the reconciliation that adopted a lost
    // answer's transfer), and the 2 that failed.
    let root = server.base.trim_end_matches("/api/v1/payout-scheduler");
    let metrics = client
        .get(format!("{root}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for figure in ["payouts_succeeded_total 23\n", "payouts_failed_total 2\n"] {
        assert!(metrics.contains(figure), "{figure} missing:\n{metrics}");
    }
    let instant: Vec<String> = fake
        .payouts()
        .into_iter()
        .map(|(account, _)| account)
        .collect();
    for (barber, kind) in accounts() {
        let account = format!("acct_{barber}");
        assert_eq!(
            instant.contains(&account),
            matches!(kind, Account::Instant | Account::InstantLosesResponses),
            "{account}: an instant payout only for instant barbers"
        );
    }
}

/// The payouts by barber once every one has a status in `done`.
async fn settled(client: &Client, server: &Served, done: &[&str]) -> BTreeMap<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let page = server.send(client, "/payouts?limit=200", None).await;
        let payouts: BTreeMap<String, Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["barber_id"].as_str().unwrap().to_string(), p.clone()))
            .collect();
        let all_done = payouts.len() == accounts().len()
            && payouts
                .values()
                .all(|p| done.contains(&p["status"].as_str().unwrap_or_default()));
        if all_done || Instant::now() > deadline {
            return payouts;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Stripe's signed `payout.paid` event for the instant payout of `payout_id`.
async fn payout_paid(client: &Client, server: &Served, payout_id: &str) {
    let object = json!({"id": format!("po_{payout_id}"), "object": "payout", "status": "paid",
        "method": "instant", "metadata": {"payout_id": payout_id}});
    let status = server
        .stripe_event(client, WEBHOOK_SECRET, "payout.paid", object)
        .await;
    assert_eq!(status, 200, "payout.paid for {payout_id}");
}

/// The payout's net in cents, as Stripe is asked for it.
fn payout_minor(payout: &Value) -> i64 {
    Money::parse(payout["net_amount"].as_str().unwrap(), Currency::Usd)
        .and_then(Money::to_minor)
        .unwrap()
}
