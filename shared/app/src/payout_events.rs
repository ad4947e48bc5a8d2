//! Payout events out to the booking platform: every state change that matters to it
//! (`PayoutScheduled`, `PayoutCompleted`, `PayoutFailed`, `PayoutRetryScheduled`,
//! `PayoutCancelled`, `PayoutReturned`, `BarberAccountActionNeeded`), at least once, from the
//! store's outbox (each audit event, written in the transaction of the change it records). An
//! event is marked published only once the publisher delivered it; a partial failure is
//! retried for what failed. Each carries a stable id (`<payout>:<sequence>`) for consumers to
//! drop duplicates. One not delivered within `events.expire_after` of its change is given up
//! (counted as `EventsExpired`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use payout_core::ids::PayoutId;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::retry::FailureKind;
use payout_core::status::PayoutStatus;
use serde::Serialize;

use crate::error::AppError;
use crate::ports::{EventPublisher, Metric, OutboundEvent};
use crate::services::Services;

pub const PAYOUT_SCHEDULED: &str = "PayoutScheduled";
pub const PAYOUT_COMPLETED: &str = "PayoutCompleted";
pub const PAYOUT_FAILED: &str = "PayoutFailed";
pub const PAYOUT_RETRY_SCHEDULED: &str = "PayoutRetryScheduled";
pub const PAYOUT_CANCELLED: &str = "PayoutCancelled";
pub const PAYOUT_RETURNED: &str = "PayoutReturned";
pub const ACCOUNT_ACTION_NEEDED: &str = "BarberAccountActionNeeded";

/// How many outbox events one call publishes at most.
pub const PUBLISH_BATCH: usize = 100;

/// The platform's events for the change `event` records on `payout` (none for the steps in
/// between: processing, in transit).
pub fn event_types(event: &AuditEvent, payout: &Payout) -> Vec<&'static str> {
    match (event.from, event.to) {
        (None, _) => vec![PAYOUT_SCHEDULED],
        (Some(PayoutStatus::InTransit | PayoutStatus::Completed), PayoutStatus::Failed) => {
            vec![PAYOUT_RETURNED]
        }
        (_, PayoutStatus::Failed) => match payout.failure_kind {
            Some(
                FailureKind::AccountNotVerified
                | FailureKind::InvalidPaymentMethod
                | FailureKind::AccountUnusable,
            ) => {
                vec![PAYOUT_FAILED, ACCOUNT_ACTION_NEEDED]
            }
            _ => vec![PAYOUT_FAILED],
        },
        // Waiting for the barber to fix their account: the platform may remind them.
        (_, PayoutStatus::OnHold) => vec![ACCOUNT_ACTION_NEEDED],
        (_, PayoutStatus::Completed) => vec![PAYOUT_COMPLETED],
        (_, PayoutStatus::RetryScheduled) => vec![PAYOUT_RETRY_SCHEDULED],
        (_, PayoutStatus::Cancelled) => vec![PAYOUT_CANCELLED],
        (
            _,
            PayoutStatus::AwaitingApproval
            | PayoutStatus::Scheduled
            | PayoutStatus::Queued
            | PayoutStatus::Processing
            | PayoutStatus::InTransit,
        ) => vec![],
    }
}

/// Every payout event's data (the EventBridge `detail`, the webhook's `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemas", derive(schemars::JsonSchema))]
pub struct PayoutEventData {
    /// Stable across redeliveries: drop an event whose id was seen.
    pub event_id: String,
    pub payout_id: String,
    pub barber_id: String,
    /// The payout's status after the change.
    pub status: String,
    /// Its status before (none when it was scheduled).
    pub previous_status: Option<String>,
    /// stripe_standard, stripe_instant, bank_transfer or manual.
    pub method: String,
    /// Decimal strings in `currency`.
    pub gross_amount: String,
    pub net_amount: String,
    pub currency: String,
    /// Why (the audit trail's reason: a failure's cause, an operator's note).
    pub reason: String,
    pub occurred_at: DateTime<Utc>,
}

/// Every type of payout event this system publishes.
pub const EVENT_TYPES: [&str; 7] = [
    PAYOUT_SCHEDULED,
    PAYOUT_COMPLETED,
    PAYOUT_FAILED,
    PAYOUT_RETRY_SCHEDULED,
    PAYOUT_CANCELLED,
    PAYOUT_RETURNED,
    ACCOUNT_ACTION_NEEDED,
];

/// The events for `event` (the `seq`th of its payout's trail), each with its id and data.
pub fn outbound(seq: u64, event: &AuditEvent, payout: &Payout) -> Vec<OutboundEvent> {
    event_types(event, payout)
        .into_iter()
        .map(|detail_type| {
            let id = match detail_type {
                ACCOUNT_ACTION_NEEDED => format!("{}:{seq}:account", event.payout_id),
                _ => format!("{}:{seq}", event.payout_id),
            };
            let b = &payout.breakdown;
            let data = PayoutEventData {
                event_id: id.clone(),
                payout_id: payout.id.to_string(),
                barber_id: payout.barber_id.to_string(),
                status: event.to.as_str().to_string(),
                previous_status: event.from.map(|from| from.as_str().to_string()),
                method: payout.method.as_str().to_string(),
                gross_amount: b.gross.amount().to_string(),
                net_amount: b.net.amount().to_string(),
                currency: b.net.currency().code().to_string(),
                reason: event.reason.clone(),
                occurred_at: event.at,
            };
            OutboundEvent {
                data: serde_json::to_value(data).expect("event data is JSON"),
                id,
                detail_type,
                occurred_at: event.at,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// Events delivered.
    pub published: usize,
    /// Events that failed, left in the outbox for the next call.
    pub failed: usize,
    /// Events given up: undelivered past `events.expire_after`.
    pub expired: usize,
}

/// Publishes up to [`PUBLISH_BATCH`] events of the outbox through `publisher`, marking the
/// audit events whose every event was delivered, or that expired by `now`.
pub async fn publish_payout_events(
    p: &Services,
    publisher: &dyn EventPublisher,
    now: DateTime<Utc>,
) -> Result<PublishReport, AppError> {
    let mut report = PublishReport::default();
    let mut delivered = Vec::new();
    let mut pending = Vec::new();
    for (seq, event) in p.store.unpublished_events(PUBLISH_BATCH).await? {
        if event.at + p.config.events_expire_after < now {
            tracing::warn!(payout_id = %event.payout_id, seq, "payout event expired undelivered");
            report.expired += 1;
            delivered.push((seq, event));
        } else {
            pending.push((seq, event));
        }
    }
    let mut ids: Vec<PayoutId> = pending.iter().map(|(_, e)| e.payout_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let payouts: HashMap<PayoutId, Payout> = p
        .store
        .get_payouts(&ids)
        .await?
        .into_iter()
        .map(|payout| (payout.id.clone(), payout))
        .collect();
    let mut events = Vec::new();
    // For each audit event, the range of `events` it made.
    let mut made = Vec::with_capacity(pending.len());
    for (seq, event) in &pending {
        let payout = payouts
            .get(&event.payout_id)
            .ok_or_else(|| AppError::NotFound(format!("payout {}", event.payout_id)))?;
        let start = events.len();
        events.extend(outbound(*seq, event, payout));
        made.push(start..events.len());
    }
    let results = if events.is_empty() {
        Vec::new()
    } else {
        publisher.publish(&events).await
    };
    for ((seq, event), range) in pending.iter().zip(made) {
        let failures = results[range.clone()].iter().filter(|r| r.is_err()).count();
        report.failed += failures;
        report.published += range.len() - failures;
        if failures == 0 {
            delivered.push((*seq, event.clone()));
        }
    }
    for (event, result) in events.iter().zip(&results) {
        if let Err(error) = result {
            tracing::warn!(event_id = %event.id, %error, "payout event not published; retried later");
        }
    }
    p.store.mark_published(&delivered).await?;
    p.metrics.publish(
        &[],
        &[
            Metric::count("EventsPublished", report.published as i64),
            Metric::count("EventsPublishFailed", report.failed as i64),
            Metric::count("EventsExpired", report.expired as i64),
        ],
    );
    Ok(report)
}

/// The JSON Schema of a payout event's data, as `schemas/` holds it.
#[cfg(feature = "schemas")]
pub fn data_schema(detail_type: &str) -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(PayoutEventData)).expect("a schema is JSON");
    schema["$id"] = serde_json::Value::String(format!(
        "https://github.com/payout-scheduler/schemas/{detail_type}.v1.json"
    ));
    schema["title"] = serde_json::Value::String(format!("{detail_type} data, version 1"));
    schema
}
