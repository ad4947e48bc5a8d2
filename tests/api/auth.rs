//! The auth matrix: operator, own barber, other barber, no token, bad signature, expired token.

use chrono::TimeDelta;
use payout_http::auth::Role;
use payout_tests::app::{SECRET, TestApp, an_hour_ago, barber, operator, problem, token};
use serde_json::{Value, json};

#[tokio::test]
async fn who_may_do_what() {
    let app = TestApp::spawn().await;
    let op = operator();
    for id in ["123", "456"] {
        let created = app
            .post(
                "/schedules",
                Some(&op),
                &json!({"barber_id": id, "frequency": "weekly", "day_of_week": 5}),
            )
            .await;
        assert_eq!(created.status(), 201);
    }
    let earning = json!({"earning_id": "e1", "barber_id": "123", "amount": "80.00",
                         "occurred_at": an_hour_ago(), "service": "fade"});
    assert_eq!(
        app.post("/earnings", Some(&op), &earning).await.status(),
        201
    );
    let payout: Value = app
        .post("/payouts/manual", Some(&op), &json!({"barber_id": "123"}))
        .await
        .json()
        .await
        .unwrap();
    let payout_id = payout["id"].as_str().unwrap().to_string();
    app.settled_payout(&payout_id).await;

    let own = barber("123");
    let other = barber("456");
    // A barber sees its own records.
    assert_eq!(app.get("/schedules/123", Some(&own)).await.status(), 200);
    assert_eq!(
        app.get(&format!("/payouts/{payout_id}"), Some(&own))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get("/analytics?barber_id=123", Some(&own))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get("/payouts/preview?barber_id=123", Some(&own))
            .await
            .status(),
        200
    );
    let mine: Value = app.get_json("/payouts", Some(&own)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    // ...and nobody else's: 404, so ids do not leak.
    problem(app.get("/schedules/123", Some(&other)).await, 404).await;
    problem(
        app.get(&format!("/payouts/{payout_id}"), Some(&other))
            .await,
        404,
    )
    .await;
    problem(app.get("/analytics?barber_id=123", Some(&other)).await, 404).await;
    problem(
        app.get("/recommendations?barber_id=123", Some(&other))
            .await,
        404,
    )
    .await;
    let theirs: Value = app.get_json("/payouts?barber_id=123", Some(&other)).await;
    assert!(theirs["items"].as_array().unwrap().is_empty());
    // Operator-only routes are 403 for barbers.
    problem(app.get("/schedules", Some(&own)).await, 403).await;
    problem(
        app.post("/payouts/manual", Some(&own), &json!({"barber_id": "123"}))
            .await,
        403,
    )
    .await;
    problem(
        app.post(
            &format!("/payouts/{payout_id}/retry"),
            Some(&own),
            &json!({}),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.post(
            &format!("/payouts/{payout_id}/cancel"),
            Some(&own),
            &json!({}),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.post("/dead-letters/replay", Some(&own), &json!({}))
            .await,
        403,
    )
    .await;
    problem(app.post("/earnings", Some(&own), &earning).await, 403).await;
    // No token, a forged one, an expired one: 401.
    problem(app.get("/schedules/123", None).await, 401).await;
    let forged = token(Role::Operator, None, TimeDelta::hours(1), "not-the-secret");
    problem(app.get("/schedules/123", Some(&forged)).await, 401).await;
    let expired = token(Role::Operator, None, TimeDelta::seconds(-120), SECRET);
    problem(app.get("/schedules/123", Some(&expired)).await, 401).await;
    problem(app.get("/schedules/123", Some("garbage")).await, 401).await;
    // Health and the OpenAPI document are public.
    assert_eq!(app.get("/health", None).await.status(), 200);
    assert_eq!(app.get("/openapi.json", None).await.status(), 200);
    app.stop().await;
}
