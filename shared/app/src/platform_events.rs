//! The booking platform's events in (EventBridge on AWS, `POST /events` on one machine): a
//! completed service is an earning, idempotent by its booking id; a refunded one is reversed.
//! An open (unpaid) earning is voided; one a payout holds becomes a deduction of kind `refund`
//! for what the barber was paid for it (its commission and bonus share, never the service's
//! price), idempotent by the booking too. A repeat that disagrees with what was recorded is a
//! conflict, never silently dropped.
//!
//! The contract (`detail-type`, `detail`) is these types; their JSON Schemas are generated
//! into `schemas/` and checked against them by a test.

use chrono::{DateTime, Utc};
use payout_core::deduction::DeductionKind;
use payout_core::ids::{BarberId, DeductionId, EarningId};
use payout_core::ledger::{Deduction, Earning, EarningKind};
use payout_core::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AppError, types_in_words};
use crate::ingest::{check_earnings, content_hash, ingest_earnings};
use crate::ports::{IntakeOutcome, VoidOutcome};
use crate::services::Services;

/// The contract's version this build reads.
pub const VERSION: u32 = 1;

/// `detail-type` of a completed service.
pub const SERVICE_COMPLETED: &str = "ServiceCompleted";
/// `detail-type` of a refunded service.
pub const SERVICE_REFUNDED: &str = "ServiceRefunded";

/// A service the platform completed (and charged), or refunded: the event's `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ServiceDetail {
    /// The booking; one completion and at most one refund per booking. A string or a whole
    /// number.
    #[serde(deserialize_with = "payout_core::ids::text_or_whole_number")]
    #[cfg_attr(feature = "schemas", schemars(schema_with = "id_schema"))]
    pub booking_id: String,
    /// The barber, as the REST API takes it: a string (`"123"`) or a whole number (`123`).
    #[serde(deserialize_with = "payout_core::ids::text_or_whole_number")]
    #[cfg_attr(feature = "schemas", schemars(schema_with = "id_schema"))]
    pub barber_id: String,
    /// The service's price, a decimal string (`"45.00"`).
    pub amount: String,
    /// ISO 4217, the barber's payout currency (`USD`).
    pub currency: String,
    /// When the service was performed (completed) or refunded, RFC 3339.
    #[serde(deserialize_with = "payout_core::input::rfc3339")]
    pub occurred_at: DateTime<Utc>,
    /// What was performed (`haircut`).
    pub service: String,
    /// The tip the client left, a decimal string (`"5.00"`), if any: recorded as a tip earning
    /// of the same booking (`tip_<booking_id>`), paid at `[commission] tip_share` and refunded
    /// with the booking. Ignored on a refund, which always takes back the tip recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<String>,
    /// The contract's version: 1.
    pub version: u32,
}

/// An id's schema: a string or a whole number, as [`payout_core::ids::text_or_whole_number`]
/// reads it.
#[cfg(feature = "schemas")]
fn id_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]
    })
}

/// A platform event this system acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformEvent {
    ServiceCompleted(ServiceDetail),
    ServiceRefunded(ServiceDetail),
}

/// What an event did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Applied {
    /// The completed service is an open earning now.
    Recorded,
    /// The same event again: nothing changed.
    Duplicate,
    /// The refunded service's open earning is out of the balance.
    Voided,
    /// The refunded service was paid: what the barber was paid for it is owed back.
    ClawedBack {
        deduction_id: String,
        amount: String,
    },
}

impl PlatformEvent {
    /// The event of `detail_type` with `detail`; an unknown type or a malformed detail is
    /// invalid (a message to dead-letter, not to retry).
    pub fn parse(detail_type: &str, detail: &Value) -> Result<Self, AppError> {
        let parsed = |detail: &Value| {
            let detail: ServiceDetail =
                serde_path_to_error::deserialize(detail.clone()).map_err(|e| {
                    let field = match e.path().to_string().as_str() {
                        "." => String::new(),
                        path => format!(".{path}"),
                    };
                    AppError::Invalid(format!(
                        "{detail_type} detail{field}: {}",
                        types_in_words(&e.into_inner().to_string())
                    ))
                })?;
            if detail.version != VERSION {
                return Err(AppError::Invalid(format!(
                    "{detail_type} version {} (this build reads version {VERSION})",
                    detail.version
                )));
            }
            Ok(detail)
        };
        match detail_type {
            SERVICE_COMPLETED => Ok(PlatformEvent::ServiceCompleted(parsed(detail)?)),
            SERVICE_REFUNDED => Ok(PlatformEvent::ServiceRefunded(parsed(detail)?)),
            other => Err(AppError::Invalid(format!(
                "unknown detail-type `{other}` (expected {SERVICE_COMPLETED} or {SERVICE_REFUNDED})"
            ))),
        }
    }
}

impl ServiceDetail {
    /// The earning this service is, recorded at `now`.
    fn earning(&self, now: DateTime<Utc>) -> Result<Earning, AppError> {
        let invalid = |e: &dyn std::fmt::Display| AppError::Invalid(format!("{e}"));
        if self.booking_id.starts_with(EarningId::TIP_PREFIX) {
            return Err(AppError::Invalid(format!(
                "booking_id: ids starting with `{}` are kept for the bookings' tips",
                EarningId::TIP_PREFIX
            )));
        }
        let currency: Currency = self.currency.parse().map_err(|e| invalid(&e))?;
        Ok(Earning {
            id: EarningId::parse(self.booking_id.as_str()).map_err(|e| invalid(&e))?,
            barber_id: BarberId::parse(self.barber_id.as_str()).map_err(|e| invalid(&e))?,
            amount: Money::parse(&self.amount, currency)?,
            occurred_at: self.occurred_at,
            service: self.service.clone(),
            kind: EarningKind::Service,
            recorded_at: now,
        })
    }

    /// The service's earning and, if the client left one, its tip (a tip of zero is none).
    fn earnings(&self, now: DateTime<Utc>) -> Result<Vec<Earning>, AppError> {
        let service = self.earning(now)?;
        let Some(tip) = self.tip.as_deref() else {
            return Ok(vec![service]);
        };
        let amount = Money::parse(tip, service.amount.currency())
            .map_err(|e| AppError::Invalid(format!("tip: {e}")))?;
        if amount.is_negative() {
            return Err(AppError::Invalid(format!(
                "tip: {tip} is negative; a tip given back is a refund of the booking"
            )));
        }
        if amount.amount().is_zero() {
            return Ok(vec![service]);
        }
        let tip = Earning {
            id: EarningId::tip_of(&service.id),
            amount,
            kind: EarningKind::Tip,
            ..service.clone()
        };
        Ok(vec![service, tip])
    }
}

/// Applies `event` at `now`.
pub async fn apply_platform_event(
    p: &Services,
    event: &PlatformEvent,
    now: DateTime<Utc>,
) -> Result<Applied, AppError> {
    match event {
        PlatformEvent::ServiceCompleted(detail) => {
            // The service and its tip in one write: a booking is never recorded without the
            // tip it came with.
            let earnings = detail.earnings(now)?;
            check_earnings(&p.config.intake, &earnings, now)?;
            if let [service, tip] = &earnings[..] {
                // A tip comes with its booking's completion, never after it: one added by a
                // later repeat could be paid after the booking was refunded.
                let service_known = p.store.get_earning(&service.id).await?.is_some();
                if service_known && p.store.get_earning(&tip.id).await?.is_none() {
                    return Err(AppError::Conflict(format!(
                        "booking {} was recorded without a tip; a tip cannot be added to it \
                         afterwards",
                        detail.booking_id
                    )));
                }
            }
            let outcomes = ingest_earnings(p.store.as_ref(), &earnings).await?;
            // A conflict writes nothing.
            if outcomes.contains(&IntakeOutcome::Conflict) {
                Err(AppError::Conflict(format!(
                    "booking {} was recorded with other details",
                    detail.booking_id
                )))
            } else if outcomes.iter().all(|o| *o == IntakeOutcome::Duplicate) {
                Ok(Applied::Duplicate)
            } else {
                Ok(Applied::Recorded)
            }
        }
        PlatformEvent::ServiceRefunded(detail) => refund(p, detail, now).await,
    }
}

async fn refund(
    p: &Services,
    detail: &ServiceDetail,
    now: DateTime<Utc>,
) -> Result<Applied, AppError> {
    let refunded = detail.earning(now)?;
    let earning = p.store.get_earning(&refunded.id).await?.ok_or_else(|| {
        // Events may arrive out of order: the completion may still be on its way.
        AppError::NotFound(format!("the earning of booking {}", detail.booking_id))
    })?;
    if earning.barber_id != refunded.barber_id || earning.amount != refunded.amount {
        return Err(AppError::Conflict(format!(
            "refund of {} {} by barber {} for booking {}, which earned {} {} for barber {} \
             (partial refunds are not supported)",
            refunded.amount.amount(),
            refunded.amount.currency(),
            refunded.barber_id,
            detail.booking_id,
            earning.amount.amount(),
            earning.amount.currency(),
            earning.barber_id
        )));
    }
    // The tip first: a refund retried after the service's void still finds the tip to take
    // back. A service and its tip were recorded together, so they are open together or held by
    // the same payout. Only the barber's own tip is the booking's.
    let tip = p
        .store
        .get_earning(&EarningId::tip_of(&earning.id))
        .await?
        .filter(|tip| tip.kind == EarningKind::Tip && tip.barber_id == earning.barber_id);
    let tip_claimed_by = match &tip {
        Some(tip) => match p.store.void_earning(&tip.id, now).await? {
            VoidOutcome::Claimed(payout_id) => Some(payout_id),
            _ => None,
        },
        None => None,
    };
    let payout_id = match p.store.void_earning(&earning.id, now).await? {
        VoidOutcome::Voided => return Ok(Applied::Voided),
        VoidOutcome::AlreadyVoided => return Ok(Applied::Duplicate),
        VoidOutcome::Unknown => {
            return Err(AppError::NotFound(format!(
                "the earning of booking {}",
                detail.booking_id
            )));
        }
        VoidOutcome::Claimed(payout_id) => payout_id,
    };
    let payout = p
        .store
        .get_payout(&payout_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("payout {payout_id}")))?;
    let mut amount = payout.breakdown.share_of(earning.amount)?;
    let mut description = format!("refund of booking {} (paid in {payout_id})", earning.id);
    if let (Some(tip), Some(tip_payout_id)) = (tip, tip_claimed_by) {
        // Recorded with the service, the tip is paid with it; should another payout hold it,
        // it is taken back at that payout's share.
        let tip_share = if tip_payout_id == payout_id {
            payout.breakdown.tip_share_of(tip.amount)
        } else {
            p.store
                .get_payout(&tip_payout_id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("payout {tip_payout_id}")))?
                .breakdown
                .tip_share_of(tip.amount)
        };
        amount = amount.checked_add(tip_share)?;
        description = format!(
            "refund of booking {} and its tip (paid in {payout_id})",
            earning.id
        );
    }
    let from_reserve = reserve_covering(p, &earning.barber_id, amount, now).await?;
    let deduction = Deduction {
        id: DeductionId::parse(format!("refund-{}", earning.id))
            .map_err(|e| AppError::Invalid(e.to_string()))?,
        barber_id: earning.barber_id.clone(),
        kind: DeductionKind::Refund,
        amount,
        description,
        recorded_at: now,
        // Taken from the reserve: owed with its release, so the next payout is not cut.
        payable_from: from_reserve,
    };
    let hash = content_hash(&deduction.canonical_content());
    match p.store.insert_deduction(&deduction, &hash).await? {
        IntakeOutcome::Created => Ok(Applied::ClawedBack {
            deduction_id: deduction.id.to_string(),
            amount: deduction.amount.amount().to_string(),
        }),
        IntakeOutcome::Duplicate => Ok(Applied::Duplicate),
        IntakeOutcome::Conflict => Err(AppError::Conflict(format!(
            "booking {}'s refund was recorded with another amount",
            detail.booking_id
        ))),
    }
}

/// When the barber's reserve still kept covers a refund of `amount`: the earliest release
/// whose reserve, less what is owed against it already (refunds taken from it, a cancelled
/// payout's withdrawal), is at least `amount`. The refund is then owed with that release, so
/// it is taken from it; `None` when no release covers it, and it is owed from the next payout.
async fn reserve_covering(
    p: &Services,
    barber: &BarberId,
    amount: Money,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let pending = p
        .store
        .deductions_payable_after(barber, amount.currency(), now)
        .await?;
    let mut by_release: std::collections::BTreeMap<DateTime<Utc>, Money> =
        std::collections::BTreeMap::new();
    for deduction in &pending {
        let owed = by_release
            .entry(deduction.payable_from())
            .or_insert(Money::zero(amount.currency()));
        *owed = owed.checked_add(deduction.amount)?;
    }
    for (release, owed) in by_release {
        if !owed.checked_add(amount)?.is_positive() {
            return Ok(Some(release));
        }
    }
    Ok(None)
}

/// The JSON Schema of a `detail_type` event's detail, as `schemas/` holds it.
#[cfg(feature = "schemas")]
pub fn detail_schema(detail_type: &str) -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(ServiceDetail)).expect("a schema is JSON");
    schema["$id"] = Value::String(format!(
        "https://github.com/payout-scheduler/schemas/{detail_type}.v{VERSION}.json"
    ));
    schema["title"] = Value::String(format!("{detail_type} detail, version {VERSION}"));
    schema["description"] = Value::String(match detail_type {
        SERVICE_REFUNDED => "A service the booking platform refunded in full: its open earning is \
                             voided, or, once paid, what the barber was paid for it is owed back."
            .to_string(),
        _ => "A service the booking platform completed: the barber's earning, recorded once per \
              booking."
            .to_string(),
    });
    schema
}
