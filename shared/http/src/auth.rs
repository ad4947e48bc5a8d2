//! Bearer JWT authentication and the two roles.
//!
//! Two ways to know the caller: in AWS, API Gateway's JWT authorizer has verified the token
//! (signature against the issuer's keys, `iss`, `aud`, `exp`) before the Lambda runs, and the
//! API authorises from the claims it forwards ([`VerifiedClaims`], mapped by [`ClaimMapping`]),
//! never from a token it cannot verify itself; on one machine `payouts serve` verifies an OIDC
//! issuer's tokens against its published keys ([`crate::oidc`], the same mapping), or HS256
//! tokens signed with its development secret. An operator sees everything; a barber only its own records,
//! and other barbers' records are 404 so their ids do not leak.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use payout_core::ids::BarberId;
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::error::ApiError;
use crate::oidc::OidcVerifier;
use payout_app::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Barber,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barber_id: Option<String>,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// Clock skew tolerated between the token's issuer and this process, for `exp`, `nbf` and `iat`.
pub const CLOCK_LEEWAY_SECONDS: u64 = 30;

/// How callers are authenticated.
#[derive(Clone)]
pub struct AuthConfig {
    verifier: Verifier,
}

#[derive(Clone)]
enum Verifier {
    /// Tokens signed with this secret, naming the issuer and audience when those are set.
    Hs256 {
        secret: Vec<u8>,
        issuer: Option<String>,
        audience: Option<String>,
    },
    /// An authorizer in front of this process verified the token; its claims come with the
    /// request as [`VerifiedClaims`].
    Authorizer(ClaimMapping),
    /// An OpenID Connect issuer's tokens, verified here against its keys.
    Oidc {
        verifier: Arc<OidcVerifier>,
        mapping: ClaimMapping,
    },
}

/// The claims of a token an authorizer in front of this process verified (API Gateway's JWT
/// authorizer, whose claims the Lambda adapter puts on the request). Every value is a string:
/// API Gateway forwards an array claim as `[operator barber]`.
#[derive(Debug, Clone, Default)]
pub struct VerifiedClaims(pub std::collections::HashMap<String, String>);

/// Which claims name the caller's role and barber id.
#[derive(Debug, Clone)]
pub struct ClaimMapping {
    pub role_claim: String,
    pub operator_group: String,
    pub barber_group: String,
    pub barber_claim: String,
}

impl From<&payout_app::config::file::AuthSection> for ClaimMapping {
    fn from(section: &payout_app::config::file::AuthSection) -> Self {
        Self {
            role_claim: section.role_claim.clone(),
            operator_group: section.operator_group.clone(),
            barber_group: section.barber_group.clone(),
            barber_claim: section.barber_claim.clone(),
        }
    }
}

/// The entries of a claim that may list several: `[operator barber]` (API Gateway's form of an
/// array), `["operator"]`, `operator,barber` or a single `operator`.
fn entries(raw: &str) -> impl Iterator<Item = &str> {
    raw.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|entry| entry.trim_matches('"'))
        .filter(|entry| !entry.is_empty())
}

impl ClaimMapping {
    /// The caller `claims` describe: an operator when its groups include the operator group
    /// (whatever else they include), a barber with the barber claim when they include the
    /// barber group; anyone else is refused.
    pub fn caller(&self, claims: &VerifiedClaims) -> Result<Caller, ApiError> {
        let subject = claims
            .0
            .get("sub")
            .map(|sub| checked_subject(sub))
            .ok_or_else(|| ApiError::Unauthorized("the verified token has no sub".into()))??;
        let groups: Vec<&str> = claims
            .0
            .get(&self.role_claim)
            .map(|raw| entries(raw).collect())
            .unwrap_or_default();
        if groups.contains(&self.operator_group.as_str()) {
            return Ok(Caller::Operator { subject });
        }
        if !groups.contains(&self.barber_group.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "the token's {} names neither {} nor {}",
                self.role_claim, self.operator_group, self.barber_group
            )));
        }
        let raw = claims.0.get(&self.barber_claim).ok_or_else(|| {
            ApiError::Forbidden(format!("a barber's token needs {}", self.barber_claim))
        })?;
        let barber = BarberId::parse(raw.as_str())
            .map_err(|e| ApiError::Forbidden(format!("{}: {e}", self.barber_claim)))?;
        Ok(Caller::Barber { subject, barber })
    }
}

impl AuthConfig {
    pub fn hs256(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            verifier: Verifier::Hs256 {
                secret: secret.into(),
                issuer: None,
                audience: None,
            },
        }
    }

    /// Callers are who an authorizer in front of this process says, by `mapping`.
    pub fn authorizer(mapping: ClaimMapping) -> Self {
        Self {
            verifier: Verifier::Authorizer(mapping),
        }
    }

    /// Callers are who `verifier`'s issuer says, by `mapping`.
    pub fn oidc(verifier: OidcVerifier, mapping: ClaimMapping) -> Self {
        Self {
            verifier: Verifier::Oidc {
                verifier: Arc::new(verifier),
                mapping,
            },
        }
    }

    /// HS256 tokens must carry `iss` equal to `issuer`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        if let Verifier::Hs256 { issuer: slot, .. } = &mut self.verifier {
            *slot = Some(issuer.into());
        }
        self
    }

    /// HS256 tokens must carry `aud` naming `audience`.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        if let Verifier::Hs256 { audience: slot, .. } = &mut self.verifier {
            *slot = Some(audience.into());
        }
        self
    }

    fn secret(&self) -> Result<&[u8], AppError> {
        match &self.verifier {
            Verifier::Hs256 { secret, .. } => Ok(secret),
            Verifier::Authorizer(_) | Verifier::Oidc { .. } => Err(AppError::Invalid(
                "tokens come from the identity provider here".into(),
            )),
        }
    }

    /// A token for `role` (and `barber` when the role is barber) valid for `ttl` from `now`.
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        barber: Option<&BarberId>,
        now: DateTime<Utc>,
        ttl: TimeDelta,
    ) -> Result<String, AppError> {
        let claims = Claims {
            sub: subject.to_string(),
            role,
            barber_id: barber.map(ToString::to_string),
            exp: (now + ttl).timestamp(),
            iat: Some(now.timestamp()),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret()?),
        )
        .map_err(|e| AppError::Invalid(format!("cannot sign token: {e}")))
    }

    fn verify_hs256(
        secret: &[u8],
        issuer: Option<&String>,
        audience: Option<&String>,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            // Nothing to check it against: an `aud` claim is not a reason to refuse.
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let claims =
            jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
                .map(|data| data.claims)
                .map_err(|e| rejected(&e))?;
        if issued_in_the_future(claims.iat, now) {
            return Err(ApiError::Unauthorized(
                "invalid token: issued in the future (iat)".into(),
            ));
        }
        Ok(claims)
    }
}

/// Why a token was refused, as a sentence its holder can act on (jsonwebtoken's own text for
/// a malformed token is the bare `InvalidToken`).
pub(crate) fn rejected(error: &jsonwebtoken::errors::Error) -> ApiError {
    use jsonwebtoken::errors::ErrorKind;
    let why = match error.kind() {
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => {
            "it is not a JWT (three base64url parts separated by dots); copy the whole token".into()
        }
        ErrorKind::InvalidSignature => {
            "its signature does not match: it was signed with another secret or key".into()
        }
        ErrorKind::ExpiredSignature => "it has expired (exp); get a new one".into(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "it was issued by another issuer (iss)".into(),
        ErrorKind::InvalidAudience => "it was issued for another audience (aud)".into(),
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            "it is signed with an algorithm this server does not accept".into()
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("it has no {claim} claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("its {claim} claim is malformed"),
        other => format!("it could not be verified ({other:?})"),
    };
    ApiError::Unauthorized(format!("invalid token: {why}"))
}

/// A token's `sub` as the audit trail and the approval rule compare it: refused when empty or
/// when spaces or control characters around or in it could make two callers look alike
/// ("alice" and "alice ").
fn checked_subject(sub: &str) -> Result<String, ApiError> {
    let plain = !sub.is_empty()
        && sub.trim() == sub
        && !sub.chars().any(char::is_control)
        && sub.chars().count() <= 256;
    match plain {
        true => Ok(sub.to_string()),
        false => Err(ApiError::Unauthorized(
            "invalid token: its sub is empty, too long, or has spaces or control characters around it"
                .into(),
        )),
    }
}

/// jsonwebtoken leaves `iat` unchecked: a token issued in the future is forged or from a clock
/// that cannot be trusted.
pub(crate) fn issued_in_the_future(iat: Option<i64>, now: DateTime<Utc>) -> bool {
    iat.is_some_and(|iat| iat > now.timestamp() + CLOCK_LEEWAY_SECONDS as i64)
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::Unauthorized("expected Authorization: Bearer <token>".into()))
}

/// Who is calling, once their token has been verified.
#[derive(Debug, Clone)]
pub enum Caller {
    Operator { subject: String },
    Barber { subject: String, barber: BarberId },
}

impl Caller {
    pub fn subject(&self) -> &str {
        match self {
            Caller::Operator { subject } | Caller::Barber { subject, .. } => subject,
        }
    }

    /// For audit trails: `operator:alice`, `barber:123`.
    pub fn actor(&self) -> String {
        match self {
            Caller::Operator { subject } => format!("operator:{subject}"),
            Caller::Barber { barber, .. } => format!("barber:{barber}"),
        }
    }

    /// Another barber's records do not exist as far as a barber can tell.
    pub fn may_see(&self, barber: &BarberId) -> Result<(), AppError> {
        match self {
            Caller::Operator { .. } => Ok(()),
            Caller::Barber { barber: own, .. } if own == barber => Ok(()),
            Caller::Barber { .. } => Err(AppError::NotFound(format!("barber {barber}"))),
        }
    }

    /// Acting for a barber (creating its schedule, say) needs the same standing as seeing it.
    pub fn may_act_for(&self, barber: &BarberId) -> Result<(), AppError> {
        self.may_see(barber)
    }

    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self {
            Caller::Operator { .. } => Ok(()),
            Caller::Barber { .. } => Err(ApiError::Forbidden(
                "this operation is for operators only".to_string(),
            )),
        }
    }

    /// The barber a barber caller is limited to; `None` for operators.
    pub fn own_barber(&self) -> Option<&BarberId> {
        match self {
            Caller::Operator { .. } => None,
            Caller::Barber { barber, .. } => Some(barber),
        }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let (secret, issuer, audience) = match &state.auth.verifier {
            Verifier::Authorizer(mapping) => {
                let claims = parts.extensions.get::<VerifiedClaims>().ok_or_else(|| {
                    ApiError::Unauthorized(
                        "no verified token: this route is behind the JWT authorizer".into(),
                    )
                })?;
                return mapping.caller(claims);
            }
            Verifier::Oidc { verifier, mapping } => {
                let claims = verifier.verify(bearer(parts)?, state.clock.now()).await?;
                return mapping.caller(&claims);
            }
            Verifier::Hs256 {
                secret,
                issuer,
                audience,
            } => (secret, issuer.as_ref(), audience.as_ref()),
        };
        let claims =
            AuthConfig::verify_hs256(secret, issuer, audience, bearer(parts)?, state.clock.now())?;
        let subject = checked_subject(&claims.sub)?;
        match claims.role {
            Role::Operator => Ok(Caller::Operator { subject }),
            Role::Barber => {
                let raw = claims.barber_id.ok_or_else(|| {
                    ApiError::Unauthorized("a barber token needs barber_id".into())
                })?;
                let barber = BarberId::parse(raw)
                    .map_err(|e| ApiError::Unauthorized(format!("token barber_id: {e}")))?;
                Ok(Caller::Barber { subject, barber })
            }
        }
    }
}
