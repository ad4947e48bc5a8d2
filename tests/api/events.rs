//! The booking platform's events through `POST /events` (what EventBridge delivers on AWS): a
//! completed service recorded once, a repeat absorbed, a conflicting repeat refused; a refund
//! voiding an open earning and clawing back a paid one's share, never the price.

use chrono::{TimeDelta, Utc};
use payout_tests::app::{TestApp, barber, operator, problem};
use serde_json::{Value, json};

fn service(booking: &str, amount: &str) -> Value {
    json!({"booking_id": booking, "barber_id": "7", "amount": amount, "currency": "USD",
        "occurred_at": (Utc::now() - TimeDelta::hours(1)).to_rfc3339(), "service": "haircut",
        "version": 1})
}

fn event(kind: &str, detail: Value) -> Value {
    json!({"detail-type": kind, "detail": detail})
}

async fn outcome(app: &TestApp, body: &Value) -> Value {
    let response = app.post("/events", Some(&operator()), body).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn preview_gross(app: &TestApp) -> String {
    let preview: Value = app
        .get_json("/payouts/preview?barber_id=7", Some(&operator()))
        .await;
    preview["gross_amount"].as_str().unwrap_or("0").to_string()
}

#[tokio::test]
async fn completed_and_refunded_services_move_the_balance_exactly_once() {
    let app = TestApp::spawn().await;
    let schedule = json!({"barber_id": "7", "frequency": "weekly", "day_of_week": 5});
    assert_eq!(
        app.post("/schedules", Some(&operator()), &schedule)
            .await
            .status(),
        201
    );
    let completed = event("ServiceCompleted", service("bk-1", "40.00"));
    assert_eq!(outcome(&app, &completed).await["outcome"], "recorded");
    assert_eq!(outcome(&app, &completed).await["outcome"], "duplicate");
    let other = event("ServiceCompleted", service("bk-1", "45.00"));
    let detail = problem(app.post("/events", Some(&operator()), &other).await, 409).await;
    assert!(detail.contains("bk-1"), "{detail}");
    for (kind, body) in [
        (
            "unknown type",
            event("ServiceRescheduled", service("bk-9", "1.00")),
        ),
        (
            "bad amount",
            event("ServiceCompleted", service("bk-9", "lots")),
        ),
        (
            "version 2",
            event("ServiceCompleted", {
                let mut detail = service("bk-9", "1.00");
                detail["version"] = json!(2);
                detail
            }),
        ),
    ] {
        let response = app.post("/events", Some(&operator()), &body).await;
        assert_eq!(response.status(), 400, "{kind}");
    }
    let response = app.post("/events", Some(&barber("7")), &completed).await;
    assert_eq!(response.status(), 403, "a barber cannot report services");

    // A refund of an open earning voids it.
    assert_eq!(
        outcome(&app, &event("ServiceCompleted", service("bk-2", "60.00"))).await["outcome"],
        "recorded"
    );
    assert_eq!(preview_gross(&app).await, "100.00");
    let refund = event("ServiceRefunded", service("bk-2", "60.00"));
    assert_eq!(outcome(&app, &refund).await["outcome"], "voided");
    assert_eq!(outcome(&app, &refund).await["outcome"], "duplicate");
    assert_eq!(preview_gross(&app).await, "40.00");
    let partial = event("ServiceRefunded", service("bk-1", "10.00"));
    problem(app.post("/events", Some(&operator()), &partial).await, 409).await;
    let early = event("ServiceRefunded", service("bk-unknown", "10.00"));
    problem(app.post("/events", Some(&operator()), &early).await, 404).await;

    // Paid, then refunded: what the barber was paid for it (70 % of $40.00) is owed back.
    let manual = app
        .post(
            "/payouts/manual",
            Some(&operator()),
            &json!({"barber_id": "7", "reason": "test"}),
        )
        .await;
    assert_eq!(manual.status(), 201);
    let created: Value = manual.json().await.unwrap();
    let paid = app.settled_payout(created["id"].as_str().unwrap()).await;
    assert_eq!(paid["status"], "completed");
    assert_eq!(paid["gross_amount"], "40.00");
    let refund = event("ServiceRefunded", service("bk-1", "40.00"));
    let clawed = outcome(&app, &refund).await;
    assert_eq!(clawed["outcome"], "clawed_back", "{clawed}");
    assert_eq!(
        clawed["amount"], paid["commission_amount"],
        "{clawed} {paid}"
    );
    assert_eq!(outcome(&app, &refund).await["outcome"], "duplicate");
    let preview: Value = app
        .get_json("/payouts/preview?barber_id=7", Some(&operator()))
        .await;
    assert_eq!(preview["deductions"][0]["kind"], "refund", "{preview}");
    assert_eq!(
        preview["deductions"][0]["amount"],
        paid["commission_amount"]
    );
    app.stop().await;
}
