//! From a period's activity to the exact amounts of a payout.
//!
//! `net = commission + bonus + tips paid - deductions - fee` and
//! `shop share = earned - commission - bonus - tips paid`, every line rounded once, so
//! `earned = shop share + deductions + fee + net` to the cent, where `earned` is the gross of
//! the services and the tips together (what the payout's earnings add up to). A reserve kept
//! back is a deduction line, and a reserve released a negative one, so the identity holds with
//! them. Tips are not services: the commission's rate, its bonus and the fee are of the
//! services' gross alone.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::commission::CommissionPolicy;
use crate::deduction::{DeductionKind, DeductionLine};
use crate::hold::Reserve;
use crate::ids::DeductionId;
use crate::method::{FeeSchedule, PaymentMethod};
use crate::money::{Money, MoneyError};
use crate::rate::Rate;

/// Every number that decides how much a barber is paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutPolicy {
    pub commission: CommissionPolicy,
    pub fees: FeeSchedule,
}

/// What a barber did in a period that has not been paid yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodActivity {
    /// Sum of the open service earnings (each is one service).
    pub gross: Money,
    pub services: u32,
    /// Sum of the open tips.
    pub tips: Money,
    pub deductions: Vec<DeductionLine>,
}

/// The tips a payout pays: what clients left, the share the barber gets, and that share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TipLine {
    pub received: Money,
    pub share: Rate,
    pub paid: Money,
}

/// The stored, itemised computation of one payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutBreakdown {
    pub gross: Money,
    pub service_count: u32,
    pub commission_rate: Rate,
    pub commission: Money,
    pub bonus: Money,
    pub deductions: Vec<DeductionLine>,
    pub deductions_total: Money,
    pub fee: Money,
    pub net: Money,
    /// What the shop keeps: what was earned (services and tips) minus the barber's commission,
    /// bonus and tips.
    pub shop_share: Money,
    /// The period's tips, if it had any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tips: Option<TipLine>,
    /// When the reserve this payout keeps (its `reserve` line) is released, if it keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_until: Option<DateTime<Utc>>,
}

/// A rolling reserve to keep of a payout: its terms, its line's id and its release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptReserve {
    pub reserve: Reserve,
    pub line: DeductionId,
    pub until: DateTime<Utc>,
}

/// What the planner does with a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettlementDecision {
    /// Nothing open: no earnings and no deductions.
    Nothing,
    /// Pay `net` through the barber's method.
    Pay(PayoutBreakdown),
    /// Net is positive but under the minimum: leave everything open for the next period.
    BelowMinimum(PayoutBreakdown),
    /// Deductions exceed the barber's share: close the period without moving money (no fee) and
    /// carry `-net` as a balance owed into the next period.
    CarryOwed(PayoutBreakdown),
}

impl PayoutBreakdown {
    /// This breakdown with `kept`'s share of its net kept back as a `reserve` line. The share
    /// is of the net less the reserves released into it, so a released reserve is not kept
    /// again (a withdrawn one, owed back, only lowers the net); a net that is not positive
    /// keeps nothing.
    pub fn keep_reserve(mut self, kept: &KeptReserve) -> Result<Self, MoneyError> {
        let released = self
            .deductions
            .iter()
            .filter(|line| line.kind == DeductionKind::ReserveRelease && line.amount.is_negative())
            .try_fold(Money::zero(self.net.currency()), |total, line| {
                total.checked_add(line.amount)
            })?;
        let amount = kept.reserve.kept_from(self.net.checked_add(released)?);
        if !amount.is_positive() {
            return Ok(self);
        }
        self.deductions.push(DeductionLine {
            id: kept.line.clone(),
            kind: DeductionKind::Reserve,
            amount,
            description: format!(
                "reserve kept: {} % of the net until {}",
                kept.reserve.percent(),
                kept.until.date_naive()
            ),
        });
        self.deductions_total = self.deductions_total.checked_add(amount)?;
        self.net = self.net.checked_sub(amount)?;
        self.reserve_until = Some(kept.until);
        Ok(self)
    }

    /// What this payout keeps back as its reserve.
    pub fn reserve_kept(&self) -> Option<Money> {
        self.deductions
            .iter()
            .find(|line| line.kind == DeductionKind::Reserve)
            .map(|line| line.amount)
    }

    /// What the payout's earnings add up to: the services' gross and the tips.
    pub fn earned(&self) -> Result<Money, MoneyError> {
        self.gross.checked_add(self.tips_received())
    }

    /// The tips clients left in this payout's period (zero without any).
    pub fn tips_received(&self) -> Money {
        self.tips
            .map_or(Money::zero(self.gross.currency()), |tips| tips.received)
    }

    /// What the barber was paid of those tips.
    pub fn tips_paid(&self) -> Money {
        self.tips
            .map_or(Money::zero(self.gross.currency()), |tips| tips.paid)
    }

    /// What the barber was paid for a tip of `amount` in this payout: what a refund of its
    /// booking takes back with the service. Rounded down: the payout's tips were rounded once
    /// as a sum, so each tip's share rounded down never takes back more than was paid for it.
    pub fn tip_share_of(&self, amount: Money) -> Money {
        let share = self.tips.map_or(Rate::percent(100), |tips| tips.share);
        let scale = amount.currency().minor_units();
        Money::rounded(
            share
                .of(amount.amount())
                .round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::ToZero),
            amount.currency(),
        )
    }

    /// What the barber was paid for `amount` of this payout's gross: its commission at the
    /// payout's rate and its share of the volume bonus, each rounded once. What a refund of
    /// that service takes back.
    pub fn share_of(&self, amount: Money) -> Result<Money, MoneyError> {
        let commission =
            Money::rounded(self.commission_rate.of(amount.amount()), amount.currency());
        if self.gross.amount().is_zero() {
            return Ok(commission);
        }
        let bonus = Money::rounded(
            self.bonus.amount() * amount.amount() / self.gross.amount(),
            amount.currency(),
        );
        commission.checked_add(bonus)
    }
}

impl PayoutPolicy {
    /// Computes the breakdown for `activity` paid by `method`.
    pub fn breakdown(
        &self,
        activity: &PeriodActivity,
        method: PaymentMethod,
    ) -> Result<PayoutBreakdown, MoneyError> {
        let currency = activity.gross.currency();
        let rate = self.commission.rate_for(activity.services);
        let commission = Money::rounded(rate.of(activity.gross.amount()), currency);
        let bonus = self.commission.bonus_for(activity.gross);
        let deductions_total = activity
            .deductions
            .iter()
            .try_fold(Money::zero(currency), |total, line| {
                total.checked_add(line.amount)
            })?;
        let tips = (!activity.tips.amount().is_zero()).then(|| {
            let share = self.commission.tip_share;
            TipLine {
                received: activity.tips,
                share,
                paid: Money::rounded(share.of(activity.tips.amount()), currency),
            }
        });
        let tips_paid = tips.map_or(Money::zero(currency), |tips| tips.paid);
        let share = commission.checked_add(bonus)?.checked_add(tips_paid)?;
        let before_fee = share.checked_sub(deductions_total)?;
        let fee = if before_fee.is_negative() {
            Money::zero(currency)
        } else {
            self.fees.fee(method, activity.gross)
        };
        Ok(PayoutBreakdown {
            gross: activity.gross,
            service_count: activity.services,
            commission_rate: rate,
            commission,
            bonus,
            deductions: activity.deductions.clone(),
            deductions_total,
            fee,
            net: before_fee.checked_sub(fee)?,
            shop_share: activity
                .gross
                .checked_add(activity.tips)?
                .checked_sub(share)?,
            tips,
            reserve_until: None,
        })
    }

    /// Decides what a scheduled run does with `activity`, given the schedule's `minimum` and
    /// the reserve it keeps of a payout, if any (the minimum is of the net after it).
    pub fn settle(
        &self,
        activity: &PeriodActivity,
        method: PaymentMethod,
        minimum: Money,
        reserve: Option<&KeptReserve>,
    ) -> Result<SettlementDecision, MoneyError> {
        if activity.services == 0
            && activity.tips.amount().is_zero()
            && activity.deductions.is_empty()
        {
            return Ok(SettlementDecision::Nothing);
        }
        let breakdown = self.breakdown(activity, method)?;
        let before_fee = breakdown.net.checked_add(breakdown.fee)?;
        if before_fee.is_negative() {
            return Ok(SettlementDecision::CarryOwed(breakdown));
        }
        let breakdown = match reserve {
            Some(kept) => breakdown.keep_reserve(kept)?,
            None => breakdown,
        };
        Ok(
            if breakdown.net.amount() < minimum.amount().max(Decimal::ZERO)
                || !breakdown.net.is_positive()
            {
                SettlementDecision::BelowMinimum(breakdown)
            } else {
                SettlementDecision::Pay(breakdown)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(amount: &str) -> Money {
        Money::parse(amount, Currency::Usd).unwrap()
    }

    fn booth_rent(amount: &str) -> DeductionLine {
        DeductionLine {
            id: DeductionId::parse("rent-1").unwrap(),
            kind: DeductionKind::BoothRent,
            amount: usd(amount),
            description: "booth rent".into(),
        }
    }

    fn activity(gross: &str, services: u32, deductions: Vec<DeductionLine>) -> PeriodActivity {
        PeriodActivity {
            gross: usd(gross),
            services,
            tips: usd("0"),
            deductions,
        }
    }

    #[test]
    fn the_brief_worked_example_with_a_tip() {
        let policy = PayoutPolicy::default();
        let period = PeriodActivity {
            tips: usd("40.00"),
            ..activity("1000.00", 60, vec![booth_rent("50.00")])
        };
        let b = policy
            .breakdown(&period, PaymentMethod::StripeStandard)
            .unwrap();
        // The tip is not a service: the rate, the bonus and the fee are the brief's.
        assert_eq!(b.commission, usd("720.00"));
        assert_eq!(b.fee, usd("2.75"));
        assert_eq!(b.tips_paid(), usd("40.00"));
        assert_eq!(b.net, usd("707.25"));
        assert_eq!(b.shop_share, usd("280.00"));
        let split = [b.shop_share, b.deductions_total, b.fee, b.net]
            .into_iter()
            .try_fold(usd("0"), Money::checked_add)
            .unwrap();
        assert_eq!(
            split,
            b.earned().unwrap(),
            "earned = shop + deductions + fee + net"
        );

        let mut halves = policy.clone();
        halves.commission.tip_share = Rate::percent(50);
        let b = halves
            .breakdown(&period, PaymentMethod::StripeStandard)
            .unwrap();
        assert_eq!(b.net, usd("687.25"));
        assert_eq!(b.shop_share, usd("300.00"));
        // Half of $10.01 is $5.005: a refund takes back $5.00, never more than was paid.
        assert_eq!(b.tip_share_of(usd("10.01")), usd("5.00"));
    }

    #[test]
    fn tips_alone_are_paid() {
        let period = PeriodActivity {
            tips: usd("30.00"),
            ..activity("0.00", 0, vec![])
        };
        let decision = PayoutPolicy::default()
            .settle(&period, PaymentMethod::Manual, usd("25.00"), None)
            .unwrap();
        let SettlementDecision::Pay(b) = decision else {
            panic!("expected a payout, got {decision:?}");
        };
        assert_eq!(b.net, usd("30.00"));
    }

    #[test]
    fn a_refunded_service_takes_back_its_commission_and_bonus_share() {
        let policy = PayoutPolicy::default();
        let brief = policy
            .breakdown(
                &activity("1000.00", 60, vec![]),
                PaymentMethod::StripeStandard,
            )
            .unwrap();
        // 72 % of $16.00, no bonus below the threshold.
        assert_eq!(brief.share_of(usd("16.00")).unwrap(), usd("11.52"));
        let busy = policy
            .breakdown(
                &activity("20000.00", 120, vec![]),
                PaymentMethod::StripeStandard,
            )
            .unwrap();
        let share = busy.share_of(usd("200.00")).unwrap();
        let bonus_share = Money::rounded(busy.bonus.amount() * Decimal::new(1, 2), Currency::Usd);
        assert!(!busy.bonus.amount().is_zero());
        assert_eq!(
            share,
            Money::rounded(busy.commission_rate.of(Decimal::new(200, 0)), Currency::Usd)
                .checked_add(bonus_share)
                .unwrap()
        );
    }

    #[test]
    fn the_brief_worked_example() {
        let policy = PayoutPolicy::default();
        let period = activity("1000.00", 60, vec![booth_rent("50.00")]);
        let b = policy
            .breakdown(&period, PaymentMethod::StripeStandard)
            .unwrap();
        assert_eq!(b.commission_rate, Rate::percent(72));
        assert_eq!(b.commission, usd("720.00"));
        assert_eq!(b.bonus, usd("0.00"));
        assert_eq!(b.deductions_total, usd("50.00"));
        assert_eq!(b.fee, usd("2.75"));
        assert_eq!(b.net, usd("667.25"));
        assert_eq!(b.shop_share, usd("280.00"));
    }

    #[test]
    fn tier_boundaries_change_the_commission() {
        let policy = PayoutPolicy::default();
        let cases = [
            (50, "700.00"),
            (51, "720.00"),
            (100, "720.00"),
            (101, "750.00"),
        ];
        for (services, commission) in cases {
            let b = policy
                .breakdown(
                    &activity("1000.00", services, vec![]),
                    PaymentMethod::Manual,
                )
                .unwrap();
            assert_eq!(b.commission, usd(commission), "{services} services");
        }
    }

    #[test]
    fn volume_bonus_boundary() {
        let policy = PayoutPolicy::default();
        let at = policy
            .breakdown(&activity("10000.00", 101, vec![]), PaymentMethod::Manual)
            .unwrap();
        assert_eq!(at.bonus, usd("0.00"));
        assert_eq!(at.net, usd("7500.00"));
        let above = policy
            .breakdown(&activity("10000.01", 101, vec![]), PaymentMethod::Manual)
            .unwrap();
        assert_eq!(above.bonus, usd("200.00"));
        // 75 % of 10,000.01 = 7,500.0075 -> 7,500.01; plus 200.00
        assert_eq!(above.net, usd("7700.01"));
        assert_eq!(above.shop_share, usd("2300.00"));
    }

    #[test]
    fn below_minimum_stays_open() {
        let policy = PayoutPolicy::default();
        let decision = policy
            .settle(
                &activity("40.00", 1, vec![]),
                PaymentMethod::StripeStandard,
                usd("50.00"),
                None,
            )
            .unwrap();
        assert!(matches!(decision, SettlementDecision::BelowMinimum(_)));
    }

    #[test]
    fn deductions_beyond_the_share_carry_a_balance_owed_without_a_fee() {
        let policy = PayoutPolicy::default();
        let decision = policy
            .settle(
                &activity("100.00", 2, vec![booth_rent("150.00")]),
                PaymentMethod::StripeStandard,
                usd("25.00"),
                None,
            )
            .unwrap();
        let SettlementDecision::CarryOwed(b) = decision else {
            panic!("expected a carried balance, got {decision:?}");
        };
        assert_eq!(b.fee, usd("0.00"));
        assert_eq!(b.net, usd("-80.00"));
    }

    #[test]
    fn nothing_open_means_nothing_to_do() {
        let policy = PayoutPolicy::default();
        let decision = policy
            .settle(
                &activity("0.00", 0, vec![]),
                PaymentMethod::Manual,
                usd("0"),
                None,
            )
            .unwrap();
        assert_eq!(decision, SettlementDecision::Nothing);
    }

    #[test]
    fn a_reserve_is_kept_of_the_net_and_not_kept_again_once_released() {
        let policy = PayoutPolicy::default();
        let until: DateTime<Utc> = "2026-04-01T00:00:00Z".parse().unwrap();
        let kept = KeptReserve {
            reserve: Reserve::new(10, 30).unwrap().unwrap(),
            line: DeductionId::parse("reserve-1").unwrap(),
            until,
        };
        let decision = policy
            .settle(
                &activity("1000.00", 60, vec![]),
                PaymentMethod::StripeStandard,
                usd("25.00"),
                Some(&kept),
            )
            .unwrap();
        let SettlementDecision::Pay(b) = decision else {
            panic!("expected a payout, got {decision:?}");
        };
        // $1,000 at 72 % less the fee nets $717.25: 10 % of it, rounded down, is kept.
        assert_eq!(b.reserve_kept(), Some(usd("71.72")));
        assert_eq!(b.net, usd("645.53"));
        assert_eq!(b.reserve_until, Some(until));
        let split = [b.shop_share, b.deductions_total, b.fee, b.net]
            .into_iter()
            .try_fold(usd("0"), Money::checked_add)
            .unwrap();
        assert_eq!(split, b.gross, "gross = shop + deductions + fee + net");

        // A later payout releasing that reserve keeps 10 % of what it earned, not of the
        // release.
        let release = DeductionLine {
            id: DeductionId::parse("release-1").unwrap(),
            kind: DeductionKind::ReserveRelease,
            amount: usd("-71.95"),
            description: "reserve released".into(),
        };
        let released = activity("100.00", 5, vec![release]);
        let plain = policy
            .breakdown(&released, PaymentMethod::StripeStandard)
            .unwrap();
        let later = plain.clone().keep_reserve(&kept).unwrap();
        let earned = plain.net.checked_sub(usd("71.95")).unwrap();
        assert_eq!(later.reserve_kept(), Some(kept.reserve.kept_from(earned)));
        assert_eq!(
            later.net,
            plain
                .net
                .checked_sub(kept.reserve.kept_from(earned))
                .unwrap()
        );
    }

    #[test]
    fn a_withdrawn_reserve_owed_back_is_not_kept_of() {
        let kept = KeptReserve {
            reserve: Reserve::new(50, 30).unwrap().unwrap(),
            line: DeductionId::parse("reserve-2").unwrap(),
            until: "2026-04-01T00:00:00Z".parse().unwrap(),
        };
        let withdrawn = DeductionLine {
            id: DeductionId::parse("withdrawn-1").unwrap(),
            kind: DeductionKind::ReserveRelease,
            amount: usd("100.00"),
            description: "reserve withdrawn".into(),
        };
        let plain = PayoutPolicy::default()
            .breakdown(
                &activity("200.00", 10, vec![withdrawn]),
                PaymentMethod::StripeStandard,
            )
            .unwrap();
        let with_reserve = plain.clone().keep_reserve(&kept).unwrap();
        // Half of the net after the withdrawal, never more than the net itself.
        assert_eq!(
            with_reserve.reserve_kept(),
            Some(kept.reserve.kept_from(plain.net))
        );
        assert!(with_reserve.net.is_positive(), "{with_reserve:?}");
    }
}
