//! What is taken from a barber's commission before payout.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::text_conversions;

use crate::ids::DeductionId;
use crate::money::Money;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deduction kind `{0}` (expected booth_rent, supply_fee or other)")]
pub struct UnknownDeductionKind(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeductionKind {
    BoothRent,
    SupplyFee,
    Other,
    /// A negative balance from an earlier period, carried as owed. Written by the planner only.
    CarriedBalance,
    /// What a barber was paid for a service the customer was refunded afterwards. Written by
    /// the platform's refund events only.
    Refund,
    /// What a payout keeps back of its net under the schedule's rolling reserve: a line of
    /// that payout's breakdown only, never an open entry.
    Reserve,
    /// A reserve given back: opened (negative) when a payout keeps it, payable once the
    /// reserve's days have passed; opened positive when that payout is cancelled, as its
    /// release is then owed back. Written by the planner and cancellations only.
    ReserveRelease,
    /// What an instant payout charged over the standard fee, given back (negative) when the
    /// provider refused to pay it instantly and paid it as a standard payout. Written with the
    /// outcome that records the refusal only.
    FeeCredit,
}

impl DeductionKind {
    pub const ALL: [DeductionKind; 8] = [
        DeductionKind::BoothRent,
        DeductionKind::SupplyFee,
        DeductionKind::Other,
        DeductionKind::CarriedBalance,
        DeductionKind::Refund,
        DeductionKind::Reserve,
        DeductionKind::ReserveRelease,
        DeductionKind::FeeCredit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeductionKind::BoothRent => "booth_rent",
            DeductionKind::SupplyFee => "supply_fee",
            DeductionKind::Other => "other",
            DeductionKind::CarriedBalance => "carried_balance",
            DeductionKind::Refund => "refund",
            DeductionKind::Reserve => "reserve",
            DeductionKind::ReserveRelease => "reserve_release",
            DeductionKind::FeeCredit => "fee_credit",
        }
    }

    /// Kinds an operator may submit; carried balances, refunds and reserves are only ever
    /// derived.
    pub fn parse_submitted(raw: &str) -> Result<Self, UnknownDeductionKind> {
        match raw.parse()? {
            kind @ (DeductionKind::BoothRent | DeductionKind::SupplyFee | DeductionKind::Other) => {
                Ok(kind)
            }
            DeductionKind::CarriedBalance
            | DeductionKind::Refund
            | DeductionKind::Reserve
            | DeductionKind::ReserveRelease
            | DeductionKind::FeeCredit => Err(UnknownDeductionKind(raw.to_string())),
        }
    }
}

impl FromStr for DeductionKind {
    type Err = UnknownDeductionKind;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "booth_rent" => Ok(DeductionKind::BoothRent),
            "supply_fee" => Ok(DeductionKind::SupplyFee),
            "other" => Ok(DeductionKind::Other),
            "carried_balance" => Ok(DeductionKind::CarriedBalance),
            "refund" => Ok(DeductionKind::Refund),
            "reserve" => Ok(DeductionKind::Reserve),
            "reserve_release" => Ok(DeductionKind::ReserveRelease),
            "fee_credit" => Ok(DeductionKind::FeeCredit),
            _ => Err(UnknownDeductionKind(raw.to_string())),
        }
    }
}

text_conversions!(DeductionKind, as_str);

/// One deduction as it appears on a payout's breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeductionLine {
    pub id: DeductionId,
    pub kind: DeductionKind,
    pub amount: Money,
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_cannot_submit_carried_balances() {
        assert_eq!(
            DeductionKind::parse_submitted("booth_rent"),
            Ok(DeductionKind::BoothRent)
        );
        assert!(DeductionKind::parse_submitted("carried_balance").is_err());
        assert!(DeductionKind::parse_submitted("reserve_release").is_err());
        assert!(DeductionKind::parse_submitted("tips").is_err());
    }
}
