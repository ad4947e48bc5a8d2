//! `payouts-tools soak`: drives a real `payouts serve` process for a number of minutes with
//! earning batches from concurrent clients and a manual payout every second, and prints the
//! server's resident size every 15 s, so a leak shows as a slope. Not a test: it prints figures.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use payout_http::auth::{AuthConfig, Role};
use serde_json::json;

const SECRET: &str = "payouts-soak-secret";
const SAMPLE_EVERY: Duration = Duration::from_secs(15);
const BARBERS: usize = 200;
const BATCH: usize = 10;

pub struct SoakArgs {
    pub binary: PathBuf,
    pub minutes: u64,
    pub concurrency: usize,
}

/// The server process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(binary: &PathBuf, db: &std::path::Path) -> anyhow::Result<Server> {
    let mut child = Command::new(binary)
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(db)
        .env("PAYOUTS_JWT_SECRET", SECRET)
        .env("PAYOUTS_PLANNER__INTERVAL", "5s")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let mut lines = BufReader::new(child.stderr.take().context("no stderr")?).lines();
    let addr = loop {
        let line = lines.next().context("serve exited before listening")??;
        if let Some(addr) = line.strip_prefix("payouts serving on http://") {
            let addr = addr.split(' ').next().unwrap_or(addr);
            break addr.to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Ok(Server {
        child,
        base: format!("http://{addr}/api/v1/payout-scheduler"),
    })
}

/// The process's resident set in MiB, from `/proc`.
fn resident_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kib / 1024.0)
}

pub async fn soak(args: SoakArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start(&args.binary, &dir.path().join("soak.db"))?;
    let token = AuthConfig::hs256(SECRET.as_bytes()).issue(
        "soak",
        Role::Operator,
        None,
        Utc::now(),
        chrono::TimeDelta::hours(24),
    )?;
    let client = reqwest::Client::new();
    for barber in 0..BARBERS {
        client
            .post(format!("{}/schedules", server.base))
            .bearer_auth(&token)
            .json(
                &json!({"barber_id": format!("s{barber}"), "frequency": "daily",
                "minimum_payout_amount": "1.00"}),
            )
            .send()
            .await?
            .error_for_status()?;
    }
    let until = Instant::now() + Duration::from_secs(args.minutes * 60);
    let (batches, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let writers: Vec<_> = (0..args.concurrency)
        .map(|writer| {
            let (client, token, base) = (client.clone(), token.clone(), server.base.clone());
            let (batches, errors) = (batches.clone(), errors.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < until {
                    let at = (Utc::now() - chrono::TimeDelta::minutes(1)).to_rfc3339();
                    let batch: Vec<_> = (0..BATCH)
                        .map(|i| {
                            n += 1;
                            json!({"earning_id": format!("w{writer}-{n}"),
                                "barber_id": format!("s{}", (n as usize + i) % BARBERS),
                                "amount": "12.50", "occurred_at": at, "service": "haircut"})
                        })
                        .collect();
                    let sent = client
                        .post(format!("{base}/earnings"))
                        .bearer_auth(&token)
                        .json(&batch)
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status().is_success() => {
                            batches.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    let payer = {
        let (client, token, base) = (client.clone(), token.clone(), server.base.clone());
        tokio::spawn(async move {
            let mut barber = 0;
            while Instant::now() < until {
                let _ = client
                    .post(format!("{base}/payouts/manual"))
                    .bearer_auth(&token)
                    .json(&json!({"barber_id": format!("s{barber}")}))
                    .send()
                    .await;
                barber = (barber + 1) % BARBERS;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    println!(
        "{} min, {} clients posting batches of {BATCH} earnings, a manual payout a second",
        args.minutes, args.concurrency
    );
    println!(
        "{:>7} {:>12} {:>10} {:>8}",
        "elapsed", "batches/s", "RSS MiB", "errors"
    );
    let started = Instant::now();
    let (mut samples, mut last_batches) = (Vec::new(), 0);
    while Instant::now() < until {
        tokio::time::sleep(SAMPLE_EVERY.min(until - Instant::now())).await;
        let done = batches.load(Ordering::Relaxed);
        let rss = resident_mib(server.child.id())?;
        println!(
            "{:>6}s {:>12.0} {:>10.1} {:>8}",
            started.elapsed().as_secs(),
            (done - last_batches) as f64 / SAMPLE_EVERY.as_secs_f64(),
            rss,
            errors.load(Ordering::Relaxed)
        );
        samples.push(rss);
        last_batches = done;
    }
    for task in writers {
        task.await?;
    }
    payer.await?;
    // After the first minute's warm-up (caches, pools), the resident size should stay flat.
    let warm = samples
        .get(4)
        .or(samples.last())
        .copied()
        .unwrap_or_default();
    let last = samples.last().copied().unwrap_or_default();
    println!(
        "after warm-up: {warm:.1} MiB -> {last:.1} MiB ({:+.1} %), {} earnings in all",
        (last - warm) / warm.max(f64::MIN_POSITIVE) * 100.0,
        batches.load(Ordering::Relaxed) * BATCH as u64
    );
    Ok(())
}
