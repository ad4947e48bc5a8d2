//! Tiered commission and the volume bonus (docs/design.md, "Choices and departures").

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::rate::Rate;

/// A rate that applies when the barber performed strictly more than `more_than_services`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionTier {
    pub more_than_services: u32,
    pub rate: Rate,
}

/// An extra share of gross for a period whose gross is strictly above `gross_above`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeBonus {
    /// In the payout's currency.
    pub gross_above: Decimal,
    pub rate: Rate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionPolicy {
    pub base_rate: Rate,
    /// Any order; the highest tier whose threshold is passed wins.
    pub tiers: Vec<CommissionTier>,
    pub volume_bonus: VolumeBonus,
    /// The barber's share of the tips clients leave: all of it unless the shop says otherwise.
    #[serde(default = "CommissionPolicy::whole_tip")]
    pub tip_share: Rate,
}

impl Default for CommissionPolicy {
    fn default() -> Self {
        Self {
            base_rate: Rate::percent(70),
            tiers: vec![
                CommissionTier {
                    more_than_services: 50,
                    rate: Rate::percent(72),
                },
                CommissionTier {
                    more_than_services: 100,
                    rate: Rate::percent(75),
                },
            ],
            volume_bonus: VolumeBonus {
                gross_above: dec!(10000),
                rate: Rate::percent(2),
            },
            tip_share: Self::whole_tip(),
        }
    }
}

impl CommissionPolicy {
    fn whole_tip() -> Rate {
        Rate::percent(100)
    }

    /// The barber's share for a period with `services` services performed.
    pub fn rate_for(&self, services: u32) -> Rate {
        self.tiers
            .iter()
            .filter(|tier| services > tier.more_than_services)
            .max_by_key(|tier| tier.more_than_services)
            .map_or(self.base_rate, |tier| tier.rate)
    }

    /// The volume bonus earned on `gross` (zero at or below the threshold).
    pub fn bonus_for(&self, gross: Money) -> Money {
        if gross.amount() > self.volume_bonus.gross_above {
            Money::rounded(self.volume_bonus.rate.of(gross.amount()), gross.currency())
        } else {
            Money::zero(gross.currency())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn tier_boundaries_are_strictly_more_than() {
        let policy = CommissionPolicy::default();
        assert_eq!(policy.rate_for(0), Rate::percent(70));
        assert_eq!(policy.rate_for(50), Rate::percent(70));
        assert_eq!(policy.rate_for(51), Rate::percent(72));
        assert_eq!(policy.rate_for(100), Rate::percent(72));
        assert_eq!(policy.rate_for(101), Rate::percent(75));
    }

    #[test]
    fn bonus_starts_above_ten_thousand() {
        let policy = CommissionPolicy::default();
        let at = Money::parse("10000.00", Currency::Usd).unwrap();
        let above = Money::parse("10000.01", Currency::Usd).unwrap();
        assert_eq!(policy.bonus_for(at), Money::zero(Currency::Usd));
        // 2 % of 10,000.01 = 200.0002 -> 200.00
        assert_eq!(
            policy.bonus_for(above),
            Money::parse("200.00", Currency::Usd).unwrap()
        );
    }
}
