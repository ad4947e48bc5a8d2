//! Earnings and deductions in. Idempotent by id: the same id with the same content returns the
//! stored record's outcome, with different content it is a conflict (docs/design.md, the
//! exactly-once protocol).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use payout_core::ids::BarberId;
use payout_core::ledger::{Deduction, Earning};
use payout_core::money::{Currency, Money};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::config::IntakeLimits;
use crate::error::AppError;
use crate::ports::{IntakeOutcome, ScheduleStore, Store};

/// The largest batch one request may carry.
pub const MAX_BATCH: usize = 500;

/// SHA-256 of a record's canonical content, hex: what makes a repeated id a duplicate or a
/// conflict.
pub fn content_hash(canonical: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Refuses an amount above `limit`, naming the limit and the configuration key that sets it.
pub fn within_limit(what: &str, amount: Money, limit: Decimal, key: &str) -> Result<(), AppError> {
    if amount.amount() > limit {
        return Err(AppError::Invalid(format!(
            "{what}: {} is above the limit of {} {} ({key})",
            amount.amount(),
            limit.normalize(),
            amount.currency()
        )));
    }
    Ok(())
}

/// Refuses earnings intake does not accept: above the limit per earning, or performed outside
/// the accepted window around `now` (a year back, a day ahead by default).
pub fn check_earnings(
    limits: &IntakeLimits,
    earnings: &[Earning],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for earning in earnings {
        within_limit(
            &format!("earning {}", earning.id),
            earning.amount,
            limits.max_earning,
            "intake.max_earning",
        )?;
        let earliest = now - limits.occurred_within_past;
        let latest = now + limits.occurred_within_future;
        if earning.occurred_at < earliest || earning.occurred_at > latest {
            return Err(AppError::Invalid(format!(
                "earning {}: occurred_at must lie between {} and {} \
                 (intake.occurred_within_past, intake.occurred_within_future)",
                earning.id,
                earliest.format("%Y-%m-%dT%H:%M:%SZ"),
                latest.format("%Y-%m-%dT%H:%M:%SZ")
            )));
        }
    }
    Ok(())
}

/// Why `earning` cannot be recorded against the barbers' schedules, if it cannot: its barber
/// has none, it is in another currency than the barber is paid in, or its amount is not
/// positive. `currencies` keeps each barber's currency between calls (one read a barber).
pub async fn refusal(
    store: &dyn Store,
    earning: &Earning,
    currencies: &mut HashMap<BarberId, Option<Currency>>,
) -> Result<Option<String>, AppError> {
    let currency = match currencies.get(&earning.barber_id) {
        Some(currency) => *currency,
        None => {
            let currency = store
                .get_schedule(&earning.barber_id)
                .await?
                .map(|schedule| schedule.currency);
            currencies.insert(earning.barber_id.clone(), currency);
            currency
        }
    };
    Ok(match currency {
        None => Some(no_schedule(&earning.barber_id)),
        Some(currency) if earning.amount.currency() != currency => Some(format!(
            "earning {} is in {} but barber {} is paid in {currency}",
            earning.id,
            earning.amount.currency(),
            earning.barber_id
        )),
        Some(_) if !earning.amount.is_positive() => Some(format!(
            "earning {} must have a positive amount; refunds are recorded as deductions",
            earning.id
        )),
        Some(_) => None,
    })
}

fn no_schedule(barber: &BarberId) -> String {
    format!("barber {barber} has no payout schedule; create one before recording money")
}

/// Records a batch of earnings atomically: either every earning is valid and written (or found
/// to be a duplicate), or nothing is written.
pub async fn ingest_earnings(
    store: &dyn Store,
    earnings: &[Earning],
) -> Result<Vec<IntakeOutcome>, AppError> {
    let mut currencies = HashMap::new();
    for earning in earnings {
        if let Some(refused) = refusal(store, earning, &mut currencies).await? {
            return Err(AppError::Invalid(refused));
        }
    }
    let hashes: Vec<String> = earnings
        .iter()
        .map(|earning| content_hash(&earning.canonical_content()))
        .collect();
    Ok(store.insert_earnings(earnings, &hashes).await?)
}

pub async fn ingest_deduction(
    store: &dyn Store,
    deduction: &Deduction,
) -> Result<IntakeOutcome, AppError> {
    let currency = barber_currency(store, &deduction.barber_id).await?;
    if deduction.amount.currency() != currency {
        return Err(AppError::Invalid(format!(
            "deduction {} is in {} but barber {} is paid in {currency}",
            deduction.id,
            deduction.amount.currency(),
            deduction.barber_id
        )));
    }
    if !deduction.amount.is_positive() {
        return Err(AppError::Invalid(format!(
            "deduction {} must be a positive amount",
            deduction.id
        )));
    }
    let hash = content_hash(&deduction.canonical_content());
    Ok(store.insert_deduction(deduction, &hash).await?)
}

async fn barber_currency(
    store: &dyn ScheduleStore,
    barber: &BarberId,
) -> Result<Currency, AppError> {
    store
        .get_schedule(barber)
        .await?
        .map(|schedule| schedule.currency)
        .ok_or_else(|| AppError::Invalid(no_schedule(barber)))
}
