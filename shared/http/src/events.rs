//! `POST /events`: the booking platform's events on one machine, in the EventBridge envelope's
//! two fields that matter (`detail-type`, `detail`); operators only. On AWS the same events
//! come from EventBridge through the intake queue.

use axum::Json;
use axum::extract::State;
use payout_app::platform_events::{Applied, PlatformEvent, apply_platform_event};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct InboundEvent {
    /// `ServiceCompleted` or `ServiceRefunded`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// The service: booking_id, barber_id, amount (decimal string), currency, occurred_at,
    /// service, version (1). Schemas in `schemas/`.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppliedView {
    /// recorded, duplicate, voided or clawed_back.
    pub outcome: String,
    /// The refund deduction, when a paid service was clawed back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deduction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

impl From<Applied> for AppliedView {
    fn from(applied: Applied) -> Self {
        let outcome = |name: &str| AppliedView {
            outcome: name.to_string(),
            deduction_id: None,
            amount: None,
        };
        match applied {
            Applied::Recorded => outcome("recorded"),
            Applied::Duplicate => outcome("duplicate"),
            Applied::Voided => outcome("voided"),
            Applied::ClawedBack {
                deduction_id,
                amount,
            } => AppliedView {
                deduction_id: Some(deduction_id),
                amount: Some(amount),
                ..outcome("clawed_back")
            },
        }
    }
}

/// Applies one platform event (operators): a completed service becomes an earning, a refund
/// voids it or claws back what was paid for it. Repeats are absorbed; a repeat that disagrees
/// is 409.
#[utoipa::path(post, path = "/events", request_body = InboundEvent,
    security(("bearer" = [])), tag = "ledger",
    responses((status = 200, body = AppliedView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn post_event(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(event): ApiJson<InboundEvent>,
) -> Result<Json<AppliedView>, ApiError> {
    caller.require_operator()?;
    let event = PlatformEvent::parse(&event.detail_type, &event.detail)?;
    let applied = apply_platform_event(&state.services, &event, state.clock.now()).await?;
    Ok(Json(applied.into()))
}
