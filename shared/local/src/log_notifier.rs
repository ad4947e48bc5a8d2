//! Notifications to the log: what the embedded default does instead of SNS.

use async_trait::async_trait;
use payout_app::ports::{Notification, Notifier, NotifyError};

#[derive(Debug, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        tracing::info!(
            target: "notifications",
            notice_id = %notification.dedupe_key,
            barber_id = %notification.barber_id,
            kind = notification.kind.as_str(),
            channels = ?notification.channels,
            message = %notification.message,
            "notification sent"
        );
        Ok(())
    }
}
