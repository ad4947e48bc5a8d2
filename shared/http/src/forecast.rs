//! `GET /forecast`: the coming days' runs and what the platform must fund (operators).

use axum::Json;
use axum::extract::State;
use payout_app::error::AppError;
use payout_app::forecast::{Forecast, forecast};
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
    /// How many runs to list, 1 to 1000 (default 200); the totals cover them all.
    pub limit: Option<u32>,
}

/// Every active schedule due in the coming days with what it would pay if it closed now, and
/// the totals per day, method and currency (operators).
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
    let limit = params.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::Invalid("limit must be between 1 and 1000".into()).into());
    }
    let now = state.clock.now();
    Ok(Json(
        forecast(&state.services, now, days, limit as usize).await?,
    ))
}
