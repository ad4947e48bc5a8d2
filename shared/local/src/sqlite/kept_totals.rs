//! The counts and sums kept with every payout change ([`payout_core::totals`]): a row per
//! bucket and counter, added to in the transaction that writes the change.

use payout_app::ports::StoreError;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::totals::{Bucket, Tally, Totals, by_bucket};
use rusqlite::{Connection, params};

use super::backend;
use super::codec::from_json;

pub const SCHEMA: &str = "
CREATE TABLE payout_totals (
    bucket TEXT NOT NULL,
    counter TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (bucket, counter)
) WITHOUT ROWID;
";

fn add(conn: &Connection, totals: &Totals) -> Result<(), StoreError> {
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO payout_totals (bucket, counter, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (bucket, counter) DO UPDATE SET value = value + excluded.value",
        )
        .map_err(backend)?;
    for (bucket, counters) in &totals.0 {
        let key = bucket.key();
        for (counter, value) in counters {
            statement
                .execute(params![key, counter, value])
                .map_err(backend)?;
        }
    }
    Ok(())
}

/// Adds what `event` (the change that left `payout` as it is) moves.
pub fn count(conn: &Connection, payout: &Payout, event: &AuditEvent) -> Result<(), StoreError> {
    add(
        conn,
        &by_bucket(&payout_core::totals::tallies(payout, event)),
    )
}

/// The kept counters of `buckets`: one indexed read per bucket.
pub fn read(conn: &Connection, buckets: &[Bucket]) -> Result<Totals, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT counter, value FROM payout_totals WHERE bucket = ?1")
        .map_err(backend)?;
    let mut tallies: Vec<Tally> = Vec::new();
    for bucket in buckets {
        let rows = statement
            .query_map([bucket.key()], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        tallies.extend(rows.into_iter().map(|(counter, add)| Tally {
            bucket: bucket.clone(),
            counter,
            add,
        }));
    }
    Ok(by_bucket(&tallies))
}

/// Counts every payout stored before the totals were kept (the migration that adds them).
pub fn count_history(conn: &Connection) -> Result<(), StoreError> {
    let bodies = |sql: &str| -> Result<Vec<String>, StoreError> {
        let mut statement = conn.prepare(sql).map_err(backend)?;
        statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)
    };
    let payouts: Vec<Payout> = bodies("SELECT body FROM payouts ORDER BY id")?
        .iter()
        .map(|body| from_json(body))
        .collect::<Result<_, _>>()?;
    let mut trails: std::collections::HashMap<String, Vec<AuditEvent>> = Default::default();
    for body in bodies("SELECT body FROM audit_events ORDER BY payout_id, seq")? {
        let event: AuditEvent = from_json(&body)?;
        trails
            .entry(event.payout_id.to_string())
            .or_default()
            .push(event);
    }
    let totals = Totals::recount(payouts.iter().map(|payout| {
        let trail = trails.get(payout.id.as_str()).map(Vec::as_slice);
        (payout, trail.unwrap_or_default())
    }));
    add(conn, &totals)
}
