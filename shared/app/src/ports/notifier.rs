//! Telling barbers what happened to their money.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payout_core::ids::{BarberId, PayoutId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A scheduled run is coming, with the amount expected so far.
    AdvanceNotice,
    Completed,
    Failed,
    RetryScheduled,
    BelowMinimum,
    /// The barber must fix their payout account (verification, payment method).
    AccountActionNeeded,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::AdvanceNotice => "advance_notice",
            NotificationKind::Completed => "completed",
            NotificationKind::Failed => "failed",
            NotificationKind::RetryScheduled => "retry_scheduled",
            NotificationKind::BelowMinimum => "below_minimum",
            NotificationKind::AccountActionNeeded => "account_action_needed",
        }
    }

    pub const ALL: [NotificationKind; 6] = [
        NotificationKind::AdvanceNotice,
        NotificationKind::Completed,
        NotificationKind::Failed,
        NotificationKind::RetryScheduled,
        NotificationKind::BelowMinimum,
        NotificationKind::AccountActionNeeded,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    /// Unique per event: the store records it before publishing, so each is sent at most once.
    pub dedupe_key: String,
    pub barber_id: BarberId,
    pub payout_id: Option<PayoutId>,
    pub kind: NotificationKind,
    pub channels: Vec<Channel>,
    pub message: String,
}

/// A notification as the outbox keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentNotification {
    pub notification: Notification,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
#[error("notifier: {0}")]
pub struct NotifyError(pub String);

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError>;
}
