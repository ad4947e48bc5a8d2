//! Bearer JWT authentication and the two roles.
//!
//! In AWS the API Gateway JWT authorizer validates tokens before the Lambda runs; locally (and
//! again in the Lambda, which costs microseconds) the app validates HS256 tokens signed with the
//! configured secret. An operator sees everything; a barber only its own records, and other
//! barbers' records are 404 so their ids do not leak.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use payout_core::ids::BarberId;
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::error::ApiError;
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

/// The HS256 secret tokens are signed with, and the issuer and audience they must name when
/// those are configured.
#[derive(Clone)]
pub struct AuthConfig {
    secret: Vec<u8>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl AuthConfig {
    pub fn hs256(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
            issuer: None,
            audience: None,
        }
    }

    /// Tokens must carry `iss` equal to `issuer`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Tokens must carry `aud` naming `audience`.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
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
            &EncodingKey::from_secret(&self.secret),
        )
        .map_err(|e| AppError::Invalid(format!("cannot sign token: {e}")))
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            // Nothing to check it against: an `aud` claim is not a reason to refuse.
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let claims = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map(|data| data.claims)
        .map_err(|e| ApiError::Unauthorized(format!("invalid token: {e}")))?;
        // jsonwebtoken leaves `iat` unchecked: a token issued in the future is forged or from a
        // clock that cannot be trusted.
        if claims
            .iat
            .is_some_and(|iat| iat > now.timestamp() + CLOCK_LEEWAY_SECONDS as i64)
        {
            return Err(ApiError::Unauthorized(
                "invalid token: issued in the future (iat)".into(),
            ));
        }
        Ok(claims)
    }
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
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("expected Authorization: Bearer <token>".into())
            })?;
        let claims = state.auth.verify(token.trim(), state.clock.now())?;
        match claims.role {
            Role::Operator => Ok(Caller::Operator {
                subject: claims.sub,
            }),
            Role::Barber => {
                let raw = claims.barber_id.ok_or_else(|| {
                    ApiError::Unauthorized("a barber token needs barber_id".into())
                })?;
                let barber = BarberId::parse(raw)
                    .map_err(|e| ApiError::Unauthorized(format!("token barber_id: {e}")))?;
                Ok(Caller::Barber {
                    subject: claims.sub,
                    barber,
                })
            }
        }
    }
}
