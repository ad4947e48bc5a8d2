//! Body and query extractors whose rejections are problem details with a useful reason,
//! instead of axum's plain-text defaults.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use payout_app::error::{AppError, types_in_words};

/// A JSON body; malformed JSON, unknown fields, wrong types and oversized bodies are 400/413.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::BytesRejection(rejection))
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::PayloadTooLarge(rejection.body_text()))
            }
            // axum's text starts "Failed to deserialize the JSON body into the target type: ";
            // what follows names the field (its JSON path) and what was expected.
            Err(JsonRejection::JsonDataError(rejection)) => {
                let text = rejection.body_text();
                let detail = text
                    .split_once("target type: ")
                    .map_or(text.as_str(), |(_, d)| d);
                // serde_json's position ("at line 1 column 63") says nothing the field does not.
                let detail = detail
                    .rsplit_once(" at line ")
                    .filter(|(_, at)| at.split(" column ").all(|n| n.parse::<u64>().is_ok()))
                    .map_or(detail, |(detail, _)| detail);
                Err(ApiError::App(AppError::Invalid(format!(
                    "invalid request body: {}",
                    types_in_words(detail)
                ))))
            }
            Err(rejection) => Err(ApiError::App(AppError::Invalid(rejection.body_text()))),
        }
    }
}

/// Query parameters; unknown or malformed ones are 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::App(AppError::Invalid(rejection.body_text()))
            })
    }
}

/// A JSON body that may be absent (an empty body is `T::default()`).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| ApiError::PayloadTooLarge(rejection.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e| ApiError::App(AppError::Invalid(format!("invalid JSON body: {e}"))))
    }
}
