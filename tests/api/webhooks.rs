//! Stripe webhooks over HTTP: applied once however often delivered; forged, stale or malformed
//! deliveries are 400 and change nothing.

use chrono::Utc;
use payout_app::webhooks::sign;
use payout_tests::app::{TestApp, WEBHOOK_SECRET, an_hour_ago, operator, problem};
use serde_json::{Value, json};

async fn in_transit_payout(app: &TestApp, earning: &str) -> String {
    let op = operator();
    let body = json!({"earning_id": earning, "barber_id": "123", "amount": "90.00",
                      "occurred_at": an_hour_ago(), "service": "fade"});
    assert_eq!(app.post("/earnings", Some(&op), &body).await.status(), 201);
    let created: Value = app
        .post("/payouts/manual", Some(&op), &json!({"barber_id": "123"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(app.settled_payout(&id).await["status"], "in_transit");
    id
}

fn payout_paid(event_id: &str, payout_id: &str) -> Vec<u8> {
    json!({
        "id": event_id, "object": "event", "type": "payout.paid", "api_version": "2024-06-20",
        "created": Utc::now().timestamp(), "livemode": false,
        "data": {"object": {"id": "po_fake_0001", "object": "payout", "status": "paid",
                            "method": "instant", "metadata": {"payout_id": payout_id}}}
    })
    .to_string()
    .into_bytes()
}

async fn deliver(app: &TestApp, body: &[u8], signature: Option<String>) -> reqwest::Response {
    let mut request = app
        .request(reqwest::Method::POST, "/webhooks/stripe", None)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    request.send().await.unwrap()
}

/// Delivers `body` with a valid signature made now.
async fn deliver_signed(app: &TestApp, body: &[u8]) -> reqwest::Response {
    let signature = sign(body, WEBHOOK_SECRET.as_bytes(), Utc::now().timestamp());
    deliver(app, body, Some(signature)).await
}

#[tokio::test]
async fn a_signed_event_is_applied_once_however_often_it_arrives() {
    let app = TestApp::spawn().await;
    let op = operator();
    let schedule = json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5,
                          "preferred_payment_method": "stripe_instant"});
    assert_eq!(
        app.post("/schedules", Some(&op), &schedule).await.status(),
        201
    );
    let paid = in_transit_payout(&app, "e1").await;
    let body = payout_paid("evt_1", &paid);
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let response = deliver_signed(&app, &body).await;
        assert_eq!(response.status(), 200);
        let receipt: Value = response.json().await.unwrap();
        outcomes.push(receipt["outcome"].as_str().unwrap().to_string());
    }
    assert!(outcomes[0].starts_with("applied"), "{outcomes:?}");
    assert_eq!(outcomes[1..], ["duplicate", "duplicate"]);
    let payout: Value = app.get_json(&format!("/payouts/{paid}"), Some(&op)).await;
    assert_eq!(payout["status"], "completed");
    let completions = payout["audit_trail"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["to"] == "completed")
        .count();
    assert_eq!(completions, 1);

    // Forged, stale, unsigned and malformed deliveries for a second payout change nothing.
    let waiting = in_transit_payout(&app, "e2").await;
    let body = payout_paid("evt_2", &waiting);
    let now = Utc::now().timestamp();
    problem(
        deliver(&app, &body, Some(sign(&body, b"whsec_forged", now))).await,
        400,
    )
    .await;
    problem(
        deliver(
            &app,
            &body,
            Some(sign(&body, WEBHOOK_SECRET.as_bytes(), now - 600)),
        )
        .await,
        400,
    )
    .await;
    problem(deliver(&app, &body, None).await, 400).await;
    let garbage = b"{\"id\": \"evt_3\", \"type\":".to_vec();
    problem(
        deliver(
            &app,
            &garbage,
            Some(sign(&garbage, WEBHOOK_SECRET.as_bytes(), now)),
        )
        .await,
        400,
    )
    .await;
    let payout: Value = app
        .get_json(&format!("/payouts/{waiting}"), Some(&op))
        .await;
    assert_eq!(payout["status"], "in_transit");
    // The genuine delivery still applies: the refused ones were not recorded as seen.
    let response = deliver(
        &app,
        &body,
        Some(sign(&body, WEBHOOK_SECRET.as_bytes(), now)),
    )
    .await;
    assert_eq!(response.status(), 200);
    let payout: Value = app
        .get_json(&format!("/payouts/{waiting}"), Some(&op))
        .await;
    assert_eq!(payout["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn payouts_disabled_holds_the_accounts_payouts_and_leaves_the_schedule_running() {
    let app = TestApp::spawn().await;
    let op = operator();
    let schedule = json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5,
                          "connected_account_id": "acct_123"});
    assert_eq!(
        app.post("/schedules", Some(&op), &schedule).await.status(),
        201
    );
    let body = json!({"id": "evt_acct", "object": "event", "type": "account.updated",
                      "data": {"object": {"id": "acct_123", "object": "account", "payouts_enabled": false,
                                          "requirements": {"disabled_reason": "rejected.fraud"}}}})
    .to_string()
    .into_bytes();
    let response = deliver_signed(&app, &body).await;
    assert_eq!(response.status(), 200);
    let schedule: Value = app.get_json("/schedules/123", Some(&op)).await;
    assert_eq!(schedule["status"], "active", "planning goes on: {schedule}");
    let earning = json!({"earning_id": "e-held", "barber_id": "123", "amount": "80.00",
                         "occurred_at": an_hour_ago(), "service": "fade"});
    assert_eq!(
        app.post("/earnings", Some(&op), &earning).await.status(),
        201
    );
    let manual = json!({"barber_id": "123", "reason": "now"});
    let payout: Value = app
        .post("/payouts/manual", Some(&op), &manual)
        .await
        .json()
        .await
        .unwrap();
    let id = payout["id"].as_str().unwrap();
    let mut held = Value::Null;
    for _ in 0..100 {
        held = app.get_json(&format!("/payouts/{id}"), Some(&op)).await;
        if held["status"] == "on_hold" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(held["status"], "on_hold", "{held}");
    assert!(
        held["failure_reason"]
            .as_str()
            .unwrap()
            .contains("rejected.fraud"),
        "{held}"
    );
    app.stop().await;
}
