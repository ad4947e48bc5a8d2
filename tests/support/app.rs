//! `spawn_app`: the whole embedded service on a free port with a fresh database, and a client
//! that speaks to it as a user would.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use payout_app::AppConfig;
use payout_core::ids::BarberId;
use payout_http::auth::{AuthConfig, Role};
use payout_local::FailurePlan;
use payout_local::runtime::{Provider, ServeConfig, serve};
use payout_local::serve_auth::ServeAuth;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::net::TcpListener;

pub const SECRET: &str = "test-secret";
pub const WEBHOOK_SECRET: &str = "whsec_test";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

pub fn token(role: Role, barber: Option<&str>, ttl: TimeDelta, secret: &str) -> String {
    let barber = barber.map(|b| BarberId::parse(b).unwrap());
    AuthConfig::hs256(secret.as_bytes())
        .issue("test", role, barber.as_ref(), Utc::now(), ttl)
        .unwrap()
}

/// When a test's service happened: an hour before the test process started, so the intake's
/// window (a year back, a day ahead) takes it on any date the test runs; the same instant at
/// every call, so an earning sent again is the same earning.
pub fn an_hour_ago() -> String {
    static AT: LazyLock<String> = LazyLock::new(|| (Utc::now() - TimeDelta::hours(1)).to_rfc3339());
    AT.clone()
}

pub fn operator() -> String {
    token(Role::Operator, None, TimeDelta::hours(1), SECRET)
}

pub fn barber(id: &str) -> String {
    token(Role::Barber, Some(id), TimeDelta::hours(1), SECRET)
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_rail(FailurePlan::default()).await
    }

    /// The service with a simulated rail that fails as `rail_failures` says.
    pub async fn spawn_with_rail(rail_failures: FailurePlan) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = ServeConfig {
            db_path: dir.path().join("api.db"),
            app: AppConfig::default(),
            planner_interval: Duration::from_millis(200),
            worker_poll: Duration::from_millis(10),
            workers: 2,
            worker_batch: 10,
            queue: Default::default(),
            auth: ServeAuth::hs256(SECRET),
            stripe_webhook_secret: Some(WEBHOOK_SECRET.into()),
            notifier: Default::default(),
            webhooks: Vec::new(),
            provider: Provider::Simulated {
                failures: rail_failures,
                latency: Duration::ZERO,
            },
        };
        let server = tokio::spawn(async move {
            serve(
                config,
                listener,
                async {
                    let _ = stopped.await;
                },
                |_| {},
            )
            .await
            .unwrap();
        });
        let app = Self {
            base: format!("http://{addr}/api/v1/payout-scheduler"),
            client: Client::new(),
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        };
        // Healthy once the planner has run for the first time.
        for _ in 0..100 {
            if app.get("/health", None).await.status() == 200 {
                return app;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the service never became healthy");
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::PUT, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// GETs `path` and reads its body as JSON, whatever the status.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        self.get(path, token).await.json().await.unwrap()
    }

    /// Waits until the payout reaches a settled status and returns it.
    pub async fn settled_payout(&self, id: &str) -> Value {
        for _ in 0..200 {
            let payout: Value = self
                .get_json(&format!("/payouts/{id}"), Some(&operator()))
                .await;
            match payout["status"].as_str().unwrap() {
                "completed" | "failed" | "cancelled" | "in_transit" => return payout,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        panic!("payout {id} never settled");
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .expect("the service stops on shutdown")
                .unwrap();
        }
    }
}

/// Asserts a problem+json response with `status` and returns its detail.
pub async fn problem(response: Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body["detail"].as_str().unwrap().to_string()
}
