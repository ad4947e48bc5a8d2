//! Analytics (from the kept totals of a window of days) and schedule recommendations (from a
//! barber's payout history).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use payout_core::calendar::Frequency;
use payout_core::ids::BarberId;
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use payout_core::payout::Payout;
use payout_core::schedule::PayoutSchedule;
use payout_core::status::PayoutStatus;
use payout_core::totals::{Bucket, PROCESSING_BOUNDS, Totals};
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
    /// The services' gross.
    pub gross: String,
    /// The tips clients left (not in `gross`).
    pub tips: String,
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
    /// The window: these UTC days, today's included. Payouts count on the day they were
    /// created (totals, statuses, success rate, trend) or paid (processing, settlement,
    /// average payout, fees by method).
    pub days: u32,
    pub currency: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Over payouts that are not cancelled.
    pub totals: MoneyTotals,
    pub payouts_by_status: BTreeMap<String, u64>,
    /// completed / (completed + failed), a fraction; null with neither.
    pub success_rate: Option<String>,
    /// From the first attempt to the rail's acceptance.
    pub average_processing_seconds: Option<String>,
    /// The upper bound of the histogram bucket holding the 95th percentile: 1, 2, 5, 10, 30,
    /// 60, 300, 900, 3600, 21600 or 86400 seconds (null above a day).
    pub p95_processing_seconds: Option<String>,
    /// From the rail's acceptance to confirmed arrival (bank transfers in transit).
    pub average_settlement_seconds: Option<String>,
    /// Over the payouts paid with a net above zero.
    pub average_payout: Option<String>,
    pub fee_share_by_method: BTreeMap<String, MethodFees>,
    pub trend: Vec<DayTrend>,
}

fn ratio(part: i64, whole: i64) -> Option<String> {
    (whole > 0).then(|| {
        (Decimal::from(part) / Decimal::from(whole))
            .round_dp(4)
            .normalize()
            .to_string()
    })
}

fn seconds(millis: i64) -> String {
    (Decimal::from(millis) / Decimal::from(1000))
        .round_dp(3)
        .normalize()
        .to_string()
}

/// The UTC days of a window of `days` ending with `now`'s, and the window's start.
fn window(days: u32, now: DateTime<Utc>) -> (Vec<NaiveDate>, DateTime<Utc>) {
    let first = now.date_naive() - TimeDelta::days(i64::from(days) - 1);
    let dates: Vec<NaiveDate> = first.iter_days().take(days as usize).collect();
    (dates, first.and_time(NaiveTime::MIN).and_utc())
}

/// Analytics of the last `days` UTC days, today's included, in `currency`: for one barber,
/// counted from their payouts created in those days; for the platform, read from the kept
/// totals of those days (a cost per day, whatever the history holds).
pub async fn analytics(
    p: &Services,
    barber: Option<&BarberId>,
    days: u32,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<Analytics, AppError> {
    let (dates, from) = window(days, now);
    let totals = match barber {
        Some(barber) => {
            let history = payout_history(p, Some(barber), from, now, currency).await?;
            Totals::recount(history.iter().map(|payout| (payout, &[][..])))
        }
        None => {
            let buckets: Vec<Bucket> = dates.iter().copied().map(Bucket::Day).collect();
            p.store.totals(&buckets).await?
        }
    };
    let sum = |counter: &str| -> i64 {
        let counter = format!("{counter}_{}", currency.code().to_ascii_lowercase());
        dates
            .iter()
            .map(|day| totals.get(&Bucket::Day(*day), &counter))
            .sum()
    };
    let on_day = |day: NaiveDate, counter: &str| -> i64 {
        totals.get(
            &Bucket::Day(day),
            &format!("{counter}_{}", currency.code().to_ascii_lowercase()),
        )
    };
    let created = |status: PayoutStatus| sum(&format!("created_{}", status.as_str()));
    let line = |name: &str| text(sum(&format!("created_{name}_minor")), currency);
    let completed = created(PayoutStatus::Completed) + created(PayoutStatus::InTransit);
    let failed = created(PayoutStatus::Failed);
    let (processed, settled) = (sum("processed"), sum("settled"));
    let positive = sum("paid_positive_count");
    let method_fees: Vec<(PaymentMethod, i64, i64)> = PaymentMethod::ALL
        .into_iter()
        .map(|method| {
            let name = method.as_str();
            (
                method,
                sum(&format!("paid_count_{name}")),
                sum(&format!("fee_minor_{name}")),
            )
        })
        .filter(|(_, count, _)| *count > 0)
        .collect();
    let all_fees: i64 = method_fees.iter().map(|(_, _, fees)| fees).sum();
    let not_cancelled = PayoutStatus::ALL
        .into_iter()
        .filter(|status| *status != PayoutStatus::Cancelled);
    Ok(Analytics {
        barber_id: barber.map(ToString::to_string),
        days,
        currency: currency.to_string(),
        from,
        to: now,
        totals: MoneyTotals {
            gross: line("gross"),
            tips: line("tips"),
            commission: line("commission"),
            bonus: line("bonus"),
            deductions: line("deductions"),
            fees: line("fee"),
            net: line("net"),
        },
        payouts_by_status: PayoutStatus::ALL
            .into_iter()
            .map(|status| {
                (
                    status.to_string(),
                    u64::try_from(created(status)).unwrap_or_default(),
                )
            })
            .filter(|(_, count)| *count > 0)
            .collect(),
        success_rate: ratio(completed, completed + failed),
        average_processing_seconds: (processed > 0)
            .then(|| seconds(sum("processing_ms") / processed)),
        p95_processing_seconds: p95_bound(processed, |bucket| sum(&bucket)),
        average_settlement_seconds: (settled > 0).then(|| seconds(sum("settlement_ms") / settled)),
        average_payout: (positive > 0).then(|| {
            Money::rounded(
                Money::from_minor(sum("paid_positive_net_minor"), currency).amount()
                    / Decimal::from(positive),
                currency,
            )
            .amount()
            .to_string()
        }),
        fee_share_by_method: method_fees
            .into_iter()
            .map(|(method, count, fees)| {
                (
                    method.to_string(),
                    MethodFees {
                        payouts: u64::try_from(count).unwrap_or_default(),
                        fees: text(fees, currency),
                        share: ratio(fees, all_fees).unwrap_or_else(|| "0".to_string()),
                    },
                )
            })
            .collect(),
        trend: dates
            .iter()
            .map(|day| DayTrend {
                day: day.to_string(),
                payouts: not_cancelled
                    .clone()
                    .map(|status| on_day(*day, &format!("created_{}", status.as_str())))
                    .sum::<i64>()
                    .try_into()
                    .unwrap_or_default(),
                failed: on_day(*day, "created_failed")
                    .try_into()
                    .unwrap_or_default(),
                gross: text(on_day(*day, "created_gross_minor"), currency),
                net: text(on_day(*day, "created_net_minor"), currency),
            })
            .filter(|day| day.payouts > 0)
            .collect(),
    })
}

/// The 95th percentile (nearest rank) of `count` processing times kept as a histogram
/// (`histogram(counter)` sums a bucket's counter): the upper bound of the bucket it falls in,
/// in seconds; none above the last bound.
fn p95_bound(count: i64, histogram: impl Fn(String) -> i64) -> Option<String> {
    let rank = (count * 95 + 99) / 100;
    let mut seen = 0;
    PROCESSING_BOUNDS.iter().find_map(|bound| {
        seen += histogram(format!("processing_le_{bound}"));
        (seen >= rank && count > 0).then(|| bound.to_string())
    })
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
    use super::p95_bound;

    #[test]
    fn p95_is_the_bound_of_the_bucket_holding_the_nearest_rank() {
        assert_eq!(p95_bound(0, |_| 0), None);
        // 100 times: 90 within a second, 9 within 5 s, 1 within 30 s: the 95th is within 5 s.
        let histogram = |counter: String| match counter.as_str() {
            "processing_le_1" => 90,
            "processing_le_5" => 9,
            "processing_le_30" => 1,
            _ => 0,
        };
        assert_eq!(p95_bound(100, histogram).as_deref(), Some("5"));
        // All above the last bound: unknown.
        assert_eq!(p95_bound(3, |_| 0), None);
    }
}
