//! Telling the barber once per event: the outbox record is written before publishing, stays
//! pending until the notifier accepts it and is retried with backoff, so every notice is
//! delivered at least once, and its stable id (the dedupe key) lets a subscriber drop a repeat.
//! A barber with every channel off is never messaged.

use chrono::{DateTime, Utc};
use std::sync::OnceLock;

use minijinja::{Environment, context};
use payout_core::breakdown::PayoutBreakdown;
use payout_core::deduction::DeductionKind;
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::payout::Payout;
use payout_core::retry::FailureKind;
use payout_core::schedule::{DestinationChange, NotificationPrefs, PayoutSchedule};

use crate::error::AppError;
use crate::ports::{Channel, Metric, NoticeDelivery, Notification, NotificationKind, Recipient};
use crate::services::Services;

fn recipient(prefs: &NotificationPrefs) -> Recipient {
    Recipient {
        email: prefs.email.clone(),
        phone: prefs.phone.clone(),
    }
}

/// The channels a notice goes out on: those the barber turned on and gave an address for; when
/// none has an address, those turned on (the notice is then recorded as skipped, not sent).
fn channels(prefs: &NotificationPrefs) -> Vec<Channel> {
    let wanted = [
        (
            Channel::Email,
            prefs.email_notifications,
            prefs.email.is_some(),
        ),
        (Channel::Sms, prefs.sms_notifications, prefs.phone.is_some()),
    ];
    let on = wanted.iter().filter(|(_, on, _)| *on);
    let reachable: Vec<Channel> = on
        .clone()
        .filter(|(.., has_address)| *has_address)
        .map(|(channel, ..)| *channel)
        .collect();
    match reachable.is_empty() {
        true => on.map(|(channel, ..)| *channel).collect(),
        false => reachable,
    }
}

/// Who changed a barber's payout destination, as the barber reads it.
fn actor_in_words(actor: &str) -> &'static str {
    if actor.starts_with("barber:") {
        "you"
    } else {
        "the shop"
    }
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
            (
                "destination_changed",
                include_str!("../templates/destination_changed.txt"),
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

/// A deduction line as it changes the net: `-$5.00` taken, `+$1.00` given back.
fn taken_from_net(amount: Money) -> String {
    match amount.is_negative() {
        true => format!("+{}", amount.negate().formatted()),
        false => format!("-{}", amount.formatted()),
    }
}

pub(crate) fn deduction_label(line: &payout_core::deduction::DeductionLine) -> String {
    match line.kind {
        DeductionKind::BoothRent => "Booth rent".to_string(),
        DeductionKind::SupplyFee => "Supply fee".to_string(),
        DeductionKind::CarriedBalance => "Balance carried from an earlier period".to_string(),
        DeductionKind::Refund => "Refunded service".to_string(),
        DeductionKind::Reserve => line.description.replacen("reserve", "Reserve", 1),
        DeductionKind::ReserveRelease if line.amount.is_negative() => {
            "Reserve released".to_string()
        }
        DeductionKind::ReserveRelease => "Reserve of a cancelled payout taken back".to_string(),
        DeductionKind::FeeCredit => "Instant fee given back (paid standard)".to_string(),
        DeductionKind::Other if line.description.trim().is_empty() => "Other deduction".to_string(),
        DeductionKind::Other => line.description.trim().to_string(),
    }
}

pub(crate) fn method_label(method: PaymentMethod) -> (&'static str, &'static str) {
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
        Some(FailureKind::AccountUnusable) => {
            "Your payouts are held, not lost: update your payout account from the onboarding link in the app, and we pay them as soon as Stripe can pay you again."
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

/// The rendered text of a payout notice; with the dashboard's address (`[shop]
/// dashboard_url`), the completed notice links to the payout's page and its statement.
pub fn render_message(payout: &Payout, kind: NotificationKind, dashboard: Option<&str>) -> String {
    let b = &payout.breakdown;
    let (method, arrival) = method_label(payout.paid_by());
    let reason = payout.failure_reason.as_deref();
    match kind {
        NotificationKind::AdvanceNotice => advance_message(
            payout.method,
            &payout.notifications,
            &payout.breakdown,
            payout.cutoff,
        ),
        NotificationKind::Completed => render(
            "completed",
            context! {
                name => payout.notifications.greeting_name(),
                payout_id => payout.id.as_str(),
                method => method,
                arrival => arrival,
                services => b.service_count,
                gross => b.gross.formatted(),
                rate => b.commission_rate.to_string(),
                commission => b.commission.formatted(),
                has_bonus => b.bonus.is_positive(),
                bonus => b.bonus.formatted(),
                tips => b.tips.map(|tips| context! {
                    received => tips.received.formatted(),
                    paid => tips.paid.formatted(),
                    whole => tips.paid == tips.received,
                }),
                deductions => b.deductions.iter().map(|line| context! {
                    label => deduction_label(line),
                    amount => taken_from_net(line.amount),
                }).collect::<Vec<_>>(),
                fee => b.fee.formatted(),
                net => b.net.formatted(),
                method_note => payout.method_note.as_deref(),
                statement => dashboard.map(|base| format!("{base}/payouts/{}", payout.id)),
            },
        ),
        NotificationKind::Failed => render(
            "failed",
            context! {
                name => payout.notifications.greeting_name(),
                payout_id => payout.id.as_str(),
                net => b.net.formatted(),
                reason => reason.unwrap_or("the payment was refused"),
                advice => advice(payout.failure_kind),
            },
        ),
        NotificationKind::RetryScheduled => render(
            "retry_scheduled",
            context! {
                name => payout.notifications.greeting_name(),
                payout_id => payout.id.as_str(),
                net => b.net.formatted(),
                reason => reason.unwrap_or("a temporary problem"),
                next_attempt => payout
                    .next_attempt_at
                    .map(|at| payout.notifications.local_time(at))
                    .unwrap_or_default(),
            },
        ),
        NotificationKind::BelowMinimum => render(
            "below_minimum",
            context! {
                name => payout.notifications.greeting_name(),
                net => b.net.formatted(),
                minimum => "your minimum",
            },
        ),
        NotificationKind::AccountActionNeeded => render(
            "account_action_needed",
            context! {
                name => payout.notifications.greeting_name(),
                reason => reason.unwrap_or("your payout account needs attention"),
                advice => advice(payout.failure_kind),
                net => b.net.formatted(),
            },
        ),
        // Not about one payout: sent when the schedule changes.
        NotificationKind::DestinationChanged => render(
            "destination_changed",
            context! {
                name => payout.notifications.greeting_name(),
                method => method,
                account => payout.destination.as_deref(),
                actor => "the shop",
                when => payout.notifications.local_time(payout.updated_at),
            },
        ),
    }
}

/// The notification of a payout's outcome, rendered but not sent.
pub fn render_payout_notification(
    payout: &Payout,
    kind: NotificationKind,
    dashboard: Option<&str>,
) -> Notification {
    let message = render_message(payout, kind, dashboard);
    // A retry can be scheduled several times for one payout; each is its own event.
    let dedupe_key = match kind {
        NotificationKind::RetryScheduled => {
            format!("{}#{}#{}", payout.id, kind.as_str(), payout.attempts)
        }
        NotificationKind::AdvanceNotice
        | NotificationKind::Completed
        | NotificationKind::Failed
        | NotificationKind::BelowMinimum
        | NotificationKind::AccountActionNeeded
        | NotificationKind::DestinationChanged => {
            format!("{}#{}", payout.id, kind.as_str())
        }
    };
    Notification {
        dedupe_key,
        barber_id: payout.barber_id.clone(),
        payout_id: Some(payout.id.clone()),
        kind,
        channels: channels(&payout.notifications),
        recipient: recipient(&payout.notifications),
        message,
    }
}

/// Notifies the outcome of a payout. Failures are logged: the payout itself is recorded already.
pub async fn notify_payout(
    p: &Services,
    payout: &Payout,
    kind: NotificationKind,
    now: DateTime<Utc>,
) {
    let dashboard = p.config.dashboard_url.as_deref();
    send(p, render_payout_notification(payout, kind, dashboard), now).await;
}

/// Tells the barber their period was carried forward because the net was under the minimum.
pub async fn notify_below_minimum(
    p: &Services,
    schedule: &PayoutSchedule,
    cutoff: DateTime<Utc>,
    breakdown: &PayoutBreakdown,
    now: DateTime<Utc>,
) {
    let message = render(
        "below_minimum",
        context! {
            name => schedule.notifications.greeting_name(),
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
            recipient: recipient(&schedule.notifications),
            message,
        },
        now,
    )
    .await;
}

fn advance_message(
    method: PaymentMethod,
    prefs: &NotificationPrefs,
    expected: &PayoutBreakdown,
    cutoff: DateTime<Utc>,
) -> String {
    render(
        "advance_notice",
        context! {
            name => prefs.greeting_name(),
            net => expected.net.formatted(),
            method => method_label(method).0,
            when => prefs.local_time(cutoff),
        },
    )
}

/// Tells the barber the run at `cutoff` is coming and what it would pay now.
pub async fn notify_advance(
    p: &Services,
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
            recipient: recipient(&schedule.notifications),
            message: advance_message(schedule.method, &schedule.notifications, expected, cutoff),
        },
        now,
    )
    .await;
}

/// Records `notification` in the outbox, then makes the first delivery attempt. Once recorded
/// it is delivered at least once: a failed publish is retried by [`deliver_due_notices`], and a
/// process that dies before publishing leaves it pending for the same sweep.
async fn send(p: &Services, notification: Notification, now: DateTime<Utc>) {
    if notification.channels.is_empty() {
        return;
    }
    match p
        .store
        .record_notification(&notification, now, first_retry_at(p, now))
        .await
    {
        Ok(true) => deliver(p, &notification, 0, now).await,
        Ok(false) => {}
        Err(error) => {
            tracing::error!(key = %notification.dedupe_key, %error, "notification not recorded")
        }
    }
}

/// The notice of a payout's outcome to record with it, unless the barber turned every
/// channel off.
pub fn outcome_notice(
    payout: &Payout,
    kind: NotificationKind,
    dashboard: Option<&str>,
) -> Option<Notification> {
    Some(render_payout_notification(payout, kind, dashboard))
        .filter(|notice| !notice.channels.is_empty())
}

/// When a notice recorded at `now` is due again if its first delivery does not settle it.
pub fn first_retry_at(p: &Services, now: DateTime<Utc>) -> DateTime<Utc> {
    now + retry_delay(p, 0).unwrap_or_default()
}

/// The first delivery attempt of notices recorded already (with the outcomes they tell), their
/// outcomes settled together.
pub async fn deliver_recorded(p: &Services, notices: &[Notification], now: DateTime<Utc>) {
    if notices.is_empty() {
        return;
    }
    let mut deliveries = Vec::with_capacity(notices.len());
    for notice in notices {
        let delivery = publish(p, notice, 0, now).await;
        deliveries.push((notice.dedupe_key.clone(), delivery));
    }
    if let Err(error) = p.store.settle_notifications(&deliveries).await {
        // Left pending: the sweep delivers them again, which the notice ids let a subscriber
        // drop.
        tracing::error!(%error, notices = notices.len(), "notification outcomes not recorded");
    }
}

/// The wait after `failed` attempts (the first wait also guards the first attempt), or none
/// when every configured retry has been made.
fn retry_delay(p: &Services, failed: u32) -> Option<chrono::TimeDelta> {
    let index = usize::try_from(failed.saturating_sub(1)).ok()?;
    p.config.notice_retry_delays.get(index).copied()
}

/// One delivery attempt after `attempts` earlier ones: what became of it, counted.
async fn publish(
    p: &Services,
    notification: &Notification,
    attempts: u32,
    now: DateTime<Utc>,
) -> NoticeDelivery {
    if !notification.has_address() {
        tracing::info!(key = %notification.dedupe_key, barber = %notification.barber_id,
            "notice not sent: the barber gave no address for its channels");
        return NoticeDelivery::SkippedNoAddress;
    }
    let attempts = attempts + 1;
    match p.notifier.publish(notification).await {
        Ok(()) => NoticeDelivery::Delivered,
        Err(error) => {
            let outcome = match retry_delay(p, attempts) {
                Some(delay) => NoticeDelivery::Retry {
                    attempts,
                    at: now + delay,
                },
                None => NoticeDelivery::GaveUp { attempts },
            };
            tracing::error!(key = %notification.dedupe_key, %error, attempts, ?outcome,
                "notification not delivered");
            let mut metrics = vec![Metric::count("NotificationsFailed", 1)];
            if matches!(outcome, NoticeDelivery::GaveUp { .. }) {
                metrics.push(Metric::count("NotificationsAbandoned", 1));
            }
            p.metrics
                .publish(&[("Kind", notification.kind.as_str())], &metrics);
            outcome
        }
    }
}

/// One delivery attempt after `attempts` earlier ones, and its outcome in the outbox.
async fn deliver(p: &Services, notification: &Notification, attempts: u32, now: DateTime<Utc>) {
    let delivery = publish(p, notification, attempts, now).await;
    if let Err(error) = p
        .store
        .settle_notification(&notification.dedupe_key, delivery)
        .await
    {
        // Left pending: the sweep delivers it again, which the notice id lets a subscriber drop.
        tracing::error!(key = %notification.dedupe_key, %error, "notification outcome not recorded");
    }
}

/// The most pending notices one sweep attempts.
const NOTICE_SWEEP: usize = 500;

/// Attempts every pending notice whose time has come; returns how many were attempted.
pub async fn deliver_due_notices(p: &Services, now: DateTime<Utc>) -> Result<u64, AppError> {
    let due = p.store.due_notifications(now, NOTICE_SWEEP).await?;
    for pending in &due {
        deliver(p, &pending.notification, pending.attempts, now).await;
    }
    Ok(due.len() as u64)
}

/// Tells a barber where their money goes now, so a change they did not ask for is noticed.
pub async fn notify_destination_changed(
    p: &Services,
    schedule: &PayoutSchedule,
    change: &DestinationChange,
    now: DateTime<Utc>,
) {
    let message = render(
        "destination_changed",
        context! {
            name => schedule.notifications.greeting_name(),
            method => method_label(change.method).0,
            account => change.account.as_deref(),
            previous => change.previous_account.as_deref(),
            // Setting the first destination is not a change a barber must be warned about.
            first => change.is_first_setup(),
            actor => actor_in_words(&change.actor),
            when => schedule.notifications.local_time(change.at),
        },
    );
    send(
        p,
        Notification {
            dedupe_key: format!(
                "{}#{}#{}",
                schedule.barber_id,
                NotificationKind::DestinationChanged.as_str(),
                change.at.timestamp_micros()
            ),
            barber_id: schedule.barber_id.clone(),
            payout_id: None,
            kind: NotificationKind::DestinationChanged,
            channels: channels(&schedule.notifications),
            recipient: recipient(&schedule.notifications),
            message,
        },
        now,
    )
    .await;
}

/// Tells the barber of `payout`, held because the provider will not pay their account
/// (`reason`), what to do: once per restriction (`since`), however many payouts it holds.
pub async fn notify_payouts_held(
    p: &Services,
    payout: &Payout,
    reason: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    let prefs = &payout.notifications;
    let message = render(
        "account_action_needed",
        context! {
            name => prefs.greeting_name(),
            reason => reason,
            advice => advice(Some(FailureKind::AccountUnusable)),
        },
    );
    send(
        p,
        Notification {
            dedupe_key: format!(
                "{}#{}#held#{}",
                payout.barber_id,
                NotificationKind::AccountActionNeeded.as_str(),
                since.timestamp_micros()
            ),
            barber_id: payout.barber_id.clone(),
            payout_id: None,
            kind: NotificationKind::AccountActionNeeded,
            channels: channels(prefs),
            recipient: recipient(prefs),
            message,
        },
        now,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::{render, templates};

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

    /// A template that fails to render is logged and replaced by a plain notice: a notice is
    /// never the reason a payout, a planner run or anyone else's notice fails.
    #[test]
    fn a_failing_template_falls_back_to_a_plain_notice() {
        let text = render("no_such_template", minijinja::context! {});
        assert_eq!(text, "Update about your payout (no_such_template).");
    }
}
