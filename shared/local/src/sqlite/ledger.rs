//! Earnings and deductions: idempotent inserts and the open balance.

use chrono::{DateTime, Utc};
use payout_app::ports::{IntakeOutcome, OpenActivity, StoreError, VoidOutcome};
use payout_core::deduction::{DeductionKind, DeductionLine};
use payout_core::ids::{BarberId, DeductionId, EarningId, PayoutId};
use payout_core::ledger::{Deduction, Earning};
use payout_core::money::{Currency, Money};
use rusqlite::{Connection, OptionalExtension, params};

use super::backend;
use super::codec::{instant, micros, minor};

fn existing_hash(conn: &Connection, table: &str, id: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached(&format!("SELECT content_hash FROM {table} WHERE id = ?1"))
        .and_then(|mut statement| statement.query_row([id], |row| row.get(0)).optional())
        .map_err(backend)
}

fn outcome_for_existing(stored: &str, submitted: &str) -> IntakeOutcome {
    if stored == submitted {
        IntakeOutcome::Duplicate
    } else {
        IntakeOutcome::Conflict
    }
}

/// Inserts a batch in the caller's transaction.
pub fn insert_earnings(
    conn: &Connection,
    earnings: &[Earning],
    hashes: &[String],
) -> Result<Vec<IntakeOutcome>, StoreError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO earnings (id, barber_id, currency, amount_minor, occurred_at, recorded_at,
                                   service, content_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
        )
        .map_err(backend)?;
    let mut outcomes = Vec::with_capacity(earnings.len());
    for (earning, hash) in earnings.iter().zip(hashes) {
        let inserted = insert
            .execute(params![
                earning.id.as_str(),
                earning.barber_id.as_str(),
                earning.amount.currency().code(),
                minor(earning.amount)?,
                micros(earning.occurred_at),
                micros(earning.recorded_at),
                earning.service,
                hash,
            ])
            .map_err(backend)?;
        outcomes.push(if inserted == 1 {
            IntakeOutcome::Created
        } else {
            let stored = existing_hash(conn, "earnings", earning.id.as_str())?.unwrap_or_default();
            outcome_for_existing(&stored, hash)
        });
    }
    Ok(outcomes)
}

pub fn insert_deduction(
    conn: &Connection,
    deduction: &Deduction,
    hash: &str,
) -> Result<IntakeOutcome, StoreError> {
    let amount_minor = minor(deduction.amount)?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO deductions (id, barber_id, kind, currency, amount_minor, description,
                                     recorded_at, content_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                deduction.id.as_str(),
                deduction.barber_id.as_str(),
                deduction.kind.as_str(),
                deduction.amount.currency().code(),
                amount_minor,
                deduction.description,
                micros(deduction.recorded_at),
                hash,
            ])
        })
        .map_err(backend)?;
    if inserted == 1 {
        return Ok(IntakeOutcome::Created);
    }
    let stored = existing_hash(conn, "deductions", deduction.id.as_str())?.unwrap_or_default();
    Ok(outcome_for_existing(&stored, hash))
}

pub fn open_activity(
    conn: &Connection,
    barber: &BarberId,
    currency: Currency,
    cutoff: DateTime<Utc>,
) -> Result<OpenActivity, StoreError> {
    let mut one = open_activities(conn, &[(barber.clone(), currency)], cutoff)?;
    Ok(one.pop().unwrap_or_default())
}

fn deduction_line(
    id: String,
    kind: &str,
    amount: i64,
    description: String,
    currency: Currency,
) -> Result<DeductionLine, StoreError> {
    Ok(DeductionLine {
        id: DeductionId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        kind: kind
            .parse::<DeductionKind>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        amount: Money::from_minor(amount, currency),
        description,
    })
}

/// The open activity of each (barber, currency) in two queries, whatever their number (the
/// barbers passed as a JSON array).
pub fn open_activities(
    conn: &Connection,
    barbers: &[(BarberId, Currency)],
    cutoff: DateTime<Utc>,
) -> Result<Vec<OpenActivity>, StoreError> {
    let ids = serde_json::to_string(
        &barbers
            .iter()
            .map(|(barber, _)| barber.as_str())
            .collect::<Vec<_>>(),
    )
    .map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut open: std::collections::HashMap<(String, String), OpenActivity> =
        std::collections::HashMap::new();
    let mut earnings = conn
        .prepare_cached(
            "SELECT barber_id, currency, COALESCE(SUM(amount_minor), 0), COUNT(*) FROM earnings
             WHERE barber_id IN (SELECT value FROM json_each(?1)) AND payout_id IS NULL
               AND voided_at IS NULL AND recorded_at <= ?2
             GROUP BY barber_id, currency",
        )
        .map_err(backend)?;
    let rows = earnings
        .query_map(params![ids, micros(cutoff)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .map_err(backend)?;
    for row in rows {
        let (barber, currency, gross_minor, services) = row.map_err(backend)?;
        let entry = open.entry((barber, currency)).or_default();
        entry.gross_minor = gross_minor;
        entry.services =
            u32::try_from(services).map_err(|_| StoreError::Corrupt("count".into()))?;
    }
    let mut deductions = conn
        .prepare_cached(
            "SELECT barber_id, currency, id, kind, amount_minor, description FROM deductions
             WHERE barber_id IN (SELECT value FROM json_each(?1)) AND payout_id IS NULL
               AND recorded_at <= ?2
             ORDER BY barber_id, recorded_at, id",
        )
        .map_err(backend)?;
    let rows = deductions
        .query_map(params![ids, micros(cutoff)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
            ))
        })
        .map_err(backend)?;
    for row in rows {
        let (barber, code, id, kind, amount, description) = row.map_err(backend)?;
        let currency: Currency = code
            .parse()
            .map_err(|e: payout_core::money::MoneyError| StoreError::Corrupt(e.to_string()))?;
        let line = deduction_line(id, &kind, amount, description, currency)?;
        open.entry((barber, code))
            .or_default()
            .deductions
            .push(line);
    }
    Ok(barbers
        .iter()
        .map(|(barber, currency)| {
            open.remove(&(barber.as_str().to_string(), currency.code().to_string()))
                .unwrap_or_default()
        })
        .collect())
}

pub fn void_earning(
    conn: &Connection,
    id: &EarningId,
    at: DateTime<Utc>,
) -> Result<VoidOutcome, StoreError> {
    let voided = conn
        .prepare_cached(
            "UPDATE earnings SET voided_at = ?2
             WHERE id = ?1 AND payout_id IS NULL AND voided_at IS NULL",
        )
        .and_then(|mut statement| statement.execute(params![id.as_str(), micros(at)]))
        .map_err(backend)?;
    if voided == 1 {
        return Ok(VoidOutcome::Voided);
    }
    let stored: Option<(Option<String>, Option<i64>)> = conn
        .prepare_cached("SELECT payout_id, voided_at FROM earnings WHERE id = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([id.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(backend)?;
    Ok(match stored {
        None => VoidOutcome::Unknown,
        Some((_, Some(_))) => VoidOutcome::AlreadyVoided,
        Some((Some(payout), None)) => VoidOutcome::Claimed(
            PayoutId::parse(payout).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
        Some((None, None)) => VoidOutcome::Unknown,
    })
}

pub fn get_earning(conn: &Connection, id: &EarningId) -> Result<Option<Earning>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT barber_id, currency, amount_minor, occurred_at, recorded_at, service
             FROM earnings WHERE id = ?1",
        )
        .and_then(|mut statement| {
            statement
                .query_row([id.as_str()], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, String>(5)?,
                    ))
                })
                .optional()
        })
        .map_err(backend)?;
    let Some((barber, currency, amount, occurred_at, recorded_at, service)) = row else {
        return Ok(None);
    };
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
    let currency: Currency = currency.parse().map_err(|e| corrupt(&e))?;
    Ok(Some(Earning {
        id: id.clone(),
        barber_id: BarberId::parse(barber).map_err(|e| corrupt(&e))?,
        amount: Money::from_minor(amount, currency),
        occurred_at: instant(occurred_at)?,
        service,
        recorded_at: instant(recorded_at)?,
    }))
}
