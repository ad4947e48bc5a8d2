//! `payouts serve` signing callers in with an OpenID Connect issuer's tokens: the issuer's
//! JWKS served on 127.0.0.1, RS256 and ES256 tokens accepted with Cognito's claims, a rotated
//! key picked up, and every token that must be refused refused (expired, not yet valid, another
//! issuer's, another audience's, an unknown key, an HS256 token, no role).

use chrono::{TimeDelta, Utc};
use payout_tests::issuer::{
    AUDIENCE, ISSUER, JwksServer, Key, barber_token, claims, operator_token, sign,
};
use payout_tests::served::Served;
use reqwest::{Client, Method};
use serde_json::{Value, json};

struct Api {
    client: Client,
    server: Served,
}

impl Api {
    async fn status(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> u16 {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.server.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap().status().as_u16()
    }

    async fn get(&self, path: &str, token: &str) -> u16 {
        self.status(Method::GET, path, token, None).await
    }
}

fn schedule(barber: &str) -> Value {
    json!({"barber_id": barber, "frequency": "weekly", "day_of_week": 5,
        "minimum_payout_amount": "10.00"})
}

fn operator_claims_with(change: impl FnOnce(&mut Value)) -> String {
    let mut claims = claims(&["operator"], None);
    change(&mut claims);
    sign(Key::RsaA, &claims)
}

#[tokio::test]
async fn an_issuers_tokens_are_checked_against_its_published_keys() {
    let issuer = JwksServer::start(&[Key::RsaA, Key::EcA]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = Served::command(
        env!("CARGO_BIN_EXE_payouts"),
        &dir.path().join("sign-in.db"),
        &[
            "--jwks-url",
            &issuer.url,
            "--jwt-issuer",
            ISSUER,
            "--jwt-audience",
            AUDIENCE,
        ],
        &[],
    );
    command.env_remove("PAYOUTS_JWT_SECRET");
    let api = Api {
        client: Client::new(),
        server: Served::spawn(command),
    };

    // RS256 and ES256 operators, Cognito's groups as a JSON array.
    let operator = operator_token();
    for barber in ["b1", "b2"] {
        let status = api
            .status(
                Method::POST,
                "/schedules",
                &operator,
                Some(schedule(barber)),
            )
            .await;
        assert_eq!(status, 201, "operator creates {barber}'s schedule");
    }
    let es256 = sign(Key::EcA, &claims(&["operator"], None));
    assert_eq!(api.get("/schedules/b2", &es256).await, 200, "ES256");

    // A barber sees its own schedule only, and no operator route.
    let barber = barber_token("b1");
    assert_eq!(api.get("/schedules/b1", &barber).await, 200);
    assert_eq!(api.get("/schedules/b2", &barber).await, 404);
    let earning = json!({"earning_id": "e1", "barber_id": "b1", "amount": "50.00",
        "occurred_at": Utc::now().to_rfc3339(), "service": "haircut"});
    let status = api
        .status(Method::POST, "/earnings", &barber, Some(earning))
        .await;
    assert_eq!(status, 403, "a barber on an operator route");
    let no_role = sign(Key::RsaA, &claims(&["customer"], None));
    assert_eq!(api.get("/schedules/b1", &no_role).await, 403, "no role");

    let hour = TimeDelta::hours(1).num_seconds();
    let refused = [
        (
            "expired",
            operator_claims_with(|c| c["exp"] = json!(Utc::now().timestamp() - hour)),
        ),
        (
            "not yet valid",
            operator_claims_with(|c| c["nbf"] = json!(Utc::now().timestamp() + hour)),
        ),
        (
            "another issuer",
            operator_claims_with(|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "another audience",
            operator_claims_with(|c| c["aud"] = json!("another-api")),
        ),
        (
            "no audience",
            operator_claims_with(|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
        ),
        ("the development secret", payout_tests::app::operator()),
        ("garbage", "not.a.token".to_string()),
    ];
    for (why, token) in &refused {
        assert_eq!(api.get("/schedules/b1", token).await, 401, "{why}");
    }

    // A key the issuer has not published is refused after one look at its keys...
    let before = issuer.fetches();
    let rotated = sign(Key::RsaB, &claims(&["operator"], None));
    assert_eq!(api.get("/schedules/b1", &rotated).await, 401, "unknown key");
    assert_eq!(
        issuer.fetches(),
        before + 1,
        "an unknown kid refreshes the keys"
    );
    // ...and accepted once the issuer rotates it in.
    issuer.publish(&[Key::RsaA, Key::RsaB]);
    assert_eq!(api.get("/schedules/b1", &rotated).await, 200, "rotated key");
    // Known keys are served from the cache.
    let fetched = issuer.fetches();
    assert_eq!(api.get("/schedules/b1", &operator).await, 200);
    assert_eq!(issuer.fetches(), fetched, "a known kid needs no fetch");
}
