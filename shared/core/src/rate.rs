//! A fraction between 0 and 1 (commission rates, fee percentages), exact in decimal.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate {0} is outside 0..=1")]
pub struct RateOutOfRange(pub Decimal);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Rate(Decimal);

impl Rate {
    pub fn new(fraction: Decimal) -> Result<Self, RateOutOfRange> {
        if fraction < Decimal::ZERO || fraction > Decimal::ONE {
            return Err(RateOutOfRange(fraction));
        }
        Ok(Self(fraction.normalize()))
    }

    /// `percent(72)` is 72 %; panics only on a constant outside 0..=100, which is a typo in code.
    pub fn percent(percent: i64) -> Self {
        Self::new(Decimal::new(percent, 2)).expect("a percentage constant between 0 and 100")
    }

    /// `basis_points(25)` is 0.25 %.
    pub fn basis_points(points: i64) -> Self {
        Self::new(Decimal::new(points, 4)).expect("a basis-point constant between 0 and 10000")
    }

    pub fn fraction(self) -> Decimal {
        self.0
    }

    pub fn of(self, amount: Decimal) -> Decimal {
        amount * self.0
    }
}

impl TryFrom<Decimal> for Rate {
    type Error = RateOutOfRange;
    fn try_from(fraction: Decimal) -> Result<Self, Self::Error> {
        Rate::new(fraction)
    }
}

impl From<Rate> for Decimal {
    fn from(rate: Rate) -> Self {
        rate.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", (self.0 * Decimal::ONE_HUNDRED).normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn constructors_agree() {
        assert_eq!(Rate::percent(72).fraction(), dec!(0.72));
        assert_eq!(Rate::basis_points(25).fraction(), dec!(0.0025));
        assert_eq!(Rate::percent(72).to_string(), "72%");
        assert!(Rate::new(dec!(1.01)).is_err());
        assert!(Rate::new(dec!(-0.01)).is_err());
    }
}
