//! A barber's year by the month money was paid, and the shop's tax-year report: read from the
//! totals each payout change keeps per barber and month of payment
//! ([`payout_core::totals::BARBER_SUMS`]), so a summary reads 13 records and the report one a
//! barber, whatever the history's length.
//!
//! A payout counts in the month (in the barber's time zone) the rail accepted it, or it was
//! settled without a transfer; it leaves the count if it fails after that. `net_paid` sums the
//! nets that moved money: a period that closed with a balance owed moves none, and what it
//! carried is taken from the next payout's net.

use std::collections::BTreeMap;

use payout_core::deduction::DeductionKind;
use payout_core::ids::BarberId;
use payout_core::money::{Currency, Money};
use payout_core::totals::{Bucket, Totals};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::AppError;
use crate::services::Services;

/// The years a summary may ask for.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// What a barber was paid over a month or a year, as decimal strings in the barber's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaidFigures {
    pub payouts: u64,
    /// The services' gross.
    pub gross: String,
    /// The tips clients left, and what of them the barber was paid.
    pub tips: String,
    pub tips_paid: String,
    pub commission: String,
    pub bonus: String,
    /// Each deduction kind taken (a negative amount was given back: a reserve released, a fee
    /// credit), and their total.
    pub deductions: BTreeMap<String, String>,
    pub deductions_total: String,
    pub fees: String,
    /// What the barber was paid: the nets that moved money.
    pub net_paid: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthFigures {
    /// `2026-01`.
    pub month: String,
    #[serde(flatten)]
    pub figures: PaidFigures,
}

/// `GET /barbers/{id}/summary?year=`: the year to date, by month of payment.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BarberSummary {
    pub barber_id: String,
    pub year: i32,
    pub currency: String,
    /// Every month of the year, January first (a month to come has nothing).
    pub months: Vec<MonthFigures>,
    pub total: PaidFigures,
}

fn figures(totals: &Totals, bucket: &Bucket, currency: Currency) -> PaidFigures {
    let code = currency.code().to_ascii_lowercase();
    let minor = |line: &str| totals.get(bucket, &format!("{line}_minor_{code}"));
    let text = |line: &str| {
        Money::from_minor(minor(line), currency)
            .amount()
            .to_string()
    };
    PaidFigures {
        payouts: u64::try_from(totals.get(bucket, &format!("payouts_{code}"))).unwrap_or_default(),
        gross: text("gross"),
        tips: text("tips"),
        tips_paid: text("tips_paid"),
        commission: text("commission"),
        bonus: text("bonus"),
        deductions: DeductionKind::ALL
            .into_iter()
            .filter(|kind| minor(&format!("deduction_{}", kind.as_str())) != 0)
            .map(|kind| {
                let line = format!("deduction_{}", kind.as_str());
                (kind.as_str().to_string(), text(&line))
            })
            .collect(),
        deductions_total: text("deductions"),
        fees: text("fee"),
        net_paid: text("net_paid"),
    }
}

fn checked_year(year: i32) -> Result<i32, AppError> {
    if YEARS.contains(&year) {
        Ok(year)
    } else {
        Err(AppError::Invalid(format!(
            "year must be between {} and {}",
            YEARS.start(),
            YEARS.end()
        )))
    }
}

/// `barber`'s `year`, month by month and whole.
pub async fn barber_summary(
    p: &Services,
    barber: &BarberId,
    year: i32,
) -> Result<BarberSummary, AppError> {
    let year = checked_year(year)?;
    let schedule = p
        .store
        .get_schedule(barber)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("barber {barber}")))?;
    let months: Vec<Bucket> = (1..=12)
        .map(|month| Bucket::BarberMonth(barber.clone(), year, month))
        .collect();
    let whole = Bucket::BarberYear(barber.clone(), year);
    let mut buckets = months.clone();
    buckets.push(whole.clone());
    let totals = p.store.totals(&buckets).await?;
    Ok(BarberSummary {
        barber_id: barber.to_string(),
        year,
        currency: schedule.currency.to_string(),
        months: (1..=12)
            .zip(&months)
            .map(|(month, bucket)| MonthFigures {
                month: format!("{year:04}-{month:02}"),
                figures: figures(&totals, bucket, schedule.currency),
            })
            .collect(),
        total: figures(&totals, &whole, schedule.currency),
    })
}

/// One barber's year for the tax-year report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaxYearRow {
    pub barber_id: String,
    pub display_name: Option<String>,
    pub currency: String,
    pub payouts: u64,
    /// What the barber was paid in the year, tips included.
    pub net_paid: String,
    /// What of that was tips.
    pub tips_paid: String,
    /// Whether `net_paid` is at least `[tax] reporting_threshold`.
    pub reaches_threshold: bool,
}

/// A page of the tax-year report: the barbers paid in the year among those after `after`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaxYearPage {
    pub year: i32,
    pub reporting_threshold: String,
    pub rows: Vec<TaxYearRow>,
    /// The barber to continue after, when more barbers may follow.
    pub next_cursor: Option<String>,
}

/// The rows of up to `limit` barbers after `after` (in barber id order) paid in `year`: a read
/// of the schedules and of one record (of its shards) a barber.
pub async fn tax_year_page(
    p: &Services,
    year: i32,
    after: Option<&BarberId>,
    limit: usize,
) -> Result<TaxYearPage, AppError> {
    let year = checked_year(year)?;
    let schedules = p.store.list_schedules(after, limit).await?;
    let buckets: Vec<Bucket> = schedules
        .iter()
        .map(|schedule| Bucket::BarberYear(schedule.barber_id.clone(), year))
        .collect();
    let totals = p.store.totals(&buckets).await?;
    let threshold = p.config.tax_reporting_threshold;
    let rows = schedules
        .iter()
        .zip(&buckets)
        .map(|(schedule, bucket)| {
            let paid = figures(&totals, bucket, schedule.currency);
            let net_paid: Decimal = paid.net_paid.parse().unwrap_or_default();
            TaxYearRow {
                barber_id: schedule.barber_id.to_string(),
                display_name: schedule.notifications.display_name.clone(),
                currency: schedule.currency.to_string(),
                payouts: paid.payouts,
                reaches_threshold: net_paid >= threshold,
                net_paid: paid.net_paid,
                tips_paid: paid.tips_paid,
            }
        })
        .filter(|row| row.payouts > 0)
        .collect();
    Ok(TaxYearPage {
        year,
        reporting_threshold: threshold.normalize().to_string(),
        rows,
        next_cursor: (schedules.len() == limit)
            .then(|| schedules.last().map(|s| s.barber_id.to_string()))
            .flatten(),
    })
}

/// The tax year's rows as CSV lines (a header first when `header`), names neutralised for
/// spreadsheets.
pub fn tax_year_csv(page: &TaxYearPage, header: bool) -> Result<Vec<u8>, AppError> {
    let failed = |e: &dyn std::fmt::Display| AppError::Invalid(format!("tax-year report: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    if header {
        writer
            .write_record(TAX_YEAR_COLUMNS)
            .map_err(|e| failed(&e))?;
    }
    for row in &page.rows {
        let name = crate::bank_export::spreadsheet_safe(row.display_name.as_deref().unwrap_or(""));
        writer
            .write_record([
                page.year.to_string().as_str(),
                &row.barber_id,
                &name,
                &row.currency,
                &row.payouts.to_string(),
                &row.net_paid,
                &row.tips_paid,
                if row.reaches_threshold { "yes" } else { "no" },
            ])
            .map_err(|e| failed(&e))?;
    }
    writer.into_inner().map_err(|e| failed(&e))
}

/// The tax-year CSV's columns.
pub const TAX_YEAR_COLUMNS: [&str; 8] = [
    "year",
    "barber_id",
    "display_name",
    "currency",
    "payouts",
    "net_paid",
    "tips_paid",
    "reaches_threshold",
];
