//! The API as the Lambda serves it behind API Gateway: events shaped as the HTTP API (payload
//! 2.0) delivers them, with the claims its JWT authorizer verified (every value a string, an
//! array claim as `[a b]`), through the same router and claim adapter as the function's main.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use payout_app::config::file::AuthSection;
use payout_app::ports::SystemClock;
use payout_http::auth::{AuthConfig, ClaimMapping};
use payout_http::gateway::with_authorizer_claims;
use payout_http::{ApiState, router};
use payout_local::FailurePlan;
use payout_tests::aws_events::http_request;
use payout_tests::world::World;
use serde_json::{Value, json};
use tower::ServiceExt;

/// An HTTP API v2 event for `method path` with `body` and these verified claims.
fn event(method: &str, path: &str, claims: Option<Value>, body: Option<Value>) -> String {
    http_request(method, path, claims, &[], body.map(|b| b.to_string())).to_string()
}

fn operator_claims() -> Value {
    json!({"sub": "op-1", "cognito:groups": "[operator]", "iss": "https://cognito-idp.eu-west-1.amazonaws.com/pool",
           "token_use": "access", "exp": "1895791600"})
}

fn barber_claims(barber: &str) -> Value {
    json!({"sub": format!("user-{barber}"), "cognito:groups": "[barber]",
           "custom:barber_id": barber, "exp": "1895791600"})
}

struct Gateway {
    app: axum::Router,
    _world: World,
}

impl Gateway {
    fn new() -> Self {
        let world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
        let app = router(ApiState {
            services: world.services.clone(),
            clock: Arc::new(SystemClock),
            auth: AuthConfig::authorizer(ClaimMapping::from(&AuthSection::default())),
            onboarding: None,
            stripe_webhook_secret: None,
        });
        Self {
            app: with_authorizer_claims(app),
            _world: world,
        }
    }

    /// The API with barber 123's schedule, created by an operator.
    async fn with_barber_123() -> Self {
        let gateway = Self::new();
        let schedule = json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5});
        let path = format!("{BASE}/schedules");
        let created = event("POST", &path, Some(operator_claims()), Some(schedule));
        assert_eq!(
            gateway.send(created).await.0,
            201,
            "an operator creates a schedule"
        );
        gateway
    }

    async fn send(&self, event: String) -> (u16, Value) {
        let request = lambda_http::request::from_str(&event).expect("a valid API Gateway event");
        let request = request.map(|body| Body::from(body.to_vec()));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

const BASE: &str = "/api/v1/payout-scheduler";

#[tokio::test]
async fn verified_claims_sign_callers_in_by_role() {
    let gateway = Gateway::with_barber_123().await;
    let (status, body) = gateway
        .send(event(
            "GET",
            &format!("{BASE}/schedules/123"),
            Some(barber_claims("123")),
            None,
        ))
        .await;
    assert_eq!(status, 200, "a barber reads its own: {body}");
    assert_eq!(body["barber_id"], "123");
    // Both groups: an operator.
    let both =
        json!({"sub": "op-2", "cognito:groups": "[barber operator]", "custom:barber_id": "9"});
    let (status, _) = gateway
        .send(event("GET", &format!("{BASE}/schedules"), Some(both), None))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn callers_the_claims_do_not_allow_are_refused() {
    let gateway = Gateway::with_barber_123().await;
    for (what, claims, path, expected) in [
        (
            "no claims on a protected route",
            None,
            "/schedules/123",
            401,
        ),
        (
            "a barber reading another barber",
            Some(barber_claims("456")),
            "/schedules/123",
            404,
        ),
        (
            "a barber on an operator route",
            Some(barber_claims("123")),
            "/schedules",
            403,
        ),
        (
            "a group that is neither",
            Some(json!({"sub": "x", "cognito:groups": "[staff]"})),
            "/schedules/123",
            403,
        ),
        (
            "a barber without a barber id",
            Some(json!({"sub": "x", "cognito:groups": "[barber]"})),
            "/schedules/123",
            403,
        ),
    ] {
        let (status, body) = gateway
            .send(event("GET", &format!("{BASE}{path}"), claims, None))
            .await;
        assert_eq!(status, expected, "{what}: {body}");
    }
    // A bearer token the function cannot verify is never a way in.
    let forged = event("GET", &format!("{BASE}/schedules"), None, None).replace(
        "\"content-type\":\"application/json\"",
        "\"content-type\":\"application/json\",\"authorization\":\"Bearer forged\"",
    );
    assert_eq!(gateway.send(forged).await.0, 401);
}
