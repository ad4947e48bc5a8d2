//! `/earnings` and `/deductions`: money in, idempotent by id.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use payout_core::deduction::DeductionKind;
use payout_core::ids::{BarberId, DERIVED_PREFIXES, DeductionId, EarningId};
use payout_core::input::free_text;
use payout_core::ledger::{Deduction, Earning, EarningKind};
use payout_core::money::{Currency, Money};
use payout_core::schedule::{PayoutSchedule, RecurringDeduction};

use crate::ApiState;
use crate::auth::Caller;
use crate::earnings_csv::{CsvIntakeView, EarningsAnswer, IntakeParams, post_csv};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::wire::{
    Amount, DeductionBody, DeductionView, EarningBody, EarningView, EarningsBatchView,
    EarningsBody, parse_field,
};
use payout_app::error::AppError;
use payout_app::ingest::{
    MAX_BATCH, check_earnings, content_hash, ingest_deduction, ingest_earnings, within_limit,
};
use payout_app::ports::IntakeOutcome;
use payout_app::schedule_change::amend_schedule;

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(message.into())
}

const MAX_SERVICE_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 500;

/// A positive amount at most as precise as the currency allows.
fn positive_money(field: &str, amount: Amount, currency: Option<&str>) -> Result<Money, AppError> {
    let currency = currency
        .map(|code| parse_field::<Currency>("currency", code))
        .transpose()?
        .unwrap_or(Currency::Usd);
    let money = Money::new(amount.0, currency).map_err(|e| invalid(format!("{field}: {e}")))?;
    if !money.is_positive() {
        return Err(invalid(format!("{field} must be greater than zero")));
    }
    Ok(money)
}

/// The earning `body` describes, recorded at `now`; the JSON and CSV routes' one reading.
pub(crate) fn earning(body: &EarningBody, now: DateTime<Utc>) -> Result<Earning, AppError> {
    let id = EarningId::parse(&body.earning_id.0).map_err(|e| invalid(e.to_string()))?;
    if id.as_str().starts_with(EarningId::TIP_PREFIX) {
        return Err(invalid(format!(
            "earning {id}: ids starting with `{}` are kept for the tips of the platform's events",
            EarningId::TIP_PREFIX
        )));
    }
    let service = body.service.trim();
    if service.is_empty() {
        return Err(invalid(format!("earning {id}: service must not be empty")));
    }
    free_text("service", service, MAX_SERVICE_CHARS)
        .map_err(|e| invalid(format!("earning {id}: {e}")))?;
    Ok(Earning {
        barber_id: BarberId::parse(&body.barber_id.0).map_err(|e| invalid(e.to_string()))?,
        amount: positive_money("amount", body.amount, body.currency.as_deref())
            .map_err(|e| invalid(format!("earning {id}: {e}")))?,
        occurred_at: body.occurred_at,
        service: service.to_string(),
        kind: body
            .kind
            .as_deref()
            .map(str::parse::<EarningKind>)
            .transpose()
            .map_err(|e| invalid(format!("earning {id}: kind: {e}")))?
            .unwrap_or_default(),
        recorded_at: now,
        id,
    })
}

/// Records one earning (201, or 200 with the stored record for a repeat) or a batch of up to
/// 500, all or nothing. A repeated id with different content is 409 and writes nothing. With
/// `Content-Type: text/csv`, up to 500 rows under a header naming the fields, all or nothing
/// (`mode=all`, the default) or row by row (`mode=rows`), answered row by row with each line.
#[utoipa::path(post, path = "/earnings", params(IntakeParams),
    request_body(content(
        (EarningsBody = "application/json"),
        (String = "text/csv", example = "earning_id,barber_id,amount,occurred_at,service,kind\n\
            e1,123,45.00,2026-12-05T14:30:00Z,haircut,service\n")
    )),
    security(("bearer" = [])), tag = "ledger",
    responses(
        (status = 201, body = EarningsAnswer), (status = 200, body = EarningsAnswer),
        (status = 400, content(
            (crate::error::Problem = "application/problem+json"),
            (CsvIntakeView = "application/json"))),
        (status = 409, content(
            (crate::error::Problem = "application/problem+json"),
            (CsvIntakeView = "application/json")))))]
pub async fn post_earnings(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<IntakeParams>,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require_operator()?;
    let now = state.clock.now();
    let csv = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|kind| kind.to_str().ok())
        .is_some_and(|kind| {
            kind.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/csv")
        });
    if csv {
        let body = axum::body::to_bytes(request.into_body(), crate::BODY_LIMIT)
            .await
            .map_err(|e| ApiError::PayloadTooLarge(e.to_string()))?;
        return Ok(post_csv(&state.services, &body, params.mode.as_deref(), now).await?);
    }
    if params.mode.is_some() {
        return Err(invalid("mode is for a CSV body (Content-Type: text/csv)").into());
    }
    let ApiJson(body) = ApiJson::<EarningsBody>::from_request(request, &state).await?;
    let (bodies, single) = match &body {
        EarningsBody::One(one) => (std::slice::from_ref(one), true),
        EarningsBody::Batch(many) => (many.as_slice(), false),
    };
    if bodies.is_empty() || bodies.len() > MAX_BATCH {
        return Err(invalid(format!("a batch holds 1 to {MAX_BATCH} earnings")).into());
    }
    let earnings = bodies
        .iter()
        .map(|b| earning(b, now))
        .collect::<Result<Vec<_>, _>>()?;
    check_earnings(&state.services.config.intake, &earnings, now)?;
    let store = state.services.store.as_ref();
    let outcomes = ingest_earnings(store, &earnings).await?;
    let conflicts: Vec<&str> = earnings
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| **outcome == IntakeOutcome::Conflict)
        .map(|(e, _)| e.id.as_str())
        .collect();
    if !conflicts.is_empty() {
        return Err(AppError::Conflict(format!(
            "earning ids recorded before with different content (nothing written): {}",
            conflicts.join(", ")
        ))
        .into());
    }
    let mut views = Vec::with_capacity(earnings.len());
    for (submitted, outcome) in earnings.iter().zip(&outcomes) {
        views.push(match outcome {
            IntakeOutcome::Created => EarningView::new(submitted, "created"),
            IntakeOutcome::Duplicate | IntakeOutcome::Conflict => {
                let stored = store
                    .get_earning(&submitted.id)
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("earning {}", submitted.id)))?;
                EarningView::new(&stored, "duplicate")
            }
        });
    }
    let all_new = outcomes.iter().all(|o| *o == IntakeOutcome::Created);
    let status = if all_new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(if single {
        (status, Json(EarningsAnswer::One(views.remove(0)))).into_response()
    } else {
        (
            status,
            Json(EarningsAnswer::Batch(EarningsBatchView { earnings: views })),
        )
            .into_response()
    })
}

/// Records a deduction; `recurring` ones are charged at every scheduled period from now on.
#[utoipa::path(post, path = "/deductions", request_body = DeductionBody,
    security(("bearer" = [])), tag = "ledger",
    responses((status = 201, body = DeductionView), (status = 200, body = DeductionView),
               (status = 400, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn post_deduction(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<DeductionBody>,
) -> Result<(StatusCode, Json<DeductionView>), ApiError> {
    caller.require_operator()?;
    let now = state.clock.now();
    let barber_id = BarberId::parse(&body.barber_id.0).map_err(|e| invalid(e.to_string()))?;
    let kind = DeductionKind::parse_submitted(&body.kind).map_err(|e| invalid(e.to_string()))?;
    let amount = positive_money("amount", body.amount, body.currency.as_deref())?;
    within_limit(
        "deduction amount",
        amount,
        state.services.config.intake.max_deduction,
        "intake.max_deduction",
    )?;
    free_text("description", &body.description, MAX_DESCRIPTION_CHARS)
        .map_err(|e| invalid(e.to_string()))?;
    let id = match &body.deduction_id {
        Some(raw) => {
            let id = DeductionId::parse(&raw.0).map_err(|e| invalid(e.to_string()))?;
            if id.is_derived() {
                return Err(invalid(format!(
                    "deduction_id `{id}` starts like the ids the system derives ({}); choose another",
                    DERIVED_PREFIXES.join(", ")
                ))
                .into());
            }
            id
        }
        None => {
            let content = format!(
                "{barber_id}|{kind}|{}|{}|{}",
                amount.amount(),
                amount.currency(),
                body.description
            );
            DeductionId::parse(format!("ded_{}", &content_hash(&content)[..24]))
                .map_err(|e| invalid(e.to_string()))?
        }
    };
    if body.recurring {
        let recurring = RecurringDeduction {
            id: id.clone(),
            kind,
            amount,
            description: body.description.clone(),
        };
        let added = amend_schedule(state.services.store.as_ref(), &barber_id, |schedule| {
            add_recurring(schedule, &recurring)
        })
        .await
        .map_err(|error| match error {
            AppError::NotFound(_) => invalid(format!("barber {barber_id} has no payout schedule")),
            other => other,
        })?;
        let status = if added.1 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut view = DeductionView::from(&recurring.for_period(&barber_id, now));
        view.deduction_id = id.to_string();
        view.recurring = true;
        view.recorded_at = None;
        return Ok((status, Json(view)));
    }
    let deduction = Deduction {
        id,
        barber_id,
        kind,
        amount,
        description: body.description.clone(),
        recorded_at: now,
        payable_from: None,
    };
    match ingest_deduction(state.services.store.as_ref(), &deduction).await? {
        IntakeOutcome::Created => Ok((StatusCode::CREATED, Json(DeductionView::from(&deduction)))),
        IntakeOutcome::Duplicate => Ok((StatusCode::OK, Json(DeductionView::from(&deduction)))),
        IntakeOutcome::Conflict => Err(AppError::Conflict(format!(
            "deduction {} was recorded before with different content",
            deduction.id
        ))
        .into()),
    }
}

/// The schedule with `recurring` added, and whether it is new; nothing to write when the same
/// deduction is there already, a conflict when its id holds another.
fn add_recurring(
    schedule: &PayoutSchedule,
    recurring: &RecurringDeduction,
) -> Result<(Option<PayoutSchedule>, bool), AppError> {
    if schedule.currency != recurring.amount.currency() {
        return Err(invalid(format!(
            "barber {} is paid in {}",
            schedule.barber_id, schedule.currency
        )));
    }
    match schedule
        .recurring_deductions
        .iter()
        .find(|r| r.id == recurring.id)
    {
        Some(existing) if existing == recurring => Ok((None, false)),
        Some(_) => Err(AppError::Conflict(format!(
            "recurring deduction {} exists with different content",
            recurring.id
        ))),
        None => {
            let mut added = schedule.clone();
            added.recurring_deductions.push(recurring.clone());
            Ok((Some(added), true))
        }
    }
}
