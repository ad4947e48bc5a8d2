//! `payouts`: the payout scheduler on the embedded default (SQLite, in-process queue, simulated
//! rail, log notifier). Parses arguments and prints; the work happens in `payout-local`. The
//! measuring and emulator tools are `payouts-tools`, so this binary links no AWS SDK.

mod chaos;
mod summary;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use payout_core::ids::BarberId;
use payout_http::auth::{AuthConfig, Role};
use payout_local::FailurePlan;
use payout_local::demo::{DemoConfig, run_demo};
use payout_local::runtime::{ServeConfig, serve};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "payouts", version, about = "Barber payout scheduler")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate weeks of a barbershop marketplace end to end and print what was paid.
    Demo {
        #[arg(long, default_value_t = 200)]
        barbers: usize,
        #[arg(long, default_value_t = 4)]
        weeks: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Print one JSON object (money as decimal strings) instead of the summary.
        #[arg(long)]
        json: bool,
        /// Keep the SQLite database here instead of a temporary file.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Seeded fault-injection runs of the whole pipeline; fails if any invariant breaks.
    Chaos {
        #[arg(long, default_value_t = 1000)]
        runs: u64,
        /// The first seed; run i uses seed + i, and one seed replays one run exactly.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Run the planner, executor workers and the HTTP API in one process.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[arg(long, default_value = "payouts.db")]
        db: PathBuf,
        /// Seconds between planner runs.
        #[arg(long, default_value_t = 60)]
        planner_interval: u64,
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// HS256 secret for API tokens.
        #[arg(long, env = "PAYOUTS_JWT_SECRET", default_value = DEV_SECRET, hide_default_value = true)]
        jwt_secret: String,
        /// Tokens must carry this issuer (`iss`) when set.
        #[arg(long, env = "PAYOUTS_JWT_ISSUER")]
        jwt_issuer: Option<String>,
        /// Tokens must carry this audience (`aud`) when set.
        #[arg(long, env = "PAYOUTS_JWT_AUDIENCE")]
        jwt_audience: Option<String>,
        /// Stripe webhook endpoint secret (whsec_...); webhooks are refused without one.
        #[arg(long, env = "STRIPE_WEBHOOK_SECRET")]
        stripe_webhook_secret: Option<String>,
        /// Milliseconds the simulated provider takes to answer a transfer.
        #[arg(long, default_value_t = 0)]
        rail_latency_ms: u64,
    },
    /// Compare the store's Stripe payouts with Stripe (STRIPE_SECRET_KEY) and report differences.
    Reconcile {
        #[arg(long, default_value = "payouts.db")]
        db: PathBuf,
        /// Look at payouts created in the last N days.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Record the transfers Stripe made that the store missed.
        #[arg(long)]
        repair: bool,
    },
    /// Print an API token for trying the API locally.
    Token {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Required for --role barber.
        #[arg(long)]
        barber_id: Option<String>,
        #[arg(long, default_value = "cli")]
        subject: String,
        #[arg(long, default_value_t = 12)]
        ttl_hours: i64,
        #[arg(long, env = "PAYOUTS_JWT_SECRET", default_value = DEV_SECRET, hide_default_value = true)]
        jwt_secret: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Operator,
    Barber,
}

impl From<RoleArg> for Role {
    fn from(arg: RoleArg) -> Self {
        match arg {
            RoleArg::Operator => Role::Operator,
            RoleArg::Barber => Role::Barber,
        }
    }
}

/// The secret `serve` and `token` share when none is configured: fine on a laptop, refused
/// nowhere, and announced in the log so nobody deploys it by accident.
const DEV_SECRET: &str = "payouts-local-development-secret";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The demo injects failures on purpose; its summary reports them, so the log stays quiet.
    let default_level = match cli.command {
        Command::Demo { .. }
        | Command::Chaos { .. }
        | Command::Token { .. }
        | Command::Reconcile { .. } => "error",
        Command::Serve { .. } => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Demo {
            barbers,
            weeks,
            seed,
            json,
            db,
        } => demo(barbers, weeks, seed, json, db).await,
        Command::Chaos {
            runs,
            seed,
            threads,
            json,
        } => tokio::task::spawn_blocking(move || chaos::chaos(runs, seed, threads, json)).await?,
        Command::Serve {
            addr,
            db,
            planner_interval,
            workers,
            jwt_secret,
            jwt_issuer,
            jwt_audience,
            stripe_webhook_secret,
            rail_latency_ms,
        } => {
            if jwt_secret == DEV_SECRET {
                tracing::warn!("PAYOUTS_JWT_SECRET is not set: using the local development secret");
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            eprintln!("payouts serving on http://{}", listener.local_addr()?);
            let config = ServeConfig {
                db_path: db,
                planner_interval: Duration::from_secs(planner_interval.max(1)),
                worker_poll: Duration::from_millis(250),
                workers: workers.max(1),
                jwt_secret,
                jwt_issuer,
                jwt_audience,
                stripe_webhook_secret,
                rail_failures: FailurePlan::default(),
                rail_latency: Duration::from_millis(rail_latency_ms),
            };
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            serve(config, listener, shutdown).await?;
            Ok(())
        }
        Command::Reconcile { db, days, repair } => {
            anyhow::ensure!(db.exists(), "{} does not exist", db.display());
            let rail = payout_stripe::StripeRail::new(&payout_stripe::StripeConfig::from_env()?)?;
            let mut services = payout_local::runtime::embedded_services(
                &db,
                std::sync::Arc::default(),
                std::sync::Arc::new(payout_app::ports::SystemClock),
            )?;
            services.rail = std::sync::Arc::new(rail);
            let report = payout_app::reconcile::reconcile(
                &services,
                chrono::Utc::now(),
                days,
                payout_app::reconcile::ReconcileScope::Everything,
                repair,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Token {
            role,
            barber_id,
            subject,
            ttl_hours,
            jwt_secret,
        } => {
            let role = Role::from(role);
            let barber = barber_id.map(BarberId::parse).transpose()?;
            anyhow::ensure!(
                (role == Role::Barber) == barber.is_some(),
                "--barber-id is required with --role barber, and only then"
            );
            anyhow::ensure!(
                (1..=24 * 30).contains(&ttl_hours),
                "--ttl-hours must be 1 to 720"
            );
            let token = AuthConfig::hs256(jwt_secret.as_bytes()).issue(
                &subject,
                role,
                barber.as_ref(),
                chrono::Utc::now(),
                chrono::TimeDelta::hours(ttl_hours),
            )?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn demo(
    barbers: usize,
    weeks: u32,
    seed: u64,
    json: bool,
    db: Option<PathBuf>,
) -> anyhow::Result<()> {
    anyhow::ensure!(barbers > 0, "--barbers must be at least 1");
    anyhow::ensure!(
        (1..=104).contains(&weeks),
        "--weeks must be between 1 and 104"
    );
    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    let db_path = db.unwrap_or_else(|| scratch.path().join("demo.db"));
    anyhow::ensure!(
        !db_path.exists(),
        "{} exists already; the demo starts from an empty database",
        db_path.display()
    );
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{spinner} simulating {bar:40} {percent:>3}% {msg}")
            .expect("valid template"),
    );
    let started = Instant::now();
    let report = run_demo(
        &DemoConfig {
            barbers,
            weeks,
            seed,
            db_path,
        },
        &|step, total| {
            bar.set_length(total);
            bar.set_position(step);
        },
    )
    .await?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary::render(&report, elapsed));
    }
    anyhow::ensure!(
        report.duplicate_payments == 0,
        "the rail paid a payout twice"
    );
    anyhow::ensure!(report.identities_hold, "the money identities do not hold");
    Ok(())
}
