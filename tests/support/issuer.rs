//! An OpenID Connect issuer for the tests: tokens signed with the fixture keys
//! (`tests/fixtures/oidc/`, made for the tests alone), its JWKS served on 127.0.0.1 with the
//! published keys changeable mid-test (a rotation) and fetches counted, and API Gateway's JWT
//! authorizer played with the same verification `payouts serve` does, so an event carries
//! exactly the claims the gateway would forward.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::Router;
use axum::routing::get;
use chrono::{TimeDelta, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use parking_lot::Mutex;
use payout_http::oidc::{KeySource, OidcVerifier};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://issuer.payouts.test";
pub const AUDIENCE: &str = "payouts-api";

/// The fixture keys, by key id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    RsaA,
    RsaB,
    EcA,
}

impl Key {
    pub fn kid(self) -> &'static str {
        match self {
            Key::RsaA => "rsa-a",
            Key::RsaB => "rsa-b",
            Key::EcA => "ec-a",
        }
    }

    fn encoding(self) -> (Algorithm, EncodingKey) {
        match self {
            Key::RsaA => (
                Algorithm::RS256,
                EncodingKey::from_rsa_der(include_bytes!("../fixtures/oidc/rsa-a.der")),
            ),
            Key::RsaB => (
                Algorithm::RS256,
                EncodingKey::from_rsa_der(include_bytes!("../fixtures/oidc/rsa-b.der")),
            ),
            Key::EcA => (
                Algorithm::ES256,
                EncodingKey::from_ec_der(include_bytes!("../fixtures/oidc/ec-a.der")),
            ),
        }
    }
}

/// The public halves of `keys`.
pub fn jwks(keys: &[Key]) -> Value {
    let all: Value =
        serde_json::from_str(include_str!("../fixtures/oidc/jwks.json")).expect("fixture JWKS");
    let published: Vec<Value> = all["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|jwk| keys.iter().any(|key| jwk["kid"] == key.kid()))
        .cloned()
        .collect();
    json!({ "keys": published })
}

/// `claims` signed with `key`, its id in the header.
pub fn sign(key: Key, claims: &Value) -> String {
    let (algorithm, encoding) = key.encoding();
    let mut header = Header::new(algorithm);
    header.kid = Some(key.kid().to_string());
    jsonwebtoken::encode(&header, claims, &encoding).expect("sign a test token")
}

/// What a Cognito ID token of this issuer says about a caller in `groups` (with a barber id
/// when given), valid from a minute ago for an hour.
pub fn claims(groups: &[&str], barber: Option<&str>) -> Value {
    let now = Utc::now();
    let mut claims = json!({
        "sub": format!("user-{}", groups.join("-")),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "cognito:groups": groups,
        "iat": (now - TimeDelta::minutes(1)).timestamp(),
        "nbf": (now - TimeDelta::minutes(1)).timestamp(),
        "exp": (now + TimeDelta::hours(1)).timestamp(),
    });
    if let Some(barber) = barber {
        claims["custom:barber_id"] = json!(barber);
    }
    claims
}

pub fn operator_token() -> String {
    sign(Key::RsaA, &claims(&["operator"], None))
}

pub fn barber_token(barber: &str) -> String {
    sign(Key::RsaA, &claims(&["barber"], Some(barber)))
}

/// The issuer's `jwks_uri` on a free port.
pub struct JwksServer {
    pub url: String,
    published: Arc<Mutex<Vec<Key>>>,
    fetches: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    pub async fn start(keys: &[Key]) -> Self {
        let published = Arc::new(Mutex::new(keys.to_vec()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (shown, counted) = (published.clone(), fetches.clone());
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || async move {
                counted.fetch_add(1, Ordering::SeqCst);
                axum::Json(jwks(&shown.lock()))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            published,
            fetches,
            server,
        }
    }

    /// From now on the issuer publishes `keys` (a rotation).
    pub fn publish(&self, keys: &[Key]) {
        *self.published.lock() = keys.to_vec();
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Every fixture key, as an authorizer configured with this issuer knows them.
struct FixtureKeys;

#[async_trait]
impl KeySource for FixtureKeys {
    async fn fetch(&self) -> Result<JwkSet, String> {
        serde_json::from_value(jwks(&[Key::RsaA, Key::RsaB, Key::EcA])).map_err(|e| e.to_string())
    }
}

/// API Gateway's JWT authorizer for this issuer: the claims it forwards for `token` (each a
/// string, arrays as `[a b]`), or `None` where it answers 401 without calling the function.
pub async fn gateway_claims(token: &str) -> Option<Value> {
    let authorizer = OidcVerifier::new(ISSUER, AUDIENCE, Arc::new(FixtureKeys));
    let claims = authorizer.verify(token, Utc::now()).await.ok()?;
    Some(Value::Object(
        claims
            .0
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect(),
    ))
}
