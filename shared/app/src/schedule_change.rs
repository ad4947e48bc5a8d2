//! Saving schedules: each with its next advance notice; a new one only if the barber has none
//! (a conditional write, so two racing requests cannot both create it); a change made to the
//! schedule as stored and written only over the version it was made from, made again when
//! another writer (the planner's advance, an edit, a webhook) came first, so a change keeps
//! every field it does not name as the other writer left it; and a change of where the money
//! goes (payment method or account) kept on the schedule with who made it and when, the
//! barber told, so a change they did not ask for is noticed, and the payouts on hold for the
//! account they left given back to the open balance. What a request makes of a schedule is
//! [`ScheduleEdit`]'s.

use chrono::{DateTime, Utc};
use payout_core::ids::BarberId;
use payout_core::schedule::{DestinationChange, PayoutSchedule, ScheduleState};
use payout_core::status::PayoutStatus;

use crate::advance_notice::remember_advance_notice;
use crate::error::AppError;
use crate::notify::notify_destination_changed;
use crate::payout_actions::cancel_payout;
use crate::ports::{Clock, PayoutQuery, ScheduleStore};
use crate::schedule_edit::ScheduleEdit;
use crate::services::Services;

/// More payouts on hold for one barber than any restriction lasts for.
const HELD_READ: usize = 100;

/// How many times a change is made again over a newer version before it is given up (409):
/// a schedule is written by its barber, its operators, a webhook and the planner, rarely at
/// once.
const AMEND_ATTEMPTS: usize = 8;

/// Stores a new barber's schedule and remembers its next advance notice; a conflict when the
/// barber has one already.
pub async fn add_schedule(
    store: &dyn ScheduleStore,
    schedule: &PayoutSchedule,
) -> Result<(), AppError> {
    if !store.insert_schedule(schedule).await? {
        return Err(AppError::Conflict(format!(
            "barber {} has a schedule already",
            schedule.barber_id
        )));
    }
    Ok(remember_advance_notice(store, schedule, schedule.next_run_at).await?)
}

/// Makes `change` of the barber's schedule as stored and stores the schedule it returns over
/// the version it was made from, reading and changing again when another write came first; a
/// change that returns no schedule writes nothing. Returns the schedule as it stands after the
/// change, with what `change` said.
pub async fn amend_schedule<T>(
    store: &dyn ScheduleStore,
    barber: &BarberId,
    mut change: impl FnMut(&PayoutSchedule) -> Result<(Option<PayoutSchedule>, T), AppError>,
) -> Result<(PayoutSchedule, T), AppError> {
    for _ in 0..AMEND_ATTEMPTS {
        let current = store
            .get_schedule(barber)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("schedule of barber {barber}")))?;
        let (changed, said) = change(&current)?;
        let Some(mut changed) = changed else {
            return Ok((current, said));
        };
        changed.version = current.version;
        if store.replace_schedule(&changed).await? {
            changed.version += 1;
            remember_advance_notice(store, &changed, changed.next_run_at).await?;
            return Ok((changed, said));
        }
        tracing::info!(barber = %barber, version = current.version,
            "the schedule changed meanwhile: the change is made again over it");
    }
    Err(AppError::Conflict(format!(
        "the schedule of barber {barber} kept changing; try again"
    )))
}

/// Pauses the barber's schedule if it is active; returns the schedule and whether it was
/// paused now.
pub async fn pause_schedule(
    store: &dyn ScheduleStore,
    barber: &BarberId,
) -> Result<(PayoutSchedule, bool), AppError> {
    amend_schedule(store, barber, |current| {
        Ok(if current.state == ScheduleState::Active {
            let paused = PayoutSchedule {
                state: ScheduleState::Paused,
                ..current.clone()
            };
            (Some(paused), true)
        } else {
            (None, false)
        })
    })
    .await
}

/// Creates the barber's schedule from `edit` and the defaults, made by `actor`; a conflict
/// (nothing written) when the barber has one already.
pub async fn create_schedule(
    p: &Services,
    barber_id: BarberId,
    edit: &ScheduleEdit,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<PayoutSchedule, AppError> {
    let mut schedule = edit.apply(barber_id, None, &p.config.schedule_defaults, now)?;
    let change = schedule.audit_destination(None, actor, now);
    if !p.store.insert_schedule(&schedule).await? {
        return Err(AppError::Conflict(format!(
            "barber {} has a schedule already; change it with PUT",
            schedule.barber_id
        )));
    }
    remember_advance_notice(p.store.as_ref(), &schedule, schedule.next_run_at).await?;
    announce(p, &schedule, change, now).await;
    Ok(schedule)
}

/// Changes the barber's schedule by `edit`, made by `actor`, auditing and announcing a change
/// of destination; returns the schedule as saved. Each attempt reads `clock` afresh: a new
/// calendar's first cut-off counted from before the planner planned it would put a planned
/// cut-off back.
pub async fn change_schedule(
    p: &Services,
    barber: &BarberId,
    edit: &ScheduleEdit,
    actor: &str,
    clock: &dyn Clock,
) -> Result<PayoutSchedule, AppError> {
    let (schedule, (change, now)) = amend_schedule(p.store.as_ref(), barber, |before| {
        let now = clock.now();
        let mut schedule = edit.apply(
            barber.clone(),
            Some(before),
            &p.config.schedule_defaults,
            now,
        )?;
        let change = schedule.audit_destination(Some(before), actor, now);
        Ok((Some(schedule), (change, now)))
    })
    .await?;
    if change.is_some() {
        release_held(p, &schedule, actor, now).await;
    }
    announce(p, &schedule, change, now).await;
    Ok(schedule)
}

/// Cancels the barber's payouts on hold for an account they no longer use: nobody will make
/// it ready, and their earnings go back to the open balance, for the next run to pay to the
/// account they use now. A payout that cannot be cancelled now stays held, for an operator.
async fn release_held(p: &Services, schedule: &PayoutSchedule, actor: &str, now: DateTime<Utc>) {
    let query = PayoutQuery {
        barber: Some(schedule.barber_id.clone()),
        status: Some(PayoutStatus::OnHold),
        ..PayoutQuery::default()
    };
    let held = match p.store.list_payouts(&query, HELD_READ).await {
        Ok(held) => held,
        Err(error) => {
            tracing::warn!(barber = %schedule.barber_id, %error, "payouts held for the old account not read");
            return;
        }
    };
    let why = "the barber's payout account changed: its earnings go to the new one";
    for payout in held
        .iter()
        .filter(|payout| payout.destination != schedule.connected_account)
    {
        if let Err(error) = cancel_payout(p, &payout.id, actor, why, now).await {
            tracing::warn!(payout_id = %payout.id, %error, "a payout held for the old account stays held");
        }
    }
}

async fn announce(
    p: &Services,
    schedule: &PayoutSchedule,
    change: Option<DestinationChange>,
    now: DateTime<Utc>,
) {
    if let Some(change) = change {
        tracing::info!(barber = %schedule.barber_id, actor = %change.actor, method = %change.method,
            account = change.account.as_deref().unwrap_or("none"), "payout destination changed");
        notify_destination_changed(p, schedule, &change, now).await;
    }
}
