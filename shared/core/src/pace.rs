//! How fast the payment provider may be called: calls spaced evenly at a configured rate.
//!
//! Stripe allows about 100 write requests a second in live mode (25 in test mode) and answers
//! 429 beyond. When most barbers are due at the same local time, a fleet of executors that
//! called as fast as it could would spend its requests on 429s. Each executor process keeps a
//! pace of its share of the rate: the next free slot, one interval after the last one given.
//! A slot is reserved only if it comes within the caller's patience; a 429 holds every slot
//! back for a while. Time is passed in.

use std::num::NonZeroU32;

use chrono::{DateTime, TimeDelta, Utc};

/// The rate one process may call the provider at: `requests_per_second` shared by `shares`
/// processes calling at once (the executor's maximum concurrency on Lambda, one for `serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceRate {
    pub requests_per_second: NonZeroU32,
    pub shares: NonZeroU32,
}

impl PaceRate {
    /// The time between two calls of one process: exact to the nanosecond.
    pub fn interval(self) -> TimeDelta {
        let nanos = 1_000_000_000_i64 * i64::from(self.shares.get())
            / i64::from(self.requests_per_second.get());
        TimeDelta::nanoseconds(nanos.max(1))
    }
}

/// How a process paces its calls to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceSettings {
    pub rate: PaceRate,
    /// The longest a transfer waits for its slot (never less than one interval).
    pub patience: TimeDelta,
    /// How long a 429 holds the pace back.
    pub hold_after_429: TimeDelta,
}

impl PaceSettings {
    /// The patience a caller gets: never less than one turn of its share, or a process whose
    /// turn is further apart than its patience could never send.
    pub fn effective_patience(&self) -> TimeDelta {
        self.patience.max(self.rate.interval())
    }
}

#[derive(Debug, Clone)]
pub struct RailPace {
    interval: TimeDelta,
    next_slot: Option<DateTime<Utc>>,
}

impl RailPace {
    pub fn new(rate: PaceRate) -> Self {
        Self {
            interval: rate.interval(),
            next_slot: None,
        }
    }

    /// Reserves the first free slot at or after `now` when it comes within `patience`, and
    /// says when the call may go; `None` leaves the pace as it was.
    pub fn reserve(&mut self, now: DateTime<Utc>, patience: TimeDelta) -> Option<DateTime<Utc>> {
        let slot = self.next_slot.map_or(now, |next| next.max(now));
        if slot - now > patience {
            return None;
        }
        self.next_slot = Some(slot + self.interval);
        Some(slot)
    }

    /// The provider said to slow down: no slot before `until`.
    pub fn hold_until(&mut self, until: DateTime<Utc>) {
        self.next_slot = Some(self.next_slot.map_or(until, |next| next.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rate(requests_per_second: u32, shares: u32) -> PaceRate {
        PaceRate {
            requests_per_second: NonZeroU32::new(requests_per_second).unwrap(),
            shares: NonZeroU32::new(shares).unwrap(),
        }
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 22, 0, 0).unwrap()
    }

    #[test]
    fn a_share_of_the_rate_is_a_longer_interval() {
        assert_eq!(rate(100, 1).interval(), TimeDelta::milliseconds(10));
        assert_eq!(rate(100, 40).interval(), TimeDelta::milliseconds(400));
        assert_eq!(rate(3, 1).interval(), TimeDelta::nanoseconds(333_333_333));
    }

    #[test]
    fn calls_are_spaced_by_the_interval_and_an_idle_pace_starts_now() {
        let mut pace = RailPace::new(rate(100, 1));
        let patience = TimeDelta::seconds(1);
        assert_eq!(pace.reserve(start(), patience), Some(start()));
        assert_eq!(
            pace.reserve(start(), patience),
            Some(start() + TimeDelta::milliseconds(10))
        );
        let later = start() + TimeDelta::seconds(5);
        assert_eq!(pace.reserve(later, patience), Some(later));
    }

    #[test]
    fn a_slot_beyond_the_patience_is_not_reserved() {
        let mut pace = RailPace::new(rate(10, 1));
        let patience = TimeDelta::milliseconds(250);
        let slots: Vec<_> = (0..4).map(|_| pace.reserve(start(), patience)).collect();
        assert_eq!(
            slots,
            vec![
                Some(start()),
                Some(start() + TimeDelta::milliseconds(100)),
                Some(start() + TimeDelta::milliseconds(200)),
                None,
            ]
        );
        // The refusal took nothing: the next slot is still 300 ms away.
        let a_bit_later = start() + TimeDelta::milliseconds(60);
        assert_eq!(
            pace.reserve(a_bit_later, patience),
            Some(start() + TimeDelta::milliseconds(300))
        );
    }

    #[test]
    fn the_patience_is_at_least_one_turn() {
        let settings = |shares, patience| PaceSettings {
            rate: rate(10, shares),
            patience,
            hold_after_429: TimeDelta::seconds(2),
        };
        let second = TimeDelta::seconds(1);
        assert_eq!(settings(1, second).effective_patience(), second);
        assert_eq!(
            settings(40, second).effective_patience(),
            TimeDelta::seconds(4)
        );
    }

    #[test]
    fn a_hold_delays_every_slot_and_never_brings_one_forward() {
        let mut pace = RailPace::new(rate(100, 1));
        pace.hold_until(start() + TimeDelta::seconds(2));
        pace.hold_until(start() + TimeDelta::seconds(1));
        assert_eq!(pace.reserve(start(), TimeDelta::seconds(1)), None);
        assert_eq!(
            pace.reserve(start(), TimeDelta::seconds(3)),
            Some(start() + TimeDelta::seconds(2))
        );
    }
}
