//! Every error a client sees, as RFC 9457 problem details, mapped in one place. Internal errors
//! are logged with their cause and shown to the client only as "temporarily unavailable".

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use payout_app::error::AppError;

#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    Unauthorized(String),
    Forbidden(String),
    PayloadTooLarge(String),
    /// Something this process depends on failed (the cause is logged, never shown).
    Unavailable(String),
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError::App(error.into())
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::Unauthorized(detail) => {
                (StatusCode::UNAUTHORIZED, "unauthorized", detail.clone())
            }
            ApiError::Forbidden(detail) => (StatusCode::FORBIDDEN, "forbidden", detail.clone()),
            ApiError::PayloadTooLarge(detail) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload too large",
                detail.clone(),
            ),
            ApiError::Unavailable(cause) => {
                tracing::error!(%cause, "request failed");
                unavailable()
            }
            ApiError::App(error) => match error {
                AppError::Invalid(_) | AppError::Money(_) => (
                    StatusCode::BAD_REQUEST,
                    "invalid request",
                    error.to_string(),
                ),
                AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not found", error.to_string()),
                AppError::Conflict(_) | AppError::IllegalTransition(_) => {
                    (StatusCode::CONFLICT, "conflict", error.to_string())
                }
                AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", error.to_string()),
                AppError::Store(_) | AppError::Queue(_) => {
                    tracing::error!(%error, "request failed");
                    unavailable()
                }
            },
        }
    }
}

fn unavailable() -> (StatusCode, &'static str, String) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily unavailable",
        "the service could not complete the request; retry later".to_string(),
    )
}

pub fn problem_response(status: StatusCode, title: &str, detail: String) -> Response {
    let body = Problem {
        kind: "about:blank".to_string(),
        title: title.to_string(),
        status: status.as_u16(),
        detail,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title, detail) = self.parts();
        problem_response(status, title, detail)
    }
}

/// The most of a framework's plain-text rejection kept as a problem's detail.
const MAX_DETAIL_BYTES: usize = 2048;

/// Makes every error response a problem: axum's own rejections (a body over the limit read as
/// raw bytes, a malformed path) are plain text, and a client of this API must be able to rely
/// on `application/problem+json` for every 4xx and 5xx but `/health`'s 503, which carries the
/// health report as the OpenAPI document says.
pub async fn problems_only(response: Response) -> Response {
    let status = response.status();
    // A JSON body is a handler's deliberate answer (a problem, or `/health`'s report with its
    // 503); only the framework's plain-text rejections are rewritten.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| {
            let value = value.as_bytes();
            value.starts_with(b"application/problem+json") || value.starts_with(b"application/json")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), MAX_DETAIL_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let title = status.canonical_reason().unwrap_or("error").to_lowercase();
    let detail = if text.is_empty() { title.clone() } else { text };
    problem_response(status, &title, detail)
}
