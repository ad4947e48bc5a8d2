//! Telling the barber, at most once per event: the outbox record is written before publishing,
//! and a barber with every channel off is never messaged.

use chrono::{DateTime, Utc};
use std::sync::OnceLock;

use minijinja::{Environment, context};
use payout_core::breakdown::PayoutBreakdown;
use payout_core::deduction::DeductionKind;
use payout_core::ids::BarberId;
use payout_core::method::PaymentMethod;
use payout_core::payout::Payout;
use payout_core::retry::FailureKind;
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

/// The message templates, compiled once; they live in `shared/app/templates/`.
fn templates() -> &'static Environment<'static> {
    static TEMPLATES: OnceLock<Environment<'static>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            (
                "advance_notice",
                include_str!("../templates/advance_notice.txt"),
            ),
            ("completed", include_str!("../templates/completed.txt")),
            ("failed", include_str!("../templates/failed.txt")),
            (
                "retry_scheduled",
                include_str!("../templates/retry_scheduled.txt"),
            ),
            (
                "below_minimum",
                include_str!("../templates/below_minimum.txt"),
            ),
            (
                "account_action_needed",
                include_str!("../templates/account_action_needed.txt"),
            ),
        ] {
            env.add_template(name, source)
                .expect("the bundled templates are valid");
        }
        env
    })
}

fn render(name: &str, context: minijinja::Value) -> String {
    templates()
        .get_template(name)
        .and_then(|template| template.render(context))
        .unwrap_or_else(|error| {
            tracing::error!(%error, template = name, "notification template failed");
            format!("Update about your payout ({name}).")
        })
}

fn deduction_label(line: &payout_core::deduction::DeductionLine) -> String {
    match line.kind {
        DeductionKind::BoothRent => "Booth rent".to_string(),
        DeductionKind::SupplyFee => "Supply fee".to_string(),
        DeductionKind::CarriedBalance => "Balance carried from an earlier period".to_string(),
        DeductionKind::Other if line.description.trim().is_empty() => "Other deduction".to_string(),
        DeductionKind::Other => line.description.trim().to_string(),
    }
}

fn method_label(method: PaymentMethod) -> (&'static str, &'static str) {
    match method {
        PaymentMethod::StripeStandard => ("Stripe", "usually within 2 business days"),
        PaymentMethod::StripeInstant => ("Stripe instant payout", "usually within 30 minutes"),
        PaymentMethod::BankTransfer => ("bank transfer", "usually within 1 to 3 business days"),
        PaymentMethod::Manual => ("a manual payment", ""),
    }
}

fn advice(kind: Option<FailureKind>) -> &'static str {
    match kind {
        Some(FailureKind::AccountNotVerified) => {
            "Finish verifying your payout account from the onboarding link; we pay as soon as it is verified."
        }
        Some(FailureKind::InvalidPaymentMethod) => {
            "Update your payout method in the app and we will pay it again."
        }
        Some(
            FailureKind::Timeout
            | FailureKind::Connection
            | FailureKind::RateLimited
            | FailureKind::ProviderUnavailable
            | FailureKind::InsufficientPermissions
            | FailureKind::InvalidAmount
            | FailureKind::IdempotencyConflict
            | FailureKind::ProviderRejected,
        )
        | None => "Our team has been alerted and will contact you; your earnings are safe.",
    }
}

/// The rendered text of a payout notice.
pub fn render_message(payout: &Payout, kind: NotificationKind) -> String {
    let b = &payout.breakdown;
    let (method, arrival) = method_label(payout.method);
    let reason = payout.failure_reason.as_deref();
    match kind {
        NotificationKind::AdvanceNotice => advance_message(
            &payout.barber_id,
            payout.method,
            &payout.breakdown,
            payout.cutoff,
        ),
        NotificationKind::Completed => render(
            "completed",
            context! {
                barber_id => payout.barber_id.as_str(),
                payout_id => payout.id.as_str(),
                method => method,
                arrival => arrival,
                services => b.service_count,
                gross => b.gross.formatted(),
                rate => b.commission_rate.to_string(),
                commission => b.commission.formatted(),
                has_bonus => b.bonus.is_positive(),
                bonus => b.bonus.formatted(),
                deductions => b.deductions.iter().map(|line| context! {
                    label => deduction_label(line),
                    amount => line.amount.formatted(),
                }).collect::<Vec<_>>(),
                fee => b.fee.formatted(),
                net => b.net.formatted(),
            },
        ),
        NotificationKind::Failed => render(
            "failed",
            context! {
                barber_id => payout.barber_id.as_str(),
                payout_id => payout.id.as_str(),
                net => b.net.formatted(),
                reason => reason.unwrap_or("the payment was refused"),
                advice => advice(payout.failure_kind),
            },
        ),
        NotificationKind::RetryScheduled => render(
            "retry_scheduled",
            context! {
                barber_id => payout.barber_id.as_str(),
                payout_id => payout.id.as_str(),
                net => b.net.formatted(),
                reason => reason.unwrap_or("a temporary problem"),
                next_attempt => payout
                    .next_attempt_at
                    .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
            },
        ),
        NotificationKind::BelowMinimum => render(
            "below_minimum",
            context! {
                barber_id => payout.barber_id.as_str(),
                net => b.net.formatted(),
                minimum => "your minimum",
            },
        ),
        NotificationKind::AccountActionNeeded => render(
            "account_action_needed",
            context! {
                barber_id => payout.barber_id.as_str(),
                reason => reason.unwrap_or("your payout account needs attention"),
                advice => advice(payout.failure_kind),
                net => b.net.formatted(),
            },
        ),
    }
}

/// The notification of a payout's outcome, rendered but not sent.
pub fn render_payout_notification(payout: &Payout, kind: NotificationKind) -> Notification {
    let message = render_message(payout, kind);
    // A retry can be scheduled several times for one payout; each is its own event.
    let dedupe_key = match kind {
        NotificationKind::RetryScheduled => {
            format!("{}#{}#{}", payout.id, kind.as_str(), payout.attempts)
        }
        NotificationKind::AdvanceNotice
        | NotificationKind::Completed
        | NotificationKind::Failed
        | NotificationKind::BelowMinimum
        | NotificationKind::AccountActionNeeded => {
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
    let message = render(
        "below_minimum",
        context! {
            barber_id => schedule.barber_id.as_str(),
            net => breakdown.net.formatted(),
            minimum => schedule.minimum_payout.formatted(),
        },
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

fn advance_message(
    barber: &BarberId,
    method: PaymentMethod,
    expected: &PayoutBreakdown,
    cutoff: DateTime<Utc>,
) -> String {
    render(
        "advance_notice",
        context! {
            barber_id => barber.as_str(),
            net => expected.net.formatted(),
            method => method_label(method).0,
            when => cutoff.format("%Y-%m-%d %H:%M UTC").to_string(),
        },
    )
}

/// Tells the barber the run at `cutoff` is coming and what it would pay now.
pub async fn notify_advance(
    p: &Pipeline,
    schedule: &PayoutSchedule,
    cutoff: DateTime<Utc>,
    expected: &PayoutBreakdown,
    now: DateTime<Utc>,
) {
    send(
        p,
        Notification {
            dedupe_key: format!(
                "{}#{}#{}",
                schedule.barber_id,
                NotificationKind::AdvanceNotice.as_str(),
                cutoff.timestamp()
            ),
            barber_id: schedule.barber_id.clone(),
            payout_id: None,
            kind: NotificationKind::AdvanceNotice,
            channels: channels(&schedule.notifications),
            message: advance_message(&schedule.barber_id, schedule.method, expected, cutoff),
        },
        now,
    )
    .await;
}

async fn send(p: &Pipeline, notification: Notification, now: DateTime<Utc>) {
    if notification.channels.is_empty() {
        return;
    }
    match p.store.record_notification(&notification, now).await {
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

/// Tells a barber that the provider disabled payouts to their account.
pub async fn notify_account_action(
    p: &Pipeline,
    schedule: &PayoutSchedule,
    reason: &str,
    event_id: &str,
    now: DateTime<Utc>,
) {
    let message = render(
        "account_action_needed",
        context! {
            barber_id => schedule.barber_id.as_str(),
            reason => reason,
            advice => advice(Some(FailureKind::AccountNotVerified)),
        },
    );
    send(
        p,
        Notification {
            dedupe_key: format!(
                "{}#{}#{event_id}",
                schedule.barber_id,
                NotificationKind::AccountActionNeeded.as_str()
            ),
            barber_id: schedule.barber_id.clone(),
            payout_id: None,
            kind: NotificationKind::AccountActionNeeded,
            channels: channels(&schedule.notifications),
            message,
        },
        now,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::templates;

    use crate::ports::NotificationKind;

    #[test]
    fn every_notice_kind_has_a_template() {
        for kind in NotificationKind::ALL {
            assert!(
                templates().get_template(kind.as_str()).is_ok(),
                "no template for {}",
                kind.as_str()
            );
        }
    }
}
