//! What every `Notifier` must do (the log notifier of the embedded default and SNS): a notice
//! reaches each of its channels once, carrying its stable id, barber, payout, kind and message
//! intact. Each adapter comes with an [`Inbox`] that reads back what it delivered.

use async_trait::async_trait;
use payout_app::ports::{Channel, Notification, NotificationKind, Notifier};
use payout_core::ids::{BarberId, PayoutId};

/// One delivered message, as a subscriber of one channel sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Received {
    pub notice_id: String,
    pub barber_id: String,
    pub payout_id: Option<String>,
    pub kind: String,
    pub channel: String,
    pub message: String,
}

/// A notifier and the inbox that reads back what it delivered.
pub struct Wired<'a> {
    pub notifier: &'a dyn Notifier,
    pub inbox: &'a dyn Inbox,
}

/// What a notifier delivered so far.
#[async_trait]
pub trait Inbox: Send + Sync {
    async fn received(&self) -> Vec<Received>;
}

fn notice(id: &str, payout: Option<&str>, channels: Vec<Channel>, message: &str) -> Notification {
    Notification {
        dedupe_key: id.to_string(),
        barber_id: BarberId::parse("barber-1").unwrap(),
        payout_id: payout.map(|p| PayoutId::parse(p).unwrap()),
        kind: NotificationKind::Completed,
        channels,
        recipient: Default::default(),
        message: message.to_string(),
    }
}

fn expected(notification: &Notification, channel: Channel) -> Received {
    Received {
        notice_id: notification.dedupe_key.clone(),
        barber_id: notification.barber_id.to_string(),
        payout_id: notification.payout_id.as_ref().map(|id| id.to_string()),
        kind: notification.kind.as_str().to_string(),
        channel: channel.as_str().to_string(),
        message: notification.message.clone(),
    }
}

async fn sorted(inbox: &dyn Inbox) -> Vec<Received> {
    let mut received = inbox.received().await;
    received.sort();
    received
}

/// A notice for email and SMS is one message on each, with every field intact.
pub async fn a_notice_reaches_each_of_its_channels_once(wired: &Wired<'_>) {
    let notification = notice(
        "completed:po_1",
        Some("po_1"),
        vec![Channel::Email, Channel::Sms],
        "Your payout of $1,234.56 is on its way.",
    );
    wired.notifier.publish(&notification).await.unwrap();
    assert_eq!(
        sorted(wired.inbox).await,
        vec![
            expected(&notification, Channel::Email),
            expected(&notification, Channel::Sms)
        ]
    );
}

/// A message with quotes, new lines and non-ASCII text, and a notice of no payout (an advance
/// notice), arrive exactly as sent.
pub async fn a_message_arrives_exactly_as_sent(wired: &Wired<'_>) {
    let notification = notice(
        "advance:barber-1:2026-11-27",
        None,
        vec![Channel::Email],
        "José, \"next\" run:\n€12.50 → {\"amount\": 1}",
    );
    wired.notifier.publish(&notification).await.unwrap();
    assert_eq!(
        sorted(wired.inbox).await,
        vec![expected(&notification, Channel::Email)]
    );
}
