//! The bank transfer export: one CSV file per business day (UTC) with every bank-transfer payout
//! handed over that day, and a totals line the bank's portal can be checked against.

use chrono::{NaiveDate, TimeDelta};
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;

use crate::error::AppError;
use crate::pipeline::Pipeline;
use crate::ports::PayoutQuery;

const PAGE: usize = 500;

/// The bank-transfer payouts waiting for the bank, created on `day`.
pub async fn bank_batch(p: &Pipeline, day: NaiveDate) -> Result<Vec<Payout>, AppError> {
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

/// CSV: one row per payout, then `TOTAL,<count>,,<sum per currency>`.
pub fn render_csv(day: NaiveDate, batch: &[Payout]) -> Result<String, AppError> {
    let mut csv =
        String::from("business_day,payout_id,barber_id,account,amount,currency,reference\n");
    let mut totals: std::collections::BTreeMap<String, Money> = std::collections::BTreeMap::new();
    for payout in batch {
        let net = payout.breakdown.net;
        csv.push_str(&format!(
            "{day},{},{},{},{},{},{}\n",
            payout.id,
            payout.barber_id,
            payout.destination.as_deref().unwrap_or(""),
            net.amount(),
            net.currency(),
            payout.transfer_id.as_deref().unwrap_or("")
        ));
        let total = totals
            .entry(net.currency().to_string())
            .or_insert(Money::zero(net.currency()));
        *total = total.checked_add(net)?;
    }
    for (currency, total) in totals {
        csv.push_str(&format!(
            "{day},TOTAL,{},,{},{currency},\n",
            batch.len(),
            total.amount()
        ));
    }
    Ok(csv)
}
