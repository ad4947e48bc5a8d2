//! Payout events as signed webhooks from `payouts serve`, in the Standard Webhooks convention:
//! a POST of `{"type", "id", "occurred_at", "data"}` (the same `data` as the EventBridge
//! detail) with `webhook-id` (the event's stable id), `webhook-timestamp` (seconds) and
//! `webhook-signature` = `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with the
//! bytes of the secret after `whsec_`, base64-decoded. An event counts as delivered once every
//! endpoint answered 2xx; until then it stays in the outbox and goes to every endpoint again
//! (an endpoint drops a repeat by its `webhook-id`).

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use payout_app::config::file::WebhookEndpoint;
use payout_app::ports::{EventPublisher, OutboundEvent};
use serde_json::json;
use sha2::Sha256;

/// The longest one delivery may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10);

struct Endpoint {
    url: String,
    key: Vec<u8>,
}

pub struct WebhookPublisher {
    client: reqwest::Client,
    endpoints: Vec<Endpoint>,
}

/// The `webhook-signature` of `body` sent as event `id` at `timestamp`, with `key`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

impl WebhookPublisher {
    /// The publisher for the configured endpoints; a bad URL or secret is refused, naming it.
    pub fn new(endpoints: &[WebhookEndpoint]) -> Result<Self, String> {
        let endpoints = endpoints
            .iter()
            .enumerate()
            .map(|(index, endpoint)| {
                if !(endpoint.url.starts_with("https://") || endpoint.url.starts_with("http://")) {
                    return Err(format!("webhooks[{index}].url: an http(s) URL"));
                }
                let key = endpoint
                    .secret
                    .strip_prefix("whsec_")
                    .and_then(|encoded| STANDARD.decode(encoded).ok())
                    .filter(|key| !key.is_empty())
                    .ok_or_else(|| {
                        format!("webhooks[{index}].secret: `whsec_` and the base64 of the key")
                    })?;
                Ok(Endpoint {
                    url: endpoint.url.clone(),
                    key,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, endpoints })
    }

    async fn deliver(
        &self,
        endpoint: &Endpoint,
        event: &OutboundEvent,
        body: &str,
    ) -> Result<(), String> {
        let timestamp = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(&endpoint.key, &event.id, timestamp, body),
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("{}: {e}", endpoint.url))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("{}: answered {}", endpoint.url, response.status()))
        }
    }
}

#[async_trait]
impl EventPublisher for WebhookPublisher {
    async fn publish(&self, events: &[OutboundEvent]) -> Vec<Result<(), String>> {
        let mut results = Vec::with_capacity(events.len());
        for event in events {
            let body = json!({"type": event.detail_type, "id": event.id,
                "occurred_at": event.occurred_at, "data": event.data})
            .to_string();
            let mut failures = Vec::new();
            for endpoint in &self.endpoints {
                if let Err(error) = self.deliver(endpoint, event, &body).await {
                    failures.push(error);
                }
            }
            results.push(if failures.is_empty() {
                Ok(())
            } else {
                Err(failures.join("; "))
            });
        }
        results
    }
}
