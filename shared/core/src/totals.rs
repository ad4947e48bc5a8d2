//! The counts and sums a store keeps up to date with every payout change, so that reports
//! read a few buckets (O(days)) instead of every payout (O(history)).
//!
//! Each change of a payout is written with its audit event; [`tallies`] turns the two into the
//! additions to make, in the same commit. What the totals hold is a function of the records,
//! which [`Totals::recount`] computes from scratch to prove the kept ones right:
//!
//! - per status, the payouts in it now;
//! - per UTC day and per UTC hour of creation, the payouts created;
//! - per UTC day a payout was paid, the payouts in transit or completed now: their count, net
//!   and fees, per currency and method. The day is the rail's acceptance (`accepted_at`), or
//!   for a payout completed without one (a period settled with nothing to pay, net 0, or a
//!   failed payout settled by hand without an earlier acceptance) its completion; it never
//!   changes while the payout stays paid. A payout Stripe failed after its transfer leaves
//!   this count; an operator's payout of what it left behind enters it on its own day, and one
//!   settled by hand goes back to the day its transfer was accepted;
//!   With them, per currency, the count and net of those with a net above zero, how long the paid payouts took from their first attempt to the
//!   rail's acceptance (a sum, a count and a histogram over [`PROCESSING_BOUNDS`]) and, for
//!   the completed ones, from acceptance to arrival (a sum and a count);
//! - per UTC day of creation and currency, the payouts created that day in each status now,
//!   and the sums of the breakdowns of those not cancelled (gross, tips, commission, bonus,
//!   deductions, fee, net; the net per method too): what analytics reads for a window of
//!   days, and the platform's instant payouts of the day, for its limit;
//! - per UTC hour a payout was paid, all currencies: the paid payouts (`paid`) and their
//!   processing times (`processed`, `processing_ms`);
//! - per UTC day and hour, `failed` (changes into `failed`: for good) and `retry_scheduled`
//!   (changes into `retry_scheduled`: a retryable failure, or a hold for the rail's rate);
//! - per barber and month, and per barber and year, of payment in the barber's time zone (the
//!   payout's, as it was planned), the paid payouts' breakdowns summed ([`BARBER_SUMS`], each
//!   `<line>_minor_<currency>`, with `payouts_<currency>` and `net_paid_minor_<currency>` for
//!   those that moved money and `deduction_<kind>_minor_<currency>` per deduction kind, a
//!   carried balance counted in none): what a
//!   barber's year-to-date summary and the tax-year report read, a few records a barber
//!   whatever the history's length.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::deduction::DeductionKind;
use crate::ids::BarberId;
use crate::method::PaymentMethod;
use crate::money::Currency;
use crate::payout::{AuditEvent, Payout};
use crate::status::PayoutStatus;

/// A group of counters kept together (one record in a store).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    Status,
    Day(NaiveDate),
    /// The hour's start.
    Hour(DateTime<Utc>),
    /// A barber's payouts paid in a month (1-12) of a year, in the barber's time zone.
    BarberMonth(BarberId, i32, u32),
    /// A barber's payouts paid in a year, in the barber's time zone.
    BarberYear(BarberId, i32),
}

impl Bucket {
    /// The bucket's name as stored: `status`, `day#2026-12-05`, `hour#2026-12-05T14`,
    /// `barber#123#2026-12`, `barber#123#2026` (an id has no `#`).
    pub fn key(&self) -> String {
        match self {
            Bucket::Status => "status".to_string(),
            Bucket::Day(day) => format!("day#{}", day.format("%Y-%m-%d")),
            Bucket::Hour(hour) => format!("hour#{}", hour.format("%Y-%m-%dT%H")),
            Bucket::BarberMonth(barber, year, month) => {
                format!("barber#{barber}#{year:04}-{month:02}")
            }
            Bucket::BarberYear(barber, year) => format!("barber#{barber}#{year:04}"),
        }
    }

    pub fn hour_of(at: DateTime<Utc>) -> Bucket {
        Bucket::Hour(start_of_hour(at))
    }
}

/// The start of the UTC hour `at` falls in.
pub fn start_of_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_minute(0)
        .and_then(|at| at.with_second(0))
        .and_then(|at| at.with_nanosecond(0))
        .unwrap_or(at)
}

/// An addition to one counter of one bucket. Counter names are lower-case words joined by `_`
/// (`created`, `paid_count_usd`, `fee_minor_stripe_instant_usd`), safe as attribute names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub bucket: Bucket,
    pub counter: String,
    pub add: i64,
}

/// The counters of some buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals(pub BTreeMap<Bucket, BTreeMap<String, i64>>);

/// The upper bounds, in seconds, of the processing-time histogram: a paid payout counts in
/// `processing_le_<bound>_<currency>` of the first bound at or above its processing time, or
/// in `processing_le_inf_<currency>`.
pub const PROCESSING_BOUNDS: [i64; 11] = [1, 2, 5, 10, 30, 60, 300, 900, 3_600, 21_600, 86_400];

/// The histogram counter a processing time of `millis` counts in (without its currency).
pub fn processing_bucket(millis: i64) -> String {
    PROCESSING_BOUNDS
        .iter()
        .find(|bound| millis <= *bound * 1_000)
        .map_or_else(
            || "processing_le_inf".to_string(),
            |bound| format!("processing_le_{bound}"),
        )
}

/// The breakdown's lines summed per creation day, `created_<line>_minor_<currency>`.
pub const CREATED_SUMS: [&str; 7] = [
    "gross",
    "tips",
    "commission",
    "bonus",
    "deductions",
    "fee",
    "net",
];

/// The breakdown's lines a barber's paid payouts are summed by, per month and year of payment:
/// `<line>_minor_<currency>`.
pub const BARBER_SUMS: [&str; 10] = [
    "gross",
    "tips",
    "tips_paid",
    "commission",
    "bonus",
    "deductions",
    "fee",
    "net",
    "net_paid",
    "shop_share",
];

/// The barber's month and year buckets of `at`, in the time zone `payout` was planned in (it
/// never changes, so what leaves a month is what came into it).
pub fn barber_buckets(payout: &Payout, at: DateTime<Utc>) -> [Bucket; 2] {
    let local = at.with_timezone(&payout.notifications.time_zone);
    [
        Bucket::BarberMonth(payout.barber_id.clone(), local.year(), local.month()),
        Bucket::BarberYear(payout.barber_id.clone(), local.year()),
    ]
}

/// A paid payout in its barber's month and year of payment.
///
/// A balance carried from one period to the next is no charge of its own (the refund or rent
/// that made it is counted where it was taken), so its lines count in no deduction; and only a
/// payout that moved money counts in `payouts`. Over a year whose carried balances are settled,
/// commission + bonus + tips paid - deductions - fees = net paid.
fn barber_paid_tallies(payout: &Payout, sign: i64) -> Vec<Tally> {
    let currency = currency_of(payout);
    let b = &payout.breakdown;
    let minor = |money: crate::Money| money.to_minor().unwrap_or_default();
    let net = minor(b.net);
    let charged: Vec<_> = b
        .deductions
        .iter()
        .filter(|line| line.kind != DeductionKind::CarriedBalance)
        .collect();
    let lines = [
        minor(b.gross),
        minor(b.tips_received()),
        minor(b.tips_paid()),
        minor(b.commission),
        minor(b.bonus),
        charged.iter().map(|line| minor(line.amount)).sum(),
        minor(b.fee),
        net,
        net.max(0),
        minor(b.shop_share),
    ];
    let counters: Vec<(String, i64)> =
        std::iter::once((format!("payouts_{currency}"), i64::from(net > 0)))
            .chain(
                BARBER_SUMS
                    .iter()
                    .zip(lines)
                    .map(|(line, amount)| (format!("{line}_minor_{currency}"), amount)),
            )
            .chain(charged.iter().map(|line| {
                (
                    format!("deduction_{}_minor_{currency}", line.kind.as_str()),
                    minor(line.amount),
                )
            }))
            .collect();
    barber_buckets(payout, paid_at(payout))
        .into_iter()
        .flat_map(|bucket| {
            counters.iter().map(move |(counter, add)| Tally {
                bucket: bucket.clone(),
                counter: counter.clone(),
                add: add * sign,
            })
        })
        .collect()
}

fn is_paid(status: PayoutStatus) -> bool {
    matches!(status, PayoutStatus::InTransit | PayoutStatus::Completed)
}

/// When a paid payout counts as paid: the rail's acceptance, or its settlement without a
/// transfer. Set as it enters the paid statuses and kept while it stays there.
fn paid_at(payout: &Payout) -> DateTime<Utc> {
    payout
        .accepted_at
        .or(payout.completed_at)
        .unwrap_or(payout.updated_at)
}

/// When `payout` was paid, if it is paid now: the moment the totals count it by.
pub fn paid_on(payout: &Payout) -> Option<DateTime<Utc>> {
    is_paid(payout.status).then(|| paid_at(payout))
}

fn paid_day(payout: &Payout) -> NaiveDate {
    paid_at(payout).date_naive()
}

fn paid_tallies(payout: &Payout, sign: i64) -> Vec<Tally> {
    let currency = currency_of(payout);
    let method = payout.method.as_str();
    let day = Bucket::Day(paid_day(payout));
    let minor = |money: crate::Money| money.to_minor().unwrap_or_default();
    let processing = payout.processing_time().map(|time| time.num_milliseconds());
    let processing_counters = processing.into_iter().flat_map(|millis| {
        [
            (format!("processed_{currency}"), 1),
            (format!("processing_ms_{currency}"), millis),
            (format!("{}_{currency}", processing_bucket(millis)), 1),
        ]
    });
    let positive = payout.breakdown.net.is_positive().then(|| {
        [
            (format!("paid_positive_count_{currency}"), 1),
            (
                format!("paid_positive_net_minor_{currency}"),
                minor(payout.breakdown.net),
            ),
        ]
    });
    [
        (format!("paid_count_{currency}"), 1),
        (
            format!("paid_net_minor_{currency}"),
            minor(payout.breakdown.net),
        ),
        (format!("paid_count_{method}_{currency}"), 1),
        (
            format!("fee_minor_{method}_{currency}"),
            minor(payout.breakdown.fee),
        ),
    ]
    .into_iter()
    .chain(processing_counters)
    .chain(positive.into_iter().flatten())
    .map(|(counter, add)| Tally {
        bucket: day.clone(),
        counter,
        add: add * sign,
    })
    .chain(paid_hour_tallies(payout, processing, sign))
    .chain(barber_paid_tallies(payout, sign))
    .collect()
}

/// A paid payout on the hour it was paid, all currencies: what the last hour's failure rate
/// and processing time are read from.
fn paid_hour_tallies(payout: &Payout, processing: Option<i64>, sign: i64) -> Vec<Tally> {
    let hour = Bucket::hour_of(paid_at(payout));
    let mut tallies = vec![at(&hour, "paid", sign)];
    if let Some(millis) = processing {
        tallies.push(at(&hour, "processed", sign));
        tallies.push(at(&hour, "processing_ms", millis * sign));
    }
    tallies
}

/// A completed payout's time from the rail's acceptance to arrival, on the day it was paid.
fn settlement_tallies(payout: &Payout, sign: i64) -> Vec<Tally> {
    let currency = currency_of(payout);
    let day = Bucket::Day(paid_day(payout));
    payout
        .settlement_time()
        .map(|time| {
            vec![
                at(&day, &format!("settled_{currency}"), sign),
                at(
                    &day,
                    &format!("settlement_ms_{currency}"),
                    time.num_milliseconds() * sign,
                ),
            ]
        })
        .unwrap_or_default()
}

/// The counter of a day's bucket holding the net of the payouts created that day by `method`
/// in `currency`, other than those cancelled.
pub fn created_net_counter(method: PaymentMethod, currency: Currency) -> String {
    format!(
        "created_net_minor_{}_{}",
        method.as_str(),
        currency.code().to_ascii_lowercase()
    )
}

fn currency_of(payout: &Payout) -> String {
    payout.breakdown.net.currency().code().to_ascii_lowercase()
}

/// A payout created on its day in `status`, and unless cancelled its breakdown's sums.
fn created_state_tallies(payout: &Payout, status: PayoutStatus, sign: i64) -> Vec<Tally> {
    let currency = currency_of(payout);
    let day = Bucket::Day(payout.created_at.date_naive());
    let mut tallies = vec![at(
        &day,
        &format!("created_{}_{currency}", status.as_str()),
        sign,
    )];
    if status != PayoutStatus::Cancelled {
        let b = &payout.breakdown;
        let lines = [
            b.gross,
            b.tips_received(),
            b.commission,
            b.bonus,
            b.deductions_total,
            b.fee,
            b.net,
        ];
        tallies.extend(CREATED_SUMS.iter().zip(lines).map(|(line, money)| {
            at(
                &day,
                &format!("created_{line}_minor_{currency}"),
                money.to_minor().unwrap_or_default() * sign,
            )
        }));
        tallies.push(at(
            &day,
            &created_net_counter(payout.method, b.net.currency()),
            b.net.to_minor().unwrap_or_default() * sign,
        ));
    }
    tallies
}

fn at(bucket: &Bucket, counter: &str, add: i64) -> Tally {
    Tally {
        bucket: bucket.clone(),
        counter: counter.to_string(),
        add,
    }
}

/// What `event` (the change that left `payout` as it is) adds to the totals.
pub fn tallies(payout: &Payout, event: &AuditEvent) -> Vec<Tally> {
    let mut tallies = Vec::new();
    if event.from == Some(event.to) {
        // A new attempt after a crashed one: nothing counted moves.
        return tallies;
    }
    if let Some(from) = event.from {
        tallies.push(at(&Bucket::Status, from.as_str(), -1));
        tallies.extend(created_state_tallies(payout, from, -1));
    } else {
        tallies.extend(created_tallies(payout));
    }
    tallies.push(at(&Bucket::Status, event.to.as_str(), 1));
    tallies.extend(created_state_tallies(payout, event.to, 1));
    let was_paid = event.from.is_some_and(is_paid);
    match (was_paid, is_paid(event.to)) {
        (false, true) => tallies.extend(paid_tallies(payout, 1)),
        (true, false) => tallies.extend(paid_tallies(payout, -1)),
        _ => {}
    }
    // The times a payout's change leaves in place (acceptance, arrival) are those it counted
    // with on the way in, so what leaves is what came.
    let completed = PayoutStatus::Completed;
    match (event.from == Some(completed), event.to == completed) {
        (false, true) => tallies.extend(settlement_tallies(payout, 1)),
        (true, false) => tallies.extend(settlement_tallies(payout, -1)),
        _ => {}
    }
    tallies.extend(failure_tallies(event));
    tallies
}

/// A payout's creation, counted on its day and hour.
fn created_tallies(payout: &Payout) -> [Tally; 2] {
    let created = payout.created_at;
    [
        at(&Bucket::Day(created.date_naive()), "created", 1),
        at(&Bucket::hour_of(created), "created", 1),
    ]
}

/// A change into `failed` or `retry_scheduled`, counted on its day and hour.
fn failure_tallies(event: &AuditEvent) -> Vec<Tally> {
    let counter = match event.to {
        PayoutStatus::Failed => "failed",
        PayoutStatus::RetryScheduled => "retry_scheduled",
        _ => return Vec::new(),
    };
    vec![
        at(&Bucket::Day(event.at.date_naive()), counter, 1),
        at(&Bucket::hour_of(event.at), counter, 1),
    ]
}

/// The tallies grouped by bucket, additions to one counter summed and zeros left out: what a
/// store writes, one record per bucket.
pub fn by_bucket(tallies: &[Tally]) -> Totals {
    let mut totals = Totals::default();
    totals.add(tallies);
    totals.without_zeros()
}

impl Totals {
    pub fn add(&mut self, tallies: &[Tally]) {
        for tally in tallies {
            *self
                .0
                .entry(tally.bucket.clone())
                .or_default()
                .entry(tally.counter.clone())
                .or_default() += tally.add;
        }
    }

    /// The totals of `payouts` (each with its audit trail) computed from scratch.
    pub fn recount<'a>(payouts: impl IntoIterator<Item = (&'a Payout, &'a [AuditEvent])>) -> Self {
        let mut totals = Totals::default();
        for (payout, trail) in payouts {
            let mut tallies = vec![at(&Bucket::Status, payout.status.as_str(), 1)];
            tallies.extend(created_tallies(payout));
            tallies.extend(created_state_tallies(payout, payout.status, 1));
            if is_paid(payout.status) {
                tallies.extend(paid_tallies(payout, 1));
            }
            if payout.status == PayoutStatus::Completed {
                tallies.extend(settlement_tallies(payout, 1));
            }
            for event in trail.iter().filter(|e| e.from != Some(e.to)) {
                tallies.extend(failure_tallies(event));
            }
            totals.add(&tallies);
        }
        totals.without_zeros()
    }

    fn without_zeros(mut self) -> Self {
        self.0.retain(|_, counters| {
            counters.retain(|_, value| *value != 0);
            !counters.is_empty()
        });
        self
    }

    /// One counter of one bucket (0 when never counted).
    pub fn get(&self, bucket: &Bucket, counter: &str) -> i64 {
        self.0
            .get(bucket)
            .and_then(|counters| counters.get(counter))
            .copied()
            .unwrap_or_default()
    }

    /// Where `self` and `other` differ: `bucket counter: self vs other`.
    pub fn differences(&self, other: &Totals) -> Vec<String> {
        let mut keys: Vec<(Bucket, &String)> = Vec::new();
        for totals in [self, other] {
            for (bucket, counters) in &totals.0 {
                keys.extend(counters.keys().map(|counter| (bucket.clone(), counter)));
            }
        }
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|(bucket, counter)| {
                let (mine, theirs) = (self.get(&bucket, counter), other.get(&bucket, counter));
                (mine != theirs)
                    .then(|| format!("{} {counter}: {mine} kept, {theirs} counted", bucket.key()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::method::PaymentMethod;
    use crate::payout::tests::queued_payout;

    #[test]
    fn a_life_kept_change_by_change_is_its_recount() {
        let start = Utc.with_ymd_and_hms(2026, 3, 6, 23, 59, 0).unwrap();
        let mut payout = queued_payout(PaymentMethod::StripeInstant, start);
        let mut trail = vec![payout.creation_event("planner", "planned")];
        let mut kept = Totals::default();
        kept.add(&tallies(&payout, &trail[0]));
        type Step = dyn Fn(&mut Payout, DateTime<Utc>) -> AuditEvent;
        let steps: [&Step; 4] = [
            &|p, at| p.begin_attempt(at, "executor").unwrap(),
            &|p, at| p.begin_attempt(at, "executor").unwrap(),
            &|p, at| {
                p.record_transfer(at, "executor", "tr".into(), false, "paid")
                    .unwrap()
            },
            &|p, at| {
                let failure = crate::retry::FailureKind::InvalidPaymentMethod;
                p.fail(at, "stripe-webhook", failure, "account_closed")
                    .unwrap()
            },
        ];
        let day = Bucket::Day(start.date_naive() + TimeDelta::days(1));
        for (minutes, step) in (1..).zip(steps) {
            if minutes == 4 {
                // In transit: paid on the day the rail accepted it.
                assert_eq!(kept.get(&day, "paid_count_usd"), 1);
            }
            let event = step(&mut payout, start + TimeDelta::minutes(minutes));
            kept.add(&tallies(&payout, &event));
            trail.push(event);
        }
        let kept = kept.without_zeros();
        let counted = Totals::recount([(&payout, trail.as_slice())]);
        assert_eq!(kept.differences(&counted), Vec::<String>::new());
        // Paid on the 7th, failed the same day: out of the paid count, one failure.
        assert_eq!(counted.get(&day, "paid_count_usd"), 0);
        assert_eq!(counted.get(&day, "failed"), 1);
        assert_eq!(counted.get(&Bucket::Status, "failed"), 1);
        assert_eq!(counted.get(&Bucket::Status, "queued"), 0);
    }
}
