//! When a schedule runs next, in the barber's IANA time zone.
//!
//! Runs are defined in local wall-clock time and converted to instants with chrono-tz, so a
//! Friday 17:00 payout in New York stays at 17:00 across daylight-saving changes. A local time
//! that does not exist (spring forward) runs at the first valid instant after the gap; one that
//! occurs twice (fall back) runs once, at its first occurrence.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("day_of_week must be 1 (Monday) to 7 (Sunday), got {0}")]
    DayOfWeek(u32),
    #[error("day_of_month must be 1 to 31, got {0}")]
    DayOfMonth(u32),
    #[error("invalid cron expression `{pattern}`: {reason}")]
    Cron { pattern: String, reason: String },
    #[error("cron expression `{0}` never fires")]
    CronNeverFires(String),
    #[error("unknown time zone `{0}` (use an IANA name such as America/New_York)")]
    TimeZone(String),
    #[error("unknown frequency `{0}` (expected daily, weekly, biweekly, monthly or custom)")]
    Frequency(String),
}

/// ISO day of week: 1 = Monday ... 7 = Sunday (the brief's 5 is Friday).
pub fn weekday_from_iso(day: u32) -> Result<Weekday, CalendarError> {
    match day {
        1 => Ok(Weekday::Mon),
        2 => Ok(Weekday::Tue),
        3 => Ok(Weekday::Wed),
        4 => Ok(Weekday::Thu),
        5 => Ok(Weekday::Fri),
        6 => Ok(Weekday::Sat),
        7 => Ok(Weekday::Sun),
        other => Err(CalendarError::DayOfWeek(other)),
    }
}

/// A day of the month, 1 to 31; months shorter than the day run on their last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct DayOfMonth(u32);

impl DayOfMonth {
    pub fn new(day: u32) -> Result<Self, CalendarError> {
        if (1..=31).contains(&day) {
            Ok(Self(day))
        } else {
            Err(CalendarError::DayOfMonth(day))
        }
    }

    /// This day in the given month, clamped to the month's last day.
    fn in_month(self, year: i32, month: u32) -> NaiveDate {
        (1..=self.0)
            .rev()
            .find_map(|day| NaiveDate::from_ymd_opt(year, month, day))
            .expect("every month has a first day")
    }
}

impl TryFrom<u32> for DayOfMonth {
    type Error = CalendarError;
    fn try_from(day: u32) -> Result<Self, Self::Error> {
        Self::new(day)
    }
}

impl From<DayOfMonth> for u32 {
    fn from(day: DayOfMonth) -> Self {
        day.0
    }
}

/// A parsed five-field cron expression (minute hour day-of-month month day-of-week).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CronExpr {
    pattern: String,
    cron: croner::Cron,
}

impl CronExpr {
    pub fn parse(pattern: &str) -> Result<Self, CalendarError> {
        let cron = croner::Cron::from_str(pattern.trim()).map_err(|e| CalendarError::Cron {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        let expr = Self {
            pattern: pattern.trim().to_string(),
            cron,
        };
        // `0 0 30 2 *` parses but never fires; refuse it now rather than at planning time.
        let probe = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        if expr.next_after(probe, Tz::UTC).is_none() {
            return Err(CalendarError::CronNeverFires(expr.pattern));
        }
        Ok(expr)
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    fn next_after(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let mut from = after.with_timezone(&zone);
        // A fall-back hour matches twice in wall-clock terms; skip its second occurrence so an
        // ambiguous local time runs once, like the other calendars.
        for _ in 0..4 {
            let next = self.cron.find_next_occurrence(&from, false).ok()?;
            let is_second_of_two = matches!(
                zone.from_local_datetime(&next.naive_local()),
                LocalResult::Ambiguous(first, _) if first != next
            );
            if !is_second_of_two && next.with_timezone(&Utc) > after {
                return Some(next.with_timezone(&Utc));
            }
            from = next;
        }
        None
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for CronExpr {}

impl TryFrom<String> for CronExpr {
    type Error = CalendarError;
    fn try_from(pattern: String) -> Result<Self, Self::Error> {
        Self::parse(&pattern)
    }
}

impl From<CronExpr> for String {
    fn from(expr: CronExpr) -> Self {
        expr.pattern
    }
}

/// How often a barber is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "frequency", rename_all = "snake_case")]
pub enum Frequency {
    Daily,
    Weekly {
        day_of_week: Weekday,
    },
    /// Every other week on `day_of_week`, in the weeks that have the same parity as `anchor`'s.
    Biweekly {
        day_of_week: Weekday,
        anchor: NaiveDate,
    },
    Monthly {
        day_of_month: DayOfMonth,
    },
    /// A cron expression in the schedule's time zone; the schedule's local time is not used.
    Custom {
        cron: Box<CronExpr>,
    },
}

impl Frequency {
    pub fn name(&self) -> &'static str {
        match self {
            Frequency::Daily => "daily",
            Frequency::Weekly { .. } => "weekly",
            Frequency::Biweekly { .. } => "biweekly",
            Frequency::Monthly { .. } => "monthly",
            Frequency::Custom { .. } => "custom",
        }
    }

    /// The first local date on or after `from` on which this frequency runs (not for cron).
    fn next_date_on_or_after(&self, from: NaiveDate) -> NaiveDate {
        match self {
            Frequency::Daily | Frequency::Custom { .. } => from,
            Frequency::Weekly { day_of_week } => next_weekday(from, *day_of_week),
            Frequency::Biweekly {
                day_of_week,
                anchor,
            } => {
                let candidate = next_weekday(from, *day_of_week);
                let weeks = (week_start(candidate) - week_start(*anchor)).num_days() / 7;
                if weeks.rem_euclid(2) == 0 {
                    candidate
                } else {
                    candidate + Days::new(7)
                }
            }
            Frequency::Monthly { day_of_month } => {
                let this_month = day_of_month.in_month(from.year(), from.month());
                if this_month >= from {
                    this_month
                } else {
                    let first_of_next =
                        from.with_day(1).expect("day 1 exists") + chrono::Months::new(1);
                    day_of_month.in_month(first_of_next.year(), first_of_next.month())
                }
            }
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn next_weekday(from: NaiveDate, day: Weekday) -> NaiveDate {
    let ahead = (7 + day.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
    from + Days::new(u64::from(ahead))
}

fn week_start(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// A frequency anchored in a time zone at a local time of day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    #[serde(flatten)]
    pub frequency: Frequency,
    pub time_zone: Tz,
    pub local_time: NaiveTime,
}

impl Calendar {
    pub fn parse_time_zone(name: &str) -> Result<Tz, CalendarError> {
        name.parse::<Tz>()
            .map_err(|_| CalendarError::TimeZone(name.to_string()))
    }

    /// The first run strictly after `after`. `None` only for a cron expression with no future
    /// occurrence.
    pub fn next_run_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if let Frequency::Custom { cron } = &self.frequency {
            return cron.next_after(after, self.time_zone);
        }
        // Starting a day early covers a run whose local date is before `after`'s local date but
        // whose instant is later (it cannot happen with real zones, but costs one step).
        let mut date = after.with_timezone(&self.time_zone).date_naive() - Days::new(1);
        loop {
            date = self.frequency.next_date_on_or_after(date);
            let run = resolve_local(self.time_zone, date.and_time(self.local_time));
            if run > after {
                return Some(run);
            }
            date = date + Days::new(1);
        }
    }
}

/// The instant of a local wall-clock time: the earlier of two in a fall-back overlap, the end
/// of the gap in a spring-forward gap.
fn resolve_local(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut candidate = local;
    loop {
        match zone.from_local_datetime(&candidate) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                return at.with_timezone(&Utc);
            }
            // Gaps are whole minutes in every IANA zone, so the first valid minute is the end
            // of the gap.
            LocalResult::None => {
                candidate = candidate
                    .with_second(0)
                    .expect("second 0 exists")
                    .with_nanosecond(0)
                    .expect("nanosecond 0 exists")
                    + TimeDelta::minutes(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn calendar(frequency: Frequency, zone: Tz, hour: u32, minute: u32) -> Calendar {
        Calendar {
            frequency,
            time_zone: zone,
            local_time: NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
        }
    }

    #[test]
    fn weekly_friday_five_pm_keeps_local_time_across_dst() {
        let fridays = calendar(
            Frequency::Weekly {
                day_of_week: Weekday::Fri,
            },
            New_York,
            17,
            0,
        );
        // 2026-03-06 is the last Friday on EST (UTC-5); 2026-03-13 is on EDT (UTC-4).
        assert_eq!(
            fridays.next_run_after(utc(2026, 3, 2, 0, 0)),
            Some(utc(2026, 3, 6, 22, 0))
        );
        assert_eq!(
            fridays.next_run_after(utc(2026, 3, 6, 22, 0)),
            Some(utc(2026, 3, 13, 21, 0))
        );
        // Fall back on 2026-11-01: 2026-10-30 is EDT, 2026-11-06 is EST.
        assert_eq!(
            fridays.next_run_after(utc(2026, 10, 30, 0, 0)),
            Some(utc(2026, 10, 30, 21, 0))
        );
        assert_eq!(
            fridays.next_run_after(utc(2026, 10, 30, 21, 0)),
            Some(utc(2026, 11, 6, 22, 0))
        );
    }

    #[test]
    fn a_time_in_the_spring_gap_runs_when_the_gap_ends() {
        let daily = calendar(Frequency::Daily, New_York, 2, 30);
        // 2026-03-08 02:30 does not exist in New York; 03:00 EDT is 07:00 UTC.
        assert_eq!(
            daily.next_run_after(utc(2026, 3, 7, 12, 0)),
            Some(utc(2026, 3, 8, 7, 0))
        );
        assert_eq!(
            daily.next_run_after(utc(2026, 3, 8, 7, 0)),
            Some(utc(2026, 3, 9, 6, 30))
        );
    }

    #[test]
    fn an_ambiguous_time_in_the_fall_overlap_runs_once() {
        let daily = calendar(Frequency::Daily, New_York, 1, 30);
        // 2026-11-01 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
        let first = daily.next_run_after(utc(2026, 11, 1, 0, 0)).unwrap();
        assert_eq!(first, utc(2026, 11, 1, 5, 30));
        assert_eq!(daily.next_run_after(first), Some(utc(2026, 11, 2, 6, 30)));
    }

    #[test]
    fn monthly_clamps_to_the_end_of_short_months() {
        let month_end = calendar(
            Frequency::Monthly {
                day_of_month: DayOfMonth::new(31).unwrap(),
            },
            Tz::UTC,
            9,
            0,
        );
        assert_eq!(
            month_end.next_run_after(utc(2027, 1, 31, 9, 0)),
            Some(utc(2027, 2, 28, 9, 0))
        );
        assert_eq!(
            month_end.next_run_after(utc(2027, 2, 28, 9, 0)),
            Some(utc(2027, 3, 31, 9, 0))
        );
        assert_eq!(
            month_end.next_run_after(utc(2027, 4, 1, 0, 0)),
            Some(utc(2027, 4, 30, 9, 0))
        );
    }

    #[test]
    fn leap_day_2028() {
        let the_29th = calendar(
            Frequency::Monthly {
                day_of_month: DayOfMonth::new(29).unwrap(),
            },
            Tz::UTC,
            9,
            0,
        );
        assert_eq!(
            the_29th.next_run_after(utc(2028, 2, 1, 0, 0)),
            Some(utc(2028, 2, 29, 9, 0))
        );
        assert_eq!(
            the_29th.next_run_after(utc(2027, 2, 1, 0, 0)),
            Some(utc(2027, 2, 28, 9, 0))
        );
        let month_end = calendar(
            Frequency::Monthly {
                day_of_month: DayOfMonth::new(31).unwrap(),
            },
            Tz::UTC,
            9,
            0,
        );
        assert_eq!(
            month_end.next_run_after(utc(2028, 1, 31, 9, 0)),
            Some(utc(2028, 2, 29, 9, 0))
        );
    }

    #[test]
    fn biweekly_runs_in_the_anchor_week_parity() {
        let anchor = NaiveDate::from_ymd_opt(2026, 11, 6).unwrap(); // a Friday
        let biweekly = calendar(
            Frequency::Biweekly {
                day_of_week: Weekday::Fri,
                anchor,
            },
            Tz::UTC,
            17,
            0,
        );
        let first = biweekly.next_run_after(utc(2026, 11, 7, 0, 0)).unwrap();
        assert_eq!(first, utc(2026, 11, 20, 17, 0));
        let second = biweekly.next_run_after(first).unwrap();
        assert_eq!(second, utc(2026, 12, 4, 17, 0));
        // Before the anchor the same parity holds.
        assert_eq!(
            biweekly.next_run_after(utc(2026, 10, 26, 0, 0)),
            Some(utc(2026, 10, 23, 17, 0) + TimeDelta::days(14))
        );
    }

    #[test]
    fn cron_runs_in_the_local_zone() {
        let cron = calendar(
            Frequency::Custom {
                cron: Box::new(CronExpr::parse("0 18 * * 5").unwrap()),
            },
            New_York,
            0,
            0,
        );
        assert_eq!(
            cron.next_run_after(utc(2026, 3, 9, 0, 0)),
            Some(utc(2026, 3, 13, 22, 0))
        );
        assert!(CronExpr::parse("0 0 30 2 *").is_err());
        assert!(CronExpr::parse("not cron").is_err());
    }

    #[test]
    fn cron_ambiguous_hour_runs_once() {
        let cron = calendar(
            Frequency::Custom {
                cron: Box::new(CronExpr::parse("30 1 * * *").unwrap()),
            },
            New_York,
            0,
            0,
        );
        let first = cron.next_run_after(utc(2026, 11, 1, 0, 0)).unwrap();
        assert_eq!(first, utc(2026, 11, 1, 5, 30));
        assert_eq!(cron.next_run_after(first), Some(utc(2026, 11, 2, 6, 30)));
    }

    #[test]
    fn day_validation() {
        assert!(DayOfMonth::new(0).is_err());
        assert!(DayOfMonth::new(32).is_err());
        assert!(weekday_from_iso(0).is_err());
        assert_eq!(weekday_from_iso(5), Ok(Weekday::Fri));
        assert!(Calendar::parse_time_zone("Mars/Olympus").is_err());
    }
}
