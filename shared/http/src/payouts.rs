//! `/payouts`: list, detail with audit trail, manual payout, retry, cancel, preview.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use payout_app::Services;
use payout_core::breakdown::SettlementDecision;
use payout_core::ids::{BarberId, PayoutId};
use payout_core::input::free_text;
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, OptionalJson};
use crate::wire::{
    AuditEventView, BarberParam, CancelBody, ConfirmBody, DeductionLineView, LeftBehindBody,
    ManualPayoutBody, Page, PayoutDetail, PayoutListParams, PayoutView, ReturnBody, money_text,
    parse_field,
};
use payout_app::error::AppError;
use payout_app::payout_actions::{
    LeftBehind, approve_payout, cancel_payout, confirm_payout, manual_payout, preview_payout,
    reject_payout, retry_payout, return_payout, settle_left_behind,
};
use payout_app::ports::PayoutQuery;

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(message.into())
}

/// A payout id from the path; a malformed one is a 400 naming what is wrong with it (not
/// echoing it back).
fn payout_id(raw: &str) -> Result<PayoutId, AppError> {
    PayoutId::parse(raw).map_err(|e| invalid(e.to_string()))
}

/// A cursor is `created_at micros:payout id` of the last item of the previous page.
fn parse_cursor(raw: &str) -> Result<(chrono::DateTime<chrono::Utc>, PayoutId), AppError> {
    let bad = || invalid("cursor is not one this API returned");
    let (micros, id) = raw.split_once(':').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, PayoutId::parse(id).map_err(|_| bad())?))
}

/// Payouts matching the filters, oldest first; barbers see only their own. Paged: `limit` a
/// page (default 50, at most 200), then `next_cursor` as `cursor`; a page costs the same
/// whatever the history holds (by status, from an index of its own).
#[utoipa::path(get, path = "/payouts", params(PayoutListParams),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = Page<PayoutView>), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<PayoutListParams>,
) -> Result<Json<Page<PayoutView>>, ApiError> {
    let limit = crate::page_limit(params.limit)?;
    let requested = params
        .barber_id
        .as_deref()
        .map(|raw| BarberId::parse(raw).map_err(|e| invalid(e.to_string())))
        .transpose()?;
    let barber = match (caller.own_barber(), requested) {
        (Some(own), Some(asked)) if *own != asked => {
            return Ok(Json(Page {
                items: vec![],
                next_cursor: None,
            }));
        }
        (Some(own), _) => Some(own.clone()),
        (None, asked) => asked,
    };
    let query = PayoutQuery {
        barber,
        status: params
            .status
            .as_deref()
            .map(|s| parse_field::<PayoutStatus>("status", s))
            .transpose()?,
        method: params
            .method
            .as_deref()
            .map(|m| parse_field::<PaymentMethod>("method", m))
            .transpose()?,
        from: params.from,
        to: params.to,
        updated_from: None,
        after: params.cursor.as_deref().map(parse_cursor).transpose()?,
    };
    let payouts = state.services.store.list_payouts(&query, limit + 1).await?;
    let next_cursor = (payouts.len() > limit)
        .then(|| payouts.get(limit - 1))
        .flatten()
        .map(|p| format!("{}:{}", p.created_at.timestamp_micros(), p.id));
    Ok(Json(Page {
        items: payouts.iter().take(limit).map(PayoutView::from).collect(),
        next_cursor,
    }))
}

async fn load_visible(
    state: &ApiState,
    caller: &Caller,
    raw: &str,
) -> Result<payout_core::payout::Payout, ApiError> {
    let id = payout_id(raw)?;
    let payout = state
        .services
        .store
        .get_payout(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("payout {id}")))?;
    caller
        .may_see(&payout.barber_id)
        .map_err(|_| AppError::NotFound(format!("payout {id}")))?;
    Ok(payout)
}

/// One payout with its full breakdown and audit trail.
#[utoipa::path(get, path = "/payouts/{id}", params(("id" = String, Path)),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PayoutDetail), (status = 404, body = Problem)))]
pub async fn detail(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PayoutDetail>, ApiError> {
    let payout = load_visible(&state, &caller, &id).await?;
    let trail = state.services.store.audit_trail(&payout.id).await?;
    Ok(Json(PayoutDetail {
        payout: PayoutView::from(&payout),
        audit_trail: trail.iter().map(AuditEventView::from).collect(),
    }))
}

/// The payout's statement, a printable HTML page: every earning it claims, the commission,
/// bonus, each deduction, the fee and the net, the method and the provider's reference
/// (operators, or the barber it pays; another barber's is 404).
#[utoipa::path(get, path = "/payouts/{id}/statement", params(("id" = String, Path)),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = String, content_type = "text/html"), (status = 404, body = Problem)))]
pub async fn statement_page(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let statement = visible_statement(&state, &caller, &id).await?;
    let headers = [(
        axum::http::header::CONTENT_TYPE,
        "text/html; charset=utf-8".to_string(),
    )];
    Ok((headers, statement.html()?).into_response())
}

/// The statement of the payout `raw` names, if the caller may see the payout.
async fn visible_statement(
    state: &ApiState,
    caller: &Caller,
    raw: &str,
) -> Result<payout_app::statement::Statement, ApiError> {
    let payout = load_visible(state, caller, raw).await?;
    Ok(payout_app::statement::statement(&state.services, payout).await?)
}

/// The same statement's lines as CSV: `payout_id,line,date,description,amount,currency`, one
/// row a line (earning, commission, bonus, deduction, fee, net), signed as each counts towards
/// the net; text a spreadsheet would run as a formula is neutralised.
#[utoipa::path(get, path = "/payouts/{id}/statement.csv", params(("id" = String, Path)),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = String, content_type = "text/csv"), (status = 404, body = Problem)))]
pub async fn statement_csv(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let statement = visible_statement(&state, &caller, &id).await?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/csv".to_string()),
        (
            axum::http::header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"statement-{}.csv\"",
                statement.payout.id
            ),
        ),
    ];
    Ok((headers, statement.csv()?).into_response())
}

/// Pays the barber's open balance now (operators).
#[utoipa::path(post, path = "/payouts/manual", request_body = ManualPayoutBody,
    security(("bearer" = [])), tag = "payouts",
    responses((status = 201, body = PayoutView), (status = 403, body = Problem),
               (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn manual(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<ManualPayoutBody>,
) -> Result<(StatusCode, Json<PayoutView>), ApiError> {
    caller.require_operator()?;
    let barber = BarberId::parse(&body.barber_id.0).map_err(|e| invalid(e.to_string()))?;
    let reason = text_or("reason", &body.reason, "manual payout")?;
    let payout = manual_payout(
        &state.services,
        &barber,
        &reason,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(PayoutView::from(&payout))))
}

/// Puts a failed payout back on the queue (operators). A payout `on_hold` for its account is
/// queued too, and the account's restriction lifted: the operator vouches that it is fixed
/// (the planner's next run resumes the account's other held payouts).
#[utoipa::path(post, path = "/payouts/{id}/retry", params(("id" = String, Path)),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PayoutView), (status = 403, body = Problem),
               (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn retry(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PayoutView>, ApiError> {
    operator_action(&state, &caller, &id, retry_payout).await
}

/// An operator's action on payout `raw_id` (refused to a barber): `act` with the services, the
/// payout's id, the operator as the audit trail names them, and now; the payout after it.
async fn operator_action(
    state: &ApiState,
    caller: &Caller,
    raw_id: &str,
    act: impl AsyncFnOnce(&Services, &PayoutId, &str, DateTime<Utc>) -> Result<Payout, AppError>,
) -> Result<Json<PayoutView>, ApiError> {
    caller.require_operator()?;
    let payout = act(
        &state.services,
        &payout_id(raw_id)?,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(Json(PayoutView::from(&payout)))
}

/// Cancels a payout that has not moved money; its earnings return to the open balance
/// (operators).
#[utoipa::path(post, path = "/payouts/{id}/cancel", params(("id" = String, Path)),
    request_body(content = CancelBody, description = "optional reason"),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PayoutView), (status = 403, body = Problem),
               (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<CancelBody>,
) -> Result<Json<PayoutView>, ApiError> {
    caller.require_operator()?;
    let reason = text_or("reason", &body.reason, "cancelled by an operator")?;
    let payout = cancel_payout(
        &state.services,
        &payout_id(&id)?,
        &caller.actor(),
        &reason,
        state.clock.now(),
    )
    .await?;
    Ok(Json(PayoutView::from(&payout)))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewView {
    pub barber_id: String,
    /// pay, below_minimum, carry_balance_owed, nothing_open, earnings_held (nothing payable
    /// yet, open earnings held: see `held`) or first_payout_waits.
    pub decision: String,
    pub method: String,
    pub currency: String,
    pub minimum_payout_amount: String,
    pub gross_amount: String,
    pub service_count: u32,
    pub commission_rate: String,
    pub commission_amount: String,
    pub bonus_amount: String,
    /// The open tips, and what of them the barber would be paid.
    pub tips_amount: String,
    pub tips_paid_amount: String,
    pub deductions: Vec<DeductionLineView>,
    pub deductions_total: String,
    pub fee_amount: String,
    pub net_amount: String,
    pub next_run_at: chrono::DateTime<chrono::Utc>,
    /// Open earnings the schedule's hold keeps back: not in this breakdown, paid by the
    /// first run after they are released.
    pub held: HeldView,
    /// A barber never paid is first paid once `[holds] first_payout_after_days` have passed
    /// since their first service: until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_payout_waits_until: Option<chrono::DateTime<chrono::Utc>>,
    /// The rolling reserve still kept of earlier payouts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve: Option<ReserveView>,
}

/// What the schedule's rolling reserve still keeps of earlier payouts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReserveView {
    /// Kept, less the refunds already taken from it.
    pub kept_amount: String,
    /// When the first payout may release some of it.
    pub next_release_at: chrono::DateTime<chrono::Utc>,
    /// Each release and what is owed against it, in order.
    pub lines: Vec<ReserveLineView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReserveLineView {
    /// reserve_release (negative: given back) or refund (owed back from it).
    pub kind: String,
    pub amount: String,
    pub description: String,
    pub payable_from: chrono::DateTime<chrono::Utc>,
}

impl ReserveView {
    fn of(
        pending: &[payout_core::ledger::Deduction],
        currency: payout_core::money::Currency,
    ) -> Result<Option<Self>, ApiError> {
        let Some(next_release_at) = pending.iter().map(|d| d.payable_from()).min() else {
            return Ok(None);
        };
        // Kept: what the releases give back less what is owed against them (never "-0.00").
        let kept = pending
            .iter()
            .try_fold(Money::zero(currency), |total, d| {
                total.checked_sub(d.amount)
            })
            .map_err(AppError::from)?;
        Ok(Some(Self {
            kept_amount: money_text(kept),
            next_release_at,
            lines: pending
                .iter()
                .map(|d| ReserveLineView {
                    kind: d.kind.to_string(),
                    amount: money_text(d.amount),
                    description: d.description.clone(),
                    payable_from: d.payable_from(),
                })
                .collect(),
        }))
    }
}

/// Earnings held by the schedule's `hold_days`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldView {
    pub hold_days: u32,
    pub gross_amount: String,
    pub service_count: u32,
    /// When the earliest held earning becomes payable.
    pub next_release_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the last held earning becomes payable.
    pub all_released_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What would be paid if the period closed now; nothing is written.
#[utoipa::path(get, path = "/payouts/preview", params(BarberParam),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PreviewView), (status = 404, body = Problem)))]
pub async fn preview(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<BarberParam>,
) -> Result<Json<PreviewView>, ApiError> {
    let barber = BarberId::parse(&params.barber_id).map_err(|e| invalid(e.to_string()))?;
    caller.may_see(&barber)?;
    let preview = preview_payout(&state.services, &barber, state.clock.now()).await?;
    let (schedule, settlement) = (preview.schedule, preview.settlement);
    let reserve = ReserveView::of(&preview.reserve, schedule.currency)?;
    let hold = schedule.holds.hold_days;
    let held = &settlement.held;
    let held = HeldView {
        hold_days: hold.days(),
        gross_amount: money_text(Money::from_minor(held.gross_minor, schedule.currency)),
        service_count: held.services,
        next_release_at: held.earliest_service.map(|at| hold.releases_at(at)),
        all_released_at: held.latest_service.map(|at| hold.releases_at(at)),
    };
    let (name, breakdown) = match settlement.decision {
        _ if settlement.first_payout_waits_until.is_some() => ("first_payout_waits", None),
        SettlementDecision::Nothing if settlement.held.services > 0 => ("earnings_held", None),
        SettlementDecision::Pay(b) => ("pay", Some(b)),
        SettlementDecision::BelowMinimum(b) => ("below_minimum", Some(b)),
        SettlementDecision::CarryOwed(b) => ("carry_balance_owed", Some(b)),
        SettlementDecision::Nothing => ("nothing_open", None),
    };
    let breakdown = breakdown.unwrap_or_else(|| {
        let zero = payout_core::money::Money::zero(schedule.currency);
        payout_core::breakdown::PayoutBreakdown {
            gross: zero,
            service_count: 0,
            commission_rate: state.services.config.policy.commission.rate_for(0),
            commission: zero,
            bonus: zero,
            deductions: vec![],
            deductions_total: zero,
            fee: zero,
            net: zero,
            shop_share: zero,
            tips: None,
            reserve_until: None,
        }
    });
    Ok(Json(PreviewView {
        barber_id: barber.to_string(),
        decision: name.to_string(),
        method: schedule.method.to_string(),
        currency: schedule.currency.to_string(),
        minimum_payout_amount: money_text(schedule.minimum_payout),
        gross_amount: money_text(breakdown.gross),
        service_count: breakdown.service_count,
        commission_rate: breakdown.commission_rate.fraction().to_string(),
        commission_amount: money_text(breakdown.commission),
        bonus_amount: money_text(breakdown.bonus),
        tips_amount: money_text(breakdown.tips_received()),
        tips_paid_amount: money_text(breakdown.tips_paid()),
        deductions: breakdown
            .deductions
            .iter()
            .map(DeductionLineView::from)
            .collect(),
        deductions_total: money_text(breakdown.deductions_total),
        fee_amount: money_text(breakdown.fee),
        net_amount: money_text(breakdown.net),
        next_run_at: schedule.next_run_at,
        held,
        first_payout_waits_until: settlement.first_payout_waits_until,
        reserve,
    }))
}

const MAX_TEXT_CHARS: usize = 200;

/// Required free text: trimmed, 1 to 200 characters, no control characters.
fn short_text(field: &'static str, value: &str) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    free_text(field, value, MAX_TEXT_CHARS).map_err(|e| invalid(e.to_string()))?;
    Ok(value.to_string())
}

/// Optional free text: `default` when blank, else as [`short_text`].
fn text_or(field: &'static str, value: &str, default: &str) -> Result<String, AppError> {
    if value.trim().is_empty() {
        Ok(default.to_string())
    } else {
        short_text(field, value)
    }
}

/// Confirms that a bank transfer or manual payment arrived (operators).
#[utoipa::path(post, path = "/payouts/{id}/confirm", params(("id" = String, Path)),
    request_body = ConfirmBody, security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PayoutView), (status = 400, body = Problem), (status = 403, body = Problem),
               (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn confirm(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<PayoutView>, ApiError> {
    caller.require_operator()?;
    let reference = short_text("reference", &body.reference)?;
    let payout = confirm_payout(
        &state.services,
        &payout_id(&id)?,
        &reference,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(Json(PayoutView::from(&payout)))
}

/// Approves a payout waiting for a second operator (operators): queued to be paid now. 403 to
/// the operator who asked for it or changed where the barber's money goes.
#[utoipa::path(post, path = "/payouts/{id}/approve", params(("id" = String, Path)),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PayoutView), (status = 403, body = Problem),
               (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn approve(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PayoutView>, ApiError> {
    operator_action(&state, &caller, &id, approve_payout).await
}

/// Rejects a payout waiting for approval (operators): cancelled, its earnings back in the
/// barber's open balance. `reason` is required.
#[utoipa::path(post, path = "/payouts/{id}/reject", params(("id" = String, Path)),
    request_body = ReturnBody, security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PayoutView), (status = 400, body = Problem), (status = 403, body = Problem),
               (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reject(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReturnBody>,
) -> Result<Json<PayoutView>, ApiError> {
    caller.require_operator()?;
    let reason = short_text("reason", &body.reason)?;
    operator_action(&state, &caller, &id, async |p, id, actor, now| {
        reject_payout(p, id, actor, &reason, now).await
    })
    .await
}

/// Records a bank transfer returned by the bank (operators).
#[utoipa::path(post, path = "/payouts/{id}/return", params(("id" = String, Path)),
    request_body = ReturnBody, security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PayoutView), (status = 400, body = Problem), (status = 403, body = Problem),
               (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn mark_returned(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReturnBody>,
) -> Result<Json<PayoutView>, ApiError> {
    caller.require_operator()?;
    let reason = short_text("reason", &body.reason)?;
    operator_action(&state, &caller, &id, async |p, id, actor, now| {
        return_payout(p, id, &reason, actor, now).await
    })
    .await
}

/// Settles what a failed payout left in the barber's Stripe balance (operators): pays it out
/// again, instant or standard (in transit until Stripe reports it paid), or records that it
/// reached the barber by other means (completed).
#[utoipa::path(post, path = "/payouts/{id}/left-behind", params(("id" = String, Path)),
    request_body = LeftBehindBody, security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = PayoutView), (status = 400, body = Problem), (status = 403, body = Problem),
               (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn left_behind(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LeftBehindBody>,
) -> Result<Json<PayoutView>, ApiError> {
    caller.require_operator()?;
    let how = match body.action.as_str() {
        "pay_out_instant" => LeftBehind::PayOut { instant: true },
        "pay_out_standard" => LeftBehind::PayOut { instant: false },
        "settled_by_hand" => LeftBehind::SettledByHand {
            reference: short_text("reference", body.reference.as_deref().unwrap_or_default())?,
        },
        _ => {
            return Err(invalid(
                "action must be pay_out_instant, pay_out_standard or settled_by_hand",
            )
            .into());
        }
    };
    let payout = settle_left_behind(
        &state.services,
        &payout_id(&id)?,
        &how,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(Json(PayoutView::from(&payout)))
}

/// The day's bank transfer file, CSV with a totals line (operators).
#[utoipa::path(get, path = "/bank-transfers/{day}", params(("day" = String, Path, description = "YYYY-MM-DD (UTC)")),
    security(("bearer" = [])), tag = "payouts",
    responses((status = 200, body = String, content_type = "text/csv"), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn bank_file(
    State(state): State<ApiState>,
    caller: Caller,
    Path(day): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    caller.require_operator()?;
    let day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .map_err(|_| invalid(format!("`{day}` is not a date (YYYY-MM-DD)")))?;
    let batch = payout_app::bank_export::bank_batch(&state.services, day).await?;
    let csv = payout_app::bank_export::render_csv(day, &batch)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv".to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bank-transfers-{day}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}
