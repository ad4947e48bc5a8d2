//! What is kept back before a barber is paid: each earning held for some days after the service
//! (refunds and no-shows come after it), and a rolling reserve of each payout's net, released
//! by a later payout.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// The longest a schedule may hold an earning.
pub const MAX_HOLD_DAYS: u32 = 30;
/// The largest share of a payout a reserve may keep.
pub const MAX_RESERVE_PERCENT: u32 = 50;
/// The longest a reserve may be kept.
pub const MAX_RESERVE_DAYS: u32 = 365;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error("hold_days must be between 0 and {MAX_HOLD_DAYS}, not {0}")]
    HoldDays(u32),
    #[error("reserve_percent must be between 0 and {MAX_RESERVE_PERCENT}, not {0}")]
    ReservePercent(u32),
    #[error("reserve_days must be between 1 and {MAX_RESERVE_DAYS}, not {0}")]
    ReserveDays(u32),
}

/// How many days after the service an earning becomes payable: 0 to [`MAX_HOLD_DAYS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct HoldDays(u32);

impl HoldDays {
    pub fn new(days: u32) -> Result<Self, HoldError> {
        match days <= MAX_HOLD_DAYS {
            true => Ok(Self(days)),
            false => Err(HoldError::HoldDays(days)),
        }
    }

    pub fn days(self) -> u32 {
        self.0
    }

    /// The latest service a period closing at `cutoff` pays for.
    pub fn earned_by(self, cutoff: DateTime<Utc>) -> DateTime<Utc> {
        cutoff - TimeDelta::days(i64::from(self.0))
    }

    /// When an earning for a service performed at `occurred_at` becomes payable.
    pub fn releases_at(self, occurred_at: DateTime<Utc>) -> DateTime<Utc> {
        occurred_at + TimeDelta::days(i64::from(self.0))
    }
}

impl TryFrom<u32> for HoldDays {
    type Error = HoldError;
    fn try_from(days: u32) -> Result<Self, Self::Error> {
        Self::new(days)
    }
}

impl From<HoldDays> for u32 {
    fn from(hold: HoldDays) -> Self {
        hold.0
    }
}

/// What a schedule keeps back: its hold on each earning and its reserve of each payout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds {
    #[serde(default)]
    pub hold_days: HoldDays,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve: Option<Reserve>,
}

/// A rolling reserve: `percent` of each payout's net kept back, released by the first payout
/// after `days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ReserveTerms", into = "ReserveTerms")]
pub struct Reserve {
    percent: u32,
    days: u32,
}

/// A reserve as stored and sent, before its bounds are checked.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ReserveTerms {
    pub percent: u32,
    pub days: u32,
}

impl Reserve {
    /// A reserve of `percent` kept `days`; `None` for 0 %, which keeps nothing (whatever the
    /// days).
    pub fn new(percent: u32, days: u32) -> Result<Option<Self>, HoldError> {
        if percent > MAX_RESERVE_PERCENT {
            return Err(HoldError::ReservePercent(percent));
        }
        if percent == 0 {
            return Ok(None);
        }
        if !(1..=MAX_RESERVE_DAYS).contains(&days) {
            return Err(HoldError::ReserveDays(days));
        }
        Ok(Some(Self { percent, days }))
    }

    pub fn percent(self) -> u32 {
        self.percent
    }

    pub fn days(self) -> u32 {
        self.days
    }

    /// What this reserve keeps of `base`, rounded down to the minor unit so the barber is never
    /// short by a rounding; nothing of a base that is not positive.
    pub fn kept_from(self, base: Money) -> Money {
        if !base.is_positive() {
            return Money::zero(base.currency());
        }
        let share = base.amount() * Decimal::from(self.percent) / Decimal::ONE_HUNDRED;
        let scale = base.currency().minor_units();
        Money::rounded(
            share.round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::ToZero),
            base.currency(),
        )
    }

    /// When a reserve kept at `kept_at` is released.
    pub fn releases_at(self, kept_at: DateTime<Utc>) -> DateTime<Utc> {
        kept_at + TimeDelta::days(i64::from(self.days))
    }
}

impl TryFrom<ReserveTerms> for Reserve {
    type Error = HoldError;
    fn try_from(terms: ReserveTerms) -> Result<Self, Self::Error> {
        Reserve::new(terms.percent, terms.days)?.ok_or(HoldError::ReservePercent(0))
    }
}

impl From<Reserve> for ReserveTerms {
    fn from(reserve: Reserve) -> Self {
        Self {
            percent: reserve.percent,
            days: reserve.days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn hold_days_are_bounded() {
        assert_eq!(HoldDays::new(30).map(HoldDays::days), Ok(30));
        assert_eq!(HoldDays::new(31), Err(HoldError::HoldDays(31)));
        assert!(HoldDays::try_from(31).is_err());
    }

    #[test]
    fn an_earning_is_payable_once_its_hold_has_passed() {
        let hold = HoldDays::new(3).unwrap();
        let cutoff: DateTime<Utc> = "2026-12-10T17:00:00Z".parse().unwrap();
        let service: DateTime<Utc> = "2026-12-07T17:00:00Z".parse().unwrap();
        assert_eq!(hold.earned_by(cutoff), service);
        assert_eq!(hold.releases_at(service), cutoff);
    }

    #[test]
    fn a_reserve_keeps_its_share_rounded_down() {
        let reserve = Reserve::new(10, 30).unwrap().unwrap();
        let net = Money::parse("123.45", Currency::Usd).unwrap();
        assert_eq!(
            reserve.kept_from(net),
            Money::parse("12.34", Currency::Usd).unwrap()
        );
        assert!(
            reserve
                .kept_from(Money::parse("-5.00", Currency::Usd).unwrap())
                .amount()
                .is_zero()
        );
        assert_eq!(Reserve::new(0, 30), Ok(None));
        assert_eq!(Reserve::new(0, 0), Ok(None));
        assert_eq!(Reserve::new(51, 30), Err(HoldError::ReservePercent(51)));
        assert_eq!(Reserve::new(10, 0), Err(HoldError::ReserveDays(0)));
    }
}
