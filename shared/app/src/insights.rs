//! Analytics and schedule recommendations, computed from payout history.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use payout_core::calendar::Frequency;
use payout_core::ids::BarberId;
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use payout_core::payout::Payout;
use payout_core::schedule::PayoutSchedule;
use payout_core::status::PayoutStatus;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::AppError;
use crate::ports::PayoutQuery;
use crate::services::Services;

/// The most payouts one analytics request reads.
const HISTORY_LIMIT: usize = 20_000;
const PAGE: usize = 1_000;

/// Payouts of `barber` (or everyone) created in `[from, to)`, in `currency`.
pub async fn payout_history(
    p: &Services,
    barber: Option<&BarberId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    currency: Currency,
) -> Result<Vec<Payout>, AppError> {
    let mut query = PayoutQuery {
        barber: barber.cloned(),
        from: Some(from),
        to: Some(to),
        ..PayoutQuery::default()
    };
    let mut history = Vec::new();
    loop {
        let page = p.store.list_payouts(&query, PAGE).await?;
        let Some(last) = page.last() else { break };
        query.after = Some((last.created_at, last.id.clone()));
        let full = page.len() == PAGE;
        history.extend(
            page.into_iter()
                .filter(|p| p.breakdown.gross.currency() == currency),
        );
        if !full || history.len() >= HISTORY_LIMIT {
            break;
        }
    }
    Ok(history)
}

fn text(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).amount().to_string()
}

fn minor(money: Money) -> i64 {
    money.to_minor().unwrap_or_default()
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoneyTotals {
    pub gross: String,
    pub commission: String,
    pub bonus: String,
    pub deductions: String,
    pub fees: String,
    pub net: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MethodFees {
    pub payouts: u64,
    pub fees: String,
    /// This method's share of all fees, a fraction ("0.25").
    pub share: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayTrend {
    pub day: String,
    pub payouts: u64,
    /// Of them, failed for good.
    pub failed: u64,
    pub gross: String,
    pub net: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Analytics {
    pub barber_id: Option<String>,
    pub days: u32,
    pub currency: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Over payouts that are not cancelled.
    pub totals: MoneyTotals,
    pub payouts_by_status: BTreeMap<String, u64>,
    /// completed / (completed + failed), a fraction; null with neither.
    pub success_rate: Option<String>,
    pub average_processing_seconds: Option<String>,
    pub p95_processing_seconds: Option<String>,
    /// From the rail's acceptance to confirmed arrival (bank transfers in transit).
    pub average_settlement_seconds: Option<String>,
    pub average_payout: Option<String>,
    pub fee_share_by_method: BTreeMap<String, MethodFees>,
    pub trend: Vec<DayTrend>,
}

fn ratio(part: u64, whole: u64) -> Option<String> {
    (whole > 0).then(|| {
        (Decimal::from(part) / Decimal::from(whole))
            .round_dp(4)
            .normalize()
            .to_string()
    })
}

/// The value at the 95th percentile (nearest rank) of sorted `values`.
fn p95(sorted: &[i64]) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * 95).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

fn seconds(millis: i64) -> String {
    (Decimal::from(millis) / Decimal::from(1000))
        .round_dp(3)
        .normalize()
        .to_string()
}

pub fn analytics(
    history: &[Payout],
    barber: Option<&BarberId>,
    days: u32,
    currency: Currency,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Analytics {
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let (mut gross, mut commission, mut bonus, mut deductions, mut fees, mut net) =
        (0, 0, 0, 0, 0, 0);
    let mut by_method: BTreeMap<PaymentMethod, (u64, i64)> = BTreeMap::new();
    let mut trend: BTreeMap<String, (u64, i64, i64, u64)> = BTreeMap::new();
    let mut processing: Vec<i64> = Vec::new();
    let mut settlement: Vec<i64> = Vec::new();
    let (mut completed, mut failed, mut paid_count, mut paid_net) = (0u64, 0u64, 0u64, 0i64);
    for payout in history {
        *by_status.entry(payout.status.to_string()).or_default() += 1;
        let b = &payout.breakdown;
        let counted = match payout.status {
            PayoutStatus::Cancelled => false,
            PayoutStatus::Scheduled
            | PayoutStatus::Queued
            | PayoutStatus::Processing
            | PayoutStatus::RetryScheduled
            | PayoutStatus::InTransit
            | PayoutStatus::Completed
            | PayoutStatus::Failed => true,
        };
        if counted {
            gross += minor(b.gross);
            commission += minor(b.commission);
            bonus += minor(b.bonus);
            deductions += minor(b.deductions_total);
            fees += minor(b.fee);
            net += minor(b.net);
            let day = trend
                .entry(payout.created_at.date_naive().to_string())
                .or_default();
            day.0 += 1;
            day.1 += minor(b.gross);
            day.2 += minor(b.net);
            day.3 += u64::from(payout.status == PayoutStatus::Failed);
        }
        match payout.status {
            PayoutStatus::Completed | PayoutStatus::InTransit => {
                completed += 1;
                if b.net.is_positive() {
                    paid_count += 1;
                    paid_net += minor(b.net);
                    let method = by_method.entry(payout.method).or_default();
                    method.0 += 1;
                    method.1 += minor(b.fee);
                }
                if let Some(time) = payout.processing_time() {
                    processing.push(time.num_milliseconds());
                }
                if let Some(time) = payout.settlement_time() {
                    settlement.push(time.num_milliseconds());
                }
            }
            PayoutStatus::Failed => failed += 1,
            PayoutStatus::Scheduled
            | PayoutStatus::Queued
            | PayoutStatus::Processing
            | PayoutStatus::RetryScheduled
            | PayoutStatus::Cancelled => {}
        }
    }
    processing.sort_unstable();
    let total_method_fees: i64 = by_method.values().map(|(_, f)| f).sum();
    Analytics {
        barber_id: barber.map(ToString::to_string),
        days,
        currency: currency.to_string(),
        from,
        to,
        totals: MoneyTotals {
            gross: text(gross, currency),
            commission: text(commission, currency),
            bonus: text(bonus, currency),
            deductions: text(deductions, currency),
            fees: text(fees, currency),
            net: text(net, currency),
        },
        payouts_by_status: by_status,
        success_rate: ratio(completed, completed + failed),
        average_processing_seconds: (!processing.is_empty())
            .then(|| seconds(processing.iter().sum::<i64>() / processing.len() as i64)),
        p95_processing_seconds: p95(&processing).map(seconds),
        average_settlement_seconds: (!settlement.is_empty())
            .then(|| seconds(settlement.iter().sum::<i64>() / settlement.len() as i64)),
        average_payout: (paid_count > 0).then(|| {
            Money::rounded(
                Money::from_minor(paid_net, currency).amount() / Decimal::from(paid_count),
                currency,
            )
            .amount()
            .to_string()
        }),
        fee_share_by_method: by_method
            .into_iter()
            .map(|(method, (count, method_fees))| {
                (
                    method.to_string(),
                    MethodFees {
                        payouts: count,
                        fees: text(method_fees, currency),
                        share: ratio(
                            u64::try_from(method_fees).unwrap_or_default(),
                            u64::try_from(total_method_fees).unwrap_or_default(),
                        )
                        .unwrap_or_else(|| "0".to_string()),
                    },
                )
            })
            .collect(),
        trend: trend
            .into_iter()
            .map(|(day, (payouts, day_gross, day_net, failed))| DayTrend {
                day,
                payouts,
                failed,
                gross: text(day_gross, currency),
                net: text(day_net, currency),
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendation {
    /// switch_to_standard, pay_less_often, pay_more_often, cover_deductions.
    pub kind: String,
    pub suggestion: String,
    pub reason: String,
    /// The figures behind the reason, as decimal strings or counts.
    pub numbers: BTreeMap<String, String>,
}

/// Suggestions for `schedule` from its payouts of the last `history` window.
pub fn recommendations(
    p: &Services,
    schedule: &PayoutSchedule,
    history: &[Payout],
    window: TimeDelta,
) -> Vec<Recommendation> {
    let currency = schedule.currency;
    let paid: Vec<&Payout> = history
        .iter()
        .filter(|p| {
            matches!(p.status, PayoutStatus::Completed | PayoutStatus::InTransit)
                && p.breakdown.net.is_positive()
        })
        .collect();
    let owed = history
        .iter()
        .filter(|p| p.breakdown.net.is_negative())
        .count();
    let mut out = Vec::new();
    let fees = &p.config.policy.fees;

    let instant: Vec<&&Payout> = paid
        .iter()
        .filter(|p| p.method == PaymentMethod::StripeInstant)
        .collect();
    if !instant.is_empty() {
        let (instant_fees, standard_fees) = instant.iter().fold((0, 0), |(i, s), p| {
            (
                i + minor(p.breakdown.fee),
                s + minor(fees.fee(PaymentMethod::StripeStandard, p.breakdown.gross)),
            )
        });
        if instant_fees > standard_fees {
            out.push(Recommendation {
                kind: "switch_to_standard".into(),
                suggestion: "Use Stripe standard payouts instead of instant".into(),
                reason: format!(
                    "instant payouts cost {} more in fees over {} payouts; standard arrives in 1-2 business days",
                    text(instant_fees - standard_fees, currency),
                    instant.len()
                ),
                numbers: BTreeMap::from([
                    ("payouts".into(), instant.len().to_string()),
                    ("instant_fees".into(), text(instant_fees, currency)),
                    ("standard_fees".into(), text(standard_fees, currency)),
                    ("savings".into(), text(instant_fees - standard_fees, currency)),
                ]),
            });
        }
    }

    let average_net = (!paid.is_empty())
        .then(|| paid.iter().map(|p| minor(p.breakdown.net)).sum::<i64>() / paid.len() as i64);
    let minimum = minor(schedule.minimum_payout);
    let frequent = matches!(
        schedule.calendar.frequency,
        Frequency::Daily | Frequency::Weekly { .. }
    );
    if let Some(average) = average_net
        && frequent
        && average < minimum.max(1) * 2
    {
        let fixed: i64 = paid
            .iter()
            .map(|p| minor(fees.fee(p.method, Money::zero(currency))))
            .sum();
        out.push(Recommendation {
            kind: "pay_less_often".into(),
            suggestion: "Move to a weekly or biweekly schedule".into(),
            reason: format!(
                "the average payout ({}) is less than twice the minimum ({}); fewer, larger payouts pay the fixed fee less often",
                text(average, currency),
                text(minimum, currency)
            ),
            numbers: BTreeMap::from([
                ("payouts".into(), paid.len().to_string()),
                ("average_payout".into(), text(average, currency)),
                ("minimum_payout".into(), text(minimum, currency)),
                ("fixed_fees_paid".into(), text(fixed, currency)),
            ]),
        });
    }
    if let Some(average) = average_net
        && matches!(schedule.calendar.frequency, Frequency::Monthly { .. })
        && average > 2_000 * 100
    {
        out.push(Recommendation {
            kind: "pay_more_often".into(),
            suggestion: "Move to a biweekly schedule".into(),
            reason: format!(
                "monthly payouts average {}; paying every two weeks smooths cash flow, and percentage fees do not grow",
                text(average, currency)
            ),
            numbers: BTreeMap::from([
                ("payouts".into(), paid.len().to_string()),
                ("average_payout".into(), text(average, currency)),
            ]),
        });
    }
    if owed > 0 {
        out.push(Recommendation {
            kind: "cover_deductions".into(),
            suggestion: "Pay less often so each period's earnings cover its deductions".into(),
            reason: format!(
                "{owed} period(s) in the last {} days closed with deductions above the commission, carrying a balance owed",
                window.num_days()
            ),
            numbers: BTreeMap::from([("periods_with_balance_owed".into(), owed.to_string())]),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::p95;

    #[test]
    fn p95_is_nearest_rank() {
        assert_eq!(p95(&[]), None);
        assert_eq!(p95(&[7]), Some(7));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(p95(&hundred), Some(95));
        let twenty: Vec<i64> = (1..=20).collect();
        assert_eq!(p95(&twenty), Some(19));
    }
}
