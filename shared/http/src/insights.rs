//! `/analytics` and `/recommendations`.

use axum::Json;
use axum::extract::State;
use chrono::TimeDelta;
use payout_core::ids::BarberId;
use payout_core::money::Currency;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::wire::{AnalyticsParams, BarberParam};
use payout_app::error::AppError;
use payout_app::insights::{Analytics, Recommendation, analytics, payout_history, recommendations};

fn barber(raw: &str) -> Result<BarberId, AppError> {
    BarberId::parse(raw).map_err(|e| AppError::Invalid(e.to_string()))
}

/// Totals, counts by status, success rate, processing times, fee shares and a daily trend.
#[utoipa::path(get, path = "/analytics", params(AnalyticsParams),
    security(("bearer" = [])), tag = "insights",
    responses((status = 200, body = Analytics), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn get_analytics(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<AnalyticsParams>,
) -> Result<Json<Analytics>, ApiError> {
    let days = params.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(AppError::Invalid("days must be between 1 and 366".into()).into());
    }
    let barber = match (
        params.barber_id.as_deref().map(barber).transpose()?,
        caller.own_barber(),
    ) {
        (Some(asked), _) => {
            caller.may_see(&asked)?;
            Some(asked)
        }
        (None, Some(own)) => Some(own.clone()),
        (None, None) => None,
    };
    let currency = match &barber {
        Some(id) => state
            .services
            .store
            .get_schedule(id)
            .await?
            .map(|s| s.currency)
            .ok_or_else(|| AppError::NotFound(format!("barber {id}")))?,
        None => Currency::Usd,
    };
    let now = state.clock.now();
    Ok(Json(
        analytics(&state.services, barber.as_ref(), days, currency, now).await?,
    ))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recommendations {
    pub barber_id: String,
    pub based_on_days: u32,
    pub recommendations: Vec<Recommendation>,
}

const RECOMMENDATION_WINDOW_DAYS: u32 = 90;

/// Schedule suggestions from the last 90 days, each with its reason and numbers.
#[utoipa::path(get, path = "/recommendations", params(BarberParam),
    security(("bearer" = [])), tag = "insights",
    responses((status = 200, body = Recommendations), (status = 404, body = Problem)))]
pub async fn get_recommendations(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<BarberParam>,
) -> Result<Json<Recommendations>, ApiError> {
    let barber = barber(&params.barber_id)?;
    caller.may_see(&barber)?;
    let schedule = state
        .services
        .store
        .get_schedule(&barber)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("barber {barber}")))?;
    let window = TimeDelta::days(i64::from(RECOMMENDATION_WINDOW_DAYS));
    let to = state.clock.now();
    let history = payout_history(
        &state.services,
        Some(&barber),
        to - window,
        to,
        schedule.currency,
    )
    .await?;
    Ok(Json(Recommendations {
        barber_id: barber.to_string(),
        based_on_days: RECOMMENDATION_WINDOW_DAYS,
        recommendations: recommendations(&state.services, &schedule, &history, window),
    }))
}
