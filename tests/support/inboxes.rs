//! What each notifier delivered, read back for the notifier contract suite: the log notifier's
//! lines captured from `tracing`, and SNS's messages from an SQS queue subscribed to the topic
//! (which stands in for the email and SMS subscriptions).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use parking_lot::Mutex;
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::notifier_contract::{Inbox, Received};

/// The `notifications` log lines of this thread, from [`LogInbox::capture`] on.
#[derive(Clone, Default)]
pub struct LogInbox(Arc<Mutex<Vec<Received>>>);

impl LogInbox {
    /// Captures on the calling thread (a `#[tokio::test]` runs on one) until the guard drops.
    pub fn capture() -> (Self, DefaultGuard) {
        let inbox = Self::default();
        let guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(inbox.clone()));
        (inbox, guard)
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for LogInbox {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "notifications" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut take = |name: &str| fields.0.remove(name);
        self.0.lock().push(Received {
            notice_id: take("notice_id").unwrap_or_default(),
            barber_id: take("barber_id").unwrap_or_default(),
            payout_id: take("payout_id"),
            kind: take("kind").unwrap_or_default(),
            channel: take("channel").unwrap_or_default(),
            message: take("body").unwrap_or_default(),
        });
    }
}

#[async_trait]
impl Inbox for LogInbox {
    async fn received(&self) -> Vec<Received> {
        self.0.lock().clone()
    }
}

/// An SQS queue subscribed to an SNS topic.
pub struct SnsInbox {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SnsInbox {
    pub async fn subscribe(sdk: &SdkConfig, topic_arn: &str) -> Self {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name("inbox")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue_arn = crate::moto::queue_arn(&sqs, &queue_url).await;
        aws_sdk_sns::Client::new(sdk)
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(&queue_arn)
            .send()
            .await
            .unwrap();
        Self { sqs, queue_url }
    }

    /// Every SNS envelope waiting, removed from the queue.
    pub async fn envelopes(&self) -> Vec<Value> {
        let mut envelopes = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            if output.messages().is_empty() {
                return envelopes;
            }
            for message in output.messages() {
                envelopes.push(serde_json::from_str(message.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

#[async_trait]
impl Inbox for SnsInbox {
    /// The message bodies; each one's filterable attributes must agree with its body.
    async fn received(&self) -> Vec<Received> {
        self.envelopes()
            .await
            .iter()
            .map(|envelope| {
                let body: Value = serde_json::from_str(envelope["Message"].as_str().unwrap())
                    .expect("an SNS message body is JSON");
                for attribute in ["notice_id", "barber_id", "kind", "channel"] {
                    assert_eq!(
                        envelope["MessageAttributes"][attribute]["Value"], body[attribute],
                        "the {attribute} attribute agrees with the body"
                    );
                }
                Received {
                    notice_id: text(&body["notice_id"]),
                    barber_id: text(&body["barber_id"]),
                    payout_id: body["payout_id"].as_str().map(str::to_string),
                    kind: text(&body["kind"]),
                    channel: text(&body["channel"]),
                    message: text(&body["message"]),
                }
            })
            .collect()
    }
}
