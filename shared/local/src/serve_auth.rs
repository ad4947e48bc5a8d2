//! How `payouts serve` knows its callers: HS256 tokens signed with its own secret (development
//! and small shops), or an OpenID Connect issuer's tokens checked against the issuer's keys,
//! fetched from its `jwks_uri` over HTTP(S) or read from a JWKS file (an issuer on a network
//! this machine cannot reach, or a test).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;
use payout_app::config::Settings;
use payout_app::config::file::AuthSection;
use payout_http::auth::{AuthConfig, ClaimMapping};
use payout_http::oidc::{KeySource, OidcVerifier};

use crate::runtime::ServeError;

/// How `serve` knows its callers.
#[derive(Debug, Clone)]
pub enum ServeAuth {
    /// HS256 tokens signed with `secret` (`payouts token`), with `iss` and `aud` when set.
    Hs256 {
        secret: String,
        issuer: Option<String>,
        audience: Option<String>,
    },
    /// An OpenID Connect issuer's tokens, checked against its keys; `claims` say who calls.
    Oidc {
        issuer: String,
        audience: String,
        keys: KeysAt,
        claims: AuthSection,
    },
}

impl ServeAuth {
    pub fn hs256(secret: impl Into<String>) -> Self {
        ServeAuth::Hs256 {
            secret: secret.into(),
            issuer: None,
            audience: None,
        }
    }

    /// From `server.jwt_*`, `server.jwks_*` and `[auth]`: an issuer's keys need its issuer
    /// and audience and exclude a shared secret.
    pub(crate) fn from_settings(settings: &Settings) -> Result<Self, ServeError> {
        let server = &settings.server;
        let keys = match (&server.jwks_url, &server.jwks_file) {
            (Some(_), Some(_)) => {
                return Err(ServeError::Config(
                    "server.jwks_url and server.jwks_file: set one".into(),
                ));
            }
            (Some(url), None) => KeysAt::Url(url.clone()),
            (None, Some(file)) => KeysAt::File(PathBuf::from(file)),
            (None, None) => {
                return Ok(ServeAuth::Hs256 {
                    secret: server.jwt_secret.clone().unwrap_or_default(),
                    issuer: server.jwt_issuer.clone(),
                    audience: server.jwt_audience.clone(),
                });
            }
        };
        let required = |value: &Option<String>, key: &str| {
            value.clone().ok_or_else(|| {
                ServeError::Config(format!("{key} is required with an issuer's keys (jwks)"))
            })
        };
        if server.jwt_secret.is_some() {
            return Err(ServeError::Config(
                "server.jwt_secret and server.jwks_*: tokens come from the issuer, set one".into(),
            ));
        }
        Ok(ServeAuth::Oidc {
            issuer: required(&server.jwt_issuer, "server.jwt_issuer")?,
            audience: required(&server.jwt_audience, "server.jwt_audience")?,
            keys,
            claims: settings.auth.clone(),
        })
    }

    pub(crate) fn auth_config(&self) -> Result<AuthConfig, ServeError> {
        Ok(match self {
            ServeAuth::Hs256 {
                secret,
                issuer,
                audience,
            } => {
                let mut auth = AuthConfig::hs256(secret.as_bytes());
                if let Some(issuer) = issuer {
                    auth = auth.with_issuer(issuer);
                }
                if let Some(audience) = audience {
                    auth = auth.with_audience(audience);
                }
                auth
            }
            ServeAuth::Oidc {
                issuer,
                audience,
                keys,
                claims,
            } => {
                let source: Arc<dyn KeySource> = match keys {
                    KeysAt::Url(url) => Arc::new(JwksUrl::new(url).map_err(ServeError::Config)?),
                    KeysAt::File(path) => Arc::new(JwksFile(path.clone())),
                };
                AuthConfig::oidc(
                    OidcVerifier::new(issuer, audience, source),
                    ClaimMapping::from(claims),
                )
            }
        })
    }
}

/// Where an issuer's signing keys are published.
#[derive(Debug, Clone)]
pub enum KeysAt {
    Url(String),
    File(PathBuf),
}

/// The longest a key fetch may take; a request waiting on it waits this long at most.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct JwksUrl {
    client: reqwest::Client,
    url: String,
}

impl JwksUrl {
    pub fn new(url: impl Into<String>) -> Result<Self, String> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .map_err(|e| e.to_string())?,
            url: url.into(),
        })
    }
}

#[async_trait]
impl KeySource for JwksUrl {
    async fn fetch(&self) -> Result<JwkSet, String> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("{}: {e}", self.url))?;
        response
            .json()
            .await
            .map_err(|e| format!("{}: not a JWKS: {e}", self.url))
    }
}

pub struct JwksFile(pub PathBuf);

#[async_trait]
impl KeySource for JwksFile {
    async fn fetch(&self) -> Result<JwkSet, String> {
        let text = tokio::fs::read_to_string(&self.0)
            .await
            .map_err(|e| format!("{}: {e}", self.0.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: not a JWKS: {e}", self.0.display()))
    }
}
