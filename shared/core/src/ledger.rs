//! Earnings and deductions: the entries a payout settles.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::deduction::DeductionKind;
use crate::ids::{BarberId, DeductionId, EarningId};
use crate::money::Money;

/// One service performed, as reported by the booking platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earning {
    pub id: EarningId,
    pub barber_id: BarberId,
    pub amount: Money,
    pub occurred_at: DateTime<Utc>,
    pub service: String,
    /// When this system learnt of it; the period cut-off compares against this, so an earning
    /// that arrives late falls into the next payout instead of being lost.
    pub recorded_at: DateTime<Utc>,
}

impl Earning {
    /// The content that makes two submissions of the same earning id the same earning.
    pub fn canonical_content(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.barber_id,
            self.amount.amount(),
            self.amount.currency(),
            self.occurred_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            self.service
        )
    }
}

/// A charge against a barber's commission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deduction {
    pub id: DeductionId,
    pub barber_id: BarberId,
    pub kind: DeductionKind,
    pub amount: Money,
    pub description: String,
    pub recorded_at: DateTime<Utc>,
    /// Not payable before this (a reserve's release); payable from `recorded_at` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payable_from: Option<DateTime<Utc>>,
}

impl Deduction {
    /// From when a payout may take this deduction.
    pub fn payable_from(&self) -> DateTime<Utc> {
        self.payable_from.unwrap_or(self.recorded_at)
    }

    pub fn canonical_content(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.barber_id,
            self.kind,
            self.amount.amount(),
            self.amount.currency(),
            self.description
        )
    }
}
