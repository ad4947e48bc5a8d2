//! Caps on instant payouts per UTC day (`[instant]`): a payout the barber takes instant that
//! would pass the barber's cap or the platform's is planned as a standard transfer with the
//! standard fee instead, and says why. Counted from what was planned that day, other than
//! what was cancelled: the barber's own instant payouts from their listing (a few a day), the
//! platform's from the day's kept totals (one read, whatever the volume).

use chrono::{DateTime, Utc};
use payout_core::ids::BarberId;
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::status::PayoutStatus;
use payout_core::totals::{Bucket, created_net_counter};
use rust_decimal::Decimal;

use crate::error::AppError;
use crate::ports::PayoutQuery;
use crate::services::Services;

/// More instant payouts than a barber could make in a day under any sane cap.
const BARBER_DAY_READ: usize = 500;

/// Why an instant payout of `net` to `barber`, planned at `now`, must go standard instead, if
/// it must.
pub async fn over_limit(
    p: &Services,
    barber: &BarberId,
    net: Money,
    now: DateTime<Utc>,
) -> Result<Option<String>, AppError> {
    let limits = &p.config.instant;
    let currency = net.currency();
    let day_start = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    if let Some(limit) = limits.per_barber_daily {
        let query = PayoutQuery {
            barber: Some(barber.clone()),
            method: Some(PaymentMethod::StripeInstant),
            from: Some(day_start),
            ..PayoutQuery::default()
        };
        let today: i64 = p
            .store
            .list_payouts(&query, BARBER_DAY_READ)
            .await?
            .iter()
            .filter(|payout| payout.status != PayoutStatus::Cancelled)
            .filter_map(|payout| payout.breakdown.net.to_minor().ok())
            .sum();
        if let Some(why) = passes(today, net, limit, "per_barber_daily", "their") {
            return Ok(Some(why));
        }
    }
    if let Some(limit) = limits.platform_daily {
        let day = Bucket::Day(now.date_naive());
        let today = p.store.totals(std::slice::from_ref(&day)).await?.get(
            &day,
            &created_net_counter(PaymentMethod::StripeInstant, currency),
        );
        if let Some(why) = passes(today, net, limit, "platform_daily", "the platform's") {
            return Ok(Some(why));
        }
    }
    Ok(None)
}

/// Why `net` on top of `today_minor` passes `limit` (`key` of `[instant]`), if it does.
fn passes(today_minor: i64, net: Money, limit: Decimal, key: &str, whose: &str) -> Option<String> {
    let today = Money::from_minor(today_minor, net.currency());
    (today.amount() + net.amount() > limit).then(|| {
        format!(
            "paid as a standard transfer with the standard fee: {} instant would bring {whose} \
             instant payouts today to {}, over [instant] {key} = {limit}",
            net.formatted(),
            Money::from_minor(
                today_minor + net.to_minor().unwrap_or_default(),
                net.currency()
            )
            .formatted()
        )
    })
}
