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
    /// Where the barber's money goes (method or account) was changed.
    DestinationChanged,
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
            NotificationKind::DestinationChanged => "destination_changed",
        }
    }

    pub const ALL: [NotificationKind; 7] = [
        NotificationKind::AdvanceNotice,
        NotificationKind::Completed,
        NotificationKind::Failed,
        NotificationKind::RetryScheduled,
        NotificationKind::BelowMinimum,
        NotificationKind::AccountActionNeeded,
        NotificationKind::DestinationChanged,
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

/// Where the barber is reached, as their schedule said when the notice was made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    /// Unique per event, and the notice's stable id in every message: the store records it
    /// before publishing, so each is sent once and a redelivery can be recognised.
    pub dedupe_key: String,
    pub barber_id: BarberId,
    pub payout_id: Option<PayoutId>,
    pub kind: NotificationKind,
    pub channels: Vec<Channel>,
    /// Empty in notices recorded before addresses were kept (SNS subscribers resolve them).
    #[serde(default)]
    pub recipient: Recipient,
    pub message: String,
}

impl Notification {
    /// Whether any of its channels has an address to send to.
    pub fn has_address(&self) -> bool {
        self.channels.iter().any(|channel| match channel {
            Channel::Email => self.recipient.email.is_some(),
            Channel::Sms => self.recipient.phone.is_some(),
        })
    }
}

/// Where a notice is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Recorded, not yet accepted by the notifier.
    Pending,
    Delivered,
    /// Every attempt failed; counted and alerted on.
    GaveUp,
    /// Not sent: the barber gave no address for any channel they turned on.
    SkippedNoAddress,
}

impl NoticeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Pending => "pending",
            NoticeState::Delivered => "delivered",
            NoticeState::GaveUp => "gave_up",
            NoticeState::SkippedNoAddress => "skipped_no_address",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            NoticeState::Pending,
            NoticeState::Delivered,
            NoticeState::GaveUp,
            NoticeState::SkippedNoAddress,
        ]
        .into_iter()
        .find(|state| state.as_str() == raw)
    }
}

/// A notification as the outbox keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentNotification {
    pub notification: Notification,
    /// When it was recorded (and first sent).
    pub sent_at: DateTime<Utc>,
    pub state: NoticeState,
}

/// A notice waiting for (another) delivery attempt.
#[derive(Debug, Clone)]
pub struct PendingNotification {
    pub notification: Notification,
    /// Attempts made so far.
    pub attempts: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("notifier: {0}")]
pub struct NotifyError(pub String);

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError>;
}
