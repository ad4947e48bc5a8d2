//! Payouts, their claims on the ledger, and their audit trail.

use chrono::{DateTime, Utc};
use payout_app::ports::{CreateOutcome, PayoutCreation, PayoutQuery, StoreError, WriteOutcome};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::method::PaymentMethod;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::status::PayoutStatus;
use rusqlite::{Connection, OptionalExtension, params};

use super::backend;
use super::codec::{from_json, micros, minor, to_json};
use super::kept_totals;
use super::ledger::insert_deduction;
use super::schedules;

/// Appends `event`, the change that left `payout` as it is, to its trail, and counts it in the
/// kept totals: every payout write passes here.
fn append_event(conn: &Connection, payout: &Payout, event: &AuditEvent) -> Result<(), StoreError> {
    let seq = payout.version;
    let body = to_json(event)?;
    conn.prepare_cached(
        "INSERT INTO audit_events (payout_id, seq, body, published) VALUES (?1, ?2, ?3, 0)",
    )
    .and_then(|mut statement| {
        statement.execute(params![event.payout_id.as_str(), seq as i64, body])
    })
    .map_err(backend)?;
    kept_totals::count(conn, payout, event)
}

/// Creates the payout, claims its earnings and deductions, opens a carried balance and advances
/// the schedule, all or nothing. Runs inside the caller's IMMEDIATE transaction, which no other
/// writer can enter: every condition is read before the first write, so a creation that does
/// not go ahead leaves nothing behind without a savepoint of its own (a planner's page closes
/// 500 in one transaction, and a savepoint each was half of the page's time).
pub fn create(conn: &Connection, creation: &PayoutCreation) -> Result<CreateOutcome, StoreError> {
    if let Some(refused) = refusal(conn, creation)? {
        return Ok(refused);
    }
    write_creation(conn, creation)?;
    Ok(CreateOutcome::Created)
}

/// Why the creation cannot be written as it stands, or `None` when it can.
fn refusal(
    conn: &Connection,
    creation: &PayoutCreation,
) -> Result<Option<CreateOutcome>, StoreError> {
    let payout = &creation.payout;
    let barber = payout.barber_id.as_str();
    let currency = payout.breakdown.gross.currency().code();
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM payouts WHERE id = ?1)")
        .and_then(|mut statement| statement.query_row([payout.id.as_str()], |row| row.get(0)))
        .map_err(backend)?;
    if exists {
        return Ok(Some(CreateOutcome::AlreadyExists));
    }
    if let Some((expected, _)) = creation.schedule_advance
        && !schedules::next_run_is(conn, &payout.barber_id, expected)?
    {
        return Ok(Some(CreateOutcome::AlreadyExists));
    }
    let (open_gross, open_count): (Option<i64>, i64) = conn
        .prepare_cached(
            "SELECT amount_minor FROM earnings
             WHERE barber_id = ?1 AND payout_id IS NULL AND voided_at IS NULL
               AND recorded_at <= ?2 AND currency = ?3 AND occurred_at <= ?4",
        )
        .and_then(|mut statement| {
            let mut rows = statement.query(params![
                barber,
                micros(payout.cutoff),
                currency,
                micros(creation.earned_by)
            ])?;
            // An overflowing total cannot match the one read before, so it is a change.
            let (mut sum, mut count) = (Some(0i64), 0i64);
            while let Some(row) = rows.next()? {
                sum = sum.and_then(|sum| sum.checked_add(row.get::<_, i64>(0).ok()?));
                count += 1;
            }
            Ok((sum, count))
        })
        .map_err(backend)?;
    if open_gross != Some(creation.claimed_earnings_minor)
        || open_count != i64::from(creation.claimed_earnings)
    {
        return Ok(Some(CreateOutcome::ClaimChanged));
    }
    // Exactly the claimed deductions are open up to the cut-off: one recorded since the read
    // would otherwise escape it, and one claimed meanwhile would be claimed twice.
    let mut open_deductions: Vec<String> = conn
        .prepare_cached(
            "SELECT id FROM deductions
             WHERE barber_id = ?1 AND payout_id IS NULL AND payable_from <= ?2 AND currency = ?3",
        )
        .and_then(|mut statement| {
            statement
                .query_map(params![barber, micros(payout.cutoff), currency], |row| {
                    row.get(0)
                })?
                .collect()
        })
        .map_err(backend)?;
    let mut claimed: Vec<&str> = creation
        .claimed_deductions
        .iter()
        .map(|id| id.as_str())
        .collect();
    open_deductions.sort_unstable();
    claimed.sort_unstable();
    if open_deductions != claimed {
        return Ok(Some(CreateOutcome::ClaimChanged));
    }
    Ok(None)
}

/// Writes a creation whose conditions [`refusal`] found to hold; a write that finds them
/// otherwise fails the transaction rather than leave part of the creation behind.
fn write_creation(conn: &Connection, creation: &PayoutCreation) -> Result<(), StoreError> {
    let payout = &creation.payout;
    let b = &payout.breakdown;
    let changed = |what: &str| {
        StoreError::Backend(format!(
            "{what} of payout {} changed inside its transaction",
            payout.id
        ))
    };
    let body = to_json(payout)?;
    // What its earnings add up to, tips and all: the ledger's identity is of this.
    let amounts = [
        b.earned().map_err(|e| StoreError::Corrupt(e.to_string()))?,
        b.shop_share,
        b.deductions_total,
        b.fee,
        b.net,
    ]
    .map(minor)
    .into_iter()
    .collect::<Result<Vec<i64>, _>>()?;
    conn.prepare_cached(
        "INSERT INTO payouts (id, barber_id, status, version, currency, next_attempt_at,
                              updated_at, attempts, gross_minor, shop_minor, deductions_minor,
                              fee_minor, net_minor, body, method, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            payout.id.as_str(),
            payout.barber_id.as_str(),
            payout.status.as_str(),
            payout.version as i64,
            b.gross.currency().code(),
            payout.next_attempt_at.map(micros),
            micros(payout.updated_at),
            payout.attempts,
            amounts[0],
            amounts[1],
            amounts[2],
            amounts[3],
            amounts[4],
            body,
            payout.method.as_str(),
            micros(payout.created_at),
        ])
    })
    .map_err(backend)?;
    if let Some((expected, next)) = creation.schedule_advance
        && !schedules::advance(conn, &payout.barber_id, expected, next)?
    {
        return Err(changed("the schedule"));
    }
    let claimed = conn
        .prepare_cached(
            "UPDATE earnings SET payout_id = ?1
             WHERE barber_id = ?2 AND payout_id IS NULL AND voided_at IS NULL
               AND recorded_at <= ?3 AND currency = ?4 AND occurred_at <= ?5",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                payout.id.as_str(),
                payout.barber_id.as_str(),
                micros(payout.cutoff),
                b.gross.currency().code(),
                micros(creation.earned_by),
            ])
        })
        .map_err(backend)?;
    if claimed != creation.claimed_earnings as usize {
        return Err(changed("the earnings"));
    }
    let mut claim_deduction = conn
        .prepare_cached(
            "UPDATE deductions SET payout_id = ?1 WHERE id = ?2 AND barber_id = ?3 AND payout_id IS NULL",
        )
        .map_err(backend)?;
    for id in &creation.claimed_deductions {
        let claimed = claim_deduction
            .execute(params![
                payout.id.as_str(),
                id.as_str(),
                payout.barber_id.as_str()
            ])
            .map_err(backend)?;
        if claimed != 1 {
            return Err(changed("the deductions"));
        }
    }
    for opened in creation
        .carried_balance
        .iter()
        .chain(&creation.reserve_release)
    {
        insert_deduction(conn, opened, opened.kind.as_str())?;
    }
    append_event(conn, payout, &creation.event)
}

pub fn get(conn: &Connection, id: &PayoutId) -> Result<Option<Payout>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM payouts WHERE id = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([id.as_str()], |row| row.get(0))
                .optional()
        })
        .map_err(backend)?;
    body.map(|body| from_json(&body)).transpose()
}

/// Writes the payout if its stored version is `expected_version`, with its audit event.
pub fn update(
    conn: &Connection,
    payout: &Payout,
    expected_version: u64,
    event: &AuditEvent,
) -> Result<WriteOutcome, StoreError> {
    let body = to_json(payout)?;
    let changed = conn
        .prepare_cached(
            "UPDATE payouts SET status = ?1, version = ?2, next_attempt_at = ?3, updated_at = ?4,
                                attempts = ?5, body = ?6
             WHERE id = ?7 AND version = ?8",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                payout.status.as_str(),
                payout.version as i64,
                payout.next_attempt_at.map(micros),
                micros(payout.updated_at),
                payout.attempts,
                body,
                payout.id.as_str(),
                expected_version as i64,
            ])
        })
        .map_err(backend)?;
    if changed == 0 {
        return Ok(WriteOutcome::Stale);
    }
    append_event(conn, payout, event)?;
    if let Some(credit) = payout.fee_credit_opened() {
        insert_deduction(conn, &credit, credit.kind.as_str())?;
    }
    Ok(WriteOutcome::Written)
}

/// Releases the cancelled payout's claim on the ledger, and opens its reserve's withdrawal if
/// it kept one; runs after a successful `update` in the same transaction.
pub fn release_claims(conn: &Connection, payout: &Payout) -> Result<(), StoreError> {
    for table in ["earnings", "deductions"] {
        conn.prepare_cached(&format!(
            "UPDATE {table} SET payout_id = NULL WHERE payout_id = ?1"
        ))
        .and_then(|mut statement| statement.execute([payout.id.as_str()]))
        .map_err(backend)?;
    }
    if let Some(withdrawal) = payout.reserve_withdrawal(payout.updated_at) {
        insert_deduction(conn, &withdrawal, withdrawal.kind.as_str())?;
    }
    Ok(())
}

pub fn audit_trail(conn: &Connection, id: &PayoutId) -> Result<Vec<AuditEvent>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT body FROM audit_events WHERE payout_id = ?1 ORDER BY seq")
        .map_err(backend)?;
    let bodies = statement
        .query_map([id.as_str()], |row| row.get::<_, String>(0))
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    bodies.iter().map(|body| from_json(body)).collect()
}

pub fn unpublished_events(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<(u64, AuditEvent)>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT seq, body FROM audit_events WHERE published = 0 ORDER BY rowid LIMIT ?1",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map([limit as i64], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.iter()
        .map(|(seq, body)| Ok((*seq as u64, from_json(body)?)))
        .collect()
}

pub fn mark_published(conn: &Connection, events: &[(u64, AuditEvent)]) -> Result<(), StoreError> {
    let mut statement = conn
        .prepare_cached("UPDATE audit_events SET published = 1 WHERE payout_id = ?1 AND seq = ?2")
        .map_err(backend)?;
    for (seq, event) in events {
        statement
            .execute(params![event.payout_id.as_str(), *seq as i64])
            .map_err(backend)?;
    }
    Ok(())
}

pub fn stalled(
    conn: &Connection,
    stale_before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Payout>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT body FROM payouts
             WHERE (status IN ('scheduled', 'queued', 'retry_scheduled') AND next_attempt_at < ?1)
                OR (status = 'processing' AND updated_at < ?1)
             ORDER BY next_attempt_at LIMIT ?2",
        )
        .map_err(backend)?;
    let bodies = statement
        .query_map(params![micros(stale_before), limit as i64], |row| {
            row.get::<_, String>(0)
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    bodies.iter().map(|body| from_json(body)).collect()
}

pub fn failed_count(conn: &Connection, barber: &BarberId) -> Result<u32, StoreError> {
    let count: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM payouts WHERE barber_id = ?1 AND status = ?2")
        .and_then(|mut statement| {
            statement.query_row(
                params![barber.as_str(), PayoutStatus::Failed.as_str()],
                |row| row.get(0),
            )
        })
        .map_err(backend)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

pub fn list(
    conn: &Connection,
    query: &PayoutQuery,
    limit: usize,
) -> Result<Vec<Payout>, StoreError> {
    let (after_at, after_id) = match &query.after {
        Some((at, id)) => (micros(*at), id.as_str().to_string()),
        None => (i64::MIN, String::new()),
    };
    // The index that serves the listing, by its leading filter: a barber's payouts
    // (payouts_by_barber_created), one status's (payouts_by_status_created) or everyone's
    // (payouts_by_created), each in creation order, so a page reads its rows and not the
    // history (`?1 IS NULL OR barber_id = ?1` would hide the choice from the planner).
    let lead = match (&query.barber, query.status) {
        (Some(_), _) => "barber_id = ?1 AND (?2 IS NULL OR status = ?2)",
        (None, Some(_)) => "?1 IS NULL AND status = ?2",
        (None, None) => "?1 IS NULL AND ?2 IS NULL",
    };
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT body FROM payouts
             WHERE {lead}
               AND (?3 IS NULL OR method = ?3) AND (?4 IS NULL OR created_at >= ?4)
               AND (?5 IS NULL OR created_at < ?5) AND (created_at, id) > (?6, ?7)
               AND (?9 IS NULL OR updated_at >= ?9)
             ORDER BY created_at, id LIMIT ?8"
        ))
        .map_err(backend)?;
    let bodies = statement
        .query_map(
            params![
                query.barber.as_ref().map(BarberId::as_str),
                query.status.map(PayoutStatus::as_str),
                query.method.map(PaymentMethod::as_str),
                query.from.map(micros),
                query.to.map(micros),
                after_at,
                after_id,
                limit as i64,
                query.updated_from.map(micros),
            ],
            |row| row.get::<_, String>(0),
        )
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    bodies.iter().map(|body| from_json(body)).collect()
}
