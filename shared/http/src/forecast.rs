//! `GET /forecast`: the coming days' runs and what the platform must fund (operators).

use axum::Json;
use axum::extract::State;
use payout_app::error::AppError;
use payout_app::forecast::{Forecast, forecast, parse_cursor};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForecastParams {
    /// 1 to 31 (default 7).
    pub days: Option<u32>,
    /// How many runs a page lists, 1 to 500 (default 100); the totals cover the page's.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The active schedules due in the coming days, a page at a time (earliest first), with what
/// each would pay if it closed now, and the page's totals per day, method and currency
/// (operators). Paged: `limit` runs a page, then `next_cursor` as `cursor`; a page costs the
/// same whatever the platform's size.
#[utoipa::path(get, path = "/forecast", params(ForecastParams),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = Forecast), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn get_forecast(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ForecastParams>,
) -> Result<Json<Forecast>, ApiError> {
    caller.require_operator()?;
    let days = params.days.unwrap_or(7);
    if !(1..=31).contains(&days) {
        return Err(AppError::Invalid("days must be between 1 and 31".into()).into());
    }
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::Invalid("limit must be between 1 and 500".into()).into());
    }
    let cursor = params.cursor.as_deref().map(parse_cursor).transpose()?;
    let now = state.clock.now();
    Ok(Json(
        forecast(&state.services, now, days, cursor.as_ref(), limit as usize).await?,
    ))
}
