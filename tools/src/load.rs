//! `payouts-tools load`: a bounded load run against `payouts serve` on 127.0.0.1: a fixed number of
//! `GET /payouts/{id}` and then of `POST /earnings`, from a fixed number of concurrent clients,
//! printing requests per second and latency percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use payout_app::AppConfig;
use payout_http::auth::{AuthConfig, Role};
use payout_local::FailurePlan;
use payout_local::runtime::{Provider, ServeConfig, serve};
use payout_local::serve_auth::ServeAuth;
use serde_json::{Value, json};

const SECRET: &str = "payouts-load-secret";

pub struct LoadArgs {
    pub requests: u64,
    pub concurrency: usize,
}

struct Figures {
    name: &'static str,
    requests: u64,
    errors: u64,
    seconds: f64,
    latencies_us: Vec<u64>,
}

impl Figures {
    fn percentile(&self, p: f64) -> f64 {
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us.get(index).copied().unwrap_or_default() as f64 / 1000.0
    }

    fn print(&self) {
        println!(
            "  {:<22} {:>8} requests {:>4} errors  {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            self.name,
            self.requests,
            self.errors,
            self.requests as f64 / self.seconds,
            self.percentile(0.50),
            self.percentile(0.99)
        );
    }
}

pub async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ServeConfig {
        db_path: dir.path().join("load.db"),
        app: AppConfig::default(),
        planner_interval: Duration::from_secs(60),
        worker_poll: Duration::from_millis(50),
        workers: 1,
        worker_batch: 10,
        queue: Default::default(),
        auth: ServeAuth::hs256(SECRET),
        stripe_webhook_secret: None,
        notifier: Default::default(),
        webhooks: Vec::new(),
        provider: Provider::Simulated {
            failures: FailurePlan::default(),
            latency: Duration::ZERO,
        },
    };
    let server = tokio::spawn(serve(
        config,
        listener,
        async {
            let _ = stopped.await;
        },
        |_| {},
    ));
    let base = format!("http://{addr}/api/v1/payout-scheduler");
    let token = AuthConfig::hs256(SECRET.as_bytes()).issue(
        "load",
        Role::Operator,
        None,
        chrono::Utc::now(),
        chrono::TimeDelta::hours(1),
    )?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let payout_id = seed(&client, &base, &token).await?;
    println!(
        "{} requests per route, {} concurrent clients, against {base}",
        args.requests, args.concurrency
    );
    let read_url = format!("{base}/payouts/{payout_id}");
    let read = run(&args, "GET /payouts/{id}", |_| {
        client.get(&read_url).bearer_auth(&token)
    })
    .await;
    read.print();
    let write_url = format!("{base}/earnings");
    let write = run(&args, "POST /earnings", |n| {
        client.post(&write_url).bearer_auth(&token).json(&json!({
            "earning_id": format!("load-{n}"), "barber_id": "load-barber", "amount": "25.00",
            "occurred_at": "2026-11-20T15:00:00Z", "service": "haircut"
        }))
    })
    .await;
    write.print();
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// A barber with a schedule, an earning and a manual payout to read back.
async fn seed(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<String> {
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    post(
        "/schedules",
        json!({"barber_id": "load-barber", "frequency": "weekly", "day_of_week": 5}),
    )
    .await?
    .error_for_status()?;
    post(
        "/earnings",
        json!({"earning_id": "seed", "barber_id": "load-barber", "amount": "120.00",
               "occurred_at": "2026-11-20T15:00:00Z", "service": "haircut"}),
    )
    .await?
    .error_for_status()?;
    let created: Value = post("/payouts/manual", json!({"barber_id": "load-barber"}))
        .await?
        .error_for_status()?
        .json()
        .await?;
    created["id"]
        .as_str()
        .map(str::to_string)
        .context("the manual payout has no id")
}

async fn run(
    args: &LoadArgs,
    name: &'static str,
    request: impl Fn(u64) -> reqwest::RequestBuilder + Sync,
) -> Figures {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let clients = (0..args.concurrency).map(|_| {
        let next = next.clone();
        let request = &request;
        async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= args.requests {
                    return (latencies, errors);
                }
                let sent = Instant::now();
                match request(n).send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                    }
                    Ok(_) | Err(_) => errors += 1,
                }
                latencies.push(sent.elapsed().as_micros() as u64);
            }
        }
    });
    // The clients share this task (one core); the server's runtime has the others.
    let results = futures::future::join_all(clients).await;
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies_us: Vec<u64> = Vec::new();
    let mut errors = 0;
    for (latencies, failed) in results {
        latencies_us.extend(latencies);
        errors += failed;
    }
    latencies_us.sort_unstable();
    Figures {
        name,
        requests: args.requests,
        errors,
        seconds,
        latencies_us,
    }
}
