//! Ledger-wide sums for summaries, health and conservation checks.

use payout_app::ports::{LedgerTotals, PayoutTotalsRow, StatusTotals, StoreError};
use payout_core::method::PaymentMethod;
use payout_core::money::Currency;
use payout_core::status::PayoutStatus;
use rusqlite::{Connection, params};

use super::backend;

pub fn ledger_totals(conn: &Connection, currency: Currency) -> Result<LedgerTotals, StoreError> {
    let code = currency.code();
    let (earnings_minor, earnings_count, open_earnings_minor): (i64, i64, i64) = conn
        .query_row(
            "SELECT COALESCE(SUM(amount_minor), 0), COUNT(*),
                    COALESCE(SUM(CASE WHEN payout_id IS NULL THEN amount_minor ELSE 0 END), 0)
             FROM earnings WHERE currency = ?1 AND voided_at IS NULL",
            [code],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .map_err(backend)?;
    let (open_deductions_minor, open_carried_balance_minor): (i64, i64) = conn
        .query_row(
            "SELECT COALESCE(SUM(CASE WHEN kind != 'carried_balance' THEN amount_minor ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'carried_balance' THEN amount_minor ELSE 0 END), 0)
             FROM deductions WHERE currency = ?1 AND payout_id IS NULL",
            [code],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(backend)?;
    let mut statement = conn
        .prepare(
            "SELECT status, method, COUNT(*), SUM(gross_minor), SUM(shop_minor),
                    SUM(deductions_minor), SUM(fee_minor), SUM(net_minor),
                    SUM(CASE WHEN net_minor > 0 THEN net_minor ELSE 0 END),
                    SUM(MAX(attempts - 1, 0))
             FROM payouts WHERE currency = ?1 GROUP BY status, method ORDER BY status, method",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![code], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                StatusTotals {
                    count: u64::try_from(row.get::<_, i64>(2)?).unwrap_or_default(),
                    gross_minor: row.get(3)?,
                    shop_share_minor: row.get(4)?,
                    deductions_minor: row.get(5)?,
                    fee_minor: row.get(6)?,
                    net_minor: row.get(7)?,
                    paid_net_minor: row.get(8)?,
                    retries: u64::try_from(row.get::<_, i64>(9)?).unwrap_or_default(),
                },
            ))
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    let payouts = rows
        .into_iter()
        .map(|(status, method, totals)| {
            Ok(PayoutTotalsRow {
                status: status
                    .parse::<PayoutStatus>()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                method: method
                    .parse::<PaymentMethod>()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                totals,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(LedgerTotals {
        earnings_minor,
        earnings_count: u64::try_from(earnings_count).unwrap_or_default(),
        open_earnings_minor,
        open_deductions_minor,
        open_carried_balance_minor,
        payouts,
    })
}
