//! Where the platform hears of payouts: EventBridge on AWS, signed webhooks on one machine.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One payout event for the platform.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundEvent {
    /// Stable across redeliveries (`<payout id>:<audit sequence>`), for consumers to drop
    /// duplicates.
    pub id: String,
    /// `PayoutCompleted`, ...
    pub detail_type: &'static str,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
}

/// Delivers events at least once.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Delivers `events`; one result per event, in order, so a partial failure is retried for
    /// the failed ones only.
    async fn publish(&self, events: &[OutboundEvent]) -> Vec<Result<(), String>>;
}
