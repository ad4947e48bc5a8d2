//! `payouts serve` on the embedded default: the planner on a timer, executor workers polling the
//! in-process queue, and the HTTP API, in one process until shutdown.
//!
//! On start it re-enqueues every payout still owed work, since the in-process queue of a
//! previous run died with it; the store is the source of truth.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use payout_app::plan::plan_due_payouts;
use payout_app::ports::{Clock, SystemClock};
use payout_app::rails::RailsByMethod;
use payout_app::recovery::{recover_older_than, recover_stalled};
use payout_app::worker::drain_once;
use payout_app::{AppConfig, AppError, Services};
use payout_http::auth::AuthConfig;
use payout_http::{ApiState, router};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::log_notifier::LogNotifier;
use crate::memory_queue::MemoryQueue;
use crate::metrics_window::MetricsWindow;
use crate::simulated_rail::{FailurePlan, SimulatedRail};
use crate::sqlite::{Durability, SqliteStore};

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub db_path: PathBuf,
    pub planner_interval: Duration,
    pub worker_poll: Duration,
    pub workers: usize,
    /// The HS256 secret API tokens are signed with.
    pub jwt_secret: String,
    /// When set, tokens must carry this `iss`.
    pub jwt_issuer: Option<String>,
    /// When set, tokens must carry this `aud`.
    pub jwt_audience: Option<String>,
    /// The Stripe webhook endpoint secret; webhooks are refused without one.
    pub stripe_webhook_secret: Option<String>,
    /// How the simulated rail fails (never, by default).
    pub rail_failures: FailurePlan,
    /// How long the simulated rail takes to answer a transfer.
    pub rail_latency: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}

/// Assembles the embedded services on the SQLite file at `db_path`, with `provider` standing in
/// for Stripe and figures kept by `clock`'s time.
pub fn embedded_services(
    db_path: &std::path::Path,
    provider: Arc<SimulatedRail>,
    clock: Arc<dyn Clock>,
) -> Result<Services, AppError> {
    let store = SqliteStore::open(db_path, Durability::Full)?;
    let released = store.release_locks_of_dead_processes()?;
    if released > 0 {
        tracing::warn!(released, "released barber locks left by a previous process");
    }
    Ok(Services {
        store: Arc::new(store),
        queue: Arc::new(MemoryQueue::default()),
        // Bank transfers and manual payments go in transit until an operator confirms them, as
        // in production.
        rail: Arc::new(RailsByMethod::new(provider)),
        notifier: Arc::new(LogNotifier),
        metrics: Arc::new(MetricsWindow::new(clock.clone())),
        stopwatch: clock,
        config: AppConfig::default(),
    })
}

/// Serves on `listener` until `shutdown` resolves; background loops stop with it.
pub async fn serve(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    // The simulated provider keeps its ledger beside the database, so a restarted process
    // reconciles against what it paid before, as it would against Stripe.
    let mut journal = config.db_path.clone().into_os_string();
    journal.push(".simulated-rail.jsonl");
    let provider = Arc::new(
        SimulatedRail::journaled(0, config.rail_failures, Path::new(&journal))?
            .with_latency(config.rail_latency),
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let services = embedded_services(&config.db_path, provider.clone(), clock.clone())?;
    let recovered = recover_older_than(&services, clock.now(), clock.now()).await?;
    tracing::info!(recovered, "recovered payouts left by a previous run");

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(planner_loop(
        services.clone(),
        clock.clone(),
        config.planner_interval,
        stop_rx.clone(),
    )));
    for index in 0..config.workers {
        tasks.push(tokio::spawn(worker_loop(
            services.clone(),
            clock.clone(),
            format!("local-{}-{index}", std::process::id()),
            config.worker_poll,
            stop_rx.clone(),
        )));
    }

    let mut auth = AuthConfig::hs256(config.jwt_secret.as_bytes());
    if let Some(issuer) = &config.jwt_issuer {
        auth = auth.with_issuer(issuer);
    }
    if let Some(audience) = &config.jwt_audience {
        auth = auth.with_audience(audience);
    }
    let app = router(ApiState {
        services,
        clock,
        auth,
        onboarding: Some(provider),
        stripe_webhook_secret: config
            .stripe_webhook_secret
            .as_deref()
            .map(|secret| Arc::from(secret.as_bytes())),
    });
    tracing::info!(addr = %listener.local_addr()?, "serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    stop_tx.send_replace(true);
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

async fn planner_loop(
    services: Services,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let always = || true;
    loop {
        let now = clock.now();
        if let Err(error) = plan_due_payouts(&services, now, &always).await {
            tracing::error!(%error, "planner run failed");
        }
        if let Err(error) = recover_stalled(&services, now).await {
            tracing::error!(%error, "recovery sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn worker_loop(
    services: Services,
    clock: Arc<dyn Clock>,
    owner: String,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let received = match drain_once(&services, &owner, clock.now(), 10).await {
            Ok(received) => received,
            Err(error) => {
                tracing::error!(%error, "worker poll failed");
                0
            }
        };
        if *stop.borrow() {
            return;
        }
        if received == 0 {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
