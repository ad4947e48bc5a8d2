//! Telling barbers ahead of a scheduled run how much to expect.
//!
//! Each schedule has at most one pending notice, keyed by barber and pointing at a cut-off. It
//! is remembered whenever a schedule is saved or advanced and sent by the planner once its time
//! passes. The notice is checked against the schedule when it is sent, so one left behind by
//! an edit or a crash is dropped rather than sent for a run that will not happen.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use payout_core::breakdown::SettlementDecision;
use payout_core::schedule::PayoutSchedule;

use crate::error::AppError;
use crate::notify::notify_advance;
use crate::period::settlement_at;
use crate::planning_failure::record_planning_failure;
use crate::ports::{AdvanceNotice, ScheduleStore, StoreError};
use crate::services::Services;

/// Notices read per page by the planner.
const NOTICE_PAGE: usize = 500;

/// Remembers to tell the barber about the run at `cutoff`, if they want to hear of it.
pub async fn remember_advance_notice(
    store: &dyn ScheduleStore,
    schedule: &PayoutSchedule,
    cutoff: DateTime<Utc>,
) -> Result<(), StoreError> {
    match advance_notice_of(schedule, cutoff) {
        Some((notice, notice_at)) => store.mark_advance_notice(&notice, notice_at).await,
        None => Ok(()),
    }
}

/// The notice of the run at `cutoff` and when to send it, if the barber wants to hear of it.
pub fn advance_notice_of(
    schedule: &PayoutSchedule,
    cutoff: DateTime<Utc>,
) -> Option<(AdvanceNotice, DateTime<Utc>)> {
    let notice_at = schedule.advance_notice_at(cutoff)?;
    let notice = AdvanceNotice {
        barber_id: schedule.barber_id.clone(),
        cutoff,
    };
    Some((notice, notice_at))
}

/// Sends every advance notice due at `now`; returns how many were sent.
pub async fn send_due_advance_notices(
    p: &Services,
    now: DateTime<Utc>,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<u64, AppError> {
    let mut sent = 0;
    // An index read may lag behind the clears just made; what was handled is not handled twice.
    let mut handled = HashSet::new();
    loop {
        let page = p.store.due_advance_notices(now, NOTICE_PAGE).await?;
        let fresh: Vec<&AdvanceNotice> = page
            .iter()
            .filter(|notice| handled.insert((notice.barber_id.clone(), notice.cutoff)))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for notice in fresh {
            match send_one(p, notice, now).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                // Not retried every run: the barber's planning failure says why, and planning
                // it is retried with backoff like any other.
                Err(error) => {
                    let reason = format!("advance notice: {error}");
                    record_planning_failure(p, &notice.barber_id, &reason, now).await?;
                }
            }
            p.store.clear_advance_notice(notice).await?;
        }
        if page.len() < NOTICE_PAGE || !keep_going() {
            break;
        }
    }
    Ok(sent)
}

async fn send_one(
    p: &Services,
    notice: &AdvanceNotice,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let Some(schedule) = p.store.get_schedule(&notice.barber_id).await? else {
        return Ok(false);
    };
    let still_wanted = schedule.next_run_at == notice.cutoff
        && notice.cutoff > now
        && schedule
            .advance_notice_at(notice.cutoff)
            .is_some_and(|at| at <= now);
    if !still_wanted {
        return Ok(false);
    }
    // Only a run that will pay has an amount to announce.
    let settlement = settlement_at(p, &schedule, notice.cutoff).await?;
    let SettlementDecision::Pay(expected) = settlement.decision else {
        return Ok(false);
    };
    if settlement.first_payout_waits_until.is_some() {
        return Ok(false);
    }
    notify_advance(p, &schedule, notice.cutoff, &expected, now).await;
    Ok(true)
}
