//! Saving a schedule (with its next advance notice), and one somebody changed. A change of where the money goes (payment method or
//! account) is kept on the schedule with who made it and when, and the barber is told, so a
//! change they did not ask for is noticed.

use chrono::{DateTime, Utc};
use payout_core::schedule::PayoutSchedule;

use crate::advance_notice::remember_advance_notice;
use crate::error::AppError;
use crate::notify::notify_destination_changed;
use crate::pipeline::Pipeline;
use crate::ports::{PayoutStore, StoreError};

/// Stores the schedule and remembers its next advance notice.
pub async fn save_schedule(
    store: &dyn PayoutStore,
    schedule: &PayoutSchedule,
) -> Result<(), StoreError> {
    store.put_schedule(schedule).await?;
    remember_advance_notice(store, schedule, schedule.next_run_at).await
}

/// Saves `schedule`, changed by `actor` from `before` (none: a new schedule), auditing and
/// announcing a change of destination; returns it as saved.
pub async fn save_changed_schedule(
    p: &Pipeline,
    mut schedule: PayoutSchedule,
    before: Option<&PayoutSchedule>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<PayoutSchedule, AppError> {
    let change = schedule.audit_destination(before, actor, now);
    save_schedule(p.store.as_ref(), &schedule).await?;
    if let Some(change) = change {
        tracing::info!(barber = %schedule.barber_id, actor = %change.actor, method = %change.method,
            account = ?change.account, "payout destination changed");
        notify_destination_changed(p, &schedule, &change, now).await;
    }
    Ok(schedule)
}
