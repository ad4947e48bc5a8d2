//! The storage floor: the rows the pipeline left, written raw (one table, one blob each, of the
//! pipeline's average row size) to a fresh SQLite file with the same durability, in batched
//! transactions. No store can write those rows faster on this disk.

use std::path::Path;
use std::time::Instant;

use payout_app::ports::StoreError;
use rusqlite::{Connection, params};

use crate::sqlite::{Durability, StoreShape};

/// Rows per transaction.
const BATCH: u64 = 10_000;

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Seconds taken to write `shape.rows` rows of `shape.average_row_bytes` each to `path`.
pub fn write_rows(
    path: &Path,
    durability: Durability,
    shape: &StoreShape,
) -> Result<f64, StoreError> {
    let _ = std::fs::remove_file(path);
    let started = Instant::now();
    let mut conn = Connection::open(path).map_err(backend)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
         CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL);",
        durability.synchronous()
    ))
    .map_err(backend)?;
    let body = vec![0x5a_u8; shape.average_row_bytes.max(1) as usize];
    let mut written = 0;
    while written < shape.rows {
        let tx = conn.transaction().map_err(backend)?;
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO rows (id, body) VALUES (?1, ?2)")
                .map_err(backend)?;
            for id in written..(written + BATCH).min(shape.rows) {
                insert
                    .execute(params![id as i64, body.as_slice()])
                    .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        written = (written + BATCH).min(shape.rows);
    }
    Ok(started.elapsed().as_secs_f64())
}
