//! The HTTP API, one axum router for `payouts serve` and the API Lambda.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::AppError;
use crate::pipeline::Pipeline;
use crate::ports::{Clock, QueueDepth};

pub const BASE_PATH: &str = "/api/v1/payout-scheduler";

#[derive(Clone)]
pub struct ApiState {
    pub pipeline: Pipeline,
    pub clock: Arc<dyn Clock>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(&format!("{BASE_PATH}/health"), get(health))
        .with_state(state)
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub checked_at: DateTime<Utc>,
    pub queue: QueueDepth,
    pub payouts_by_status: BTreeMap<&'static str, u64>,
}

async fn health(State(state): State<ApiState>) -> Result<Json<Health>, ApiError> {
    let now = state.clock.now();
    let counts = state.pipeline.store.count_by_status().await?;
    let queue = state.pipeline.queue.depth(now).await?;
    Ok(Json(Health {
        status: if queue.dead_letter == 0 {
            "ok"
        } else {
            "degraded"
        },
        checked_at: now,
        queue,
        payouts_by_status: counts
            .into_iter()
            .map(|(status, count)| (status.as_str(), count))
            .collect(),
    }))
}

/// An error as the client sees it: RFC 9457 problem details, internals only in the log.
pub struct ApiError(AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title, detail) = match &self.0 {
            AppError::Invalid(_) | AppError::Money(_) => (
                StatusCode::BAD_REQUEST,
                "invalid request",
                self.0.to_string(),
            ),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not found", self.0.to_string()),
            AppError::Conflict(_) | AppError::IllegalTransition(_) => {
                (StatusCode::CONFLICT, "conflict", self.0.to_string())
            }
            AppError::Store(_) | AppError::Queue(_) => {
                tracing::error!(error = ?self.0, "request failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily unavailable",
                    "the service could not complete the request; retry later".to_string(),
                )
            }
        };
        let body = Problem {
            kind: "about:blank",
            title,
            status: status.as_u16(),
            detail,
        };
        let mut response = (status, Json(body)).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
