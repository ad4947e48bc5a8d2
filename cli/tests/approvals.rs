//! A second operator's approval (issue 32 item 2) against `payouts serve`: a payout above
//! `approvals.above` and a barber's first payout after a destination change wait in
//! `awaiting_approval`; the operator who asked for one, or who made the change, gets 403; another
//! approves and it is paid once; a rejected one gives its earnings back.

use chrono::{TimeDelta, Utc};
use payout_core::ids::BarberId;
use payout_http::auth::{AuthConfig, Role};
use payout_tests::app::{SECRET, an_hour_ago};
use payout_tests::served::Served;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// An operator's token for `subject`.
fn operator(subject: &str) -> String {
    AuthConfig::hs256(SECRET.as_bytes())
        .issue(
            subject,
            Role::Operator,
            None::<&BarberId>,
            Utc::now(),
            TimeDelta::hours(1),
        )
        .unwrap()
}

struct Shop {
    server: Served,
    client: Client,
    _dir: tempfile::TempDir,
}

impl Shop {
    fn open(approvals: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("payouts.toml");
        std::fs::write(&config, format!("[approvals]\n{approvals}\n")).unwrap();
        let server = Served::start(
            env!("CARGO_BIN_EXE_payouts"),
            &dir.path().join("approvals.db"),
            &["--config", &config.display().to_string()],
            &[],
        );
        Self {
            server,
            client: Client::new(),
            _dir: dir,
        }
    }

    async fn call(&self, who: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.server.base);
        let request = match body {
            Some(body) => self.client.post(url).json(&body),
            None => self.client.get(url),
        };
        let response = request.bearer_auth(operator(who)).send().await.unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn earn(&self, barber: &str, id: &str, amount: &str) {
        let earning = json!({"earning_id": id, "barber_id": barber, "amount": amount,
                             "occurred_at": an_hour_ago(), "service": "fade"});
        let (status, body) = self.call("ops", "/earnings", Some(earning)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn manual(&self, who: &str, barber: &str) -> Value {
        let body = json!({"barber_id": barber, "reason": "asked for early"});
        let (status, payout) = self.call(who, "/payouts/manual", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{payout}");
        payout
    }

    /// The payout once it is no longer moving (or the last state seen after 10 s).
    async fn settled(&self, id: &str) -> Value {
        let mut payout = Value::Null;
        for _ in 0..100 {
            payout = self.call("ops", &format!("/payouts/{id}"), None).await.1;
            if ["completed", "failed", "cancelled"]
                .contains(&payout["status"].as_str().unwrap_or(""))
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        payout
    }
}

#[tokio::test]
async fn a_large_payout_waits_for_a_second_operator_and_is_paid_once() {
    let shop = Shop::open("above = \"100.00\"\nexpire_after = \"1s\"");
    let schedule = json!({"barber_id": "7", "frequency": "weekly", "day_of_week": 5,
                          "connected_account_id": "acct_seven"});
    assert_eq!(
        shop.call("ops", "/schedules", Some(schedule)).await.0,
        StatusCode::CREATED
    );

    shop.earn("7", "big-1", "400.00").await;
    let waiting = shop.manual("alice", "7").await;
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting}");
    let id = waiting["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let still = shop.call("ops", &format!("/payouts/{id}"), None).await.1;
    assert_eq!(
        still["status"], "awaiting_approval",
        "no job runs it before approval"
    );
    let trail = still["audit_trail"][0]["reason"].as_str().unwrap();
    assert!(
        trail.contains("awaiting approval: its net $278.75 is above approvals.above = 100.00"),
        "{trail}"
    );

    // A retry is not a way around the second operator.
    let (retried, _) = shop
        .call("alice", &format!("/payouts/{id}/retry"), Some(json!({})))
        .await;
    assert_eq!(retried, StatusCode::CONFLICT, "a retry skips no approval");
    // An operator whose token's sub differs only by a space is no one else.
    let (spaced, _) = shop
        .call("alice ", &format!("/payouts/{id}/approve"), Some(json!({})))
        .await;
    assert_eq!(spaced, StatusCode::UNAUTHORIZED);
    let (own, problem) = shop
        .call("alice", &format!("/payouts/{id}/approve"), Some(json!({})))
        .await;
    assert_eq!(own, StatusCode::FORBIDDEN, "{problem}");
    let (other, approved) = shop
        .call("bob", &format!("/payouts/{id}/approve"), Some(json!({})))
        .await;
    assert_eq!(other, StatusCode::OK, "{approved}");
    let paid = shop.settled(&id).await;
    assert_eq!(paid["status"], "completed", "{paid}");
    let approval = paid["audit_trail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["reason"] == "approved")
        .expect("the approval is in the audit trail");
    assert_eq!(approval["actor"], "operator:bob");
    let (again, _) = shop
        .call("carol", &format!("/payouts/{id}/approve"), Some(json!({})))
        .await;
    assert_eq!(again, StatusCode::CONFLICT, "approved once");

    // Rejected: cancelled, and its earnings are open again.
    shop.earn("7", "big-2", "300.00").await;
    let waiting = shop.manual("alice", "7").await;
    let id = waiting["id"].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let report = shop.call("ops", "/health/report", None).await.1;
    let alert = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|alert| alert["name"] == "approvals_waiting");
    assert!(
        alert.is_some_and(|a| a["value"] == "1"),
        "waiting past expire_after: {report}"
    );
    let (no_reason, _) = shop
        .call("bob", &format!("/payouts/{id}/reject"), Some(json!({})))
        .await;
    assert_eq!(no_reason, StatusCode::BAD_REQUEST);
    let (rejected, body) = shop
        .call(
            "bob",
            &format!("/payouts/{id}/reject"),
            Some(json!({"reason": "not agreed"})),
        )
        .await;
    assert_eq!(rejected, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "cancelled");
    let preview = shop
        .call("ops", "/payouts/preview?barber_id=7", None)
        .await
        .1;
    assert_eq!(preview["gross_amount"], "300.00", "{preview}");
    let report = shop.call("ops", "/health/report", None).await.1;
    assert!(
        report["payouts_by_status"]["awaiting_approval"].is_null(),
        "{report}"
    );
    assert_eq!(report["payouts_by_status"]["cancelled"], 1, "{report}");
}

#[tokio::test]
async fn the_first_payout_after_a_destination_change_waits_for_someone_else() {
    let shop = Shop::open("first_payout_after_destination_change = true");
    let schedule = json!({"barber_id": "8", "frequency": "weekly", "day_of_week": 5,
                          "connected_account_id": "acct_first"});
    assert_eq!(
        shop.call("ops", "/schedules", Some(schedule)).await.0,
        StatusCode::CREATED
    );
    // A first destination is not a change: paid without approval.
    shop.earn("8", "e-1", "80.00").await;
    let first = shop.manual("dave", "8").await;
    assert_eq!(first["status"], "queued", "{first}");
    assert_eq!(
        shop.settled(first["id"].as_str().unwrap()).await["status"],
        "completed"
    );

    // Two operators change the account one after the other: both are barred, not only the
    // last (who could otherwise cover for the first).
    for (who, account) in [("carol", "acct_new"), ("frank", "acct_newer")] {
        let changed = shop
            .client
            .put(format!("{}/schedules/8", shop.server.base))
            .bearer_auth(operator(who))
            .json(&json!({"connected_account_id": account}))
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), StatusCode::OK);
    }
    shop.earn("8", "e-2", "80.00").await;
    let waiting = shop.manual("dave", "8").await;
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting}");
    assert_eq!(
        waiting["destination"], "acct_newer",
        "the approver sees where it goes"
    );
    let id = waiting["id"].as_str().unwrap().to_string();
    for barred in ["carol", "frank", "dave"] {
        let (status, _) = shop
            .call(barred, &format!("/payouts/{id}/approve"), Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{barred} may not approve");
    }
    let (status, _) = shop
        .call("erin", &format!("/payouts/{id}/approve"), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shop.settled(&id).await["status"], "completed");
    // Once one went ahead, the next needs nobody.
    shop.earn("8", "e-3", "80.00").await;
    let next = shop.manual("dave", "8").await;
    assert_eq!(next["status"], "queued", "{next}");
}
