//! Which payouts go first, and which wait.
//!
//! A score from 0 to 100 adds urgency (how long the payout is overdue), amount, and the
//! barber's standing, and subtracts for past failures (a payout that keeps failing should not
//! crowd out healthy ones). Low-priority payouts wait only when the system is loaded, and then
//! no longer than `max_wait` (or, if the marketplace prefers, to the end of a fixed peak window).

use std::str::FromStr;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

use crate::text::text_conversions;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown barber standing `{0}` (expected new, regular or top)")]
pub struct UnknownStanding(pub String);

/// How the marketplace ranks a barber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum BarberStanding {
    New,
    Regular,
    Top,
}

impl BarberStanding {
    pub fn as_str(self) -> &'static str {
        match self {
            BarberStanding::New => "new",
            BarberStanding::Regular => "regular",
            BarberStanding::Top => "top",
        }
    }
}

impl FromStr for BarberStanding {
    type Err = UnknownStanding;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "new" => Ok(BarberStanding::New),
            "regular" => Ok(BarberStanding::Regular),
            "top" => Ok(BarberStanding::Top),
            _ => Err(UnknownStanding(raw.to_string())),
        }
    }
}

text_conversions!(BarberStanding, as_str);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityClass {
    Low,
    Normal,
    High,
    Urgent,
}

impl PriorityClass {
    /// The class of a score (the policy's scores run from 0 to 100; an operator's own payout
    /// is above them all).
    pub fn of(score: u8) -> Self {
        match score {
            60..=u8::MAX => PriorityClass::Urgent,
            35..=59 => PriorityClass::High,
            15..=34 => PriorityClass::Normal,
            0..=14 => PriorityClass::Low,
        }
    }
}

/// What the score looks at.
#[derive(Debug, Clone, Copy)]
pub struct PriorityInput {
    /// How long past its cut-off the payout is.
    pub overdue: TimeDelta,
    /// The payout's net in its currency's major unit.
    pub net: Decimal,
    pub standing: BarberStanding,
    pub past_failures: u32,
}

/// The off-peak rule: between `start` and `end` (UTC, may wrap midnight) low-priority payouts
/// wait for `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeakWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl PeakWindow {
    /// The end of the window containing `now`, or `None` when `now` is off-peak.
    pub fn ends_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let time = now.time();
        let inside = if self.start <= self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !inside {
            return None;
        }
        let today_end = now.date_naive().and_time(self.end).and_utc();
        Some(if today_end > now {
            today_end
        } else {
            today_end + TimeDelta::days(1)
        })
    }
}

/// When low-priority payouts wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deferral {
    /// Never: every payout starts when it is created.
    Never,
    /// Only while the system is loaded, and then `max_wait`: a barber is never paid late on an
    /// idle system, and never more than `max_wait` late because of the load.
    WhenLoaded { max_wait: TimeDelta },
    /// Inside a fixed UTC window, to its end, whatever the load.
    Window(PeakWindow),
}

/// Whether the system is loaded, as measured when a payout is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemLoad {
    Idle,
    Loaded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityPolicy {
    /// Nets at or above this score as high value.
    pub high_value: Decimal,
    pub deferral: Deferral,
}

/// How long a deferred low-priority payout waits at most by default.
pub const DEFAULT_MAX_WAIT: TimeDelta = TimeDelta::hours(1);

impl Default for PriorityPolicy {
    fn default() -> Self {
        Self {
            high_value: dec!(1000),
            deferral: Deferral::WhenLoaded {
                max_wait: DEFAULT_MAX_WAIT,
            },
        }
    }
}

impl PriorityPolicy {
    pub fn score(&self, input: &PriorityInput) -> u8 {
        let overdue_hours = input.overdue.num_hours().clamp(0, 24);
        let urgency = overdue_hours * 2;
        let amount = if input.net >= self.high_value * dec!(10) {
            30
        } else if input.net >= self.high_value {
            20
        } else if input.net >= self.high_value / dec!(10) {
            10
        } else {
            0
        };
        let standing = match input.standing {
            BarberStanding::Top => 15,
            BarberStanding::Regular => 5,
            BarberStanding::New => 5,
        };
        let failures = i64::from(input.past_failures.min(3)) * 10;
        let score = (urgency + amount + standing - failures).clamp(0, 100);
        u8::try_from(score).expect("clamped to 0..=100")
    }

    pub fn class(&self, score: u8) -> PriorityClass {
        PriorityClass::of(score)
    }

    /// Whether planning needs to know the system's load.
    pub fn watches_load(&self) -> bool {
        matches!(self.deferral, Deferral::WhenLoaded { .. })
    }

    /// When a payout of `class`, planned at `now` under `load`, may start: now, or for low
    /// priority, `max_wait` later on a loaded system (or the end of the peak window).
    pub fn not_before(
        &self,
        class: PriorityClass,
        now: DateTime<Utc>,
        load: SystemLoad,
    ) -> DateTime<Utc> {
        if class != PriorityClass::Low {
            return now;
        }
        match (self.deferral, load) {
            (Deferral::WhenLoaded { max_wait }, SystemLoad::Loaded) => now + max_wait,
            (Deferral::Window(peak), _) => peak.ends_after(now).unwrap_or(now),
            (Deferral::Never, _) | (Deferral::WhenLoaded { .. }, SystemLoad::Idle) => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn input(
        overdue_hours: i64,
        net: Decimal,
        standing: BarberStanding,
        failures: u32,
    ) -> PriorityInput {
        PriorityInput {
            overdue: TimeDelta::hours(overdue_hours),
            net,
            standing,
            past_failures: failures,
        }
    }

    #[test]
    fn urgent_and_high_value_rank_first() {
        let policy = PriorityPolicy::default();
        let overdue_whale = policy.score(&input(24, dec!(12000), BarberStanding::Top, 0));
        let fresh_small = policy.score(&input(0, dec!(40), BarberStanding::New, 0));
        assert!(overdue_whale > fresh_small);
        assert_eq!(policy.class(overdue_whale), PriorityClass::Urgent);
        assert_eq!(policy.class(fresh_small), PriorityClass::Low);
    }

    #[test]
    fn failures_lower_the_score() {
        let policy = PriorityPolicy::default();
        let clean = policy.score(&input(2, dec!(500), BarberStanding::Regular, 0));
        let failing = policy.score(&input(2, dec!(500), BarberStanding::Regular, 2));
        assert!(failing < clean);
    }

    #[test]
    fn low_priority_waits_only_as_the_deferral_says() {
        use PriorityClass::{Low, Normal};
        use SystemLoad::{Idle, Loaded};
        let window = Deferral::Window(PeakWindow {
            start: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
        });
        let by_load = PriorityPolicy::default().deferral;
        let peak = Utc.with_ymd_and_hms(2026, 11, 27, 15, 0, 0).unwrap();
        let off_peak = Utc.with_ymd_and_hms(2026, 11, 27, 23, 0, 0).unwrap();
        let peak_end = Utc.with_ymd_and_hms(2026, 11, 27, 22, 0, 0).unwrap();
        for (deferral, class, now, load, starts) in [
            // By load: on an idle system nobody waits, whatever the hour; loaded, max_wait.
            (by_load, Low, peak, Idle, peak),
            (by_load, Low, peak, Loaded, peak + DEFAULT_MAX_WAIT),
            (by_load, Normal, peak, Loaded, peak),
            (Deferral::Never, Low, peak, Loaded, peak),
            // The fixed window: to its end, whatever the load.
            (window, Low, peak, Idle, peak_end),
            (window, Normal, peak, Loaded, peak),
            (window, Low, off_peak, Loaded, off_peak),
        ] {
            let policy = PriorityPolicy {
                deferral,
                ..PriorityPolicy::default()
            };
            assert_eq!(
                policy.not_before(class, now, load),
                starts,
                "{deferral:?} {class:?} {load:?}"
            );
        }
    }

    #[test]
    fn a_window_may_wrap_midnight() {
        let window = PeakWindow {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(2, 0, 0).unwrap(),
        };
        let late = Utc.with_ymd_and_hms(2026, 11, 27, 23, 0, 0).unwrap();
        assert_eq!(
            window.ends_after(late),
            Some(Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap())
        );
        assert_eq!(
            window.ends_after(Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()),
            None
        );
    }
}
