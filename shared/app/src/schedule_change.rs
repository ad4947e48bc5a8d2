//! Saving schedules: each with its next advance notice; a new one only if the barber has none
//! (a conditional write, so two racing requests cannot both create it); and a change of where
//! the money goes (payment method or account) kept on the schedule with who made it and when,
//! the barber told, so a change they did not ask for is noticed. What a request makes of a
//! schedule is [`ScheduleEdit`]'s.

use chrono::{DateTime, Utc};
use payout_core::ids::BarberId;
use payout_core::schedule::{DestinationChange, PayoutSchedule};

use crate::advance_notice::remember_advance_notice;
use crate::error::AppError;
use crate::notify::notify_destination_changed;
use crate::ports::{ScheduleStore, StoreError};
use crate::schedule_edit::ScheduleEdit;
use crate::services::Services;

/// Stores the schedule and remembers its next advance notice.
pub async fn save_schedule(
    store: &dyn ScheduleStore,
    schedule: &PayoutSchedule,
) -> Result<(), StoreError> {
    store.put_schedule(schedule).await?;
    remember_advance_notice(store, schedule, schedule.next_run_at).await
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

/// Changes `before` by `edit`, made by `actor`, auditing and announcing a change of
/// destination; returns the schedule as saved.
pub async fn change_schedule(
    p: &Services,
    before: &PayoutSchedule,
    edit: &ScheduleEdit,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<PayoutSchedule, AppError> {
    let mut schedule = edit.apply(
        before.barber_id.clone(),
        Some(before),
        &p.config.schedule_defaults,
        now,
    )?;
    let change = schedule.audit_destination(Some(before), actor, now);
    save_schedule(p.store.as_ref(), &schedule).await?;
    announce(p, &schedule, change, now).await;
    Ok(schedule)
}

async fn announce(
    p: &Services,
    schedule: &PayoutSchedule,
    change: Option<DestinationChange>,
    now: DateTime<Utc>,
) {
    if let Some(change) = change {
        tracing::info!(barber = %schedule.barber_id, actor = %change.actor, method = %change.method,
            account = ?change.account, "payout destination changed");
        notify_destination_changed(p, schedule, &change, now).await;
    }
}
