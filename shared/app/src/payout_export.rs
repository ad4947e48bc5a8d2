//! Every payout of a window for the books, as CSV: one row a payout with every line of its
//! breakdown, or (`journal`) double-entry lines an accounting package imports, each payout's
//! lines balancing to zero. Written a page at a time, so a caller can stream a year of payouts
//! without holding it.

use chrono::{DateTime, Utc};
use payout_core::deduction::DeductionKind;
use payout_core::ids::PayoutId;
use payout_core::money::Money;
use payout_core::payout::Payout;
use payout_core::totals::paid_on;

use crate::bank_export::spreadsheet_safe;
use crate::error::AppError;
use crate::ports::PayoutQuery;
use crate::services::Services;

/// Payouts read (and written out) at a time.
pub const PAGE: usize = 500;

/// How long before a journal's window a payout paid inside it may have been created: one that
/// waited longer (for an approval, a ready account) is not in the journal.
pub const JOURNAL_REACH: chrono::TimeDelta = chrono::TimeDelta::days(90);

/// How the export is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One row a payout: [`payout_columns`].
    Payouts,
    /// Double-entry lines of the paid payouts: [`JOURNAL_COLUMNS`].
    Journal,
}

impl std::str::FromStr for Layout {
    type Err = AppError;

    fn from_str(raw: &str) -> Result<Self, AppError> {
        match raw {
            "payouts" => Ok(Layout::Payouts),
            "journal" => Ok(Layout::Journal),
            other => Err(AppError::Invalid(format!(
                "layout: `{other}` is not a layout (payouts or journal)"
            ))),
        }
    }
}

/// The journal's columns: a line debits or credits one account.
pub const JOURNAL_COLUMNS: [&str; 7] = [
    "date",
    "payout_id",
    "account",
    "debit",
    "credit",
    "currency",
    "description",
];

/// The payouts layout's columns, a `deduction_<kind>` for each deduction kind among them.
pub fn payout_columns() -> Vec<String> {
    let head = [
        "payout_id",
        "barber_id",
        "status",
        "method",
        "paid_by",
        "created_at",
        "paid_at",
        "currency",
        "service_count",
        "gross",
        "tips",
        "tips_paid",
        "commission_rate",
        "commission",
        "bonus",
    ];
    let tail = ["deductions_total", "fee", "net", "shop_share", "reference"];
    head.iter()
        .map(|c| c.to_string())
        .chain(
            DeductionKind::ALL
                .iter()
                .map(|kind| format!("deduction_{}", kind.as_str())),
        )
        .chain(tail.iter().map(|c| c.to_string()))
        .collect()
}

/// Where an export stands: the window, and the last payout written.
#[derive(Debug, Clone)]
pub struct ExportCursor {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub after: Option<(DateTime<Utc>, PayoutId)>,
}

/// The next page of the export as CSV (its header first on the first page), and where to go
/// on from; `None` once every payout created in `[from, to)` is written.
pub async fn next_page(
    p: &Services,
    layout: Layout,
    cursor: &ExportCursor,
) -> Result<(Vec<u8>, Option<ExportCursor>), AppError> {
    // The journal books a payout on the day it was paid, so it looks back for payouts created
    // before the window and paid inside it.
    let created_from = match layout {
        Layout::Payouts => cursor.from,
        Layout::Journal => cursor.from - JOURNAL_REACH,
    };
    let query = PayoutQuery {
        from: Some(created_from),
        to: Some(cursor.to),
        after: cursor.after.clone(),
        ..PayoutQuery::default()
    };
    let page = p.store.list_payouts(&query, PAGE).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    if cursor.after.is_none() {
        match layout {
            Layout::Payouts => writer.write_record(payout_columns()),
            Layout::Journal => writer.write_record(JOURNAL_COLUMNS),
        }
        .map_err(failed)?;
    }
    for payout in &page {
        match layout {
            Layout::Payouts => writer.write_record(payout_row(payout)?),
            Layout::Journal => journal_lines(payout, cursor.from..cursor.to)?
                .iter()
                .try_for_each(|line| writer.write_record(line)),
        }
        .map_err(failed)?;
    }
    let next = (page.len() == PAGE)
        .then(|| page.last())
        .flatten()
        .map(|last| ExportCursor {
            after: Some((last.created_at, last.id.clone())),
            ..cursor.clone()
        });
    Ok((writer.into_inner().map_err(failed)?, next))
}

fn failed(e: impl std::fmt::Display) -> AppError {
    AppError::Invalid(format!("export: {e}"))
}

fn amount(money: Money) -> String {
    money.amount().to_string()
}

fn payout_row(payout: &Payout) -> Result<Vec<String>, AppError> {
    let b = &payout.breakdown;
    let currency = b.net.currency();
    let by_kind = DeductionKind::ALL.iter().map(|kind| {
        b.deductions
            .iter()
            .filter(|line| line.kind == *kind)
            .try_fold(Money::zero(currency), |sum, line| {
                sum.checked_add(line.amount)
            })
            .map(amount)
    });
    let mut row = vec![
        payout.id.to_string(),
        payout.barber_id.to_string(),
        payout.status.as_str().to_string(),
        payout.method.as_str().to_string(),
        payout.paid_by().as_str().to_string(),
        payout.created_at.to_rfc3339(),
        paid_on(payout)
            .map(|at| at.to_rfc3339())
            .unwrap_or_default(),
        currency.code().to_string(),
        b.service_count.to_string(),
        amount(b.gross),
        amount(b.tips_received()),
        amount(b.tips_paid()),
        b.commission_rate.fraction().to_string(),
        amount(b.commission),
        amount(b.bonus),
    ];
    row.extend(by_kind.collect::<Result<Vec<_>, _>>()?);
    row.extend([
        amount(b.deductions_total),
        amount(b.fee),
        amount(b.net),
        amount(b.shop_share),
        spreadsheet_safe(payout.transfer_id.as_deref().unwrap_or("")).into_owned(),
    ]);
    Ok(row)
}

/// A paid payout's double-entry lines if it was paid in `window`, on the day it was paid (in
/// the barber's time zone, as their summary counts it); nothing for one not paid (or
/// cancelled). What the barber earned (commission, bonus, tips) is owed to them
/// (`barber_payable`); each deduction, the fee and the net paid out of `cash` settle what is
/// owed. A balance the barber owes is carried (`carried_balance`, debited) and cleared by the
/// next payout that takes it back (credited). Debits and credits are equal by the breakdown's
/// identity.
pub fn journal_lines(
    payout: &Payout,
    window: std::ops::Range<DateTime<Utc>>,
) -> Result<Vec<[String; 7]>, AppError> {
    let Some(paid_at) = paid_on(payout).filter(|at| window.contains(at)) else {
        return Ok(Vec::new());
    };
    let b = &payout.breakdown;
    let currency = b.net.currency();
    let earned = b.commission.checked_add(b.bonus)?;
    let owed = earned.checked_add(b.tips_paid())?;
    // (account, amount debited: negative is a credit, description)
    let mut postings: Vec<(String, Money, String)> = vec![
        (
            "commission".into(),
            earned,
            "commission and bonus earned".into(),
        ),
        (
            "tips".into(),
            b.tips_paid(),
            "tips passed to the barber".into(),
        ),
        (
            "barber_payable".into(),
            owed.negate(),
            "owed to the barber".into(),
        ),
    ];
    for line in &b.deductions {
        let description = spreadsheet_safe(&line.description).into_owned();
        postings.push(("barber_payable".into(), line.amount, description.clone()));
        let account = match line.kind {
            DeductionKind::CarriedBalance => "carried_balance".to_string(),
            kind => format!("deductions:{}", kind.as_str()),
        };
        postings.push((account, line.amount.negate(), description));
    }
    postings.push(("barber_payable".into(), b.fee, "payout fee".into()));
    postings.push(("fees".into(), b.fee.negate(), "payout fee".into()));
    let settled_by = if b.net.is_negative() {
        "carried_balance"
    } else {
        "cash"
    };
    postings.push(("barber_payable".into(), b.net, "net payout".into()));
    postings.push((settled_by.into(), b.net.negate(), "net payout".into()));
    let date = paid_at
        .with_timezone(&payout.notifications.time_zone)
        .date_naive()
        .to_string();
    Ok(postings
        .into_iter()
        .filter(|(_, money, _)| !money.amount().is_zero())
        .map(|(account, money, description)| {
            let (debit, credit) = if money.is_negative() {
                (String::new(), amount(money.negate()))
            } else {
                (amount(money), String::new())
            };
            [
                date.clone(),
                payout.id.to_string(),
                account,
                debit,
                credit,
                currency.code().to_string(),
                description,
            ]
        })
        .collect())
}
