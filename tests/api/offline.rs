//! Bank transfers and manual payments: in transit until an operator confirms or returns them,
//! and the day's bank file with its totals.

use payout_tests::app::{TestApp, an_hour_ago, operator, problem};
use serde_json::{Value, json};

async fn payout_for(app: &TestApp, barber: &str, earning: &str, amount: &str) -> String {
    let op = operator();
    let body = json!({"earning_id": earning, "barber_id": barber, "amount": amount,
                      "occurred_at": an_hour_ago(), "service": "fade"});
    assert_eq!(app.post("/earnings", Some(&op), &body).await.status(), 201);
    let created: Value = app
        .post("/payouts/manual", Some(&op), &json!({"barber_id": barber}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(app.settled_payout(&id).await["status"], "in_transit");
    id
}

#[tokio::test]
async fn bank_transfers_wait_for_the_operator_and_are_exported_daily() {
    let app = TestApp::spawn().await;
    let op = operator();
    for (barber, method) in [
        ("bank-1", "bank_transfer"),
        ("bank-2", "bank_transfer"),
        ("cash-1", "manual"),
    ] {
        let schedule = json!({"barber_id": barber, "frequency": "weekly", "day_of_week": 5,
                              "preferred_payment_method": method, "connected_account_id": format!("iban-{barber}")});
        assert_eq!(
            app.post("/schedules", Some(&op), &schedule).await.status(),
            201
        );
    }
    let first = payout_for(&app, "bank-1", "b1", "100.00").await;
    let second = payout_for(&app, "bank-2", "b2", "200.00").await;
    let cash = payout_for(&app, "cash-1", "c1", "50.00").await;

    // The day the payouts were handed over, not the day the assertion runs (which may be the
    // next, just after midnight).
    let handed_over = app.get_json(&format!("/payouts/{first}"), Some(&op)).await;
    let today = &handed_over["created_at"].as_str().unwrap()[..10];
    let response = app
        .get(&format!("/bank-transfers/{today}"), Some(&op))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv");
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(csv.contains(&first) && csv.contains(&second) && !csv.contains(&cash));
    // 100 and 200 gross at 70 %, less the $0.50 bank fee each: 69.50 + 139.50.
    assert!(lines[3].ends_with(",TOTAL,2,,209.00,USD,"), "{}", lines[3]);

    let confirmed = app
        .post(
            &format!("/payouts/{first}/confirm"),
            Some(&op),
            &json!({"reference": "ACH-123"}),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    let returned = app
        .post(
            &format!("/payouts/{second}/return"),
            Some(&op),
            &json!({"reason": "account closed"}),
        )
        .await;
    assert_eq!(returned.status(), 200);
    let cash_done = app
        .post(
            &format!("/payouts/{cash}/confirm"),
            Some(&op),
            &json!({"reference": "receipt 7"}),
        )
        .await;
    assert_eq!(cash_done.status(), 200);

    let first: Value = app.get_json(&format!("/payouts/{first}"), Some(&op)).await;
    assert_eq!(first["status"], "completed");
    assert!(
        first["audit_trail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"].as_str().unwrap().contains("ACH-123"))
    );
    let second: Value = app.get_json(&format!("/payouts/{second}"), Some(&op)).await;
    assert_eq!(second["status"], "failed");
    assert!(second["failure_reason"].is_string());
    // Confirming twice, or an empty reference, is refused.
    problem(
        app.post(
            &format!("/payouts/{cash}/confirm"),
            Some(&op),
            &json!({"reference": "again"}),
        )
        .await,
        409,
    )
    .await;
    problem(
        app.post(
            &format!("/payouts/{cash}/confirm"),
            Some(&op),
            &json!({"reference": " "}),
        )
        .await,
        400,
    )
    .await;
    problem(app.get("/bank-transfers/yesterday", Some(&op)).await, 400).await;
    app.stop().await;
}
