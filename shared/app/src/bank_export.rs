//! The bank transfer export: one CSV file per business day (UTC) with every bank-transfer payout
//! handed over that day, and a totals line the bank's portal can be checked against.

use chrono::{NaiveDate, TimeDelta};
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;

use crate::error::AppError;
use crate::ports::PayoutQuery;
use crate::services::Services;

const PAGE: usize = 500;

/// The bank-transfer payouts waiting for the bank, created on `day`.
pub async fn bank_batch(p: &Services, day: NaiveDate) -> Result<Vec<Payout>, AppError> {
    let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let mut query = PayoutQuery {
        method: Some(PaymentMethod::BankTransfer),
        status: Some(PayoutStatus::InTransit),
        from: Some(start),
        to: Some(start + TimeDelta::days(1)),
        ..PayoutQuery::default()
    };
    let mut batch = Vec::new();
    loop {
        let page = p.store.list_payouts(&query, PAGE).await?;
        let Some(last) = page.last() else { break };
        query.after = Some((last.created_at, last.id.clone()));
        let full = page.len() == PAGE;
        batch.extend(page);
        if !full {
            break;
        }
    }
    Ok(batch)
}

/// CSV: one row per payout, then `TOTAL,<count>,,<sum per currency>`. Written by the `csv`
/// crate, so commas, quotes and line breaks in a field are quoted, and any text field that a
/// spreadsheet would run as a formula is neutralised.
pub fn render_csv(day: NaiveDate, batch: &[Payout]) -> Result<String, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let day = day.to_string();
    let mut row = |fields: [&str; 7]| {
        writer
            .write_record(fields.map(|field| spreadsheet_safe(field).into_owned()))
            .map_err(|e| AppError::Invalid(format!("cannot write the bank file: {e}")))
    };
    row([
        "business_day",
        "payout_id",
        "barber_id",
        "account",
        "amount",
        "currency",
        "reference",
    ])?;
    let mut totals: std::collections::BTreeMap<String, Money> = std::collections::BTreeMap::new();
    for payout in batch {
        let net = payout.breakdown.net;
        row([
            &day,
            payout.id.as_str(),
            payout.barber_id.as_str(),
            payout.destination.as_deref().unwrap_or(""),
            &net.amount().to_string(),
            net.currency().code(),
            payout.transfer_id.as_deref().unwrap_or(""),
        ])?;
        let total = totals
            .entry(net.currency().to_string())
            .or_insert(Money::zero(net.currency()));
        *total = total.checked_add(net)?;
    }
    let count = batch.len().to_string();
    for (currency, total) in totals {
        row([
            &day,
            "TOTAL",
            &count,
            "",
            &total.amount().to_string(),
            &currency,
            "",
        ])?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::Invalid(format!("cannot write the bank file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Invalid(format!("bank file: {e}")))
}

/// A field a spreadsheet would evaluate gets a leading apostrophe, OWASP's advice against CSV
/// injection: one starting with a tab or carriage return, or whose first character past any
/// spaces (which some spreadsheets trim) is `=`, `+`, `-`, `@` or their full-width forms.
/// Amounts are written as they are, never through this.
pub(crate) fn spreadsheet_safe(field: &str) -> std::borrow::Cow<'_, str> {
    let first = field
        .trim_start_matches([' ', '\u{a0}', '\u{3000}'])
        .chars()
        .next();
    let starts_a_formula = field.starts_with(['\t', '\r'])
        || matches!(
            first,
            Some('=' | '+' | '-' | '@' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}')
        );
    match starts_a_formula {
        true => format!("'{field}").into(),
        false => field.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_prefixes_are_neutralised() {
        for formula in [
            "=HYPERLINK(\"x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            " =2+2",
            "\u{a0}=2+2",
            "\u{ff1d}HYPERLINK(\"x\")",
        ] {
            assert!(spreadsheet_safe(formula).starts_with('\''), "{formula}");
        }
        assert_eq!(spreadsheet_safe("acct_123"), "acct_123");
    }
}
