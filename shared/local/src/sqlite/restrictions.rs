//! Destinations the provider will not pay, with why and since when.

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

pub fn restrict(
    conn: &Connection,
    account: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<AccountRestriction, StoreError> {
    let row = conn
        .prepare_cached(
            "INSERT INTO account_restrictions (account, reason, since) VALUES (?1, ?2, ?3)
             ON CONFLICT (account) DO UPDATE SET account = account
             RETURNING account, reason, since",
        )
        .and_then(|mut statement| {
            statement.query_row(params![account, reason, codec::micros(at)], decode)
        })
        .map_err(backend)?;
    restriction(row)
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
            "SELECT account, reason, since FROM account_restrictions WHERE account IN ({marks})"
        ))
        .map_err(backend)?;
    let rows = statement
        .query_map(params_from_iter(accounts), decode)
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter().map(restriction).collect()
}

pub fn lift(conn: &Connection, account: &str) -> Result<Option<AccountRestriction>, StoreError> {
    conn.prepare_cached(
        "DELETE FROM account_restrictions WHERE account = ?1 RETURNING account, reason, since",
    )
    .and_then(|mut statement| statement.query_row(params![account], decode).optional())
    .map_err(backend)?
    .map(restriction)
    .transpose()
}
