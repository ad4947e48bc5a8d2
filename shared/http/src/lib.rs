//! The HTTP API under `/api/v1/payout-scheduler`: one axum router for `payouts serve` and the
//! API Lambda.
//!
//! - [`schedules`], [`ledger`] (earnings, deductions), [`events`] (the platform's events),
//!   [`payouts`], [`forecast`] (the coming days' runs), [`insights`] (analytics,
//!   recommendations), [`reports`] (a barber's year, the tax year, the payouts for the books),
//!   [`operations`] (health, test notification, dead-letter replay):
//!   handlers.
//! - [`dashboard`]: the operator's dashboard and a barber's view, a static app over this API.
//! - [`prometheus`]: `GET /metrics`, the process's figures for a machine's monitoring.
//! - [`webhooks`]: Stripe's deliveries, authenticated by signature.
//! - [`auth`]: bearer JWT ([`oidc`]: an issuer's tokens checked against its keys) or an
//!   authorizer's verified claims, and roles (`gateway`, with the
//!   `lambda` feature: API Gateway's claims onto the request); [`error`]: problem details; [`extract`]: body and query
//!   extractors with useful rejections; [`wire`]: the JSON contract; [`openapi`]: the document.

pub mod auth;
pub mod dashboard;
pub mod earnings_csv;
pub mod error;
pub mod events;
pub mod extract;
pub mod forecast;
#[cfg(feature = "lambda")]
pub mod gateway;
pub mod insights;
pub mod ledger;
pub mod oidc;
pub mod openapi;
pub mod operations;
pub mod payouts;
pub mod prometheus;
pub mod reports;
pub mod schedules;
pub mod webhooks;
pub mod wire;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use auth::AuthConfig;
use error::{ApiError, problem_response};
use payout_app::error::AppError;
use payout_app::ports::Clock;
use payout_app::services::Services;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const BASE_PATH: &str = "/api/v1/payout-scheduler";

/// Request bodies above this are refused with 413 (a full batch of 500 earnings is ~100 KiB).
pub const BODY_LIMIT: usize = 512 * 1024;

#[derive(Clone)]
pub struct ApiState {
    pub services: Services,
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

/// Every route, each bound once with its OpenAPI operation (`utoipa-axum` reads the path and
/// method from the handler's annotation), and the document of them at `/openapi.json`.
pub fn router(state: ApiState) -> Router {
    let routes = OpenApiRouter::new()
        .routes(routes!(operations::health))
        .routes(routes!(operations::health_report))
        .routes(routes!(schedules::create, schedules::list))
        .routes(routes!(schedules::get, schedules::update, schedules::pause))
        .routes(routes!(schedules::onboarding_link))
        .routes(routes!(ledger::post_earnings))
        .routes(routes!(ledger::post_deduction))
        .routes(routes!(events::post_event))
        .routes(routes!(payouts::list))
        .routes(routes!(reports::export_payouts))
        .routes(routes!(reports::barber_summary))
        .routes(routes!(reports::tax_year))
        .routes(routes!(reports::tax_year_csv))
        .routes(routes!(payouts::manual))
        .routes(routes!(payouts::preview))
        .routes(routes!(forecast::get_forecast))
        .routes(routes!(payouts::detail))
        .routes(routes!(payouts::statement_page))
        .routes(routes!(payouts::statement_csv))
        .routes(routes!(payouts::retry))
        .routes(routes!(payouts::cancel))
        .routes(routes!(payouts::confirm))
        .routes(routes!(payouts::mark_returned))
        .routes(routes!(payouts::approve))
        .routes(routes!(payouts::reject))
        .routes(routes!(payouts::left_behind))
        .routes(routes!(payouts::bank_file))
        .routes(routes!(operations::list_notifications))
        .routes(routes!(insights::get_analytics))
        .routes(routes!(insights::get_recommendations))
        .routes(routes!(operations::test_notification))
        .routes(routes!(operations::replay_dead_letters))
        .routes(routes!(dashboard::me))
        .merge(webhook_routes());
    let (api, document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest(BASE_PATH, routes)
        .split_for_parts();
    let document = Arc::new(openapi::finish(document));
    let api = api
        .route(
            &format!("{BASE_PATH}/openapi.json"),
            get(move || async move { Json(document.as_ref().clone()) }),
        )
        .route("/metrics", get(prometheus::metrics))
        .merge(dashboard::routes());
    finish(api, state)
}

/// Only the webhook route, for the webhooks Lambda.
pub fn webhooks_router(state: ApiState) -> Router {
    let (api, _) = OpenApiRouter::new()
        .nest(BASE_PATH, webhook_routes())
        .split_for_parts();
    finish(api, state)
}

fn webhook_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(webhooks::stripe))
}

fn finish(api: Router<ApiState>, state: ApiState) -> Router {
    api.fallback(|| async {
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
