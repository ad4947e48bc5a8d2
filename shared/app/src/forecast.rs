//! What the coming days will pay: every active schedule due within the horizon, with what its
//! run would pay if the period closed now (the preview's settlement), and the totals per day,
//! method and currency the platform must fund. Nothing is written.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use payout_core::breakdown::SettlementDecision;
use payout_core::money::Money;
use payout_core::schedule::PayoutSchedule;
use serde::Serialize;

use crate::error::AppError;
use crate::period::settle_open;
use crate::ports::{DueCursor, DueSchedule};
use crate::services::Services;

/// Due schedules read per store call.
const PAGE: usize = 500;

/// One scheduled run and what it would pay now.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastRun {
    pub barber_id: String,
    pub run_at: DateTime<Utc>,
    pub method: String,
    pub currency: String,
    /// pay, below_minimum, carry_balance_owed or nothing_open.
    pub decision: String,
    /// What it would pay (zero unless the decision is to pay).
    pub net_amount: String,
}

/// What one day's runs of one method pay out in one currency.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FundingLine {
    /// The run's UTC date.
    pub day: String,
    pub method: String,
    pub currency: String,
    pub payouts: u64,
    pub net_amount: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Forecast {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Every run due by `to`, earliest first, up to the limit asked for.
    pub runs: Vec<ForecastRun>,
    /// How many runs are due by `to` (all of them, also those past the limit).
    pub total_runs: u64,
    /// The totals over every run, by day, method and currency.
    pub funding: Vec<FundingLine>,
    /// Schedules that could not be read (see `/health`'s planning failures).
    pub unreadable: u64,
}

/// The runs due in the `days` after `now`, listing at most `limit`.
pub async fn forecast(
    p: &Services,
    now: DateTime<Utc>,
    days: u32,
    limit: usize,
) -> Result<Forecast, AppError> {
    let to = now + TimeDelta::days(i64::from(days));
    let mut runs = Vec::new();
    let mut total_runs = 0;
    let mut unreadable = 0;
    let mut funding: BTreeMap<(String, String, String), (u64, Money)> = BTreeMap::new();
    let mut cursor: Option<DueCursor> = None;
    loop {
        let page = p.store.due_schedules(to, cursor.as_ref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        cursor = Some(DueCursor {
            next_run_at: last.next_run_at(),
            barber_id: last.barber_id().clone(),
        });
        let full = page.len() == PAGE;
        let schedules: Vec<PayoutSchedule> = page
            .into_iter()
            .filter_map(|due| match due {
                DueSchedule::Ready(schedule) => Some(schedule),
                DueSchedule::Unreadable { .. } => {
                    unreadable += 1;
                    None
                }
            })
            .collect();
        let barbers: Vec<_> = schedules
            .iter()
            .map(|schedule| (schedule.barber_id.clone(), schedule.currency))
            .collect();
        let balances = p.store.open_activities(&barbers, now).await?;
        for (schedule, open) in schedules.into_iter().zip(balances) {
            total_runs += 1;
            let decision = settle_open(p, &schedule, open)?;
            let nothing = Money::zero(schedule.currency);
            let (name, net) = match &decision {
                SettlementDecision::Pay(b) => ("pay", b.net),
                SettlementDecision::BelowMinimum(_) => ("below_minimum", nothing),
                SettlementDecision::CarryOwed(_) => ("carry_balance_owed", nothing),
                SettlementDecision::Nothing => ("nothing_open", nothing),
            };
            if name == "pay" {
                let key = (
                    schedule.next_run_at.date_naive().to_string(),
                    schedule.method.as_str().to_string(),
                    net.currency().code().to_string(),
                );
                let line = funding
                    .entry(key)
                    .or_insert((0, Money::zero(net.currency())));
                line.0 += 1;
                line.1 = line.1.checked_add(net)?;
            }
            if runs.len() < limit {
                runs.push(ForecastRun {
                    barber_id: schedule.barber_id.to_string(),
                    run_at: schedule.next_run_at,
                    method: schedule.method.as_str().to_string(),
                    currency: net.currency().code().to_string(),
                    decision: name.to_string(),
                    net_amount: net.amount().to_string(),
                });
            }
        }
        if !full {
            break;
        }
    }
    Ok(Forecast {
        from: now,
        to,
        runs,
        total_runs,
        funding: funding
            .into_iter()
            .map(|((day, method, currency), (payouts, net))| FundingLine {
                day,
                method,
                currency,
                payouts,
                net_amount: net.amount().to_string(),
            })
            .collect(),
        unreadable,
    })
}
