//! `POST /webhooks/stripe`: Stripe's deliveries, authenticated by their signature, not a JWT.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;
use crate::error::{ApiError, problem_response};
use payout_app::webhooks::{WebhookError, WebhookOutcome, handle_stripe_webhook};

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    pub received: bool,
    /// applied, duplicate or ignored, with what it did.
    pub outcome: String,
}

/// Applies one Stripe event after checking its `Stripe-Signature`; a redelivery changes nothing.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "webhooks",
    request_body(content = String, description = "the event as Stripe sent it", content_type = "application/json"),
    params(("Stripe-Signature" = Option<String>, Header)),
    responses((status = 200, body = WebhookReceipt), (status = 400, body = crate::error::Problem),
               (status = 404, body = crate::error::Problem)))]
pub async fn stripe(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.stripe_webhook_secret.as_deref() else {
        return problem_response(
            StatusCode::NOT_FOUND,
            "not found",
            "Stripe webhooks are not configured on this deployment".into(),
        );
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match handle_stripe_webhook(&state.services, secret, signature, &body, state.clock.now()).await
    {
        Ok(outcome) => {
            let outcome = match outcome {
                WebhookOutcome::Applied(what) => format!("applied: {what}"),
                WebhookOutcome::Duplicate => "duplicate".to_string(),
                WebhookOutcome::Ignored(why) => format!("ignored: {why}"),
            };
            Json(WebhookReceipt {
                received: true,
                outcome,
            })
            .into_response()
        }
        Err(WebhookError::App(error)) => ApiError::App(error).into_response(),
        Err(error) => problem_response(
            StatusCode::BAD_REQUEST,
            "invalid webhook",
            error.to_string(),
        ),
    }
}
