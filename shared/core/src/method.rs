//! Payment methods and what each costs.

use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

use crate::text::text_conversions;

use crate::money::Money;
use crate::rate::Rate;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown payment method `{0}` (expected stripe_standard, stripe_instant, bank_transfer or manual)"
)]
pub struct UnknownMethod(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PaymentMethod {
    /// A Stripe Connect transfer to the barber's connected account.
    StripeStandard,
    /// The transfer followed by an instant payout to the barber's debit card.
    StripeInstant,
    /// An ACH-style export file an operator submits to the bank.
    BankTransfer,
    /// Paid outside the system; an operator confirms with a reference.
    Manual,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 4] = [
        PaymentMethod::StripeStandard,
        PaymentMethod::StripeInstant,
        PaymentMethod::BankTransfer,
        PaymentMethod::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::StripeStandard => "stripe_standard",
            PaymentMethod::StripeInstant => "stripe_instant",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Manual => "manual",
        }
    }
}

impl FromStr for PaymentMethod {
    type Err = UnknownMethod;

    /// Accepts the brief's `"stripe"` as Stripe standard.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "stripe" | "stripe_standard" | "standard" => Ok(PaymentMethod::StripeStandard),
            "stripe_instant" | "instant" => Ok(PaymentMethod::StripeInstant),
            "bank_transfer" | "bank" | "ach" => Ok(PaymentMethod::BankTransfer),
            "manual" => Ok(PaymentMethod::Manual),
            _ => Err(UnknownMethod(raw.to_string())),
        }
    }
}

text_conversions!(PaymentMethod, as_str);

/// A percentage of the period's gross plus a fixed amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodFee {
    pub percent_of_gross: Rate,
    /// In the payout's currency.
    pub fixed: Decimal,
}

impl MethodFee {
    pub fn charge(&self, gross: Money) -> Money {
        Money::rounded(
            self.percent_of_gross.of(gross.amount()) + self.fixed,
            gross.currency(),
        )
    }
}

/// The fee of each method. The brief's defaults; every figure is configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    pub stripe_standard: MethodFee,
    pub stripe_instant: MethodFee,
    pub bank_transfer: MethodFee,
    pub manual: MethodFee,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        Self {
            stripe_standard: MethodFee {
                percent_of_gross: Rate::basis_points(25),
                fixed: dec!(0.25),
            },
            stripe_instant: MethodFee {
                percent_of_gross: Rate::basis_points(125),
                fixed: dec!(0.25),
            },
            bank_transfer: MethodFee {
                percent_of_gross: Rate::percent(0),
                fixed: dec!(0.50),
            },
            manual: MethodFee {
                percent_of_gross: Rate::percent(0),
                fixed: Decimal::ZERO,
            },
        }
    }
}

impl FeeSchedule {
    pub fn for_method(&self, method: PaymentMethod) -> &MethodFee {
        match method {
            PaymentMethod::StripeStandard => &self.stripe_standard,
            PaymentMethod::StripeInstant => &self.stripe_instant,
            PaymentMethod::BankTransfer => &self.bank_transfer,
            PaymentMethod::Manual => &self.manual,
        }
    }

    /// The fee for paying out a period whose gross is `gross`.
    pub fn fee(&self, method: PaymentMethod, gross: Money) -> Money {
        self.for_method(method).charge(gross)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(amount: &str) -> Money {
        Money::parse(amount, Currency::Usd).unwrap()
    }

    #[test]
    fn each_method_charges_the_brief_fee() {
        let fees = FeeSchedule::default();
        let gross = usd("1000.00");
        assert_eq!(fees.fee(PaymentMethod::StripeStandard, gross), usd("2.75"));
        assert_eq!(fees.fee(PaymentMethod::StripeInstant, gross), usd("12.75"));
        assert_eq!(fees.fee(PaymentMethod::BankTransfer, gross), usd("0.50"));
        assert_eq!(fees.fee(PaymentMethod::Manual, gross), usd("0.00"));
    }

    #[test]
    fn percentage_fees_round_half_away_from_zero() {
        let fees = FeeSchedule::default();
        // 0.25 % of 123.45 = 0.308625 -> 0.31, plus 0.25
        assert_eq!(
            fees.fee(PaymentMethod::StripeStandard, usd("123.45")),
            usd("0.56")
        );
        // 1.25 % of 99.99 = 1.249875 -> 1.25, plus 0.25
        assert_eq!(
            fees.fee(PaymentMethod::StripeInstant, usd("99.99")),
            usd("1.50")
        );
    }

    #[test]
    fn parses_the_brief_spelling() {
        assert_eq!(
            "stripe".parse::<PaymentMethod>().unwrap(),
            PaymentMethod::StripeStandard
        );
        assert_eq!(
            "bank_transfer".parse::<PaymentMethod>().unwrap(),
            PaymentMethod::BankTransfer
        );
        assert!("paypal".parse::<PaymentMethod>().is_err());
    }
}
