//! `payouts serve` on the embedded default: the planner on a timer, executor workers polling the
//! in-process queue, and the HTTP API, in one process until shutdown.
//!
//! On start it re-enqueues every payout still owed work, since the in-process queue of a
//! previous run died with it; the store is the source of truth. It pays through the simulated
//! provider (the default) or Stripe Connect, as the configuration's `rail.kind` says.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use payout_app::config::Settings;
use payout_app::config::file::{NotifierSection, QueueSection, RailKind, WebhookEndpoint};
use payout_app::payout_events::publish_payout_events;
use payout_app::planner_tick::planner_tick;
use payout_app::ports::{AccountOnboarding, Clock, Notifier, PaymentRail, SystemClock};
use payout_app::rails::RailsByMethod;
use payout_app::rails::paced::PacedRail;
use payout_app::reconcile::sweep;
use payout_app::recovery::recover_owed_work;
use payout_app::worker::drain_once;
use payout_app::{AppConfig, AppError, Services};
use payout_http::{ApiState, router};
use payout_stripe::{StripeConfig, StripeRail};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::memory_queue::MemoryQueue;
use crate::metrics_window::MetricsWindow;
use crate::notices::ByChannel;
use crate::serve_auth::ServeAuth;
use crate::simulated_rail::{FailurePlan, SimulatedRail};
use crate::sqlite::{Durability, SqliteStore};
use crate::webhooks_out::WebhookPublisher;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub db_path: PathBuf,
    /// What the use cases run with.
    pub app: AppConfig,
    pub planner_interval: Duration,
    pub worker_poll: Duration,
    pub workers: usize,
    /// Jobs a worker takes at once.
    pub worker_batch: usize,
    /// The in-process job queue's visibility timeout and dead-letter threshold.
    pub queue: QueueSection,
    /// Who may call the API.
    pub auth: ServeAuth,
    /// The Stripe webhook endpoint secret; webhooks are refused without one.
    pub stripe_webhook_secret: Option<String>,
    pub provider: Provider,
    /// Email and SMS senders; a channel without one goes to the log.
    pub notifier: NotifierSection,
    /// Where payout events go as signed webhooks; none, and they stay in the outbox.
    pub webhooks: Vec<WebhookEndpoint>,
}

/// Who moves the money.
#[derive(Debug, Clone)]
pub enum Provider {
    /// The in-process stand-in, journaled beside the database; failing as `failures` says
    /// (never, by default) and answering after `latency`.
    Simulated {
        failures: FailurePlan,
        latency: Duration,
    },
    /// Stripe Connect.
    Stripe(StripeConfig),
}

/// How often an idle worker looks at the queue again.
const WORKER_POLL: Duration = Duration::from_millis(250);

impl ServeConfig {
    /// `payouts serve`'s configuration from the checked settings (the command line's flags and
    /// secrets already applied to them); Stripe's key comes from `STRIPE_SECRET_KEY`.
    pub fn from_settings(settings: &Settings, app: AppConfig) -> Result<Self, ServeError> {
        let provider = match settings.rail.kind {
            RailKind::Simulated => Provider::Simulated {
                failures: FailurePlan::default(),
                latency: settings.rail.simulated_latency,
            },
            RailKind::Stripe => Provider::Stripe(StripeConfig {
                timeout: app.rail_timeout,
                ..StripeConfig::from_env().map_err(|e| {
                    ServeError::Config(format!("rail.kind = \"stripe\": {}", e.message))
                })?
            }),
        };
        // Refused now, naming the entry, rather than when the first event is due.
        WebhookPublisher::new(&settings.webhooks).map_err(ServeError::Config)?;
        Ok(Self {
            db_path: PathBuf::from(&settings.server.db),
            app,
            planner_interval: settings.planner.interval,
            worker_poll: WORKER_POLL,
            workers: settings.executor.workers,
            worker_batch: settings.executor.batch_size,
            queue: settings.queue.clone(),
            auth: ServeAuth::from_settings(settings)?,
            stripe_webhook_secret: settings.server.stripe_webhook_secret.clone(),
            provider,
            notifier: settings.notifier.clone(),
            webhooks: settings.webhooks.clone(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
    #[error("configuration: {0}")]
    Config(String),
}

/// Assembles the embedded services on the SQLite file at `db_path`, paying through `provider`
/// (bank transfers and manual payments aside), telling barbers through `notifier`, queueing
/// jobs in memory as `queue` says and keeping figures by `clock`'s time.
pub fn embedded_services(
    db_path: &std::path::Path,
    queue: &QueueSection,
    provider: Arc<dyn PaymentRail>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    mut config: AppConfig,
) -> Result<Services, AppError> {
    PacedRail::limits_for(provider.as_ref(), &mut config.rail_pace);
    let store = SqliteStore::open(db_path, Durability::Full)?;
    let released = store.release_locks_of_dead_processes()?;
    if released > 0 {
        tracing::warn!(released, "released barber locks left by a previous process");
    }
    Ok(Services {
        store: Arc::new(store),
        queue: Arc::new(MemoryQueue::from_settings(queue)),
        // Bank transfers and manual payments go in transit until an operator confirms them, as
        // in production.
        rail: Arc::new(RailsByMethod::new(Arc::new(PacedRail::new(
            provider,
            config.rail_pace,
            clock.clone(),
        )))),
        notifier,
        metrics: Arc::new(MetricsWindow::new(clock.clone())),
        stopwatch: clock,
        config,
    })
}

/// Serves on `listener` until `shutdown` resolves; background loops stop with it.
/// What a started `serve` runs with, for its start-up line: given to `serve`'s `announce` once
/// the database is this process's alone and the owed work is re-enqueued, before the first
/// request is answered.
#[derive(Debug, Clone)]
pub struct Startup {
    pub addr: std::net::SocketAddr,
    pub db_path: PathBuf,
    /// `simulated` or `stripe`.
    pub rail: &'static str,
    /// Where email and SMS notices go: a sender, or the log.
    pub email: String,
    pub sms: String,
    pub webhook_endpoints: usize,
    /// Payouts owed work that a previous run left, re-enqueued.
    pub recovered: usize,
}

impl std::fmt::Display for Startup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "payouts serving on http://{addr} (dashboard http://{addr}/dashboard; database {db}; \
             rail {rail}; email {email}; sms {sms}; {hooks} webhook endpoint{s}; {recovered} \
             payouts re-enqueued)",
            addr = self.addr,
            db = self.db_path.display(),
            rail = self.rail,
            email = self.email,
            sms = self.sms,
            hooks = self.webhook_endpoints,
            s = if self.webhook_endpoints == 1 { "" } else { "s" },
            recovered = self.recovered,
        )
    }
}

pub async fn serve(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    announce: impl FnOnce(&Startup),
) -> Result<(), ServeError> {
    let provider = provider(&config)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let notifier = ByChannel::from_settings(&config.notifier)
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let services = embedded_services(
        &config.db_path,
        &config.queue,
        provider.clone(),
        Arc::new(notifier),
        clock.clone(),
        config.app.clone(),
    )?;
    let recovered = recover_owed_work(&services, clock.now()).await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for which in [Periodic::Planner, Periodic::Reconciliation] {
        tasks.push(tokio::spawn(periodic_loop(
            services.clone(),
            clock.clone(),
            which,
            config.planner_interval,
            stop_rx.clone(),
        )));
    }
    if !config.webhooks.is_empty() {
        let publisher = WebhookPublisher::new(&config.webhooks).map_err(ServeError::Config)?;
        tasks.push(tokio::spawn(events_loop(
            services.clone(),
            clock.clone(),
            publisher,
            stop_rx.clone(),
        )));
    }
    for index in 0..config.workers {
        tasks.push(tokio::spawn(worker_loop(
            services.clone(),
            clock.clone(),
            format!("local-{}-{index}", std::process::id()),
            (config.worker_poll, config.worker_batch),
            stop_rx.clone(),
        )));
    }

    let auth = config.auth.auth_config()?;
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
    let startup = Startup {
        addr: listener.local_addr()?,
        db_path: config.db_path.clone(),
        rail: match config.provider {
            Provider::Simulated { .. } => "simulated",
            Provider::Stripe(_) => "stripe",
        },
        email: config.notifier.email.as_ref().map_or_else(
            || "to the log (no [notifier.email])".to_string(),
            |email| format!("via {}:{}", email.host, email.port),
        ),
        sms: config.notifier.sms.as_ref().map_or_else(
            || "to the log (no [notifier.sms])".to_string(),
            |sms| format!("via {}", sms.api_base),
        ),
        webhook_endpoints: config.webhooks.len(),
        recovered,
    };
    announce(&startup);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    stop_tx.send_replace(true);
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

/// The rail and the onboarding links of `config`'s provider. The simulated provider keeps its
/// ledger beside the database, so a restarted process reconciles against what it paid before,
/// as it would against Stripe.
fn provider(config: &ServeConfig) -> Result<Arc<dyn ConnectProvider>, ServeError> {
    match &config.provider {
        Provider::Simulated { failures, latency } => {
            let mut journal = config.db_path.clone().into_os_string();
            journal.push(".simulated-rail.jsonl");
            let rail = Arc::new(
                SimulatedRail::journaled(0, *failures, Path::new(&journal))?.with_latency(*latency),
            );
            Ok(rail)
        }
        Provider::Stripe(stripe) => {
            let rail =
                Arc::new(StripeRail::new(stripe).map_err(|e| ServeError::Config(e.message))?);
            Ok(rail)
        }
    }
}

/// A provider that both moves money and onboards the accounts it pays.
trait ConnectProvider: PaymentRail + AccountOnboarding {}

impl<T: PaymentRail + AccountOnboarding> ConnectProvider for T {}

/// What runs at the planner's interval, each in a task of its own: the reconciliation sweep
/// waits on the provider (each call within the rail's timeout) and never holds up planning.
#[derive(Debug, Clone, Copy)]
enum Periodic {
    Planner,
    Reconciliation,
}

async fn periodic_loop(
    services: Services,
    clock: Arc<dyn Clock>,
    which: Periodic,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let always = || true;
    loop {
        let now = clock.now();
        let result = match which {
            Periodic::Planner => planner_tick(&services, now, &always, None).await.map(drop),
            Periodic::Reconciliation => sweep(&services, now, &always).await.map(drop),
        };
        if let Err(error) = result {
            tracing::error!(%error, ?which, "periodic run failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How soon the events loop looks at the outbox again; doubled after each failed delivery up
/// to [`EVENTS_BACKOFF_MAX`], back to this once one succeeds.
const EVENTS_POLL: Duration = Duration::from_secs(1);
const EVENTS_BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);

/// Sends the outbox's payout events to the webhook endpoints, backing off while they fail.
async fn events_loop(
    services: Services,
    clock: Arc<dyn Clock>,
    publisher: WebhookPublisher,
    mut stop: watch::Receiver<bool>,
) {
    let mut wait = EVENTS_POLL;
    loop {
        wait = match publish_payout_events(&services, &publisher, clock.now()).await {
            Ok(report) if report.failed == 0 => EVENTS_POLL,
            Ok(report) => {
                tracing::warn!(published = report.published, failed = report.failed, expired = report.expired, retry_in = ?(wait * 2), "payout events not delivered");
                (wait * 2).min(EVENTS_BACKOFF_MAX)
            }
            Err(error) => {
                tracing::error!(%error, "payout events not published");
                (wait * 2).min(EVENTS_BACKOFF_MAX)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Takes `batch` jobs at a time, so a stop lets the batch in hand finish (nothing is left
/// `processing`) and takes no other: what stays queued is re-enqueued from the store at the
/// next start.
async fn worker_loop(
    services: Services,
    clock: Arc<dyn Clock>,
    owner: String,
    (poll, batch): (Duration, usize),
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let received = match drain_once(&services, &owner, clock.now(), batch).await {
            Ok(received) => received,
            Err(error) => {
                tracing::error!(%error, "worker poll failed");
                0
            }
        };
        if received == 0 {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
