//! The defects an attacker's probe of `payouts serve` found, each reproduced against the real
//! binary over HTTP and shown fixed, with the class each belongs to: absurd amounts, a barber
//! redirecting its money, anonymous requests moving an alert, a refusal that writes, tokens
//! that should not pass, and odd inputs. Every refusal is problem+json and writes nothing.

use chrono::{TimeDelta, Utc};
use jsonwebtoken::{EncodingKey, Header};
use payout_tests::app::{SECRET, barber, operator};
use payout_tests::served::Served;
use reqwest::{Client, Method, Response};
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_hostile";

struct Shop {
    server: Served,
    client: Client,
    _dir: tempfile::TempDir,
}

impl Shop {
    /// `payouts serve` with webhooks on, and barber 123 on a weekly schedule.
    async fn open() -> Self {
        Self::open_with(&[], operator()).await
    }

    /// The same with `envs` set, creating the schedule with `operator_token`.
    async fn open_with(envs: &[(&str, &str)], operator_token: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut envs = envs.to_vec();
        envs.push(("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET));
        let server = Served::start(
            env!("CARGO_BIN_EXE_payouts"),
            &dir.path().join("hostile.db"),
            &[],
            &envs,
        );
        let shop = Self {
            server,
            client: Client::new(),
            _dir: dir,
        };
        let schedule = json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5,
                              "connected_account_id": "acct_barber123", "email": "b@example.com"});
        let created = shop
            .send(Method::POST, "/schedules", &operator_token, Some(schedule))
            .await;
        assert_eq!(created.status(), 201);
        shop
    }

    async fn send(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
        let request = self
            .client
            .request(method, format!("{}{path}", self.server.base))
            .bearer_auth(token);
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
        .send()
        .await
        .unwrap()
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let response = self.send(Method::GET, path, token, None).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    async fn health_status(&self) -> u16 {
        self.client
            .get(format!("{}/health", self.server.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Asserts a problem+json refusal with `status`; returns its detail.
async fn refused(response: Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "{:?}", response.url());
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body["detail"].as_str().unwrap().to_string()
}

fn earning(id: &str, amount: &str) -> Value {
    json!({"earning_id": id, "barber_id": "123", "amount": amount,
           "occurred_at": Utc::now().to_rfc3339(), "service": "fade"})
}

#[tokio::test]
async fn absurd_amounts_are_refused_naming_the_limit_and_never_stop_the_planner() {
    let shop = Shop::open().await;
    let op = operator();
    for amount in ["92233720368547758.07", "92233720368547758.08", "10000.01"] {
        let detail = refused(
            shop.send(Method::POST, "/earnings", &op, Some(earning("e1", amount)))
                .await,
            400,
        )
        .await;
        assert!(detail.contains("intake.max_earning"), "{detail}");
    }
    let at_the_limit = shop
        .send(
            Method::POST,
            "/earnings",
            &op,
            Some(earning("e1", "10000.00")),
        )
        .await;
    assert_eq!(at_the_limit.status(), 201);
    let deduction = json!({"barber_id": "123", "kind": "other",
                           "amount": "99999999999999999999.99", "description": "x"});
    let detail = refused(
        shop.send(Method::POST, "/deductions", &op, Some(deduction))
            .await,
        400,
    )
    .await;
    assert!(detail.contains("intake.max_deduction"), "{detail}");
    assert_eq!(shop.health_status().await, 200);
}

#[tokio::test]
async fn a_barber_token_cannot_redirect_its_money_and_every_redirect_is_audited() {
    let shop = Shop::open().await;
    let own = barber("123");
    let attack = json!({"standing": "top", "connected_account_id": "acct_attacker"});
    let detail = refused(
        shop.send(Method::PUT, "/schedules/123", &own, Some(attack))
            .await,
        403,
    )
    .await;
    assert!(detail.contains("connected_account_id") && detail.contains("standing"));
    for body in [
        json!({"preferred_payment_method": "bank_transfer"}),
        json!({"status": "active"}),
        json!({"frequency": "custom", "cron": "0 9 * * 1"}),
    ] {
        refused(
            shop.send(Method::PUT, "/schedules/123", &own, Some(body))
                .await,
            403,
        )
        .await;
    }
    let own_new = barber("456");
    let create = json!({"barber_id": "456", "frequency": "weekly", "day_of_week": 5,
                        "connected_account_id": "acct_attacker"});
    refused(
        shop.send(Method::POST, "/schedules", &own_new, Some(create))
            .await,
        403,
    )
    .await;

    let schedule = shop.get("/schedules/123", &own).await;
    assert_eq!(schedule["connected_account_id"], "acct_barber123");
    assert_eq!(schedule["standing"], "regular");

    // Preferences stay the barber's own.
    let preferences = json!({"email": "new@example.com", "minimum_payout_amount": "40.00",
                             "local_time": "18:00", "preferred_payment_method": "stripe_instant"});
    let changed = shop
        .send(Method::PUT, "/schedules/123", &own, Some(preferences))
        .await;
    assert_eq!(changed.status(), 200);

    // An operator may move the money; who and when is kept, and the barber is told.
    let moved = shop
        .send(
            Method::PUT,
            "/schedules/123",
            &operator(),
            Some(json!({"connected_account_id": "acct_barber123new"})),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let schedule = shop.get("/schedules/123", &own).await;
    let changes = schedule["destination_changes"].as_array().unwrap();
    let last = changes.last().unwrap();
    assert_eq!(last["actor"], "operator:test");
    assert_eq!(last["connected_account_id"], "acct_barber123new");
    assert_eq!(last["previous_connected_account_id"], "acct_barber123");
    assert!(
        changes.iter().any(
            |c| c["actor"] == "barber:123" && c["preferred_payment_method"] == "stripe_instant"
        ),
        "the barber's own method change is audited too: {changes:?}"
    );
    let notices = shop.get("/notifications?barber_id=123", &own).await;
    assert!(
        notices.to_string().contains("destination_changed"),
        "{notices}"
    );
}

#[tokio::test]
async fn anonymous_webhook_posts_never_raise_an_alert() {
    let shop = Shop::open().await;
    for _ in 0..3 {
        let response = shop
            .client
            .post(format!("{}/webhooks/stripe", shop.server.base))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        refused(response, 400).await;
    }
    assert_eq!(shop.health_status().await, 200);
}

#[tokio::test]
async fn a_refused_manual_payout_writes_nothing() {
    let shop = Shop::open().await;
    let op = operator();
    let earned = shop
        .send(Method::POST, "/earnings", &op, Some(earning("e1", "50.00")))
        .await;
    assert_eq!(earned.status(), 201);
    let rent = json!({"barber_id": "123", "kind": "booth_rent", "amount": "200.00"});
    assert_eq!(
        shop.send(Method::POST, "/deductions", &op, Some(rent))
            .await
            .status(),
        201
    );
    for _ in 0..3 {
        let manual = json!({"barber_id": "123", "reason": "advance"});
        refused(
            shop.send(Method::POST, "/payouts/manual", &op, Some(manual))
                .await,
            409,
        )
        .await;
    }
    let payouts = shop.get("/payouts?barber_id=123", &op).await;
    assert_eq!(payouts["items"].as_array().unwrap().len(), 0, "{payouts}");
    let preview = shop.get("/payouts/preview?barber_id=123", &op).await;
    assert_eq!(
        preview["gross_amount"], "50.00",
        "the balance stays open: {preview}"
    );
    assert_eq!(preview["deductions_total"], "200.00", "{preview}");
}

fn signed(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn tokens_are_checked_for_expiry_not_before_issued_at_and_audience() {
    let shop = Shop::open().await;
    let now = Utc::now().timestamp();
    let hour = TimeDelta::hours(1).num_seconds();
    let claims = |extra: Value| {
        let mut claims = json!({"sub": "probe", "role": "operator", "exp": now + hour});
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        signed(claims)
    };
    for bad in [
        json!({"nbf": now + 600}),
        json!({"iat": now + 600}),
        json!({"exp": now - 600}),
    ] {
        let response = shop
            .send(Method::GET, "/schedules", &claims(bad.clone()), None)
            .await;
        refused(response, 401).await;
    }
    // No audience is configured: a token naming one is not refused for it.
    for good in [
        json!({"aud": "payouts"}),
        json!({"nbf": now - 10, "iat": now - 10}),
    ] {
        let response = shop
            .send(Method::GET, "/schedules", &claims(good.clone()), None)
            .await;
        assert_eq!(response.status(), 200, "{good}");
    }
}

#[tokio::test]
async fn odd_inputs_are_problems_that_write_nothing() {
    let shop = Shop::open().await;
    let op = operator();
    let mut nul_service = earning("e1", "10.00");
    nul_service["service"] = json!("fade\u{0}");
    let mut far_future = earning("e2", "10.00");
    far_future["occurred_at"] = json!("+10000-01-01T00:00:00Z");
    let mut long_ago = earning("e3", "10.00");
    long_ago["occurred_at"] = json!((Utc::now() - TimeDelta::days(800)).to_rfc3339());
    let mut next_week = earning("e4", "10.00");
    next_week["occurred_at"] = json!((Utc::now() + TimeDelta::days(7)).to_rfc3339());
    let long = "x".repeat(10 * 1024);
    let cases = [
        (Method::POST, "/earnings", Some(nul_service)),
        (Method::POST, "/earnings", Some(far_future)),
        (Method::POST, "/earnings", Some(long_ago)),
        (Method::POST, "/earnings", Some(next_week)),
        (
            Method::POST,
            "/schedules",
            Some(json!({"barber_id": "..", "frequency": "daily"})),
        ),
        (Method::GET, "/schedules/..", None),
        (
            Method::PUT,
            "/schedules/123",
            Some(json!({"email": format!("{long}@example.com")})),
        ),
        (
            Method::PUT,
            "/schedules/123",
            Some(json!({"phone": long.clone()})),
        ),
        (
            Method::PUT,
            "/schedules/123",
            Some(json!({"phone": "555-0100"})),
        ),
        (
            Method::PUT,
            "/schedules/123",
            Some(json!({"connected_account_id": long.clone()})),
        ),
        (
            Method::PUT,
            "/schedules/123",
            Some(json!({"connected_account_id": "evil"})),
        ),
        (
            Method::PUT,
            "/schedules/123",
            Some(json!({"frequency": "custom", "cron": "0 0 9 * * 1"})),
        ),
        (
            Method::PUT,
            "/schedules/123",
            Some(json!({"frequency": "weekly", "day_of_week": 5, "day_of_month": 3})),
        ),
        (Method::GET, "/schedules?cursor=zzz", None),
        (Method::GET, "/payouts?cursor=zzz", None),
    ];
    for (method, path, body) in cases {
        let response = shop.send(method.clone(), path, &op, body.clone()).await;
        let status = response.status().as_u16();
        assert!(
            status == 400 || status == 404,
            "{method} {path} {body:?}: {status}"
        );
        refused(response, status).await;
    }
    let huge = vec![earning("e5", "10.00"); 8000];
    refused(
        shop.send(Method::POST, "/earnings", &op, Some(json!(huge)))
            .await,
        413,
    )
    .await;
    let huge_webhook = shop
        .client
        .post(format!("{}/webhooks/stripe", shop.server.base))
        .body(vec![b' '; 600 * 1024])
        .send()
        .await
        .unwrap();
    refused(huge_webhook, 413).await;

    let mut confirm_reference = json!({"reference": "wire\u{0}1"});
    confirm_reference["reference"] = json!("wire\u{0}1");
    refused(
        shop.send(
            Method::POST,
            "/payouts/pm_1_123/confirm",
            &op,
            Some(confirm_reference),
        )
        .await,
        400,
    )
    .await;

    let schedule = shop.get("/schedules/123", &op).await;
    assert_eq!(schedule["connected_account_id"], "acct_barber123");
    assert_eq!(schedule["frequency"], "weekly");
    assert_eq!(schedule["email"], "b@example.com");
    let payouts = shop.get("/payouts", &op).await;
    assert!(payouts["items"].as_array().unwrap().is_empty());
    assert_eq!(shop.health_status().await, 200);
}
