//! `/schedules`: a barber's payout schedule, created, read, changed, paused and listed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, NaiveTime, Utc};
use payout_core::calendar::{Calendar, CronExpr, DayOfMonth, Frequency, weekday_from_iso};
use payout_core::ids::BarberId;
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use payout_core::priority::BarberStanding;
use payout_core::schedule::{NotificationPrefs, PayoutSchedule, ScheduleState};

use crate::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::wire::{IdText, Page, PageParams, ScheduleBody, ScheduleView, parse_field};
use payout_app::error::AppError;
use payout_app::health::PlanningFailureView;
use payout_app::schedule_change::save_schedule;
use payout_app::schedule_change::{create_schedule, save_changed_schedule};
use payout_core::input;

const DEFAULT_MINIMUM: &str = "25.00";
const DEFAULT_LOCAL_TIME: &str = "17:00";

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(message.into())
}

/// Builds the schedule the body describes, on top of `existing` for a partial update.
fn build(
    barber_id: BarberId,
    body: &ScheduleBody,
    existing: Option<&PayoutSchedule>,
    now: DateTime<Utc>,
) -> Result<PayoutSchedule, AppError> {
    let calendar = build_calendar(body, existing.map(|s| &s.calendar), now)?;
    let currency = match (&body.currency, existing) {
        (Some(code), _) => parse_field::<Currency>("currency", code)?,
        (None, Some(s)) => s.currency,
        (None, None) => Currency::Usd,
    };
    if let Some(s) = existing
        && s.currency != currency
    {
        return Err(invalid("currency cannot change once a schedule exists"));
    }
    let minimum_payout = match (&body.minimum_payout_amount, existing) {
        (Some(amount), _) => {
            let money = Money::new(amount.0, currency)
                .map_err(|e| invalid(format!("minimum_payout_amount: {e}")))?;
            if money.is_negative() {
                return Err(invalid("minimum_payout_amount must not be negative"));
            }
            money
        }
        (None, Some(s)) => s.minimum_payout,
        (None, None) => Money::parse(DEFAULT_MINIMUM, currency)?,
    };
    let method = match (&body.preferred_payment_method, existing) {
        (Some(raw), _) => parse_field::<PaymentMethod>("preferred_payment_method", raw)?,
        (None, Some(s)) => s.method,
        (None, None) => PaymentMethod::StripeStandard,
    };
    let standing = match (&body.standing, existing) {
        (Some(raw), _) => parse_field::<BarberStanding>("standing", raw)?,
        (None, Some(s)) => s.standing,
        (None, None) => BarberStanding::Regular,
    };
    let state = match (body.status.as_deref(), existing) {
        (Some("active"), _) => ScheduleState::Active,
        (Some("paused"), _) => ScheduleState::Paused,
        (Some(other), _) => {
            return Err(invalid(format!(
                "status: `{other}` is not active or paused"
            )));
        }
        (None, Some(s)) => s.state,
        (None, None) => ScheduleState::Active,
    };
    let old = existing
        .map(|s| s.notifications.clone())
        .unwrap_or(NotificationPrefs {
            email_notifications: true,
            advance_notice_hours: 24,
            ..NotificationPrefs::default()
        });
    if let Some(email) = &body.email {
        input::email(email).map_err(|e| invalid(e.to_string()))?;
    }
    if let Some(phone) = &body.phone {
        input::phone_e164(phone).map_err(|e| invalid(e.to_string()))?;
    }
    let notifications = NotificationPrefs {
        email: body.email.clone().or(old.email),
        phone: body.phone.clone().or(old.phone),
        email_notifications: body.email_notifications.unwrap_or(old.email_notifications),
        sms_notifications: body.sms_notifications.unwrap_or(old.sms_notifications),
        advance_notice_hours: body
            .advance_notice_hours
            .unwrap_or(old.advance_notice_hours),
    };
    if notifications.advance_notice_hours > 24 * 14 {
        return Err(invalid(
            "advance_notice_hours must be at most 336 (two weeks)",
        ));
    }
    // A new calendar, or a schedule coming back from a pause, starts from now; an unchanged
    // active calendar keeps its pending cut-off (even an overdue one).
    let keeps_cut_off = existing.is_some_and(|s| {
        s.calendar == calendar
            && !(s.state == ScheduleState::Paused && state == ScheduleState::Active)
    });
    let next_run_at = match existing {
        Some(s) if keeps_cut_off => s.next_run_at,
        Some(_) | None => calendar
            .next_run_after(now)
            .ok_or_else(|| invalid("the schedule never runs"))?,
    };
    let connected_account = body
        .connected_account_id
        .clone()
        .or_else(|| existing.and_then(|s| s.connected_account.clone()));
    if let Some(account) = &connected_account {
        destination(method, account)?;
    }
    Ok(PayoutSchedule {
        barber_id,
        calendar,
        currency,
        minimum_payout,
        method,
        auto_payout_enabled: body
            .auto_payout_enabled
            .or(existing.map(|s| s.auto_payout_enabled))
            .unwrap_or(true),
        state,
        standing,
        connected_account,
        notifications,
        recurring_deductions: existing
            .map(|s| s.recurring_deductions.clone())
            .unwrap_or_default(),
        next_run_at,
        destination_changes: existing
            .map(|s| s.destination_changes.clone())
            .unwrap_or_default(),
    })
}

/// Stripe methods pay a connected account (`acct_...`); bank transfers and manual payments
/// name the operator's reference for the barber's bank account, in the id alphabet.
fn destination(method: PaymentMethod, account: &str) -> Result<(), AppError> {
    match method {
        PaymentMethod::StripeStandard | PaymentMethod::StripeInstant => {
            input::connected_account(account).map_err(|e| invalid(e.to_string()))
        }
        PaymentMethod::BankTransfer | PaymentMethod::Manual => {
            BarberId::parse(account).map(drop).map_err(|e| {
                invalid(format!(
                    "connected_account_id (the bank account reference) {}",
                    e.reason
                ))
            })
        }
    }
}

/// The fields that decide where a barber's money goes or how it is prioritised, which only an
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

fn build_calendar(
    body: &ScheduleBody,
    existing: Option<&Calendar>,
    now: DateTime<Utc>,
) -> Result<Calendar, AppError> {
    let time_zone = match (&body.time_zone, existing) {
        (Some(name), _) => Calendar::parse_time_zone(name).map_err(|e| invalid(e.to_string()))?,
        (None, Some(c)) => c.time_zone,
        (None, None) => chrono_tz::UTC,
    };
    let local_time = match (&body.local_time, existing) {
        (Some(raw), _) => parse_local_time(raw)?,
        (None, Some(c)) => c.local_time,
        (None, None) => parse_local_time(DEFAULT_LOCAL_TIME)?,
    };
    let frequency_fields_given = body.frequency.is_some()
        || body.day_of_week.is_some()
        || body.day_of_month.is_some()
        || body.anchor_date.is_some()
        || body.cron.is_some();
    let frequency = match (existing, frequency_fields_given) {
        (Some(c), false) => c.frequency.clone(),
        (existing, _) => {
            let name = body
                .frequency
                .clone()
                .or_else(|| existing.map(|c| c.frequency.name().to_string()))
                .ok_or_else(|| invalid("frequency is required"))?;
            build_frequency(&name, body, now.with_timezone(&time_zone).date_naive())?
        }
    };
    Ok(Calendar {
        frequency,
        time_zone,
        local_time,
    })
}

/// Refuses a calendar field the frequency does not use, rather than dropping it silently.
fn refuse_foreign_fields(name: &str, body: &ScheduleBody) -> Result<(), AppError> {
    let uses: &[&str] = match name {
        "weekly" => &["day_of_week"],
        "biweekly" | "bi-weekly" => &["day_of_week", "anchor_date"],
        "monthly" => &["day_of_month"],
        "custom" => &["cron"],
        _ => &[],
    };
    let given = [
        ("day_of_week", body.day_of_week.is_some()),
        ("day_of_month", body.day_of_month.is_some()),
        ("anchor_date", body.anchor_date.is_some()),
        ("cron", body.cron.is_some()),
    ];
    match given
        .iter()
        .find(|(field, present)| *present && !uses.contains(field))
    {
        Some((field, _)) => Err(invalid(format!(
            "{field} does not apply to a {name} schedule"
        ))),
        None => Ok(()),
    }
}

/// The number of fields the documented cron form has (minute hour day month weekday).
const CRON_FIELDS: usize = 5;

fn build_frequency(
    name: &str,
    body: &ScheduleBody,
    today: chrono::NaiveDate,
) -> Result<Frequency, AppError> {
    refuse_foreign_fields(name, body)?;
    let day_of_week = |required_by: &str| {
        let day = body
            .day_of_week
            .ok_or_else(|| invalid(format!("day_of_week (1-7) is required for {required_by}")))?;
        weekday_from_iso(day).map_err(|e| invalid(e.to_string()))
    };
    match name {
        "daily" => Ok(Frequency::Daily),
        "weekly" => Ok(Frequency::Weekly {
            day_of_week: day_of_week("weekly")?,
        }),
        "biweekly" | "bi-weekly" => Ok(Frequency::Biweekly {
            day_of_week: day_of_week("biweekly")?,
            anchor: body.anchor_date.unwrap_or(today),
        }),
        "monthly" => {
            let day = body.day_of_month.unwrap_or_else(|| today.day());
            Ok(Frequency::Monthly {
                day_of_month: DayOfMonth::new(day).map_err(|e| invalid(e.to_string()))?,
            })
        }
        "custom" => {
            let pattern = body
                .cron
                .as_deref()
                .ok_or_else(|| invalid("cron is required for a custom frequency"))?;
            if pattern.split_whitespace().count() != CRON_FIELDS {
                return Err(invalid(
                    "cron must have five fields: minute hour day-of-month month day-of-week",
                ));
            }
            Ok(Frequency::Custom {
                cron: Box::new(CronExpr::parse(pattern).map_err(|e| invalid(e.to_string()))?),
            })
        }
        other => Err(invalid(format!(
            "unknown frequency `{other}` (expected daily, weekly, biweekly, monthly or custom)"
        ))),
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
#[utoipa::path(post, path = "/api/v1/payout-scheduler/schedules", request_body = ScheduleBody,
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
    let schedule = build(barber_id, &body, None, state.clock.now())?;
    let schedule = create_schedule(
        &state.pipeline,
        schedule,
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
        .pipeline
        .store
        .get_schedule(&barber_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("schedule of barber {barber_id}")).into())
}

#[utoipa::path(get, path = "/api/v1/payout-scheduler/schedules/{barber_id}",
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
        .pipeline
        .store
        .planning_failure(&schedule.barber_id)
        .await?
        .as_ref()
        .map(PlanningFailureView::from);
    Ok(Json(view))
}

/// Changes only the fields given.
#[utoipa::path(put, path = "/api/v1/payout-scheduler/schedules/{barber_id}",
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
    let schedule = build(
        existing.barber_id.clone(),
        &body,
        Some(&existing),
        state.clock.now(),
    )?;
    let schedule = save_changed_schedule(
        &state.pipeline,
        schedule,
        &existing,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(Json(ScheduleView::from(&schedule)))
}

/// Pauses the schedule; its history and open balance are kept.
#[utoipa::path(delete, path = "/api/v1/payout-scheduler/schedules/{barber_id}",
    params(("barber_id" = String, Path)), security(("bearer" = [])), tag = "schedules",
    responses((status = 200, body = ScheduleView), (status = 404, body = crate::error::Problem)))]
pub async fn pause(
    State(state): State<ApiState>,
    caller: Caller,
    Path(barber_id): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    let mut schedule = load(&state, &caller, &barber_id).await?;
    schedule.state = ScheduleState::Paused;
    save_schedule(state.pipeline.store.as_ref(), &schedule).await?;
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

/// Every schedule, by barber id (operators).
#[utoipa::path(get, path = "/api/v1/payout-scheduler/schedules", params(PageParams),
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
        .pipeline
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
#[utoipa::path(post, path = "/api/v1/payout-scheduler/schedules/{barber_id}/onboarding-link",
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
