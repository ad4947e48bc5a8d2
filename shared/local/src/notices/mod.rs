//! Telling barbers for real from one machine: email over SMTP ([`smtp`]), SMS through an HTTP
//! provider with Twilio's Messages API ([`sms`]), and the log ([`log`]) for a channel that has
//! no sender configured. [`ByChannel`] sends each channel of a notice through its own sender.
//! The outbox above them makes delivery at-least-once: a notice stays pending until every one
//! of its channels was accepted, and is retried with backoff.

pub mod log;
pub mod sms;
pub mod smtp;

use std::sync::Arc;

use async_trait::async_trait;
use payout_app::config::file::NotifierSection;
use payout_app::ports::{Channel, Notification, Notifier, NotifyError};

use self::log::LogNotifier;
use self::sms::SmsNotifier;
use self::smtp::SmtpNotifier;

/// Each channel of a notice through its own sender; the log for one without.
pub struct ByChannel {
    email: Arc<dyn Notifier>,
    sms: Arc<dyn Notifier>,
}

impl ByChannel {
    /// The senders `settings` configures.
    pub fn from_settings(settings: &NotifierSection) -> Result<Self, NotifyError> {
        let log: Arc<dyn Notifier> = Arc::new(LogNotifier);
        Ok(Self {
            email: match &settings.email {
                Some(email) => Arc::new(SmtpNotifier::new(email)?),
                None => log.clone(),
            },
            sms: match &settings.sms {
                Some(sms) => Arc::new(SmsNotifier::new(sms)?),
                None => log,
            },
        })
    }
}

#[async_trait]
impl Notifier for ByChannel {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        for channel in &notification.channels {
            let one = Notification {
                channels: vec![*channel],
                ..notification.clone()
            };
            match channel {
                Channel::Email => self.email.publish(&one).await?,
                Channel::Sms => self.sms.publish(&one).await?,
            }
        }
        Ok(())
    }
}

/// The subject of an email, or the first words of an SMS, for each kind of notice.
pub fn subject(notification: &Notification) -> &'static str {
    use payout_app::ports::NotificationKind::*;
    match notification.kind {
        AdvanceNotice => "Your next payout is coming",
        Completed => "Your payout is on its way",
        Failed => "Your payout failed",
        RetryScheduled => "Your payout will be retried",
        BelowMinimum => "Your balance is below your payout minimum",
        AccountActionNeeded => "Action needed on your payout account",
        DestinationChanged => "Where your payouts go was changed",
    }
}
