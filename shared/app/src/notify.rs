//! Telling the barber, at most once per event: the outbox record is written before publishing,
//! and a barber with every channel off is never messaged.

use chrono::{DateTime, Utc};
use payout_core::breakdown::PayoutBreakdown;
use payout_core::payout::Payout;
use payout_core::schedule::{NotificationPrefs, PayoutSchedule};

use crate::pipeline::Pipeline;
use crate::ports::{Channel, Notification, NotificationKind};

fn channels(prefs: &NotificationPrefs) -> Vec<Channel> {
    let mut channels = Vec::new();
    if prefs.email_notifications {
        channels.push(Channel::Email);
    }
    if prefs.sms_notifications {
        channels.push(Channel::Sms);
    }
    channels
}

fn describe(b: &PayoutBreakdown) -> String {
    format!(
        "gross {}, {} services at {} = commission {}, bonus {}, deductions {}, fee {}, net {}",
        b.gross,
        b.service_count,
        b.commission_rate,
        b.commission,
        b.bonus,
        b.deductions_total,
        b.fee,
        b.net
    )
}

/// The notification of a payout's outcome, rendered but not sent.
pub fn render_payout_notification(payout: &Payout, kind: NotificationKind) -> Notification {
    let reason = payout.failure_reason.as_deref();
    let message = match kind {
        NotificationKind::Completed => format!(
            "Your payout {} of {} via {} is on its way ({}).",
            payout.id,
            payout.breakdown.net,
            payout.method,
            describe(&payout.breakdown)
        ),
        NotificationKind::Failed => format!(
            "Your payout {} of {} could not be paid: {}.",
            payout.id,
            payout.breakdown.net,
            reason.unwrap_or("unknown reason")
        ),
        NotificationKind::RetryScheduled => format!(
            "Your payout {} of {} is delayed ({}); we will retry automatically.",
            payout.id,
            payout.breakdown.net,
            reason.unwrap_or("temporary problem")
        ),
        NotificationKind::BelowMinimum => format!(
            "Your payout {} of {} is below your minimum and rolls into your next payout.",
            payout.id, payout.breakdown.net
        ),
    };
    // A retry can be scheduled several times for one payout; each is its own event.
    let dedupe_key = match kind {
        NotificationKind::RetryScheduled => {
            format!("{}#{}#{}", payout.id, kind.as_str(), payout.attempts)
        }
        NotificationKind::Completed | NotificationKind::Failed | NotificationKind::BelowMinimum => {
            format!("{}#{}", payout.id, kind.as_str())
        }
    };
    Notification {
        dedupe_key,
        barber_id: payout.barber_id.clone(),
        payout_id: Some(payout.id.clone()),
        kind,
        channels: channels(&payout.notifications),
        message,
    }
}

/// Notifies the outcome of a payout. Failures are logged: the payout itself is recorded already.
pub async fn notify_payout(
    p: &Pipeline,
    payout: &Payout,
    kind: NotificationKind,
    now: DateTime<Utc>,
) {
    send(p, render_payout_notification(payout, kind), now).await;
}

/// Tells the barber their period was carried forward because the net was under the minimum.
pub async fn notify_below_minimum(
    p: &Pipeline,
    schedule: &PayoutSchedule,
    cutoff: DateTime<Utc>,
    breakdown: &PayoutBreakdown,
    now: DateTime<Utc>,
) {
    let message = format!(
        "Your earnings so far ({}) are below your minimum payout of {}; they roll into your next payout.",
        breakdown.net, schedule.minimum_payout
    );
    send(
        p,
        Notification {
            dedupe_key: format!(
                "{}#{}#{}",
                schedule.barber_id,
                NotificationKind::BelowMinimum.as_str(),
                cutoff.timestamp()
            ),
            barber_id: schedule.barber_id.clone(),
            payout_id: None,
            kind: NotificationKind::BelowMinimum,
            channels: channels(&schedule.notifications),
            message,
        },
        now,
    )
    .await;
}

async fn send(p: &Pipeline, notification: Notification, now: DateTime<Utc>) {
    if notification.channels.is_empty() {
        return;
    }
    match p
        .store
        .record_notification(&notification.dedupe_key, now, &notification.message)
        .await
    {
        Ok(true) => {
            if let Err(error) = p.notifier.publish(&notification).await {
                tracing::error!(key = %notification.dedupe_key, %error, "notification not delivered");
            }
        }
        Ok(false) => {}
        Err(error) => {
            tracing::error!(key = %notification.dedupe_key, %error, "notification not recorded")
        }
    }
}
