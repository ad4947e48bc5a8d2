//! Earnings and deductions: idempotent inserts and the open balance.

use chrono::{DateTime, Utc};
use payout_app::ports::{
    HeldEarnings, IntakeOutcome, OpenActivity, OpenWindow, StoreError, VoidOutcome,
};
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
                                   service, content_hash, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
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
                earning.kind.as_str(),
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
                                     recorded_at, content_hash, payable_from)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
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
                micros(deduction.payable_from()),
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
    window: OpenWindow,
) -> Result<OpenActivity, StoreError> {
    let mut one = open_activities(conn, &[(barber.clone(), currency, window)])?;
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

fn optional_instant(micros: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    micros.map(instant).transpose()
}

/// The open activity of each (barber, currency, window) in two queries, whatever their number
/// (passed as a JSON array of `[barber, currency, cutoff, earned_by]`).
pub fn open_activities(
    conn: &Connection,
    barbers: &[(BarberId, Currency, OpenWindow)],
) -> Result<Vec<OpenActivity>, StoreError> {
    let windows = serde_json::to_string(
        &barbers
            .iter()
            .map(|(barber, currency, window)| {
                serde_json::json!([
                    barber.as_str(),
                    currency.code(),
                    micros(window.cutoff),
                    micros(window.earned_by)
                ])
            })
            .collect::<Vec<_>>(),
    )
    .map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut open: Vec<OpenActivity> = vec![OpenActivity::default(); barbers.len()];
    let mut earnings = conn
        .prepare_cached(
            "SELECT a.asked,
                    COALESCE(SUM(CASE WHEN e.occurred_at <= a.earned_by AND e.kind = 'service'
                                      THEN e.amount_minor END), 0),
                    COUNT(CASE WHEN e.occurred_at <= a.earned_by AND e.kind = 'service' THEN 1 END),
                    COALESCE(SUM(CASE WHEN e.occurred_at <= a.earned_by AND e.kind = 'tip'
                                      THEN e.amount_minor END), 0),
                    COUNT(CASE WHEN e.occurred_at <= a.earned_by AND e.kind = 'tip' THEN 1 END),
                    COALESCE(SUM(CASE WHEN e.occurred_at > a.earned_by THEN e.amount_minor END), 0),
                    COUNT(CASE WHEN e.occurred_at > a.earned_by THEN 1 END),
                    MIN(CASE WHEN e.occurred_at > a.earned_by THEN e.occurred_at END),
                    MAX(CASE WHEN e.occurred_at > a.earned_by THEN e.occurred_at END),
                    MIN(e.occurred_at)
             FROM (SELECT key AS asked,
                          json_extract(value, '$[0]') AS barber_id,
                          json_extract(value, '$[1]') AS currency,
                          json_extract(value, '$[2]') AS cutoff,
                          json_extract(value, '$[3]') AS earned_by
                   FROM json_each(?1)) AS a
             JOIN earnings AS e ON e.barber_id = a.barber_id AND e.currency = a.currency
             WHERE e.payout_id IS NULL AND e.voided_at IS NULL AND e.recorded_at <= a.cutoff
             GROUP BY a.asked",
        )
        .map_err(backend)?;
    let rows = earnings
        .query_map(params![windows], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                [
                    row.get::<_, i64>(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                ],
                [row.get::<_, Option<i64>>(7)?, row.get(8)?, row.get(9)?],
            ))
        })
        .map_err(backend)?;
    let count = |n: i64| u32::try_from(n).map_err(|_| StoreError::Corrupt("count".into()));
    for row in rows {
        let (
            asked,
            [gross_minor, services, tips_minor, tips, held_minor, held],
            [first_held, last_held, earliest],
        ) = row.map_err(backend)?;
        let entry = asked_entry(&mut open, asked)?;
        entry.gross_minor = gross_minor;
        entry.services = count(services)?;
        entry.tips_minor = tips_minor;
        entry.tips = count(tips)?;
        entry.held = HeldEarnings {
            gross_minor: held_minor,
            services: count(held)?,
            earliest_service: optional_instant(first_held)?,
            latest_service: optional_instant(last_held)?,
        };
        entry.earliest_service = optional_instant(earliest)?;
    }
    let mut deductions = conn
        .prepare_cached(
            "SELECT a.asked, d.currency, d.id, d.kind, d.amount_minor, d.description
             FROM (SELECT key AS asked,
                          json_extract(value, '$[0]') AS barber_id,
                          json_extract(value, '$[1]') AS currency,
                          json_extract(value, '$[2]') AS cutoff
                   FROM json_each(?1)) AS a
             JOIN deductions AS d ON d.barber_id = a.barber_id AND d.currency = a.currency
             WHERE d.payout_id IS NULL AND d.payable_from <= a.cutoff
             ORDER BY a.asked, d.recorded_at, d.id",
        )
        .map_err(backend)?;
    let rows = deductions
        .query_map(params![windows], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
            ))
        })
        .map_err(backend)?;
    for row in rows {
        let (asked, code, id, kind, amount, description) = row.map_err(backend)?;
        let currency: Currency = code
            .parse()
            .map_err(|e: payout_core::money::MoneyError| StoreError::Corrupt(e.to_string()))?;
        let line = deduction_line(id, &kind, amount, description, currency)?;
        asked_entry(&mut open, asked)?.deductions.push(line);
    }
    Ok(open)
}

/// The activity of the `asked`-th (barber, currency, window) of a batch.
fn asked_entry(open: &mut [OpenActivity], asked: i64) -> Result<&mut OpenActivity, StoreError> {
    usize::try_from(asked)
        .ok()
        .and_then(|asked| open.get_mut(asked))
        .ok_or_else(|| StoreError::Backend(format!("no asked balance {asked}")))
}

/// The barber's open deductions in `currency` not payable until after `after` (reserves to be
/// released, and what is owed back against them).
pub fn deductions_payable_after(
    conn: &Connection,
    barber: &BarberId,
    currency: Currency,
    after: DateTime<Utc>,
) -> Result<Vec<Deduction>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT id, kind, amount_minor, description, recorded_at, payable_from
             FROM deductions
             WHERE barber_id = ?1 AND currency = ?2 AND payout_id IS NULL AND payable_from > ?3
             ORDER BY payable_from, id",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(
            params![barber.as_str(), currency.code(), micros(after)],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            },
        )
        .map_err(backend)?;
    let mut pending = Vec::new();
    for row in rows {
        let (id, kind, amount, description, recorded_at, payable_from) = row.map_err(backend)?;
        let line = deduction_line(id, &kind, amount, description, currency)?;
        pending.push(Deduction {
            id: line.id,
            barber_id: barber.clone(),
            kind: line.kind,
            amount: line.amount,
            description: line.description,
            recorded_at: instant(recorded_at)?,
            payable_from: Some(instant(payable_from)?),
        });
    }
    Ok(pending)
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
        .prepare_cached(&format!(
            "SELECT {EARNING_COLUMNS} FROM earnings WHERE id = ?1"
        ))
        .and_then(|mut statement| statement.query_row([id.as_str()], earning_row).optional())
        .map_err(backend)?;
    row.map(earning_of).transpose()
}

/// The earnings `payout` claims, by when they were performed (the index on `payout_id`).
pub fn earnings_of_payout(
    conn: &Connection,
    payout: &PayoutId,
) -> Result<Vec<Earning>, StoreError> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {EARNING_COLUMNS} FROM earnings WHERE payout_id = ?1 ORDER BY occurred_at, id"
        ))
        .map_err(backend)?;
    let rows = statement
        .query_map([payout.as_str()], earning_row)
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter().map(earning_of).collect()
}

const EARNING_COLUMNS: &str =
    "id, barber_id, currency, amount_minor, occurred_at, recorded_at, service, kind";

/// An earning's columns as [`EARNING_COLUMNS`] reads them.
type EarningRow = (String, String, String, i64, i64, i64, String, String);

fn earning_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EarningRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

fn earning_of(row: EarningRow) -> Result<Earning, StoreError> {
    let (id, barber, currency, amount, occurred_at, recorded_at, service, kind) = row;
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
    let currency: Currency = currency.parse().map_err(|e| corrupt(&e))?;
    Ok(Earning {
        id: EarningId::parse(id).map_err(|e| corrupt(&e))?,
        barber_id: BarberId::parse(barber).map_err(|e| corrupt(&e))?,
        amount: Money::from_minor(amount, currency),
        occurred_at: instant(occurred_at)?,
        service,
        kind: kind.parse().map_err(|e| corrupt(&e))?,
        recorded_at: instant(recorded_at)?,
    })
}
