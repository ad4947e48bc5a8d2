//! Every bad input is a 400 (or 413) problem with a reason, never a 5xx or a partial write.

use payout_tests::app::{TestApp, an_hour_ago, operator, problem};
use serde_json::{Value, json};

async fn with_schedule() -> TestApp {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/schedules",
            Some(&operator()),
            &json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5}),
        )
        .await;
    assert_eq!(response.status(), 201);
    app
}

fn earning(amount: Value) -> Value {
    json!({"earning_id": "e1", "barber_id": "123", "amount": amount,
           "occurred_at": an_hour_ago(), "service": "fade"})
}

#[tokio::test]
async fn bad_bodies_are_problems_with_reasons() {
    let app = with_schedule().await;
    let op = operator();
    let malformed = app
        .request(reqwest::Method::POST, "/earnings", Some(&op))
        .header("content-type", "application/json")
        .body("{\"earning_id\": ")
        .send()
        .await
        .unwrap();
    problem(malformed, 400).await;

    let mut unknown = earning(json!("10.00"));
    unknown["tip"] = json!("2.00");
    problem(app.post("/earnings", Some(&op), &unknown).await, 400).await;
    let mut wrong_type = earning(json!("10.00"));
    wrong_type["occurred_at"] = json!(12);
    problem(app.post("/earnings", Some(&op), &wrong_type).await, 400).await;

    for amount in [
        json!("-5.00"),
        json!(0),
        json!("10.005"),
        json!("ten"),
        json!(true),
    ] {
        let detail = problem(
            app.post("/earnings", Some(&op), &earning(amount.clone()))
                .await,
            400,
        )
        .await;
        assert!(!detail.is_empty(), "{amount}");
    }
    let yen = json!({"earning_id": "e9", "barber_id": "123", "amount": "10.5", "currency": "JPY",
                     "occurred_at": an_hour_ago(), "service": "fade"});
    problem(app.post("/earnings", Some(&op), &yen).await, 400).await;

    let schedules = [
        json!({"barber_id": "9", "frequency": "fortnightly"}),
        json!({"barber_id": "9", "frequency": "weekly", "day_of_week": 8}),
        json!({"barber_id": "9", "frequency": "weekly", "day_of_week": 0}),
        json!({"barber_id": "9", "frequency": "weekly"}),
        json!({"barber_id": "9", "frequency": "daily", "time_zone": "Mars/Olympus"}),
        json!({"barber_id": "9", "frequency": "daily", "local_time": "25:00"}),
        json!({"barber_id": "9", "frequency": "monthly", "day_of_month": 32}),
        json!({"barber_id": "9", "frequency": "custom", "cron": "every friday"}),
        json!({"barber_id": "9", "frequency": "daily", "minimum_payout_amount": "-1"}),
        json!({"barber_id": "9", "frequency": "daily", "preferred_payment_method": "paypal"}),
        json!({"barber_id": "bad id!", "frequency": "daily"}),
        json!({"frequency": "daily"}),
    ];
    for body in schedules {
        let detail = problem(app.post("/schedules", Some(&op), &body).await, 400).await;
        assert!(!detail.is_empty(), "{body}");
    }
    problem(app.get("/schedules/9", Some(&op)).await, 404).await;

    let deductions = [
        json!({"barber_id": "123", "kind": "parking", "amount": "5.00"}),
        json!({"barber_id": "123", "kind": "carried_balance", "amount": "5.00"}),
        json!({"barber_id": "123", "kind": "booth_rent", "amount": "0"}),
        json!({"barber_id": "123", "kind": "booth_rent", "amount": "5.001"}),
        json!({"barber_id": "nobody", "kind": "booth_rent", "amount": "5.00"}),
    ];
    for body in deductions {
        problem(app.post("/deductions", Some(&op), &body).await, 400).await;
    }

    let too_many: Vec<Value> = (0..501)
        .map(|n| {
            json!({"earning_id": format!("b{n}"), "barber_id": "123", "amount": "1.00",
                        "occurred_at": an_hour_ago(), "service": "fade"})
        })
        .collect();
    problem(
        app.post("/earnings", Some(&op), &json!(too_many)).await,
        400,
    )
    .await;
    let oversized = app
        .request(reqwest::Method::POST, "/earnings", Some(&op))
        .header("content-type", "application/json")
        .body(format!("{{\"service\": \"{}\"}}", "x".repeat(600 * 1024)))
        .send()
        .await
        .unwrap();
    problem(oversized, 413).await;

    problem(app.get("/payouts?status=lost", Some(&op)).await, 400).await;
    problem(app.get("/payouts?limit=0", Some(&op)).await, 400).await;
    problem(app.get("/payouts?cursor=nonsense", Some(&op)).await, 400).await;
    problem(app.get("/analytics?days=0", Some(&op)).await, 400).await;
    problem(app.get("/payouts/preview", Some(&op)).await, 400).await;
    problem(app.get("/payouts/nope", Some(&op)).await, 404).await;
    problem(app.get("/nowhere", Some(&op)).await, 404).await;

    // Nothing of all that was written.
    let preview: Value = app
        .get_json("/payouts/preview?barber_id=123", Some(&op))
        .await;
    assert_eq!(preview["service_count"], 0);
    assert_eq!(preview["deductions_total"], "0.00");
    app.stop().await;
}
