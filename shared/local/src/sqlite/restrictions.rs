//! Destinations the provider will not pay, with why and since when, and when the provider last
//! said (`as_of`), restricted or not (`active`).

use chrono::DateTime;
use chrono::Utc;
use payout_app::ports::{AccountRestriction, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::{backend, codec};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS account_restrictions (
    account  TEXT PRIMARY KEY,
    reason   TEXT NOT NULL,
    since    INTEGER NOT NULL
);
"#;

/// When the provider last said, and whether the restriction is in force.
pub const SAID: [&str; 2] = [
    "ALTER TABLE account_restrictions ADD COLUMN active INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE account_restrictions ADD COLUMN as_of INTEGER NOT NULL DEFAULT 0",
];

fn decode(row: &Row<'_>) -> rusqlite::Result<(String, String, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn restriction(
    (account, reason, since): (String, String, i64),
) -> Result<AccountRestriction, StoreError> {
    Ok(AccountRestriction {
        account,
        reason,
        since: codec::instant(since)?,
    })
}

/// The record of `account`: its restriction, whether in force, and when the provider said so.
fn record(
    conn: &Connection,
    account: &str,
) -> Result<Option<(AccountRestriction, bool, i64)>, StoreError> {
    conn.prepare_cached(
        "SELECT account, reason, since, active, as_of FROM account_restrictions WHERE account = ?1",
    )
    .and_then(|mut statement| {
        statement
            .query_row(params![account], |row| {
                Ok((decode(row)?, row.get::<_, bool>(3)?, row.get::<_, i64>(4)?))
            })
            .optional()
    })
    .map_err(backend)?
    .map(|(raw, active, as_of)| Ok((restriction(raw)?, active, as_of)))
    .transpose()
}

fn write(
    conn: &Connection,
    restriction: &AccountRestriction,
    active: bool,
    as_of: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO account_restrictions (account, reason, since, active, as_of)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account) DO UPDATE SET reason = excluded.reason, since = excluded.since,
             active = excluded.active, as_of = excluded.as_of",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            restriction.account,
            restriction.reason,
            codec::micros(restriction.since),
            active,
            as_of
        ])
    })
    .map_err(backend)?;
    Ok(())
}

pub fn restrict(
    conn: &Connection,
    account: &str,
    reason: &str,
    at: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Option<AccountRestriction>, StoreError> {
    let as_of = codec::micros(as_of);
    let in_force = match record(conn, account)? {
        Some((_, _, said)) if said > as_of => return Ok(None),
        Some((restriction, true, _)) => restriction,
        Some((_, false, _)) | None => AccountRestriction {
            account: account.to_string(),
            reason: reason.to_string(),
            since: at,
        },
    };
    write(conn, &in_force, true, as_of)?;
    Ok(Some(in_force))
}

pub fn among(
    conn: &Connection,
    accounts: &[String],
) -> Result<Vec<AccountRestriction>, StoreError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; accounts.len()].join(", ");
    let mut statement = conn
        .prepare(&format!(
            "SELECT account, reason, since FROM account_restrictions
             WHERE active = 1 AND account IN ({marks})"
        ))
        .map_err(backend)?;
    let rows = statement
        .query_map(params_from_iter(accounts), decode)
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter().map(restriction).collect()
}

pub fn lift(
    conn: &Connection,
    account: &str,
    as_of: DateTime<Utc>,
) -> Result<Option<AccountRestriction>, StoreError> {
    let said = codec::micros(as_of);
    let (restriction, active) = match record(conn, account)? {
        Some((_, _, recorded)) if recorded > said => return Ok(None),
        Some((restriction, active, _)) => (restriction, active),
        None => (AccountRestriction::never_restricted(account, as_of), false),
    };
    write(conn, &restriction, false, said)?;
    Ok(active.then_some(restriction))
}
