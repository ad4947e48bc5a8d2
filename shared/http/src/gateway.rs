//! The API Lambda's side of sign-in: the claims API Gateway's JWT authorizer verified, put on
//! the request as [`VerifiedClaims`] for [`crate::auth::Caller`]. A route API Gateway serves
//! without the authorizer carries no claims, so nothing from such an event is trusted.

use axum::Router;
use axum::extract::Request;
use lambda_http::request::RequestContext;

use crate::auth::VerifiedClaims;

/// `router` with every request's verified claims (if any) attached.
pub fn with_authorizer_claims(router: Router) -> Router {
    router.layer(axum::middleware::map_request(attach_claims))
}

async fn attach_claims(mut request: Request) -> Request {
    let claims = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .map(|jwt| jwt.claims.clone()),
        _ => None,
    };
    if let Some(claims) = claims {
        request.extensions_mut().insert(VerifiedClaims(claims));
    }
    request
}
