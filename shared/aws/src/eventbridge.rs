//! Payout events onto an EventBridge bus with `PutEvents`: at most 10 entries a call, each
//! entry's own result read back, so a partial failure is retried for the failed entries only.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use payout_app::ports::{EventPublisher, OutboundEvent};

/// `PutEvents` takes at most this many entries.
const ENTRIES_PER_CALL: usize = 10;

/// The `source` of the events this system publishes.
pub const SOURCE: &str = "payout.scheduler";

pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    async fn put(&self, events: &[OutboundEvent]) -> Vec<Result<(), String>> {
        let entries = events.iter().map(|event| {
            PutEventsRequestEntry::builder()
                .event_bus_name(&self.bus)
                .source(SOURCE)
                .detail_type(event.detail_type)
                .detail(event.data.to_string())
                .time(DateTime::from_millis(event.occurred_at.timestamp_millis()))
                .build()
        });
        let output = match self
            .client
            .put_events()
            .set_entries(Some(entries.collect()))
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let error = DisplayErrorContext(error).to_string();
                return events.iter().map(|_| Err(error.clone())).collect();
            }
        };
        let results = output.entries();
        (0..events.len())
            .map(|index| match results.get(index) {
                Some(entry) if entry.error_code().is_none() => Ok(()),
                Some(entry) => Err(format!(
                    "{}: {}",
                    entry.error_code().unwrap_or_default(),
                    entry.error_message().unwrap_or_default()
                )),
                None => Err("no result for the entry".to_string()),
            })
            .collect()
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[OutboundEvent]) -> Vec<Result<(), String>> {
        let mut results = Vec::with_capacity(events.len());
        for chunk in events.chunks(ENTRIES_PER_CALL) {
            results.extend(self.put(chunk).await);
        }
        results
    }
}
