//! What each statement read, reported as it finishes: for tests that hold a read's cost to a
//! budget, and for profiling. SQLite counts, per prepared statement, the rows it stepped
//! through in full-table scans and the virtual machine's steps (which grow with every row a
//! statement visits, by index or not); the counters add up over a cached statement's runs, so
//! each report is the difference from the statement's previous one.

use std::collections::HashMap;

use payout_app::ports::StoreError;
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::{Connection, StatementStatus};

use super::backend;

/// One run of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementCost {
    /// The statement as written (parameters unexpanded).
    pub sql: String,
    /// Rows stepped through in full-table scans.
    pub fullscan_steps: i64,
    /// Virtual machine steps.
    pub vm_steps: i64,
}

/// Calls `on` with the cost of every statement `conn` runs from now on.
pub fn report(
    conn: &mut Connection,
    on: impl Fn(StatementCost) + Send + 'static,
) -> Result<(), StoreError> {
    // Cached statements carry the counts of their runs so far: prepared again, they start at
    // zero.
    conn.flush_prepared_statement_cache();
    let mut seen: HashMap<String, (i64, i64)> = HashMap::new();
    conn.trace_v2(
        TraceEventCodes::SQLITE_TRACE_PROFILE,
        Some(move |event: TraceEvent<'_>| {
            if let TraceEvent::Profile(statement, _) = event {
                let sql = statement.sql().into_owned();
                let now = (
                    i64::from(statement.get_status(StatementStatus::FullscanStep)),
                    i64::from(statement.get_status(StatementStatus::VmStep)),
                );
                // A statement prepared again (evicted from the cache) counts from zero.
                let before = seen
                    .insert(sql.clone(), now)
                    .filter(|before| before.0 <= now.0 && before.1 <= now.1)
                    .unwrap_or_default();
                on(StatementCost {
                    sql,
                    fullscan_steps: now.0 - before.0,
                    vm_steps: now.1 - before.1,
                });
            }
        }),
    )
    .map_err(backend)
}
