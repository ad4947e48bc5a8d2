//! Tokens from an OpenID Connect issuer, verified by this process (`payouts serve`): an
//! asymmetric signature (RS256/384/512, PS256/384/512, ES256/384) checked against the issuer's
//! published keys, then `iss`, `aud`, `exp` and `nbf`. The verified claims go through the same
//! [`ClaimMapping`](crate::auth::ClaimMapping) as the claims API Gateway forwards, each as a
//! string in API Gateway's form, so a token means the same caller here and behind the gateway.
//!
//! The keys are fetched once and cached; a token naming a key the cache lacks (the issuer
//! rotated) refreshes them, at most [`REFRESHES_PER_MINUTE`] times a minute so a stream of
//! forged `kid`s cannot turn this process into a flood on the issuer, and cached keys are
//! refetched after [`KEYS_MAX_AGE`] so a withdrawn key stops being accepted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::Mutex;
use serde_json::{Map, Value};

use crate::auth::{CLOCK_LEEWAY_SECONDS, VerifiedClaims, issued_in_the_future, rejected};
use crate::error::ApiError;

/// Where an issuer's keys come from: its `jwks_uri`, or a file.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn fetch(&self) -> Result<JwkSet, String>;
}

/// How many times a minute unknown key ids may send this process back to the issuer.
pub const REFRESHES_PER_MINUTE: usize = 10;

/// How long fetched keys are trusted before they are fetched again.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// Signature algorithms an issuer may use; never `none` or a shared-secret HMAC, which would
/// let anyone holding the public keys sign.
const ACCEPTED: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

pub struct OidcVerifier {
    issuer: String,
    audience: String,
    source: Arc<dyn KeySource>,
    cache: Mutex<KeyCache>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, Jwk>,
    fetched_at: Option<Instant>,
    /// When each fetch of the last minute started.
    recent_fetches: Vec<Instant>,
}

impl KeyCache {
    fn is_fresh(&self, now: Instant) -> bool {
        self.fetched_at
            .is_some_and(|at| now.duration_since(at) < KEYS_MAX_AGE)
    }

    /// Books a fetch at `now` when the rate allows one.
    fn may_fetch(&mut self, now: Instant) -> bool {
        self.recent_fetches
            .retain(|at| now.duration_since(*at) < Duration::from_secs(60));
        let allowed = self.recent_fetches.len() < REFRESHES_PER_MINUTE;
        if allowed {
            self.recent_fetches.push(now);
        }
        allowed
    }
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl OidcVerifier {
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        source: Arc<dyn KeySource>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            source,
            cache: Mutex::new(KeyCache::default()),
        }
    }

    /// The claims of `token` once its signature, issuer, audience and validity period hold.
    pub async fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedClaims, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| rejected(&e))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(ApiError::Unauthorized(format!(
                "invalid token: {:?} is not an accepted signature algorithm",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| ApiError::Unauthorized("invalid token: no kid".into()))?;
        let jwk = self.key(&kid).await?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|e| ApiError::Unavailable(format!("the issuer's key {kid}: {e}")))?;

        let mut validation = Validation::new(header.alg);
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| rejected(&e))?
            .claims;
        if issued_in_the_future(claims.get("iat").and_then(Value::as_i64), now) {
            return Err(ApiError::Unauthorized(
                "invalid token: issued in the future (iat)".into(),
            ));
        }
        Ok(VerifiedClaims(
            claims
                .into_iter()
                .map(|(name, value)| (name, as_gateway_string(value)))
                .collect(),
        ))
    }

    /// The key named `kid`, from the cache or, when the cache lacks it or is stale, the issuer.
    async fn key(&self, kid: &str) -> Result<Jwk, ApiError> {
        let now = Instant::now();
        let must_fetch = {
            let mut cache = self.cache.lock();
            let known = cache.keys.get(kid).cloned();
            match known {
                Some(jwk) if cache.is_fresh(now) => return Ok(jwk),
                _ => cache.may_fetch(now),
            }
        };
        if must_fetch {
            self.refresh(now).await?;
        }
        self.cache.lock().keys.get(kid).cloned().ok_or_else(|| {
            ApiError::Unauthorized(format!("invalid token: the issuer has no key {kid}"))
        })
    }

    async fn refresh(&self, now: Instant) -> Result<(), ApiError> {
        match self.source.fetch().await {
            Ok(set) => {
                let keys: HashMap<String, Jwk> = set
                    .keys
                    .into_iter()
                    .filter_map(|jwk| Some((jwk.common.key_id.clone()?, jwk)))
                    .collect();
                tracing::info!(keys = keys.len(), "fetched the issuer's signing keys");
                let mut cache = self.cache.lock();
                cache.keys = keys;
                cache.fetched_at = Some(now);
                Ok(())
            }
            // Keys already held keep working while the issuer cannot be reached.
            Err(error) if !self.cache.lock().keys.is_empty() => {
                tracing::warn!(%error, "cannot refresh the issuer's signing keys");
                Ok(())
            }
            Err(error) => Err(ApiError::Unavailable(format!(
                "cannot fetch the issuer's signing keys: {error}"
            ))),
        }
    }
}

/// A claim as API Gateway's JWT authorizer forwards it: strings as they are, an array as
/// `[a b]`, anything else as its JSON text.
fn as_gateway_string(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Array(items) => {
            let items: Vec<String> = items.into_iter().map(as_gateway_string).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_take_api_gateways_string_form() {
        assert_eq!(
            as_gateway_string(serde_json::json!(["operator", "barber"])),
            "[operator barber]"
        );
        assert_eq!(as_gateway_string(serde_json::json!("b-1")), "b-1");
        assert_eq!(
            as_gateway_string(serde_json::json!(1700000000)),
            "1700000000"
        );
    }

    #[test]
    fn unknown_key_refreshes_are_rate_limited() {
        let mut cache = KeyCache::default();
        let start = Instant::now();
        for _ in 0..REFRESHES_PER_MINUTE {
            assert!(cache.may_fetch(start));
        }
        assert!(!cache.may_fetch(start + Duration::from_secs(59)));
        assert!(cache.may_fetch(start + Duration::from_secs(61)));
    }
}
