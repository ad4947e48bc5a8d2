//! Stripe webhooks: verify the `Stripe-Signature` header, apply each event once, and count
//! failures for the webhook alarm.
//!
//! The signature is HMAC-SHA256 of `"{timestamp}.{body}"` with the endpoint's secret, compared in
//! constant time; a timestamp more than five minutes from now is refused, which bounds replays,
//! and event ids are recorded so a redelivered event changes nothing. Every change an event makes
//! is itself a guarded state transition, so applying one twice would be harmless anyway.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use payout_core::ids::PayoutId;
use payout_core::retry::FailureKind;
use payout_core::status::PayoutStatus;
use serde::Deserialize;
use sha2::Sha256;

use crate::error::AppError;
use crate::lifecycle::{self, Change, Figures};
use crate::ports::{Metric, NotificationKind, WriteOutcome};
use crate::readiness;
use crate::services::Services;

/// Stripe's own default tolerance.
pub const TOLERANCE: TimeDelta = TimeDelta::seconds(300);
const ACTOR: &str = "stripe-webhook";

/// Stripe's codes for a destination that cannot receive money until the barber fixes it:
/// payouts to it wait on hold rather than fail one after another.
pub const ACCOUNT_UNUSABLE_CODES: [&str; 4] = [
    "account_closed",
    "no_account",
    "invalid_account_number",
    "payouts_not_allowed",
];

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("missing or malformed Stripe-Signature header")]
    MissingSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp outside the {0}s tolerance")]
    Stale(i64),
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error(transparent)]
    App(#[from] AppError),
}

/// Checks `header` (`t=...,v1=...`) against `body` and `secret` at `now`.
pub fn verify(
    header: &str,
    body: &[u8],
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MissingSignature)?;
    if signatures.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    if (now.timestamp() - timestamp).abs() > TOLERANCE.num_seconds() {
        return Err(WebhookError::Stale(TOLERANCE.num_seconds()));
    }
    let matches = signatures.iter().any(|hex| {
        let Some(expected) = decode_hex(hex) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The header Stripe would send for `body` at `timestamp` (for tests and local tooling).
pub fn sign(body: &[u8], secret: &[u8], timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// When Stripe created the event (seconds): its events come in no set order, and this says
    /// which word about an account is the newer.
    #[serde(default)]
    created: Option<i64>,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied(String),
    Duplicate,
    Ignored(String),
}

/// Verifies and applies one delivery.
///
/// Only a delivery that proves it comes from Stripe (a valid signature on a well-formed event)
/// counts towards the webhook failure rate: anybody can post garbage to a public endpoint, and
/// that must not raise an alert by itself. Refused deliveries are their own figure.
pub async fn handle_stripe_webhook(
    p: &Services,
    secret: &[u8],
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<WebhookOutcome, WebhookError> {
    let event = match authenticate(secret, signature, body, now) {
        Ok(event) => event,
        Err(error) => {
            p.metrics.publish(
                &[("Provider", "stripe")],
                &[Metric::count("WebhooksRejected", 1)],
            );
            tracing::warn!(%error, "webhook refused before it was applied");
            return Err(error);
        }
    };
    let result = receive(p, &event, now).await;
    p.metrics.publish(
        &[("Provider", "stripe")],
        &[
            Metric::count("WebhooksReceived", 1),
            Metric::count("WebhooksFailed", i64::from(result.is_err())),
        ],
    );
    if let Err(error) = &result {
        tracing::warn!(%error, event = %event.id, "webhook could not be applied");
    }
    result
}

fn authenticate(
    secret: &[u8],
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Event, WebhookError> {
    verify(
        signature.ok_or(WebhookError::MissingSignature)?,
        body,
        secret,
        now,
    )?;
    serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))
}

async fn receive(
    p: &Services,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<WebhookOutcome, WebhookError> {
    // Recorded first, so a replayed event cannot undo what happened since; forgotten again if
    // applying it fails, so Stripe's redelivery is not mistaken for a duplicate.
    if !p
        .store
        .record_webhook_event(&event.id, now)
        .await
        .map_err(AppError::from)?
    {
        return Ok(WebhookOutcome::Duplicate);
    }
    match apply(p, event, now).await {
        Ok(outcome) => Ok(outcome),
        Err(error) => {
            p.store
                .forget_webhook_event(&event.id)
                .await
                .map_err(AppError::from)?;
            Err(error.into())
        }
    }
}

fn text<'a>(object: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(object, |value, key| value.get(key))?
        .as_str()
}

async fn apply(
    p: &Services,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<WebhookOutcome, AppError> {
    let object = &event.data.object;
    let payout_ref = match event.kind.as_str() {
        "payout.paid" | "payout.failed" => text(object, &["metadata", "payout_id"]),
        "transfer.reversed" => text(object, &["transfer_group"]),
        "account.updated" => {
            let said_at = event
                .created
                .and_then(|at| DateTime::from_timestamp(at, 0))
                .unwrap_or(now);
            return account_updated(p, object, &event.id, said_at, now).await;
        }
        other => return Ok(WebhookOutcome::Ignored(format!("event type {other}"))),
    };
    let Some(id) = payout_ref.and_then(|raw| PayoutId::parse(raw).ok()) else {
        return Ok(WebhookOutcome::Ignored("not one of our payouts".into()));
    };
    let Some(mut payout) = p.store.get_payout(&id).await? else {
        return Ok(WebhookOutcome::Ignored(format!("unknown payout {id}")));
    };
    let read = payout.version;
    // The account a provider's report says cannot be paid: restricted once the report is
    // recorded, so the next payout to it waits on hold rather than being attempted blindly.
    let mut restrict = None;
    let (event_record, notice) = match (event.kind.as_str(), payout.status) {
        ("payout.paid", PayoutStatus::InTransit) => (
            payout.confirm_arrival(now, ACTOR, &format!("arrived ({})", event.id))?,
            Some(NotificationKind::Completed),
        ),
        // Paid before its transfer is recorded here (the attempt's answer was lost, and the
        // executor or reconciliation has yet to adopt it): refused unrecorded, so Stripe's
        // redelivery (for up to three days) finds it in transit. Ignoring it would leave the
        // payout in transit for good, as no second `payout.paid` comes.
        ("payout.paid", PayoutStatus::Processing | PayoutStatus::RetryScheduled) => {
            return Err(AppError::Conflict(format!(
                "payout {id} is {}: its transfer is not recorded yet; Stripe will redeliver",
                payout.status
            )));
        }
        // Failed while its attempt's answer was still unknown here (a timeout after Stripe made
        // the instant payout): the provider's report is final for that attempt, before any
        // lookup could take the transfer for a payment.
        (
            "payout.failed",
            PayoutStatus::InTransit | PayoutStatus::Processing | PayoutStatus::RetryScheduled,
        ) => {
            let code = text(object, &["failure_code"]).unwrap_or("unknown");
            let detail = format!("Stripe payout failed: {code} ({})", event.id);
            if ACCOUNT_UNUSABLE_CODES.contains(&code) {
                restrict =
                    readiness::provider_account(&payout).map(|a| (a.to_string(), detail.clone()));
            }
            (
                payout.fail(now, ACTOR, FailureKind::ProviderRejected, &detail)?,
                Some(NotificationKind::Failed),
            )
        }
        ("transfer.reversed", PayoutStatus::InTransit) => {
            let detail = format!("transfer reversed ({})", event.id);
            (
                payout.fail(now, ACTOR, FailureKind::ProviderRejected, &detail)?,
                Some(NotificationKind::Failed),
            )
        }
        ("transfer.reversed", PayoutStatus::Completed) => {
            tracing::error!(payout_id = %id, event = %event.id, "the transfer of a completed payout was reversed: operator action needed");
            return Ok(WebhookOutcome::Ignored(
                "reversal of a completed payout: escalated".into(),
            ));
        }
        (kind, status) => {
            return Ok(WebhookOutcome::Ignored(format!(
                "{kind} for a {status} payout"
            )));
        }
    };
    let applied = format!("{} -> {}", event.kind, payout.status);
    let change = Change {
        payout,
        read_version: read,
        event: event_record,
        notice,
        figures: Figures::Uncounted,
    };
    if lifecycle::record(p, change, now).await? == WriteOutcome::Stale {
        return Err(AppError::Conflict(format!(
            "payout {id} changed meanwhile; Stripe will redeliver"
        )));
    }
    if let Some((account, reason)) = restrict {
        readiness::restrict(p, &account, &reason, now, now).await?;
    }
    Ok(WebhookOutcome::Applied(applied))
}

/// `account.updated`: a connected account whose payouts Stripe disabled (`payouts_enabled:
/// false`, or a `requirements.disabled_reason`) is restricted, so payouts to it wait on hold;
/// one whose payouts are enabled again has its restriction lifted and its held payouts resumed.
async fn account_updated(
    p: &Services,
    account: &serde_json::Value,
    event_id: &str,
    said_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<WebhookOutcome, AppError> {
    let Some(account_id) = text(account, &["id"]) else {
        return Ok(WebhookOutcome::Ignored("account without an id".into()));
    };
    let enabled = account
        .get("payouts_enabled")
        .and_then(serde_json::Value::as_bool);
    let disabled_reason = text(account, &["requirements", "disabled_reason"]);
    match (enabled, disabled_reason) {
        (Some(false), _) | (_, Some(_)) => {
            let why = disabled_reason.unwrap_or("payouts disabled");
            let reason = format!("Stripe disabled payouts to the account: {why} ({event_id})");
            Ok(WebhookOutcome::Applied(
                match readiness::restrict(p, account_id, &reason, now, said_at).await? {
                    Some(_) => format!("{account_id} restricted"),
                    None => format!("{account_id}: a newer event was applied already"),
                },
            ))
        }
        (Some(true), None) => {
            let why = format!("Stripe enabled payouts to the account again ({event_id})");
            let resumed = readiness::lift(p, account_id, said_at, ACTOR, &why, now).await?;
            Ok(WebhookOutcome::Applied(format!(
                "{account_id} ready: {resumed} held payout(s) resumed"
            )))
        }
        (None, None) => Ok(WebhookOutcome::Ignored(
            "no word on the account's payouts".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_and_fail_closed() {
        let now = DateTime::from_timestamp(1_772_834_400, 0).unwrap();
        let header = sign(b"{}", b"whsec_1", now.timestamp());
        assert!(verify(&header, b"{}", b"whsec_1", now).is_ok());
        assert!(matches!(
            verify(&header, b"{ }", b"whsec_1", now),
            Err(WebhookError::BadSignature)
        ));
        assert!(matches!(
            verify(&header, b"{}", b"whsec_2", now),
            Err(WebhookError::BadSignature)
        ));
        let later = now + TimeDelta::seconds(301);
        assert!(matches!(
            verify(&header, b"{}", b"whsec_1", later),
            Err(WebhookError::Stale(_))
        ));
        assert!(matches!(
            verify("v1=00", b"{}", b"whsec_1", now),
            Err(WebhookError::MissingSignature)
        ));
        assert!(matches!(
            verify(
                "t=1,v1=zz",
                b"{}",
                b"whsec_1",
                DateTime::from_timestamp(1, 0).unwrap()
            ),
            Err(WebhookError::BadSignature)
        ));
    }
}
