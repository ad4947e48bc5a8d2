//! The HTTP API under `/api/v1/payout-scheduler`: one axum router for `payouts serve` and the
//! API Lambda.
//!
//! - [`schedules`], [`ledger`] (earnings, deductions), [`payouts`], [`insights`] (analytics,
//!   recommendations), [`operations`] (health, test notification, dead-letter replay): handlers.
//! - [`webhooks`]: Stripe's deliveries, authenticated by signature.
//! - [`auth`]: bearer JWT and roles; [`error`]: problem details; [`extract`]: body and query
//!   extractors with useful rejections; [`wire`]: the JSON contract; [`openapi`]: the document.

pub mod auth;
pub mod error;
pub mod extract;
pub mod insights;
pub mod ledger;
pub mod openapi;
pub mod operations;
pub mod payouts;
pub mod schedules;
pub mod webhooks;
pub mod wire;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};

use auth::AuthConfig;
use error::{ApiError, problem_response};
use payout_app::error::AppError;
use payout_app::pipeline::Pipeline;
use payout_app::ports::Clock;

pub const BASE_PATH: &str = "/api/v1/payout-scheduler";

/// Request bodies above this are refused with 413 (a full batch of 500 earnings is ~100 KiB).
pub const BODY_LIMIT: usize = 512 * 1024;

#[derive(Clone)]
pub struct ApiState {
    pub pipeline: Pipeline,
    pub clock: Arc<dyn Clock>,
    pub auth: AuthConfig,
    /// Where onboarding links come from (Stripe Connect); the route is refused when absent.
    pub onboarding: Option<Arc<dyn payout_app::ports::AccountOnboarding>>,
    /// The Stripe endpoint secret (`whsec_...`); webhooks are refused when absent.
    pub stripe_webhook_secret: Option<Arc<[u8]>>,
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub(crate) fn page_limit(limit: Option<u32>) -> Result<usize, ApiError> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(n as usize),
        _ => Err(AppError::Invalid(format!("limit must be between 1 and {MAX_PAGE}")).into()),
    }
}

pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/health", get(operations::health))
        .route("/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/schedules", post(schedules::create).get(schedules::list))
        .route(
            "/schedules/{barber_id}",
            get(schedules::get)
                .put(schedules::update)
                .delete(schedules::pause),
        )
        .route(
            "/schedules/{barber_id}/onboarding-link",
            post(schedules::onboarding_link),
        )
        .route("/earnings", post(ledger::post_earnings))
        .route("/deductions", post(ledger::post_deduction))
        .route("/payouts", get(payouts::list))
        .route("/payouts/manual", post(payouts::manual))
        .route("/payouts/preview", get(payouts::preview))
        .route("/payouts/{id}", get(payouts::detail))
        .route("/payouts/{id}/retry", post(payouts::retry))
        .route("/payouts/{id}/cancel", post(payouts::cancel))
        .route("/payouts/{id}/confirm", post(payouts::confirm))
        .route("/payouts/{id}/return", post(payouts::mark_returned))
        .route("/bank-transfers/{day}", get(payouts::bank_file))
        .route("/notifications", get(operations::list_notifications))
        .route("/analytics", get(insights::get_analytics))
        .route("/recommendations", get(insights::get_recommendations))
        .route(
            "/test-notification/{payout_id}",
            post(operations::test_notification),
        )
        .route(
            "/dead-letters/replay",
            post(operations::replay_dead_letters),
        )
        .merge(webhook_routes());
    finish(api, state)
}

/// Only the webhook route, for the webhooks Lambda.
pub fn webhooks_router(state: ApiState) -> Router {
    finish(webhook_routes(), state)
}

fn webhook_routes() -> Router<ApiState> {
    Router::new().route("/webhooks/stripe", post(webhooks::stripe))
}

fn finish(api: Router<ApiState>, state: ApiState) -> Router {
    Router::new()
        .nest(BASE_PATH, api)
        .fallback(|| async {
            problem_response(
                StatusCode::NOT_FOUND,
                "not found",
                "no such route".to_string(),
            )
        })
        .method_not_allowed_fallback(|| async {
            problem_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "this route does not accept that method".to_string(),
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(error::problems_only))
        .with_state(state)
}
