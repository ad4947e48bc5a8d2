//! Earnings and deductions: the entries a payout settles.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::deduction::DeductionKind;
use crate::ids::{BarberId, DeductionId, EarningId};
use crate::money::Money;

/// What an earning is: a service the barber performed, or a tip a client left for one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EarningKind {
    /// Counts towards the commission's tiers, the service count and the volume bonus.
    #[default]
    Service,
    /// Paid at `[commission] tip_share` (all of it by default), outside every tier and bonus.
    Tip,
}

impl EarningKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EarningKind::Service => "service",
            EarningKind::Tip => "tip",
        }
    }

    pub fn is_service(&self) -> bool {
        *self == EarningKind::Service
    }
}

impl std::str::FromStr for EarningKind {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "service" => Ok(EarningKind::Service),
            "tip" => Ok(EarningKind::Tip),
            other => Err(format!("unknown earning kind `{other}` (service or tip)")),
        }
    }
}

/// One service performed, or a tip left for one, as reported by the booking platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earning {
    pub id: EarningId,
    pub barber_id: BarberId,
    pub amount: Money,
    pub occurred_at: DateTime<Utc>,
    pub service: String,
    #[serde(default, skip_serializing_if = "EarningKind::is_service")]
    pub kind: EarningKind,
    /// When this system learnt of it; the period cut-off compares against this, so an earning
    /// that arrives late falls into the next payout instead of being lost.
    pub recorded_at: DateTime<Utc>,
}

impl Earning {
    /// The content that makes two submissions of the same earning id the same earning. A
    /// service's is as it was before tips existed, so a repeat of an earning recorded then is
    /// still a duplicate.
    pub fn canonical_content(&self) -> String {
        let content = format!(
            "{}|{}|{}|{}|{}",
            self.barber_id,
            self.amount.amount(),
            self.amount.currency(),
            self.occurred_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            self.service
        );
        match self.kind {
            EarningKind::Service => content,
            EarningKind::Tip => content + "|tip",
        }
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
