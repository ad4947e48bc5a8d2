//! Barbers the planner could not plan, with why and until when they are left alone.

use chrono::{DateTime, Utc};
use payout_app::ports::{PlanningFailure, StoreError};
use payout_core::ids::BarberId;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{backend, codec};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS planning_failures (
    barber_id        TEXT PRIMARY KEY,
    reason           TEXT NOT NULL,
    failures         INTEGER NOT NULL,
    first_failed_at  INTEGER NOT NULL,
    last_failed_at   INTEGER NOT NULL,
    retry_at         INTEGER NOT NULL
);
"#;

const COLUMNS: &str = "barber_id, reason, failures, first_failed_at, last_failed_at, retry_at";

type Raw = (String, String, i64, i64, i64, i64);

fn raw(row: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn decode(
    (barber, reason, failures, first, last, retry): Raw,
) -> Result<PlanningFailure, StoreError> {
    Ok(PlanningFailure {
        barber_id: BarberId::parse(barber).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        reason,
        failures: u32::try_from(failures)
            .map_err(|_| StoreError::Corrupt(format!("{failures} planning failures")))?,
        first_failed_at: codec::instant(first)?,
        last_failed_at: codec::instant(last)?,
        retry_at: codec::instant(retry)?,
    })
}

pub fn record(
    conn: &Connection,
    barber: &BarberId,
    reason: &str,
    at: DateTime<Utc>,
    retry_at: DateTime<Utc>,
) -> Result<PlanningFailure, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "INSERT INTO planning_failures ({COLUMNS}) VALUES (?1, ?2, 1, ?3, ?3, ?4)
             ON CONFLICT (barber_id) DO UPDATE SET reason = excluded.reason,
                 failures = failures + 1, last_failed_at = excluded.last_failed_at,
                 retry_at = excluded.retry_at
             RETURNING {COLUMNS}"
        ))
        .and_then(|mut statement| {
            statement.query_row(
                params![
                    barber.as_str(),
                    reason,
                    codec::micros(at),
                    codec::micros(retry_at)
                ],
                raw,
            )
        })
        .map_err(backend)?;
    decode(row)
}

pub fn clear(conn: &Connection, barber: &BarberId) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM planning_failures WHERE barber_id = ?1")
        .and_then(|mut statement| statement.execute(params![barber.as_str()]))
        .map_err(backend)?;
    Ok(())
}

pub fn get(conn: &Connection, barber: &BarberId) -> Result<Option<PlanningFailure>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM planning_failures WHERE barber_id = ?1"
    ))
    .and_then(|mut statement| {
        statement
            .query_row(params![barber.as_str()], raw)
            .optional()
    })
    .map_err(backend)?
    .map(decode)
    .transpose()
}

pub fn list(conn: &Connection, limit: usize) -> Result<Vec<PlanningFailure>, StoreError> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM planning_failures ORDER BY barber_id LIMIT ?1"
        ))
        .map_err(backend)?;
    let rows = statement
        .query_map(params![limit as i64], raw)
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter().map(decode).collect()
}
