//! Notifications through SNS, with message attributes (barber_id, kind, channel) so that
//! subscriptions filter what they deliver: an SMS gateway takes `channel = sms`, email the rest.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use payout_app::ports::{Notification, Notifier, NotifyError};

#[derive(Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

fn text(value: &str) -> Result<MessageAttributeValue, NotifyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| NotifyError(e.to_string()))
}

#[async_trait]
impl Notifier for SnsNotifier {
    /// One message per channel, so each subscription receives exactly what it delivers.
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        for channel in &notification.channels {
            let body = serde_json::json!({
                "notice_id": notification.dedupe_key,
                "barber_id": notification.barber_id.as_str(),
                "payout_id": notification.payout_id.as_ref().map(|id| id.as_str()),
                "kind": notification.kind.as_str(),
                "channel": channel.as_str(),
                "message": notification.message,
            });
            self.client
                .publish()
                .topic_arn(&self.topic_arn)
                .message(body.to_string())
                .message_attributes("barber_id", text(notification.barber_id.as_str())?)
                .message_attributes("kind", text(notification.kind.as_str())?)
                .message_attributes("notice_id", text(&notification.dedupe_key)?)
                .message_attributes("channel", text(channel.as_str())?)
                .send()
                .await
                .map_err(|e| NotifyError(DisplayErrorContext(e).to_string()))?;
        }
        Ok(())
    }
}
