//! Payout events from `payouts serve` as signed webhooks (Standard Webhooks): a receiver on
//! 127.0.0.1 gets each event once with a signature it verifies, and gets the first one again
//! after answering it 500.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use payout_tests::served::Served;
use reqwest::Client;
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One delivery as the receiver saw it, and what it answered.
#[derive(Clone, Debug)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
}

type Seen = Arc<Mutex<Vec<Delivery>>>;

/// Answers the very first delivery 500, every later one 200.
async fn receive(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let mut seen = seen.lock().unwrap();
    let answered = if seen.is_empty() { 500 } else { 200 };
    seen.push(Delivery {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// The Standard Webhooks check a receiver makes.
fn verifies(delivery: &Delivery) -> bool {
    let key = STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", delivery.id, delivery.timestamp, delivery.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    delivery
        .signature
        .split(' ')
        .any(|signature| signature == expected)
}

#[tokio::test]
async fn payout_events_reach_a_webhook_once_signed_and_again_after_a_500() {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("payouts.toml");
    std::fs::write(
        &config,
        format!("[[webhooks]]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n"),
    )
    .unwrap();
    let server = Served::start(
        env!("CARGO_BIN_EXE_payouts"),
        &dir.path().join("events.db"),
        &["--config", &config.display().to_string()],
        &[],
    );
    let client = Client::new();
    let schedule = json!({"barber_id": "42", "frequency": "weekly", "day_of_week": 5});
    assert_eq!(server.post(&client, "/schedules", schedule).await, 201);
    let earning = json!({"earning_id": "e1", "barber_id": "42", "amount": "80.00",
        "occurred_at": (Utc::now() - TimeDelta::hours(1)).to_rfc3339(), "service": "haircut"});
    assert_eq!(server.post(&client, "/earnings", earning).await, 201);
    let manual = json!({"barber_id": "42", "reason": "end of day"});
    assert_eq!(server.post(&client, "/payouts/manual", manual).await, 201);

    let accepted = |seen: &[Delivery]| -> Vec<Delivery> {
        seen.iter().filter(|d| d.answered == 200).cloned().collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let deliveries = loop {
        let deliveries = seen.lock().unwrap().clone();
        if accepted(&deliveries).len() >= 2 || Instant::now() > deadline {
            break deliveries;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let delivered = accepted(&deliveries);
    // At least once, in no promised order: a redelivery comes after later events.
    let mut types: Vec<String> = delivered
        .iter()
        .map(|d| serde_json::from_str::<Value>(&d.body).unwrap()["type"].to_string())
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["\"PayoutCompleted\"", "\"PayoutScheduled\""],
        "{deliveries:?}"
    );
    for delivery in &deliveries {
        assert!(
            verifies(delivery),
            "a signature that does not verify: {delivery:?}"
        );
        let body: Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(body["id"], delivery.id);
        assert_eq!(body["data"]["event_id"], delivery.id);
        assert_eq!(body["data"]["barber_id"], "42");
        assert!(body["occurred_at"].is_string());
    }
    // The one answered 500 came again, with the same id; nothing else came twice.
    assert_eq!(deliveries[0].answered, 500);
    assert!(delivered.iter().any(|d| d.id == deliveries[0].id));
    let mut ids: Vec<&str> = delivered.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), delivered.len(), "each event accepted once");
    // No more deliveries come once everything was accepted.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(seen.lock().unwrap().len(), deliveries.len());
}
