//! Money is a decimal amount with an ISO 4217 currency, never a float.
//!
//! Each currency knows its minor unit, so the same code rounds dollars to cents and yen to
//! whole yen. Rounding happens once per line item, half away from zero (docs/design.md,
//! "Choices and departures").

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::text::text_conversions;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown or unsupported currency `{0}` (use an ISO 4217 code such as USD)")]
    UnknownCurrency(String),
    #[error("amount `{0}` is not a decimal number")]
    NotANumber(String),
    #[error("amount {amount} has more decimal places than {currency} allows ({minor_units})")]
    TooPrecise {
        amount: Decimal,
        currency: Currency,
        minor_units: u32,
    },
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount {0} is too large to represent in minor units")]
    Overflow(Decimal),
}

/// An ISO 4217 currency this system can pay in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Currency {
    Usd,
    Cad,
    Eur,
    Gbp,
    Aud,
    Jpy,
}

impl Currency {
    /// Decimal places of the currency's minor unit (cents for USD, none for JPY).
    pub fn minor_units(self) -> u32 {
        match self {
            Currency::Usd | Currency::Cad | Currency::Eur | Currency::Gbp | Currency::Aud => 2,
            Currency::Jpy => 0,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Cad => "CAD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Aud => "AUD",
            Currency::Jpy => "JPY",
        }
    }

    /// Rounds to this currency's minor unit, half away from zero.
    pub fn round(self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointAwayFromZero)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        match code.to_ascii_uppercase().as_str() {
            "USD" => Ok(Currency::Usd),
            "CAD" => Ok(Currency::Cad),
            "EUR" => Ok(Currency::Eur),
            "GBP" => Ok(Currency::Gbp),
            "AUD" => Ok(Currency::Aud),
            "JPY" => Ok(Currency::Jpy),
            _ => Err(MoneyError::UnknownCurrency(code.to_string())),
        }
    }
}

text_conversions!(Currency, code);

/// An amount in a currency, always held at most at the currency's minor-unit precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Accepts an exact amount; refuses sub-minor-unit precision rather than silently rounding
    /// money that somebody typed.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let normalized = amount.normalize();
        if normalized.scale() > currency.minor_units() {
            return Err(MoneyError::TooPrecise {
                amount,
                currency,
                minor_units: currency.minor_units(),
            });
        }
        Ok(Self::rounded(amount, currency))
    }

    /// Parses a decimal string such as `"1000.00"`.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let value = Decimal::from_str_exact(amount.trim())
            .map_err(|_| MoneyError::NotANumber(amount.to_string()))?;
        Self::new(value, currency)
    }

    /// Rounds a computed amount (a product of a rate, say) to the minor unit.
    pub fn rounded(amount: Decimal, currency: Currency) -> Self {
        let mut amount = currency.round(amount);
        amount.rescale(currency.minor_units());
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::rounded(Decimal::ZERO, currency)
    }

    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self::rounded(Decimal::new(minor, currency.minor_units()), currency)
    }

    /// The amount in minor units (cents), as payment APIs and the stores want it.
    pub fn to_minor(self) -> Result<i64, MoneyError> {
        let mut scaled = self.amount;
        scaled.rescale(self.currency.minor_units());
        i64::try_from(scaled.mantissa()).map_err(|_| MoneyError::Overflow(self.amount))
    }

    pub fn amount(self) -> Decimal {
        self.amount
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn is_negative(self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    pub fn is_positive(self) -> bool {
        self.amount > Decimal::ZERO
    }

    /// For people: the currency's symbol, thousands separators and its minor-unit decimals
    /// (`$1,000.00`, `-$50.00`, `¥1,500`).
    pub fn formatted(self) -> String {
        let symbol = match self.currency {
            Currency::Usd => "$",
            Currency::Cad => "CA$",
            Currency::Aud => "A$",
            Currency::Eur => "€",
            Currency::Gbp => "£",
            Currency::Jpy => "¥",
        };
        let digits = self.amount.abs().to_string();
        let (whole, fraction) = digits.split_once('.').unwrap_or((&digits, ""));
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let sign = if self.is_negative() { "-" } else { "" };
        if fraction.is_empty() {
            format!("{sign}{symbol}{grouped}")
        } else {
            format!("{sign}{symbol}{grouped}.{fraction}")
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow(self.amount))?;
        Ok(Self::rounded(sum, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let difference = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow(self.amount))?;
        Ok(Self::rounded(difference, self.currency))
    }

    pub fn negate(self) -> Money {
        Self::rounded(-self.amount, self.currency)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rejects_amounts_finer_than_the_minor_unit() {
        assert!(matches!(
            Money::parse("10.005", Currency::Usd),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(Money::parse("10.50", Currency::Jpy).is_err());
        assert_eq!(
            Money::parse("10.5000", Currency::Usd).unwrap().amount(),
            dec!(10.50)
        );
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(
            Money::rounded(dec!(2.745), Currency::Usd).amount(),
            dec!(2.75)
        );
        assert_eq!(
            Money::rounded(dec!(-2.745), Currency::Usd).amount(),
            dec!(-2.75)
        );
        assert_eq!(
            Money::rounded(dec!(2.744), Currency::Usd).amount(),
            dec!(2.74)
        );
        assert_eq!(
            Money::rounded(dec!(100.5), Currency::Jpy).amount(),
            dec!(101)
        );
    }

    #[test]
    fn minor_units_round_trip() {
        let money = Money::parse("667.25", Currency::Usd).unwrap();
        assert_eq!(money.to_minor().unwrap(), 66725);
        assert_eq!(Money::from_minor(66725, Currency::Usd), money);
        assert_eq!(
            Money::parse("1500", Currency::Jpy)
                .unwrap()
                .to_minor()
                .unwrap(),
            1500
        );
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(
            Money::parse("1000", Currency::Usd).unwrap().formatted(),
            "$1,000.00"
        );
        assert_eq!(
            Money::parse("667.25", Currency::Usd).unwrap().formatted(),
            "$667.25"
        );
        assert_eq!(
            Money::parse("-50", Currency::Usd).unwrap().formatted(),
            "-$50.00"
        );
        assert_eq!(
            Money::parse("1234567.5", Currency::Eur)
                .unwrap()
                .formatted(),
            "€1,234,567.50"
        );
        assert_eq!(
            Money::parse("1500", Currency::Jpy).unwrap().formatted(),
            "¥1,500"
        );
    }

    #[test]
    fn refuses_to_mix_currencies() {
        let usd = Money::parse("1", Currency::Usd).unwrap();
        let eur = Money::parse("1", Currency::Eur).unwrap();
        assert_eq!(
            usd.checked_add(eur),
            Err(MoneyError::CurrencyMismatch(Currency::Usd, Currency::Eur))
        );
    }

    #[test]
    fn rejects_garbage_and_unknown_currencies() {
        assert!(Money::parse("ten", Currency::Usd).is_err());
        assert!("XXX".parse::<Currency>().is_err());
        assert_eq!("usd".parse::<Currency>().unwrap(), Currency::Usd);
    }
}
