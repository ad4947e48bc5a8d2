//! What the coming days will pay: the active schedules due within the horizon, a page at a
//! time from the due index, with what each run would pay if the period closed now (the
//! preview's settlement), and the page's totals per day, method and currency the platform
//! must fund. Nothing is written.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use payout_core::breakdown::SettlementDecision;
use payout_core::ids::BarberId;
use payout_core::money::Money;
use payout_core::schedule::PayoutSchedule;
use serde::Serialize;

use crate::error::AppError;
use crate::period::{first_payout_wait, settle_open};
use crate::ports::{DueCursor, DueSchedule, OpenWindow};
use crate::services::Services;

/// A forecast cursor is `next_run_at micros:barber id` of the last run of the previous page.
pub fn parse_cursor(raw: &str) -> Result<DueCursor, AppError> {
    let bad = || AppError::Invalid("cursor is not one this API returned".into());
    let (micros, barber) = raw.split_once(':').ok_or_else(bad)?;
    Ok(DueCursor {
        next_run_at: DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?)
            .ok_or_else(bad)?,
        barber_id: BarberId::parse(barber).map_err(|_| bad())?,
    })
}

fn cursor_of(cursor: &DueCursor) -> String {
    format!(
        "{}:{}",
        cursor.next_run_at.timestamp_micros(),
        cursor.barber_id
    )
}

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
    /// Runs due by `to`, earliest first: one page of them.
    pub runs: Vec<ForecastRun>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// The totals of this page's runs, by day, method and currency (a client adds the pages
    /// it reads).
    pub funding: Vec<FundingLine>,
    /// Schedules of this page that could not be read (see `/health`'s planning failures).
    pub unreadable: u64,
}

/// One page of the runs due in the `days` after `now`: at most `limit`, after `cursor`. It
/// reads `limit + 1` due schedules from the due index and the open balances of `limit`
/// barbers, whatever the platform's size.
pub async fn forecast(
    p: &Services,
    now: DateTime<Utc>,
    days: u32,
    cursor: Option<&DueCursor>,
    limit: usize,
) -> Result<Forecast, AppError> {
    let to = now + TimeDelta::days(i64::from(days));
    let mut page = p.store.due_schedules(to, cursor, limit + 1).await?;
    let more = page.len() > limit;
    page.truncate(limit);
    let next_cursor = more.then(|| page.last()).flatten().map(|last| {
        cursor_of(&DueCursor {
            next_run_at: last.next_run_at(),
            barber_id: last.barber_id().clone(),
        })
    });
    let mut unreadable = 0;
    let schedules: Vec<PayoutSchedule> = page
        .into_iter()
        .filter_map(|due| match due {
            DueSchedule::Ready(schedule) => Some(*schedule),
            DueSchedule::Unreadable { .. } => {
                unreadable += 1;
                None
            }
        })
        .collect();
    // What is recorded so far, as the run's cut-off takes it: less what the hold still keeps
    // then, with the releases due by then.
    let barbers: Vec<_> = schedules
        .iter()
        .map(|schedule| {
            let window = OpenWindow::held(schedule.next_run_at, schedule.holds.hold_days);
            (schedule.barber_id.clone(), schedule.currency, window)
        })
        .collect();
    let balances = p.store.open_activities(&barbers).await?;
    let mut runs = Vec::with_capacity(schedules.len());
    let mut funding: BTreeMap<(String, String, String), (u64, Money)> = BTreeMap::new();
    for (schedule, open) in schedules.into_iter().zip(balances) {
        let decision = settle_open(p, &schedule, &open)?;
        let nothing = Money::zero(schedule.currency);
        let waits = first_payout_wait(p, &schedule, &open, schedule.next_run_at)
            .await?
            .is_some();
        let (name, net) = match &decision {
            _ if waits => ("first_payout_waits", nothing),
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
        runs.push(ForecastRun {
            barber_id: schedule.barber_id.to_string(),
            run_at: schedule.next_run_at,
            method: schedule.method.as_str().to_string(),
            currency: net.currency().code().to_string(),
            decision: name.to_string(),
            net_amount: net.amount().to_string(),
        });
    }
    Ok(Forecast {
        from: now,
        to,
        runs,
        next_cursor,
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
