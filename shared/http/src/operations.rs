//! `/health`, `/test-notification/{payout_id}` and `/dead-letters/replay`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use payout_core::ids::PayoutId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::wire::TestNotificationParams;
use payout_app::error::AppError;
use payout_app::health::{HealthReport, Liveness, check_health, check_liveness};
use payout_app::notify::render_payout_notification;
use payout_app::ports::{Notification, NotificationKind};

/// Whether the scheduler is alive: the planner runs, no job is stuck in the dead-letter queue
/// and every barber can be planned; 200 when healthy, 503 when not. No token needed, so it reads a fixed, small amount
/// whatever the table holds and says nothing of any barber or amount; the full report is
/// `/health/report`.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Liveness), (status = 503, body = Liveness)))]
pub async fn health(
    State(state): State<ApiState>,
) -> Result<(StatusCode, Json<Liveness>), ApiError> {
    let liveness = check_liveness(&state.services, state.clock.now()).await?;
    Ok((status_of(liveness.is_healthy()), Json(liveness)))
}

/// The operators' health report: liveness, queue depths, planner lag per barber, planning
/// failures, payouts by status and the last hour against the alert thresholds; 200 when
/// healthy, 503 when not.
#[utoipa::path(get, path = "/health/report", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = HealthReport), (status = 503, body = HealthReport),
               (status = 403, body = Problem)))]
pub async fn health_report(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<(StatusCode, Json<HealthReport>), ApiError> {
    caller.require_operator()?;
    let report = check_health(&state.services, state.clock.now()).await?;
    Ok((status_of(report.is_healthy()), Json(report)))
}

fn status_of(healthy: bool) -> StatusCode {
    if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub barber_id: String,
    pub payout_id: Option<String>,
    pub kind: String,
    pub channels: Vec<String>,
    pub message: String,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        Self {
            barber_id: n.barber_id.to_string(),
            payout_id: n.payout_id.as_ref().map(ToString::to_string),
            kind: n.kind.as_str().to_string(),
            channels: n.channels.iter().map(|c| c.as_str().to_string()).collect(),
            message: n.message.clone(),
        }
    }
}

/// Sends a sample notification of the given kind for a payout, bypassing the once-only rule.
#[utoipa::path(post, path = "/test-notification/{payout_id}",
    params(("payout_id" = String, Path), TestNotificationParams),
    security(("bearer" = [])), tag = "operations",
    responses((status = 200, body = NotificationView), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn test_notification(
    State(state): State<ApiState>,
    caller: Caller,
    Path(payout_id): Path<String>,
    ApiQuery(params): ApiQuery<TestNotificationParams>,
) -> Result<Json<NotificationView>, ApiError> {
    let not_found = || AppError::NotFound(format!("payout {payout_id}"));
    let id = PayoutId::parse(&payout_id).map_err(|_| not_found())?;
    let payout = state
        .services
        .store
        .get_payout(&id)
        .await?
        .ok_or_else(not_found)?;
    caller.may_see(&payout.barber_id).map_err(|_| not_found())?;
    let name = params.notification_type.as_deref().unwrap_or("completed");
    let kind = NotificationKind::parse(name).ok_or_else(|| {
        let known: Vec<&str> = NotificationKind::ALL.iter().map(|k| k.as_str()).collect();
        AppError::Invalid(format!(
            "notification_type `{name}` is not one of {}",
            known.join(", ")
        ))
    })?;
    let dashboard = state.services.config.dashboard_url.as_deref();
    let mut notification = render_payout_notification(&payout, kind, dashboard);
    notification.message = format!("[test] {}", notification.message);
    // An id of its own: a subscriber dropping repeats by id must not take the real notice,
    // sent later, for a repeat of this sample.
    notification.dedupe_key = format!(
        "test#{}#{}",
        notification.dedupe_key,
        state.clock.now().timestamp_micros()
    );
    state
        .services
        .notifier
        .publish(&notification)
        .await
        .map_err(|e| AppError::Conflict(format!("the notifier refused the message: {e}")))?;
    Ok(Json(NotificationView::from(&notification)))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayView {
    pub replayed: u64,
}

/// Moves every dead-lettered job back onto the queue (operators).
#[utoipa::path(post, path = "/dead-letters/replay",
    security(("bearer" = [])), tag = "operations",
    responses((status = 200, body = ReplayView), (status = 403, body = Problem)))]
pub async fn replay_dead_letters(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<ReplayView>, ApiError> {
    caller.require_operator()?;
    let replayed = state
        .services
        .queue
        .redrive_dead_letters(state.clock.now())
        .await?;
    tracing::info!(replayed, by = caller.subject(), "dead letters replayed");
    Ok(Json(ReplayView { replayed }))
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    pub barber_id: String,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SentView {
    #[serde(flatten)]
    pub notification: NotificationView,
    pub sent_at: chrono::DateTime<chrono::Utc>,
    /// pending (not yet accepted by the notifier; retried), delivered, gave_up, or
    /// skipped_no_address (no address for any channel the barber turned on: not sent).
    pub delivery: String,
}

/// What was sent to a barber, newest first: the newest `limit` (a page; older notices are
/// not listed).
#[utoipa::path(get, path = "/notifications", params(NotificationParams),
    security(("bearer" = [])), tag = "operations",
    responses((status = 200, body = Vec<SentView>), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list_notifications(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<NotificationParams>,
) -> Result<Json<Vec<SentView>>, ApiError> {
    let barber = payout_core::ids::BarberId::parse(&params.barber_id)
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    caller.may_see(&barber)?;
    let limit = crate::page_limit(params.limit)?;
    let sent = state
        .services
        .store
        .list_notifications(&barber, limit)
        .await?;
    Ok(Json(
        sent.iter()
            .map(|s| SentView {
                notification: NotificationView::from(&s.notification),
                sent_at: s.sent_at,
                delivery: s.state.as_str().to_string(),
            })
            .collect(),
    ))
}
