//! Property tests: no cent appears or vanishes, and a schedule's next run is always in the
//! future and on the right local day.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use payout_core::breakdown::{PayoutPolicy, PeriodActivity};
use payout_core::calendar::{Calendar, DayOfMonth, Frequency};
use payout_core::deduction::{DeductionKind, DeductionLine};
use payout_core::ids::DeductionId;
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use proptest::prelude::*;

fn cents(max: i64) -> impl Strategy<Value = Money> {
    (0..=max).prop_map(|minor| Money::from_minor(minor, Currency::Usd))
}

fn method() -> impl Strategy<Value = PaymentMethod> {
    prop::sample::select(PaymentMethod::ALL.to_vec())
}

fn deductions() -> impl Strategy<Value = Vec<DeductionLine>> {
    prop::collection::vec(cents(5_000_000), 0..4).prop_map(|amounts| {
        amounts
            .into_iter()
            .enumerate()
            .map(|(i, amount)| DeductionLine {
                id: DeductionId::parse(format!("d{i}")).unwrap(),
                kind: DeductionKind::Other,
                amount,
                description: String::new(),
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn every_cent_is_accounted_for(
        earnings in prop::collection::vec(cents(200_000), 0..300),
        tips in prop::collection::vec(cents(20_000), 0..30),
        tip_share in 0i64..=100,
        deductions in deductions(),
        method in method(),
    ) {
        let gross = earnings
            .iter()
            .try_fold(Money::zero(Currency::Usd), |sum, e| sum.checked_add(*e))
            .unwrap();
        let tipped = tips
            .iter()
            .try_fold(Money::zero(Currency::Usd), |sum, t| sum.checked_add(*t))
            .unwrap();
        let activity = PeriodActivity {
            gross,
            services: u32::try_from(earnings.len()).unwrap(),
            tips: tipped,
            deductions,
        };
        let mut policy = PayoutPolicy::default();
        policy.commission.tip_share = payout_core::rate::Rate::percent(tip_share);
        let b = policy.breakdown(&activity, method).unwrap();
        let without_tips = policy
            .breakdown(&PeriodActivity { tips: Money::zero(Currency::Usd), ..activity.clone() }, method)
            .unwrap();
        // Tips are no service: the rate, the bonus and the fee are the same without them (a
        // period that moves no money without its tips has no fee without them).
        prop_assert_eq!(b.commission, without_tips.commission);
        prop_assert_eq!(b.bonus, without_tips.bonus);
        if !without_tips.net.checked_add(without_tips.fee).unwrap().is_negative() {
            prop_assert_eq!(b.fee, without_tips.fee);
        }
        let share = b.commission.checked_add(b.bonus).unwrap().checked_add(b.tips_paid()).unwrap();
        prop_assert!(b.tips_paid().amount() <= tipped.amount());
        prop_assert_eq!(
            b.net,
            share.checked_sub(b.deductions_total).unwrap().checked_sub(b.fee).unwrap()
        );
        let gross = gross.checked_add(tipped).unwrap();
        prop_assert_eq!(b.earned().unwrap(), gross);
        prop_assert_eq!(b.shop_share, gross.checked_sub(share).unwrap());
        let recomposed = b
            .shop_share
            .checked_add(b.deductions_total)
            .and_then(|m| m.checked_add(b.fee))
            .and_then(|m| m.checked_add(b.net))
            .unwrap();
        prop_assert_eq!(recomposed, gross);
        prop_assert!(b.fee.amount() >= rust_decimal::Decimal::ZERO);
    }
}

/// The intake limits' defaults in cents: $10,000 per earning and per deduction.
const MAX_EARNING_MINOR: i64 = 1_000_000;
const MAX_DEDUCTION_MINOR: i64 = 1_000_000;

proptest! {
    /// A period of up to ten million earnings and ten thousand deductions, every one at the
    /// intake limit, is summed in `i64` minor units (as the stores do) and broken down without
    /// overflow anywhere: far beyond any barber's week, so within the limits no sum overflows.
    #[test]
    fn sums_at_the_intake_limits_never_overflow(
        services in 0u32..=10_000_000,
        deduction_count in 0usize..=10_000,
        method in method(),
    ) {
        let gross_minor = (0..services.min(1000))
            .try_fold(0i64, |sum, _| sum.checked_add(MAX_EARNING_MINOR))
            .and_then(|sum| sum.checked_add(
                i64::from(services.saturating_sub(1000)).checked_mul(MAX_EARNING_MINOR)?,
            ));
        prop_assert!(gross_minor.is_some());
        let deductions_minor = i64::try_from(deduction_count)
            .ok()
            .and_then(|count| count.checked_mul(MAX_DEDUCTION_MINOR));
        prop_assert!(deductions_minor.is_some());
        let deductions: Vec<DeductionLine> = (0..deduction_count.min(50))
            .map(|i| DeductionLine {
                id: DeductionId::parse(format!("d{i}")).unwrap(),
                kind: DeductionKind::BoothRent,
                amount: Money::from_minor(MAX_DEDUCTION_MINOR, Currency::Usd),
                description: String::new(),
            })
            .collect();
        let activity = PeriodActivity {
            gross: Money::from_minor(gross_minor.unwrap(), Currency::Usd),
            services,
            tips: Money::from_minor(MAX_EARNING_MINOR, Currency::Usd),
            deductions,
        };
        let b = PayoutPolicy::default().breakdown(&activity, method).unwrap();
        for amount in [b.gross, b.commission, b.bonus, b.deductions_total, b.fee, b.net, b.shop_share] {
            prop_assert!(amount.to_minor().is_ok());
        }
    }
}

const ZONES: [Tz; 8] = [
    Tz::America__New_York,
    Tz::America__Los_Angeles,
    Tz::America__Sao_Paulo,
    Tz::Europe__London,
    Tz::Europe__Berlin,
    Tz::Australia__Sydney,
    Tz::Asia__Kolkata,
    Tz::UTC,
];

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 2025-01-01 .. 2030-01-01, to the second.
    (1_735_689_600_i64..1_893_456_000).prop_map(|secs| Utc.timestamp_opt(secs, 0).unwrap())
}

fn local_time() -> impl Strategy<Value = NaiveTime> {
    (0u32..24, 0u32..60).prop_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0).unwrap())
}

fn weekday() -> impl Strategy<Value = Weekday> {
    (0u8..7).prop_map(|d| Weekday::try_from(d).unwrap())
}

#[derive(Debug, Clone)]
enum Expected {
    AnyDay,
    Weekday(Weekday),
    EveryOtherWeek(Weekday, NaiveDate),
    DayOfMonth(u32),
}

fn frequency() -> impl Strategy<Value = (Frequency, Expected)> {
    prop_oneof![
        Just((Frequency::Daily, Expected::AnyDay)),
        weekday().prop_map(|d| (Frequency::Weekly { day_of_week: d }, Expected::Weekday(d))),
        (weekday(), 0i64..2000).prop_map(|(d, offset)| {
            let anchor =
                NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::TimeDelta::days(offset);
            (
                Frequency::Biweekly {
                    day_of_week: d,
                    anchor,
                },
                Expected::EveryOtherWeek(d, anchor),
            )
        }),
        (1u32..=31).prop_map(|day| (
            Frequency::Monthly {
                day_of_month: DayOfMonth::new(day).unwrap()
            },
            Expected::DayOfMonth(day),
        )),
    ]
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    (28..=31)
        .rev()
        .find(|d| NaiveDate::from_ymd_opt(date.year(), date.month(), *d).is_some())
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn next_run_is_strictly_later_and_on_the_right_local_day(
        (frequency, expected) in frequency(),
        zone in prop::sample::select(ZONES.to_vec()),
        local_time in local_time(),
        after in instant(),
    ) {
        let calendar = Calendar { frequency, time_zone: zone, local_time };
        let next = calendar.next_run_after(after).expect("calendars always have a next run");
        prop_assert!(next > after, "{next} is not after {after}");
        // Sao Paulo has no DST since 2019 and the others move at 01:00-03:00, so the local date
        // of the run is the scheduled date even when a gap pushes the time forward.
        let local = next.with_timezone(&zone).date_naive();
        match expected {
            Expected::AnyDay => {}
            Expected::Weekday(day) => prop_assert_eq!(local.weekday(), day),
            Expected::EveryOtherWeek(day, anchor) => {
                prop_assert_eq!(local.weekday(), day);
                let weeks = (local.week(Weekday::Mon).first_day() - anchor.week(Weekday::Mon).first_day()).num_days() / 7;
                prop_assert_eq!(weeks.rem_euclid(2), 0);
            }
            Expected::DayOfMonth(day) => {
                prop_assert_eq!(local.day(), day.min(last_day_of_month(local)));
            }
        }
        // Nothing was skipped: no run of this calendar falls strictly between `after` and `next`.
        let just_before = next - chrono::TimeDelta::seconds(1);
        if just_before > after {
            prop_assert_eq!(calendar.next_run_after(just_before), Some(next));
        }
    }
}
