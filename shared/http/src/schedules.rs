//! `/schedules`: a barber's payout schedule, created, read, changed, paused and listed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveTime;
use payout_core::calendar::Calendar;
use payout_core::ids::BarberId;
use payout_core::method::PaymentMethod;
use payout_core::schedule::{PayoutSchedule, ScheduleState};

use crate::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::wire::{IdText, Page, PageParams, ScheduleBody, ScheduleView, parse_field};
use payout_app::error::AppError;
use payout_app::health::PlanningFailureView;
use payout_app::schedule_change::{change_schedule, create_schedule, pause_schedule};
use payout_app::schedule_edit::{FrequencyEdit, ScheduleEdit};

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(message.into())
}

/// The edit the body asks for, its fields parsed; what they make is the app's rule.
fn edit(body: &ScheduleBody) -> Result<ScheduleEdit, AppError> {
    Ok(ScheduleEdit {
        frequency: FrequencyEdit {
            name: body.frequency.clone(),
            day_of_week: body.day_of_week,
            day_of_month: body.day_of_month,
            anchor_date: body.anchor_date,
            cron: body.cron.clone(),
        },
        time_zone: body
            .time_zone
            .as_deref()
            .map(|name| Calendar::parse_time_zone(name).map_err(|e| invalid(e.to_string())))
            .transpose()?,
        local_time: body
            .local_time
            .as_deref()
            .map(parse_local_time)
            .transpose()?,
        currency: optional_field("currency", &body.currency)?,
        minimum_payout: body.minimum_payout_amount.as_ref().map(|amount| amount.0),
        method: optional_field("preferred_payment_method", &body.preferred_payment_method)?,
        standing: optional_field("standing", &body.standing)?,
        state: body.status.as_deref().map(parse_state).transpose()?,
        auto_payout_enabled: body.auto_payout_enabled,
        connected_account: body.connected_account_id.clone(),
        display_name: body.display_name.clone(),
        email: body.email.clone(),
        phone: body.phone.clone(),
        email_notifications: body.email_notifications,
        sms_notifications: body.sms_notifications,
        advance_notice_hours: body.advance_notice_hours,
        hold_days: body.hold_days,
        reserve_percent: body.reserve_percent,
        reserve_days: body.reserve_days,
    })
}

fn optional_field<T: std::str::FromStr>(
    field: &str,
    raw: &Option<String>,
) -> Result<Option<T>, AppError>
where
    T::Err: std::fmt::Display,
{
    raw.as_deref()
        .map(|raw| parse_field(field, raw))
        .transpose()
}

fn parse_state(raw: &str) -> Result<ScheduleState, AppError> {
    match raw {
        "active" => Ok(ScheduleState::Active),
        "paused" => Ok(ScheduleState::Paused),
        other => Err(invalid(format!(
            "status: `{other}` is not active or paused"
        ))),
    }
}

/// The fields that decide where a barber's money goes, how it is prioritised or what of it is
/// kept back, which only an
/// operator (or the provider's own onboarding) may set; a barber keeps its preferences.
fn operator_only_fields(body: &ScheduleBody) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if body.connected_account_id.is_some() {
        fields.push("connected_account_id");
    }
    if body.standing.is_some() {
        fields.push("standing");
    }
    if body.status.is_some() {
        fields.push("status");
    }
    if body.hold_days.is_some() {
        fields.push("hold_days");
    }
    if body.reserve_percent.is_some() || body.reserve_days.is_some() {
        fields.push("reserve_percent, reserve_days");
    }
    if body.cron.is_some() || body.frequency.as_deref() == Some("custom") {
        fields.push("cron (a custom frequency)");
    }
    let stripe = |raw: &String| {
        matches!(
            raw.parse::<PaymentMethod>(),
            Ok(PaymentMethod::StripeStandard | PaymentMethod::StripeInstant)
        )
    };
    if body
        .preferred_payment_method
        .as_ref()
        .is_some_and(|raw| !stripe(raw))
    {
        fields.push("preferred_payment_method (other than stripe or stripe_instant)");
    }
    fields
}

/// A barber may send only its preferences; anything else is refused whole, before any write.
fn barber_may_send(caller: &Caller, body: &ScheduleBody) -> Result<(), ApiError> {
    let fields = operator_only_fields(body);
    match caller {
        Caller::Barber { .. } if !fields.is_empty() => Err(ApiError::Forbidden(format!(
            "only an operator may set {}",
            fields.join(", ")
        ))),
        Caller::Barber { .. } | Caller::Operator { .. } => Ok(()),
    }
}

fn parse_local_time(raw: &str) -> Result<NaiveTime, AppError> {
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .map_err(|_| invalid(format!("local_time: `{raw}` is not a time of day (HH:MM)")))
}

fn barber(raw: &str) -> Result<BarberId, AppError> {
    BarberId::parse(raw).map_err(|e| invalid(e.to_string()))
}

/// Creates a schedule; a barber may create only its own.
#[utoipa::path(post, path = "/schedules", request_body = ScheduleBody,
    security(("bearer" = [])), tag = "schedules",
    responses((status = 201, body = ScheduleView), (status = 400, body = crate::error::Problem),
               (status = 409, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<(StatusCode, Json<ScheduleView>), ApiError> {
    let IdText(raw) = body
        .barber_id
        .clone()
        .ok_or_else(|| invalid("barber_id is required"))?;
    let barber_id = barber(&raw)?;
    caller.may_act_for(&barber_id)?;
    barber_may_send(&caller, &body)?;
    let schedule = create_schedule(
        &state.services,
        barber_id,
        &edit(&body)?,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(ScheduleView::from(&schedule))))
}

async fn load(state: &ApiState, caller: &Caller, raw: &str) -> Result<PayoutSchedule, ApiError> {
    let barber_id = barber(raw)?;
    caller.may_see(&barber_id)?;
    state
        .services
        .store
        .get_schedule(&barber_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("schedule of barber {barber_id}")).into())
}

#[utoipa::path(get, path = "/schedules/{barber_id}",
    params(("barber_id" = String, Path)), security(("bearer" = [])), tag = "schedules",
    responses((status = 200, body = ScheduleView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(barber_id): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    let schedule = load(&state, &caller, &barber_id).await?;
    let mut view = ScheduleView::from(&schedule);
    view.planning_failure = state
        .services
        .store
        .planning_failure(&schedule.barber_id)
        .await?
        .as_ref()
        .map(PlanningFailureView::from);
    Ok(Json(view))
}

/// Changes only the fields given.
#[utoipa::path(put, path = "/schedules/{barber_id}",
    params(("barber_id" = String, Path)), request_body = ScheduleBody,
    security(("bearer" = [])), tag = "schedules",
    responses((status = 200, body = ScheduleView), (status = 400, body = crate::error::Problem),
               (status = 404, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Path(barber_id): Path<String>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<Json<ScheduleView>, ApiError> {
    let existing = load(&state, &caller, &barber_id).await?;
    barber_may_send(&caller, &body)?;
    if let Some(IdText(given)) = &body.barber_id
        && given != existing.barber_id.as_str()
    {
        return Err(invalid("barber_id in the body does not match the path").into());
    }
    let schedule = change_schedule(
        &state.services,
        &existing.barber_id,
        &edit(&body)?,
        &caller.actor(),
        state.clock.as_ref(),
    )
    .await?;
    Ok(Json(ScheduleView::from(&schedule)))
}

/// Pauses the schedule; its history and open balance are kept.
#[utoipa::path(delete, path = "/schedules/{barber_id}",
    params(("barber_id" = String, Path)), security(("bearer" = [])), tag = "schedules",
    responses((status = 200, body = ScheduleView), (status = 404, body = crate::error::Problem)))]
pub async fn pause(
    State(state): State<ApiState>,
    caller: Caller,
    Path(barber_id): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    let barber_id = load(&state, &caller, &barber_id).await?.barber_id;
    let (schedule, _) = pause_schedule(state.services.store.as_ref(), &barber_id).await?;
    Ok(Json(ScheduleView::from(&schedule)))
}

/// A schedules cursor is this prefix and the last barber id of the previous page, so a value
/// this API did not return is refused rather than read as a barber id.
const CURSOR_PREFIX: &str = "after:";

fn parse_cursor(raw: &str) -> Result<BarberId, AppError> {
    raw.strip_prefix(CURSOR_PREFIX)
        .and_then(|id| BarberId::parse(id).ok())
        .ok_or_else(|| invalid("cursor is not one this API returned"))
}

/// Every schedule, by barber id (operators). Paged: `limit` a page (default 50, at most 200),
/// then `next_cursor` as `cursor`.
#[utoipa::path(get, path = "/schedules", params(PageParams),
    security(("bearer" = [])), tag = "schedules",
    responses((status = 200, body = Page<ScheduleView>), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Page<ScheduleView>>, ApiError> {
    caller.require_operator()?;
    let limit = crate::page_limit(page.limit)?;
    let after = page.cursor.as_deref().map(parse_cursor).transpose()?;
    let schedules = state
        .services
        .store
        .list_schedules(after.as_ref(), limit + 1)
        .await?;
    let more = schedules.len() > limit;
    let items: Vec<ScheduleView> = schedules
        .iter()
        .take(limit)
        .map(ScheduleView::from)
        .collect();
    let next_cursor = more
        .then(|| {
            items
                .last()
                .map(|s| format!("{CURSOR_PREFIX}{}", s.barber_id))
        })
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}

fn https_url(field: &str, raw: &str) -> Result<(), AppError> {
    let ok = (raw.starts_with("https://") || raw.starts_with("http://")) && raw.len() <= 2000;
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("{field} must be an http(s) URL")))
    }
}

/// A Stripe Connect onboarding link for the barber's connected account.
#[utoipa::path(post, path = "/schedules/{barber_id}/onboarding-link",
    params(("barber_id" = String, Path)), request_body = crate::wire::OnboardingBody,
    security(("bearer" = [])), tag = "schedules",
    responses((status = 200, body = crate::wire::OnboardingView), (status = 400, body = crate::error::Problem),
               (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn onboarding_link(
    State(state): State<ApiState>,
    caller: Caller,
    Path(barber_id): Path<String>,
    ApiJson(body): ApiJson<crate::wire::OnboardingBody>,
) -> Result<Json<crate::wire::OnboardingView>, ApiError> {
    let schedule = load(&state, &caller, &barber_id).await?;
    https_url("return_url", &body.return_url)?;
    https_url("refresh_url", &body.refresh_url)?;
    let onboarding = state.onboarding.as_ref().ok_or_else(|| {
        AppError::NotFound("onboarding (no payment provider is configured)".into())
    })?;
    let account = schedule.connected_account.clone().ok_or_else(|| {
        AppError::Conflict(format!(
            "barber {} has no connected account; set connected_account_id on the schedule first",
            schedule.barber_id
        ))
    })?;
    let link = onboarding
        .onboarding_link(&account, &body.refresh_url, &body.return_url)
        .await
        .map_err(|e| {
            AppError::Conflict(format!("the provider refused the onboarding link: {e}"))
        })?;
    Ok(Json(crate::wire::OnboardingView {
        barber_id: schedule.barber_id.to_string(),
        account_id: account,
        url: link.url,
        expires_at: link.expires_at,
    }))
}
