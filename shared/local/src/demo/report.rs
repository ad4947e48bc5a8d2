//! The demo's summary: totals from the store, duplicates from the rail's own ledger, and the
//! two conservation identities checked to the cent.

use std::collections::BTreeMap;

use payout_app::ports::LedgerTotals;
use payout_core::money::{Currency, Money};
use payout_core::status::PayoutStatus;
use serde::Serialize;

use crate::simulated_rail::SimulatedRail;

#[derive(Debug, Clone, Default, Serialize)]
pub struct MethodSummary {
    pub payouts: u64,
    pub net: String,
    pub fees: String,
}

/// Money values are decimal strings so no JSON reader turns them into floats.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub barbers: usize,
    pub weeks: u32,
    pub seed: u64,
    pub simulated_from: String,
    pub simulated_to: String,
    pub earnings: u64,
    pub payouts_by_status: BTreeMap<String, u64>,
    pub payouts_by_method: BTreeMap<String, MethodSummary>,
    /// Paid: completed, or in transit (the rail accepted them; a bank or instant payout is
    /// completed when it lands). `payouts_by_status` splits the two.
    pub payouts_paid: u64,
    pub payouts_failed: u64,
    pub payouts_in_flight: u64,
    pub settled_with_balance_owed: u64,
    pub below_minimum_periods: u64,
    pub retries: u64,
    pub earnings_total: String,
    pub payout_gross_total: String,
    pub open_earnings_total: String,
    pub shop_share_total: String,
    pub deductions_total: String,
    pub fees_total: String,
    pub net_total: String,
    pub net_paid_total: String,
    pub rail_paid_total: String,
    pub balance_owed_carried: String,
    pub open_deductions_total: String,
    pub duplicate_payments: u64,
    pub identities_hold: bool,
}

pub struct ReportInputs<'a> {
    pub barbers: usize,
    pub weeks: u32,
    pub seed: u64,
    pub simulated_from: String,
    pub simulated_to: String,
    pub below_minimum_periods: u64,
    pub settled_with_balance_owed: u64,
    pub totals: &'a LedgerTotals,
    pub rail: &'a SimulatedRail,
}

fn usd(minor: i64) -> String {
    Money::from_minor(minor, Currency::Usd).amount().to_string()
}

pub fn build(inputs: ReportInputs<'_>) -> DemoReport {
    let totals = inputs.totals;
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_method: BTreeMap<String, (u64, i64, i64)> = BTreeMap::new();
    let (mut gross, mut shop, mut deductions, mut fees, mut net, mut paid) = (0, 0, 0, 0, 0, 0);
    let (mut paid_count, mut failed, mut in_flight, mut retries) = (0, 0, 0, 0);
    for row in &totals.payouts {
        let t = &row.totals;
        *by_status
            .entry(row.status.as_str().to_string())
            .or_default() += t.count;
        retries += t.retries;
        // Cancelled payouts returned their earnings to the open balance.
        let counts_in_totals = match row.status {
            PayoutStatus::Cancelled => false,
            PayoutStatus::AwaitingApproval
            | PayoutStatus::Scheduled
            | PayoutStatus::Queued
            | PayoutStatus::Processing
            | PayoutStatus::RetryScheduled
            | PayoutStatus::OnHold
            | PayoutStatus::InTransit
            | PayoutStatus::Completed
            | PayoutStatus::Failed => true,
        };
        if counts_in_totals {
            gross += t.gross_minor;
            shop += t.shop_share_minor;
            deductions += t.deductions_minor;
            fees += t.fee_minor;
            net += t.net_minor;
        }
        match row.status {
            PayoutStatus::Completed | PayoutStatus::InTransit => {
                paid += t.paid_net_minor;
                paid_count += t.count;
                let entry = by_method
                    .entry(row.method.as_str().to_string())
                    .or_default();
                entry.0 += t.count;
                entry.1 += t.paid_net_minor;
                entry.2 += t.fee_minor;
            }
            PayoutStatus::Failed => failed += t.count,
            PayoutStatus::AwaitingApproval
            | PayoutStatus::Scheduled
            | PayoutStatus::Queued
            | PayoutStatus::Processing
            | PayoutStatus::RetryScheduled
            | PayoutStatus::OnHold => in_flight += t.count,
            PayoutStatus::Cancelled => {}
        }
    }
    let rail_paid: i64 = inputs
        .rail
        .transfers()
        .iter()
        .map(|transfer| transfer.amount.to_minor().unwrap_or_default())
        .sum();
    let identities_hold = totals.conserves_money() && paid == rail_paid;
    DemoReport {
        barbers: inputs.barbers,
        weeks: inputs.weeks,
        seed: inputs.seed,
        simulated_from: inputs.simulated_from,
        simulated_to: inputs.simulated_to,
        earnings: totals.earnings_count,
        payouts_by_status: by_status,
        payouts_by_method: by_method
            .into_iter()
            .map(|(method, (payouts, net, fees))| {
                (
                    method,
                    MethodSummary {
                        payouts,
                        net: usd(net),
                        fees: usd(fees),
                    },
                )
            })
            .collect(),
        payouts_paid: paid_count,
        payouts_failed: failed,
        payouts_in_flight: in_flight,
        settled_with_balance_owed: inputs.settled_with_balance_owed,
        below_minimum_periods: inputs.below_minimum_periods,
        retries,
        earnings_total: usd(totals.earnings_minor),
        payout_gross_total: usd(gross),
        open_earnings_total: usd(totals.open_earnings_minor),
        shop_share_total: usd(shop),
        deductions_total: usd(deductions),
        fees_total: usd(fees),
        net_total: usd(net),
        net_paid_total: usd(paid),
        rail_paid_total: usd(rail_paid),
        balance_owed_carried: usd(totals.open_carried_balance_minor),
        open_deductions_total: usd(totals.open_deductions_minor),
        duplicate_payments: inputs.rail.duplicate_payments(),
        identities_hold,
    }
}
