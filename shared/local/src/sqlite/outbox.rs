//! The notification outbox: every notice recorded before it is published, pending until the
//! notifier accepts it, retried by the planner's sweep, given up after the last attempt.
//!
//! Delivery state lives in its own table beside `notifications`, so a database written before
//! the outbox kept state opens as it is (its notices read as delivered).

use chrono::{DateTime, Utc};
use payout_app::ports::{
    NoticeDelivery, NoticeState, Notification, PendingNotification, SentNotification, StoreError,
};
use payout_core::ids::BarberId;
use rusqlite::{Connection, params};

use super::{backend, codec};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS notice_deliveries (
    dedupe_key  TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    next_at     INTEGER
);
CREATE INDEX IF NOT EXISTS notice_deliveries_due ON notice_deliveries (next_at) WHERE state = 'pending';
"#;

pub fn record(
    conn: &Connection,
    notification: &Notification,
    at: DateTime<Utc>,
    retry_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let body = codec::to_json(notification)?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO notifications (dedupe_key, barber_id, sent_at, body)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                notification.dedupe_key,
                notification.barber_id.as_str(),
                codec::micros(at),
                body
            ])
        })
        .map_err(backend)?;
    if inserted == 1 {
        conn.prepare_cached(
            "INSERT INTO notice_deliveries (dedupe_key, state, attempts, next_at)
             VALUES (?1, 'pending', 0, ?2)",
        )
        .and_then(|mut statement| {
            statement.execute(params![notification.dedupe_key, codec::micros(retry_at)])
        })
        .map_err(backend)?;
    }
    Ok(inserted == 1)
}

pub fn settle(
    conn: &Connection,
    dedupe_key: &str,
    delivery: NoticeDelivery,
) -> Result<(), StoreError> {
    let (state, attempts, next_at) = match delivery {
        NoticeDelivery::Delivered => (NoticeState::Delivered, None, None),
        NoticeDelivery::Retry { attempts, at } => (
            NoticeState::Pending,
            Some(attempts),
            Some(codec::micros(at)),
        ),
        NoticeDelivery::GaveUp { attempts } => (NoticeState::GaveUp, Some(attempts), None),
        NoticeDelivery::SkippedNoAddress => (NoticeState::SkippedNoAddress, Some(0), None),
    };
    conn.prepare_cached(
        "UPDATE notice_deliveries SET state = ?2, attempts = COALESCE(?3, attempts + 1),
         next_at = ?4 WHERE dedupe_key = ?1",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            dedupe_key,
            state.as_str(),
            attempts.map(i64::from),
            next_at
        ])
    })
    .map_err(backend)?;
    Ok(())
}

pub fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<PendingNotification>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT n.body, d.attempts FROM notice_deliveries d
             JOIN notifications n ON n.dedupe_key = d.dedupe_key
             WHERE d.state = 'pending' AND d.next_at <= ?1
             ORDER BY d.next_at, d.dedupe_key LIMIT ?2",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![codec::micros(now), limit as i64], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter()
        .map(|(body, attempts)| {
            Ok(PendingNotification {
                notification: codec::from_json(&body)?,
                attempts: u32::try_from(attempts)
                    .map_err(|_| StoreError::Corrupt(format!("{attempts} attempts")))?,
            })
        })
        .collect()
}

pub fn list(
    conn: &Connection,
    barber: &BarberId,
    limit: usize,
) -> Result<Vec<SentNotification>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT n.sent_at, n.body, d.state FROM notifications n
             LEFT JOIN notice_deliveries d ON d.dedupe_key = n.dedupe_key
             WHERE n.barber_id = ?1
             ORDER BY n.sent_at DESC, n.dedupe_key DESC LIMIT ?2",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![barber.as_str(), limit as i64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter()
        .map(|(sent_at, body, state)| {
            Ok(SentNotification {
                notification: codec::from_json(&body)?,
                sent_at: codec::instant(sent_at)?,
                state: match state {
                    // Recorded before the outbox kept delivery state: it was published then.
                    None => NoticeState::Delivered,
                    Some(raw) => NoticeState::parse(&raw)
                        .ok_or_else(|| StoreError::Corrupt(format!("notice state {raw}")))?,
                },
            })
        })
        .collect()
}
