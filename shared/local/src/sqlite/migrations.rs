//! The schema, versioned: each migration runs once, in order, in one transaction with the bump
//! of `PRAGMA user_version`, so a file written by an older build opens and upgrades, and one
//! written by a newer build is refused rather than misread.
//!
//! Files from before versioning have version 0 and every table of migration 1, whose
//! statements are `IF NOT EXISTS`, so for them it changes nothing but the version.

use payout_app::ports::StoreError;
use rusqlite::Connection;

use super::{backend, kept_totals, outbox, planning, restrictions};

/// Migration `i` brings a file from version `i` to `i + 1`.
const MIGRATIONS: [&[&str]; 12] = [
    // 1: schedules, ledger, payouts with their audit trail, locks, the notification log,
    // webhook events, heartbeats.
    &[super::SCHEMA],
    // 2: the notification outbox's delivery state and the planner's failure records.
    &[outbox::SCHEMA, planning::SCHEMA],
    // 3: earnings voided by a refund.
    &["ALTER TABLE earnings ADD COLUMN voided_at INTEGER"],
    // 4: the payout events' outbox. Events written before it count as published: an upgrade
    // does not replay history to the platform.
    &[
        "ALTER TABLE audit_events ADD COLUMN published INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX audit_events_unpublished ON audit_events (payout_id, seq) WHERE published = 0",
    ],
    // 5: the kept totals, counted from the payouts already stored (`after`). A payout in
    // transit from before acceptance times were kept is given its last change's time as its
    // acceptance (that change was it), so the day it counts as paid never moves again.
    &[
        "UPDATE payouts SET body = json_set(body, '$.accepted_at', json_extract(body, '$.updated_at'))
         WHERE status = 'in_transit' AND json_extract(body, '$.accepted_at') IS NULL",
        kept_totals::SCHEMA,
    ],
    // 6: the totals analytics reads (per day of creation, processing and settlement times),
    // counted again from the payouts stored (`after`); the payouts of one status in creation
    // order, for the listings by status (failed, in transit) and the bank file.
    &[
        "DELETE FROM payout_totals",
        "CREATE INDEX payouts_by_status_created ON payouts (status, created_at, id)",
    ],
    // 7: destinations the provider will not pay (payouts to them wait on hold).
    &[restrictions::SCHEMA],
    // 8: the net of the payouts created each day per method (the platform's instant limit),
    // counted again from the payouts stored (`after`); when the provider last said of an
    // account, and whether its restriction is in force.
    &[
        "DELETE FROM payout_totals",
        restrictions::SAID[0],
        restrictions::SAID[1],
    ],
    // 9: when a deduction becomes payable (a reserve's release waits for its days); every
    // deduction before it was payable once recorded.
    &[
        "ALTER TABLE deductions ADD COLUMN payable_from INTEGER",
        "UPDATE deductions SET payable_from = recorded_at",
        "CREATE INDEX deductions_payable ON deductions (barber_id, payable_from) WHERE payout_id IS NULL",
    ],
    // 10: tips are earnings of their own kind; every earning before them was a service.
    &["ALTER TABLE earnings ADD COLUMN kind TEXT NOT NULL DEFAULT 'service'"],
    // 11: each barber's paid payouts per month and year of payment, and the tips per day of
    // creation: the totals counted again from the payouts stored (`after`).
    &["DELETE FROM payout_totals"],
    // 12: a barber's carried balances count in no deduction, and only payouts that moved
    // money in their payouts: the totals counted again (`after`).
    &["DELETE FROM payout_totals"],
];

/// What migration `index` does beyond its statements, in the same transaction.
fn after(index: usize, tx: &Connection) -> Result<(), StoreError> {
    match index {
        4 | 5 | 7 | 10 | 11 => kept_totals::count_history(tx),
        _ => Ok(()),
    }
}

/// The version this build writes.
pub const CURRENT: u32 = MIGRATIONS.len() as u32;

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(backend)?;
    if version > CURRENT {
        return Err(StoreError::Backend(format!(
            "the database is at schema version {version}, newer than this build's {CURRENT}; \
             run the newer build"
        )));
    }
    for (index, statements) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(backend)?;
        for statement in *statements {
            tx.execute_batch(statement).map_err(backend)?;
        }
        after(index, &tx)?;
        tx.pragma_update(None, "user_version", (index + 1) as u32)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}
