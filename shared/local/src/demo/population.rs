//! A varied, reproducible population of barbers for the demo.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use payout_core::calendar::{Calendar, CronExpr, DayOfMonth, Frequency};
use payout_core::ids::BarberId;
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use payout_core::priority::BarberStanding;
use payout_core::retry::FailureKind;
use payout_core::schedule::{NotificationPrefs, PayoutSchedule, ScheduleState};

use crate::simulated_rail::FailurePlan;

/// SplitMix64: small, fast and reproducible, which is all a demo population needs.
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn roll(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.roll() % (high - low + 1)
    }

    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.roll() % 1000 < per_mille
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.roll() % items.len() as u64) as usize]
    }
}

/// How busy a barber is, which decides their services per day and prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volume {
    /// A few services a week: often under the minimum.
    Quiet,
    Steady,
    /// More than 100 services a week.
    Busy,
    /// Few, expensive services: over $10,000 a month.
    Premium,
}

impl Volume {
    pub fn services_per_working_day(self, dice: &mut Dice) -> u64 {
        match self {
            Volume::Quiet => dice.between(0, 2),
            Volume::Steady => dice.between(3, 8),
            Volume::Busy => dice.between(17, 24),
            Volume::Premium => dice.between(2, 5),
        }
    }

    /// A service price in cents.
    pub fn price_minor(self, dice: &mut Dice) -> i64 {
        let dollars = match self {
            Volume::Quiet | Volume::Steady => dice.pick(&[25, 30, 35, 40, 45, 60]),
            Volume::Busy => dice.pick(&[25, 30, 35, 40]),
            Volume::Premium => dice.between(150, 400) as i64,
        };
        dollars * 100 + dice.pick(&[0, 0, 0, 50, 99])
    }
}

pub struct Barber {
    pub schedule: PayoutSchedule,
    pub volume: Volume,
    /// Weekly booth rent in cents, charged on Mondays.
    pub weekly_booth_rent_minor: Option<i64>,
    pub rail_plan: FailurePlan,
}

const ZONES: [Tz; 8] = [
    Tz::America__New_York,
    Tz::America__Chicago,
    Tz::America__Denver,
    Tz::America__Los_Angeles,
    Tz::America__Phoenix,
    Tz::Pacific__Honolulu,
    Tz::Europe__London,
    Tz::UTC,
];

fn frequency(dice: &mut Dice, start: DateTime<Utc>) -> Frequency {
    match dice.roll() % 20 {
        0..=8 => Frequency::Weekly {
            day_of_week: dice.pick(&[
                Weekday::Fri,
                Weekday::Fri,
                Weekday::Mon,
                Weekday::Wed,
                Weekday::Thu,
            ]),
        },
        9..=11 => Frequency::Biweekly {
            day_of_week: Weekday::Fri,
            anchor: start.date_naive() + chrono::Days::new(dice.between(0, 13)),
        },
        12..=14 => Frequency::Daily,
        15..=17 => Frequency::Monthly {
            day_of_month: DayOfMonth::new(dice.pick(&[1, 15, 28, 31])).expect("valid day"),
        },
        _ => Frequency::Custom {
            cron: Box::new(
                CronExpr::parse(dice.pick(&["0 18 * * 2,5", "30 9 1,15 * *"])).expect("valid cron"),
            ),
        },
    }
}

pub fn generate(count: usize, seed: u64, start: DateTime<Utc>) -> Vec<Barber> {
    let mut dice = Dice::new(seed);
    (0..count)
        .map(|index| {
            let barber_id = BarberId::parse(format!("barber-{index:05}")).expect("valid id");
            let volume = match dice.roll() % 20 {
                0..=3 => Volume::Quiet,
                4..=15 => Volume::Steady,
                16..=18 => Volume::Busy,
                _ => Volume::Premium,
            };
            let method = match dice.roll() % 20 {
                0..=10 => PaymentMethod::StripeStandard,
                11..=13 => PaymentMethod::StripeInstant,
                14..=17 => PaymentMethod::BankTransfer,
                _ => PaymentMethod::Manual,
            };
            let calendar = Calendar {
                frequency: frequency(&mut dice, start),
                time_zone: dice.pick(&ZONES),
                local_time: NaiveTime::from_hms_opt(dice.pick(&[9, 17, 18, 20]), 0, 0)
                    .expect("valid time"),
            };
            let next_run_at = calendar
                .next_run_after(start)
                .expect("demo calendars always fire");
            let minimum = dice.pick(&[2500, 5000]);
            let rail_plan = match dice.roll() % 50 {
                0 => FailurePlan {
                    permanent: Some(dice.pick(&[
                        FailureKind::AccountNotVerified,
                        FailureKind::InvalidPaymentMethod,
                    ])),
                    ..FailurePlan::default()
                },
                1..=5 => FailurePlan {
                    retryable_per_mille: 300,
                    lost_response_per_mille: 50,
                    permanent: None,
                },
                _ => FailurePlan::default(),
            };
            let email = dice.chance(800);
            let sms = dice.chance(400);
            Barber {
                schedule: PayoutSchedule {
                    barber_id: barber_id.clone(),
                    calendar,
                    currency: Currency::Usd,
                    minimum_payout: Money::from_minor(minimum, Currency::Usd),
                    method,
                    auto_payout_enabled: true,
                    state: ScheduleState::Active,
                    standing: dice.pick(&[
                        BarberStanding::New,
                        BarberStanding::Regular,
                        BarberStanding::Regular,
                        BarberStanding::Top,
                    ]),
                    connected_account: Some(format!("acct_demo_{index:05}")),
                    notifications: NotificationPrefs {
                        display_name: None,
                        email: email.then(|| format!("{barber_id}@example.com")),
                        phone: sms.then(|| format!("+1555{index:07}")),
                        email_notifications: email,
                        sms_notifications: sms,
                        advance_notice_hours: 24,
                        time_zone: chrono_tz::UTC,
                    },
                    recurring_deductions: Vec::new(),
                    holds: Default::default(),
                    next_run_at,
                    destination_changes: Vec::new(),
                    version: 0,
                },
                volume,
                weekly_booth_rent_minor: dice
                    .chance(250)
                    .then(|| dice.pick(&[7500, 10000, 15000, 25000])),
                rail_plan,
            }
        })
        .collect()
}

/// The first Monday on or after 2026-03-02, so a demo spans the US and EU DST changes.
pub fn default_start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 3, 2)
        .expect("valid date")
        .and_hms_opt(0, 0, 0)
        .expect("valid time")
        .and_utc()
}
