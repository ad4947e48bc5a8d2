//! Notifications to the log: what the embedded default does instead of SNS. One line per
//! channel, as SNS sends one message per channel.

use async_trait::async_trait;
use payout_app::ports::{Notification, Notifier, NotifyError};

#[derive(Debug, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        for channel in &notification.channels {
            tracing::info!(
                target: "notifications",
                notice_id = %notification.dedupe_key,
                barber_id = %notification.barber_id,
                payout_id = notification.payout_id.as_ref().map(|id| id.as_str()),
                kind = notification.kind.as_str(),
                channel = channel.as_str(),
                body = %notification.message,
                "notification sent"
            );
        }
        Ok(())
    }
}
