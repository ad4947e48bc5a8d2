//! Backups of a live database: SQLite's online backup API copies every page in one step, under
//! one read transaction, so the copy is the database as of one commit while `serve` goes on
//! writing (WAL readers never block the writer). A restore refuses a database in use and a
//! copy that fails SQLite's integrity check. A check reads a snapshot, so it runs on a live
//! database too.

use std::path::Path;

use payout_app::ports::{Reports, StoreError};
use payout_core::money::Currency;
use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use super::{Durability, SqliteStore, backend};

/// What a copy was found to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Pages copied or checked.
    pub pages: i32,
    /// Every earning accounted for, every payout's gross split exactly.
    pub conserves_money: bool,
    /// Where the totals kept with every payout change differ from a recount (none when right).
    pub totals_differences: Vec<String>,
}

fn read_only(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Backend(format!(
            "{} does not exist",
            path.display()
        )));
    }
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(backend)
}

/// SQLite's `PRAGMA integrity_check` on the file at `path`.
fn integrity(conn: &Connection) -> Result<(), StoreError> {
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(backend)?;
    match verdict.as_str() {
        "ok" => Ok(()),
        other => Err(StoreError::Corrupt(format!("integrity check: {other}"))),
    }
}

/// Copies the database at `db` (which may be in use) to a new file `to`, then checks the copy.
pub fn backup(db: &Path, to: &Path) -> Result<i32, StoreError> {
    if to.exists() {
        return Err(StoreError::Backend(format!(
            "{} exists already; a backup never overwrites",
            to.display()
        )));
    }
    let source = read_only(db)?;
    let mut copy = Connection::open(to).map_err(backend)?;
    let pages = {
        let backup = Backup::new(&source, &mut copy).map_err(backend)?;
        // One step: the whole database under one read transaction, a consistent snapshot.
        backup.step(-1).map_err(backend)?;
        backup.progress().pagecount
    };
    // A copy of a WAL database is one too; a backup is one self-contained file, so that
    // reading it later (a check, a restore) leaves no -wal or -shm beside it.
    copy.pragma_update(None, "journal_mode", "DELETE")
        .map_err(backend)?;
    integrity(&copy)?;
    Ok(pages)
}

/// Replaces the database at `db` (which no process may be using) with the copy at `from`,
/// after checking the copy.
pub fn restore(from: &Path, db: &Path) -> Result<i32, StoreError> {
    let copy = read_only(from)?;
    integrity(&copy)?;
    drop(copy);
    // Taking the store's ownership first refuses a database a `serve` has open.
    let owned = SqliteStore::open(db, Durability::Full)?;
    owned.blocking(|conn| {
        conn.restore(
            rusqlite::MAIN_DB,
            from,
            None::<fn(rusqlite::backup::Progress)>,
        )
        .map_err(backend)
    })?;
    let pages = owned.blocking(|conn| {
        conn.query_row("PRAGMA page_count", [], |row| row.get(0))
            .map_err(backend)
    })?;
    Ok(pages)
}

/// Checks the database at `path`, which `serve` may be using: SQLite's integrity check, then
/// the store's money identities in `currency` and the kept totals against a recount. Those
/// read a snapshot copied into a scratch directory (the online backup), so the live file is
/// only read and no lock file is left beside it.
pub async fn check(path: &Path, currency: Currency) -> Result<Checked, StoreError> {
    let scratch = tempfile::tempdir()
        .map_err(|e| StoreError::Backend(format!("a scratch directory for the snapshot: {e}")))?;
    let snapshot = scratch.path().join("snapshot.db");
    let pages = backup(path, &snapshot)?;
    let store = SqliteStore::open(&snapshot, Durability::Full)?;
    let totals = store.ledger_totals(currency).await?;
    Ok(Checked {
        pages,
        conserves_money: totals.conserves_money(),
        totals_differences: payout_app::totals_check::totals_differences(&store).await?,
    })
}
