//! Schedules and the due index.

use chrono::{DateTime, Utc};
use payout_app::ports::{AdvanceNotice, DueCursor, DueSchedule, StoreError};
use payout_core::ids::BarberId;
use payout_core::schedule::{PayoutSchedule, ScheduleState};
use rusqlite::{Connection, OptionalExtension, params};

use super::backend;
use super::codec::{from_json, instant, micros, to_json};

/// Writes `schedule` as its next version if the stored one is still at its version (the
/// caller's transaction makes the read and the write one step).
pub fn replace(conn: &Connection, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
    if get(conn, &schedule.barber_id)?.map(|stored| stored.version) != Some(schedule.version) {
        return Ok(false);
    }
    let next = PayoutSchedule {
        version: schedule.version + 1,
        ..schedule.clone()
    };
    write(
        conn,
        &next,
        "ON CONFLICT (barber_id) DO UPDATE SET active = ?2, next_run_at = ?3, body = ?4",
    )?;
    Ok(true)
}

pub fn insert(conn: &Connection, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
    Ok(write(conn, schedule, "ON CONFLICT (barber_id) DO NOTHING")? == 1)
}

/// Inserts the schedule's row, resolving a conflict as `on_conflict` says; returns the rows
/// written.
fn write(
    conn: &Connection,
    schedule: &PayoutSchedule,
    on_conflict: &str,
) -> Result<usize, StoreError> {
    let body = to_json(schedule)?;
    conn.prepare_cached(&format!(
        "INSERT INTO schedules (barber_id, active, next_run_at, body) VALUES (?1, ?2, ?3, ?4)
         {on_conflict}"
    ))
    .and_then(|mut statement| {
        statement.execute(params![
            schedule.barber_id.as_str(),
            schedule.state == ScheduleState::Active,
            micros(schedule.next_run_at),
            body,
        ])
    })
    .map_err(backend)
}

pub fn get(conn: &Connection, barber: &BarberId) -> Result<Option<PayoutSchedule>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM schedules WHERE barber_id = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([barber.as_str()], |row| row.get(0))
                .optional()
        })
        .map_err(backend)?;
    body.map(|body| from_json(&body)).transpose()
}

pub fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    cursor: Option<&DueCursor>,
    limit: usize,
) -> Result<Vec<DueSchedule>, StoreError> {
    let (after_at, after_barber) = match cursor {
        Some(cursor) => (
            micros(cursor.next_run_at),
            cursor.barber_id.as_str().to_string(),
        ),
        None => (i64::MIN, String::new()),
    };
    let mut statement = conn
        .prepare_cached(
            "SELECT barber_id, next_run_at, body FROM schedules
             WHERE active = 1 AND next_run_at <= ?1 AND (next_run_at, barber_id) > (?2, ?3)
             ORDER BY next_run_at, barber_id LIMIT ?4",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(
            params![micros(now), after_at, after_barber, limit as i64],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            },
        )
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter()
        .map(|(barber, next_run_at, body)| {
            Ok(match from_json(&body) {
                Ok(schedule) => DueSchedule::Ready(Box::new(schedule)),
                Err(error) => DueSchedule::Unreadable {
                    barber_id: BarberId::parse(barber)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    next_run_at: instant(next_run_at)?,
                    reason: error.to_string(),
                },
            })
        })
        .collect()
}

/// Moves the schedule's cut-off if it is still `expected`; the body is rewritten with it.
/// Whether the barber's schedule is due at `expected` (so that advancing it from there would
/// succeed).
pub fn next_run_is(
    conn: &Connection,
    barber: &BarberId,
    expected: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let next_run: Option<i64> = conn
        .prepare_cached("SELECT next_run_at FROM schedules WHERE barber_id = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([barber.as_str()], |row| row.get(0))
                .optional()
        })
        .map_err(backend)?;
    Ok(next_run == Some(micros(expected)))
}

pub fn advance(
    conn: &Connection,
    barber: &BarberId,
    expected: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(mut schedule) = get(conn, barber)? else {
        return Ok(false);
    };
    if schedule.next_run_at != expected {
        return Ok(false);
    }
    schedule.next_run_at = next;
    schedule.version += 1;
    let body = to_json(&schedule)?;
    let changed = conn
        .prepare_cached(
            "UPDATE schedules SET next_run_at = ?1, body = ?2
             WHERE barber_id = ?3 AND next_run_at = ?4",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                micros(next),
                body,
                barber.as_str(),
                micros(expected),
            ])
        })
        .map_err(backend)?;
    Ok(changed == 1)
}

pub fn list(
    conn: &Connection,
    after: Option<&BarberId>,
    limit: usize,
) -> Result<Vec<PayoutSchedule>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT body FROM schedules WHERE barber_id > ?1 ORDER BY barber_id LIMIT ?2",
        )
        .map_err(backend)?;
    let bodies = statement
        .query_map(
            params![after.map(BarberId::as_str).unwrap_or(""), limit as i64],
            |row| row.get::<_, String>(0),
        )
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    bodies.iter().map(|body| from_json(body)).collect()
}

pub fn mark_notice(
    conn: &Connection,
    notice: &AdvanceNotice,
    notice_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO advance_notices (barber_id, cutoff, notice_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (barber_id) DO UPDATE SET cutoff = ?2, notice_at = ?3",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            notice.barber_id.as_str(),
            micros(notice.cutoff),
            micros(notice_at),
        ])
    })
    .map_err(backend)?;
    Ok(())
}

pub fn due_notices(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<AdvanceNotice>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT barber_id, cutoff FROM advance_notices WHERE notice_at <= ?1
             ORDER BY notice_at, barber_id LIMIT ?2",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![micros(now), limit as i64], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter()
        .map(|(barber, cutoff)| {
            Ok(AdvanceNotice {
                barber_id: BarberId::parse(&barber)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                cutoff: instant(cutoff)?,
            })
        })
        .collect()
}

pub fn clear_notice(conn: &Connection, notice: &AdvanceNotice) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM advance_notices WHERE barber_id = ?1 AND cutoff = ?2")
        .and_then(|mut statement| {
            statement.execute(params![notice.barber_id.as_str(), micros(notice.cutoff)])
        })
        .map_err(backend)?;
    Ok(())
}
