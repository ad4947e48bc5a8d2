//! The pure core's hot paths: settling a period into a payout breakdown, and finding a
//! calendar's next run across frequencies and time zones.
//!
//! `cargo bench -p payout-core`; throughput is printed as elements (payouts or next runs) per
//! second on one core.

use chrono::{NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use payout_core::breakdown::{PayoutPolicy, PeriodActivity};
use payout_core::calendar::{Calendar, CronExpr, DayOfMonth, Frequency};
use payout_core::deduction::{DeductionKind, DeductionLine};
use payout_core::ids::DeductionId;
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use std::hint::black_box;

const BATCH: usize = 1_000;

fn activities() -> Vec<PeriodActivity> {
    (0..BATCH)
        .map(|i| PeriodActivity {
            gross: Money::from_minor(50_000 + i as i64 * 137, Currency::Usd),
            services: 10 + (i % 90) as u32,
            tips: Money::from_minor(i as i64 % 500, Currency::Usd),
            deductions: if i % 3 == 0 {
                vec![DeductionLine {
                    id: DeductionId::parse("rent").unwrap(),
                    kind: DeductionKind::BoothRent,
                    amount: Money::from_minor(5_000, Currency::Usd),
                    description: "booth rent".into(),
                }]
            } else {
                Vec::new()
            },
        })
        .collect()
}

fn payout_computation(c: &mut Criterion) {
    let policy = PayoutPolicy::default();
    let activities = activities();
    let minimum = Money::from_minor(2_500, Currency::Usd);
    let mut group = c.benchmark_group("payout computation");
    group.throughput(Throughput::Elements(BATCH as u64));
    for method in [PaymentMethod::StripeStandard, PaymentMethod::StripeInstant] {
        group.bench_function(method.as_str(), |b| {
            b.iter(|| {
                for activity in &activities {
                    black_box(
                        policy
                            .settle(black_box(activity), method, minimum, None)
                            .unwrap(),
                    );
                }
            })
        });
    }
    group.finish();
}

fn calendars() -> Vec<(&'static str, Calendar)> {
    let at = |hour| NaiveTime::from_hms_opt(hour, 0, 0).unwrap();
    vec![
        (
            "daily New York",
            Calendar {
                frequency: Frequency::Daily,
                time_zone: Tz::America__New_York,
                local_time: at(17),
            },
        ),
        (
            "weekly London",
            Calendar {
                frequency: Frequency::Weekly {
                    day_of_week: Weekday::Fri,
                },
                time_zone: Tz::Europe__London,
                local_time: at(18),
            },
        ),
        (
            "biweekly Tokyo",
            Calendar {
                frequency: Frequency::Biweekly {
                    day_of_week: Weekday::Mon,
                    anchor: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
                },
                time_zone: Tz::Asia__Tokyo,
                local_time: at(9),
            },
        ),
        (
            "monthly 31st Sydney",
            Calendar {
                frequency: Frequency::Monthly {
                    day_of_month: DayOfMonth::new(31).unwrap(),
                },
                time_zone: Tz::Australia__Sydney,
                local_time: at(12),
            },
        ),
        (
            "cron UTC",
            Calendar {
                frequency: Frequency::Custom {
                    cron: Box::new(CronExpr::parse("0 17 * * 5").unwrap()),
                },
                time_zone: Tz::UTC,
                local_time: at(0),
            },
        ),
    ]
}

fn next_run(c: &mut Criterion) {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    // Instants spread over a year, across both daylight-saving changes.
    let instants: Vec<_> = (0..BATCH as i64)
        .map(|i| start + TimeDelta::minutes(i * 523))
        .collect();
    let mut group = c.benchmark_group("next run");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, calendar) in calendars() {
        group.bench_function(name, |b| {
            b.iter(|| {
                for at in &instants {
                    black_box(calendar.next_run_after(black_box(*at)));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, payout_computation, next_run);
criterion_main!(benches);
