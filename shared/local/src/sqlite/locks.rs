//! The per-barber lock: a row taken when absent or expired, released by its owner only.

use chrono::{DateTime, Utc};
use payout_app::ports::StoreError;
use payout_core::ids::BarberId;
use rusqlite::{Connection, params};

use super::backend;
use super::codec::micros;

pub fn try_lock(
    conn: &Connection,
    barber: &BarberId,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // The same condition as DynamoDB's `attribute_not_exists(pk) OR lease_until < :now`.
    let changed = conn
        .prepare_cached(
            "INSERT INTO locks (barber_id, owner, lease_until) VALUES (?1, ?2, ?3)
             ON CONFLICT (barber_id) DO UPDATE SET owner = excluded.owner,
                                                   lease_until = excluded.lease_until
             WHERE locks.lease_until < ?4",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                barber.as_str(),
                owner,
                micros(lease_until),
                micros(now)
            ])
        })
        .map_err(backend)?;
    Ok(changed == 1)
}

pub fn release(conn: &Connection, barber: &BarberId, owner: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM locks WHERE barber_id = ?1 AND owner = ?2")
        .and_then(|mut statement| statement.execute(params![barber.as_str(), owner]))
        .map_err(backend)?;
    Ok(())
}

/// Every lock, whoever holds it; returns how many there were.
pub fn release_all(conn: &Connection) -> Result<usize, StoreError> {
    conn.execute("DELETE FROM locks", []).map_err(backend)
}
