//! The brief's flows and the main routes, end to end.

use payout_core::retry::FailureKind;
use payout_local::FailurePlan;
use payout_tests::app::{TestApp, an_hour_ago, barber, operator, problem};
use serde_json::{Value, json};

async fn brief_schedule(app: &TestApp) {
    let response = app
        .post(
            "/schedules",
            Some(&operator()),
            &json!({
                "barber_id": 123,
                "frequency": "weekly",
                "day_of_week": 5,
                "minimum_payout_amount": 50.00,
                "auto_payout_enabled": true,
                "email_notifications": true,
                "preferred_payment_method": "stripe"
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
}

fn earning(id: &str, amount: Value) -> Value {
    json!({"earning_id": id, "barber_id": "123", "amount": amount,
           "occurred_at": an_hour_ago(), "service": "haircut"})
}

#[tokio::test]
async fn the_brief_flow_schedule_earnings_manual_payout_read_back() {
    let app = TestApp::spawn().await;
    let op = operator();
    brief_schedule(&app).await;
    let schedule: Value = app.get_json("/schedules/123", Some(&op)).await;
    assert_eq!(schedule["frequency"], "weekly");
    assert_eq!(schedule["day_of_week"], 5);
    assert_eq!(schedule["minimum_payout_amount"], "50.00");
    assert!(schedule["next_run_at"].is_string());

    // The brief's worked example: $1,000 over 60 services with $50 booth rent.
    let earnings: Vec<Value> = (0..60)
        .map(|n| {
            earning(
                &format!("e{n}"),
                json!(if n == 0 { "17.00" } else { "16.61" }),
            )
        })
        .collect();
    let response = app.post("/earnings", Some(&op), &json!(earnings)).await;
    assert_eq!(response.status(), 201);
    let deduction = json!({"barber_id": 123, "kind": "booth_rent", "amount": "50.00",
                           "description": "booth rent", "recurring": false});
    assert_eq!(
        app.post("/deductions", Some(&op), &deduction)
            .await
            .status(),
        201
    );

    let preview: Value = app
        .get_json("/payouts/preview?barber_id=123", Some(&op))
        .await;
    assert_eq!(preview["gross_amount"], "996.99");
    assert_eq!(preview["decision"], "pay");

    let manual = app
        .post(
            "/payouts/manual",
            Some(&op),
            &json!({"barber_id": 123, "reason": "Requested early payout"}),
        )
        .await;
    assert_eq!(manual.status(), 201);
    let created: Value = manual.json().await.unwrap();
    let payout = app.settled_payout(created["id"].as_str().unwrap()).await;
    assert_eq!(payout["status"], "completed");
    assert_eq!(payout["service_count"], 60);
    assert_eq!(payout["commission_rate"], "0.72");
    for key in [
        "gross_amount",
        "commission_amount",
        "bonus_amount",
        "deductions_total",
        "fee_amount",
        "net_amount",
    ] {
        assert!(payout[key].is_string(), "{key} is a decimal string");
    }
    assert_eq!(payout["deductions"][0]["kind"], "booth_rent");
    let trail = payout["audit_trail"].as_array().unwrap();
    let statuses: Vec<&str> = trail.iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["queued", "processing", "completed"]);
    assert_eq!(
        trail[0]["reason"], "manual payout: Requested early payout",
        "the operator's reason is kept"
    );

    let listed: Value = app
        .get_json("/payouts?barber_id=123&status=completed", Some(&op))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let analytics: Value = app
        .get_json("/analytics?barber_id=123&days=30", Some(&op))
        .await;
    assert_eq!(analytics["payouts_by_status"]["completed"], 1);
    assert_eq!(analytics["success_rate"], "1");
    assert_eq!(analytics["totals"]["net"], payout["net_amount"]);
    assert_eq!(analytics["average_payout"], payout["net_amount"]);
    assert!(
        analytics["p95_processing_seconds"].is_string(),
        "{analytics}"
    );
    // The platform's analytics read the kept totals; with one barber they say what the
    // barber's, counted from their payouts, say.
    let platform: Value = app.get_json("/analytics?days=30", Some(&op)).await;
    for field in [
        "totals",
        "payouts_by_status",
        "success_rate",
        "average_processing_seconds",
        "p95_processing_seconds",
        "average_payout",
        "fee_share_by_method",
        "trend",
    ] {
        assert_eq!(platform[field], analytics[field], "{field}");
    }
    let recommendations: Value = app
        .get_json("/recommendations?barber_id=123", Some(&op))
        .await;
    assert!(recommendations["recommendations"].is_array());
    let notices: Value = app
        .get_json("/notifications?barber_id=123", Some(&op))
        .await;
    let notices = notices.as_array().unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["kind"], "completed");
    assert_eq!(notices[0]["channels"], json!(["email"]));
    assert!(
        notices[0]["message"]
            .as_str()
            .unwrap()
            .contains("Net payout: $")
    );
    let sample = app
        .request(
            reqwest::Method::POST,
            &format!(
                "/test-notification/{}?notification_type=completed",
                created["id"].as_str().unwrap()
            ),
            Some(&op),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sample.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn earnings_are_idempotent_and_a_conflicting_batch_writes_nothing() {
    let app = TestApp::spawn().await;
    let op = operator();
    brief_schedule(&app).await;
    let first = app
        .post("/earnings", Some(&op), &earning("e1", json!("40.00")))
        .await;
    assert_eq!(first.status(), 201);
    let stored: Value = first.json().await.unwrap();
    let repeat = app
        .post("/earnings", Some(&op), &earning("e1", json!(40)))
        .await;
    assert_eq!(repeat.status(), 200);
    let repeated: Value = repeat.json().await.unwrap();
    assert_eq!(repeated["outcome"], "duplicate");
    assert_eq!(repeated["recorded_at"], stored["recorded_at"]);

    let conflicting = json!([earning("e2", json!("10.00")), earning("e1", json!("41.00"))]);
    let response = app.post("/earnings", Some(&op), &conflicting).await;
    assert_eq!(response.status(), 409);
    let preview: Value = app
        .get_json("/payouts/preview?barber_id=123", Some(&op))
        .await;
    assert_eq!(
        preview["service_count"], 1,
        "e2 of the refused batch was not written"
    );
    app.stop().await;
}

/// The service on a rail that refuses barber 123's unverified account, and 123's $100.00
/// payout, failed.
async fn with_a_failed_payout() -> (TestApp, Value) {
    let app = TestApp::spawn_with_rail(FailurePlan {
        permanent: Some(FailureKind::AccountNotVerified),
        ..FailurePlan::default()
    })
    .await;
    let op = operator();
    brief_schedule(&app).await;
    app.post("/earnings", Some(&op), &earning("e1", json!("100.00")))
        .await;
    let created: Value = app
        .post("/payouts/manual", Some(&op), &json!({"barber_id": "123"}))
        .await
        .json()
        .await
        .unwrap();
    let failed = app.settled_payout(created["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    (app, failed)
}

#[tokio::test]
async fn a_failed_payout_is_cancelled_and_its_earnings_return_to_the_open_balance() {
    let (app, failed) = with_a_failed_payout().await;
    let op = operator();
    let id = failed["id"].as_str().unwrap();
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("onboarding")
    );
    let open: Value = app
        .get_json("/payouts/preview?barber_id=123", Some(&op))
        .await;
    assert_eq!(
        open["service_count"], 0,
        "the failed payout still holds the earning"
    );

    let cancel = app
        .post(
            &format!("/payouts/{id}/cancel"),
            Some(&op),
            &json!({"reason": "account closed"}),
        )
        .await;
    assert_eq!(cancel.status(), 200);
    let open: Value = app
        .get_json("/payouts/preview?barber_id=123", Some(&op))
        .await;
    assert_eq!(
        open["service_count"], 1,
        "cancel returned the earning to the open balance"
    );
    problem(
        app.post(&format!("/payouts/{id}/retry"), Some(&op), &json!({}))
            .await,
        409,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn schedules_update_partially_pause_and_page() {
    let app = TestApp::spawn().await;
    let op = operator();
    brief_schedule(&app).await;
    let updated: Value = app
        .put(
            "/schedules/123",
            Some(&op),
            &json!({"frequency": "monthly", "day_of_month": 31, "time_zone": "America/New_York"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["frequency"], "monthly");
    assert_eq!(updated["day_of_month"], 31);
    assert_eq!(
        updated["minimum_payout_amount"], "50.00",
        "untouched fields stay"
    );

    let paused = app
        .request(reqwest::Method::DELETE, "/schedules/123", Some(&op))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    let paused: Value = paused.json().await.unwrap();
    assert_eq!(paused["status"], "paused");

    for id in ["200", "201", "202"] {
        app.post(
            "/schedules",
            Some(&op),
            &json!({"barber_id": id, "frequency": "daily"}),
        )
        .await;
    }
    let page: Value = app.get_json("/schedules?limit=2", Some(&op)).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest: Value = app
        .get_json(&format!("/schedules?limit=2&cursor={cursor}"), Some(&op))
        .await;
    let ids: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["barber_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["201", "202"]);
    assert!(rest["next_cursor"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get_json("/openapi.json", None).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/payout-scheduler/schedules",
        "/api/v1/payout-scheduler/schedules/{barber_id}",
        "/api/v1/payout-scheduler/earnings",
        "/api/v1/payout-scheduler/deductions",
        "/api/v1/payout-scheduler/payouts",
        "/api/v1/payout-scheduler/payouts/{id}",
        "/api/v1/payout-scheduler/payouts/manual",
        "/api/v1/payout-scheduler/payouts/preview",
        "/api/v1/payout-scheduler/payouts/{id}/retry",
        "/api/v1/payout-scheduler/payouts/{id}/cancel",
        "/api/v1/payout-scheduler/analytics",
        "/api/v1/payout-scheduler/recommendations",
        "/api/v1/payout-scheduler/health",
        "/api/v1/payout-scheduler/health/report",
        "/api/v1/payout-scheduler/test-notification/{payout_id}",
        "/api/v1/payout-scheduler/dead-letters/replay",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_barber_gets_an_onboarding_link_for_its_own_account() {
    let app = TestApp::spawn().await;
    let op = operator();
    let body = json!({"return_url": "https://shop.example/done", "refresh_url": "https://shop.example/again"});
    brief_schedule(&app).await;
    problem(
        app.post("/schedules/123/onboarding-link", Some(&op), &body)
            .await,
        409,
    )
    .await;
    app.put(
        "/schedules/123",
        Some(&op),
        &json!({"connected_account_id": "acct_123"}),
    )
    .await;
    let own = payout_tests::app::barber("123");
    let link: Value = app
        .post("/schedules/123/onboarding-link", Some(&own), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(link["account_id"], "acct_123");
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .starts_with("https://shop.example/done")
    );
    let other = payout_tests::app::barber("456");
    problem(
        app.post("/schedules/123/onboarding-link", Some(&other), &body)
            .await,
        404,
    )
    .await;
    problem(
        app.post(
            "/schedules/123/onboarding-link",
            Some(&op),
            &json!({"return_url": "ftp://x", "refresh_url": "https://y"}),
        )
        .await,
        400,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn an_unhealthy_service_answers_503_with_its_health_report() {
    let (app, _) = with_a_failed_payout().await;
    let op = operator();
    let response = app.get("/health/report", Some(&op)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["status"], "unhealthy", "{report}");
    assert!(!report["alerts"].as_array().unwrap().is_empty(), "{report}");
    app.stop().await;
}

#[tokio::test]
async fn the_forecast_lists_each_due_run_and_what_the_platform_must_fund() {
    let app = TestApp::spawn().await;
    let op = operator();
    brief_schedule(&app).await;
    let response = app
        .post(
            "/earnings",
            Some(&op),
            &json!([earning("f1", json!("100.00"))]),
        )
        .await;
    assert_eq!(response.status(), 201);
    let preview: Value = app
        .get_json("/payouts/preview?barber_id=123", Some(&op))
        .await;
    // The brief's Friday run falls within two weeks, whatever today is.
    let forecast: Value = app.get_json("/forecast?days=14", Some(&op)).await;
    assert_eq!(forecast["runs"].as_array().unwrap().len(), 1, "{forecast}");
    assert_eq!(forecast["next_cursor"], Value::Null);
    let run = &forecast["runs"][0];
    assert_eq!(run["barber_id"], "123");
    assert_eq!(run["decision"], preview["decision"]);
    assert_eq!(run["net_amount"], preview["net_amount"]);
    assert_eq!(forecast["funding"][0]["net_amount"], preview["net_amount"]);
    assert_eq!(forecast["funding"][0]["payouts"], 1);
    // A second barber due the same day: a page of one, then the next.
    let response = app
        .post(
            "/schedules",
            Some(&op),
            &json!({"barber_id": 124, "frequency": "weekly", "day_of_week": 5,
                    "preferred_payment_method": "stripe"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let first: Value = app.get_json("/forecast?days=14&limit=1", Some(&op)).await;
    assert_eq!(first["runs"][0]["barber_id"], "123", "{first}");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second: Value = app
        .get_json(
            &format!("/forecast?days=14&limit=1&cursor={cursor}"),
            Some(&op),
        )
        .await;
    assert_eq!(second["runs"][0]["barber_id"], "124", "{second}");
    assert_eq!(second["runs"][0]["decision"], "nothing_open");
    assert_eq!(second["next_cursor"], Value::Null);
    problem(app.get("/forecast?cursor=x", Some(&op)).await, 400).await;
    let response = app.get("/forecast", Some(&barber("123"))).await;
    assert_eq!(response.status(), 403);
    problem(app.get("/forecast?days=0", Some(&op)).await, 400).await;
    app.stop().await;
}
