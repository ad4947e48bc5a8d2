//! `payouts`: the payout scheduler on the embedded default (SQLite, in-process queue, simulated
//! rail, log notifier). Parses arguments and prints; the work happens in `payout-local`.

mod aws_cost;
mod bench;
mod chaos;
mod coldstart;
mod load;
mod summary;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
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
    /// The whole pipeline on a durable SQLite file, per phase, against the storage floor.
    Bench {
        #[arg(long, default_value_t = 100_000)]
        barbers: usize,
        #[arg(long, default_value_t = 1_000_000)]
        earnings: usize,
        /// A fresh SQLite file to use (a temporary one by default).
        #[arg(long)]
        db: Option<PathBuf>,
        /// `full` fsyncs every commit; `process` survives a process crash but not power loss.
        #[arg(long, default_value = "full")]
        durability: String,
        /// Run 10k, 100k and 1M earnings and print the time per earning of each.
        #[arg(long)]
        sweep: bool,
        #[arg(long)]
        json: bool,
    },
    /// A bounded load run against `payouts serve` on 127.0.0.1: reads and writes per second,
    /// p50 and p99.
    Load {
        /// Requests per route.
        #[arg(long, default_value_t = 20_000)]
        requests: u64,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Cold start of Lambda bootstraps against a minimal Runtime API on 127.0.0.1.
    Coldstart {
        /// The bootstrap binaries (e.g. target/release/payout-api).
        #[arg(required = true)]
        binaries: Vec<PathBuf>,
    },
    /// AWS requests, capacity units and cost per payout, measured on an emulator
    /// (AWS_ENDPOINT_URL) through a counting proxy.
    AwsCost {
        #[arg(long, default_value_t = 200)]
        payouts: usize,
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
    /// Create the deployment's table, queues and topic on an AWS emulator (AWS_ENDPOINT_URL).
    AwsLocal {
        #[command(subcommand)]
        action: AwsLocalAction,
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
        /// operator or barber.
        #[arg(long)]
        role: String,
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

#[derive(Subcommand)]
enum AwsLocalAction {
    /// Create the resources and print the environment the functions need.
    Up {
        /// Prefix of every resource name.
        #[arg(long, default_value = "local")]
        prefix: String,
    },
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
        | Command::Bench { .. }
        | Command::Chaos { .. }
        | Command::Load { .. }
        | Command::Coldstart { .. }
        | Command::AwsCost { .. }
        | Command::Token { .. }
        | Command::AwsLocal { .. }
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
        Command::Bench {
            barbers,
            earnings,
            db,
            durability,
            sweep,
            json,
        } => {
            let durability = match durability.as_str() {
                "full" => payout_local::sqlite::Durability::Full,
                "process" => payout_local::sqlite::Durability::ProcessCrashSafe,
                other => anyhow::bail!("--durability must be full or process, not `{other}`"),
            };
            bench::bench(bench::BenchArgs {
                barbers,
                earnings,
                db,
                durability,
                sweep,
                json,
            })
            .await
        }
        Command::AwsCost { payouts } => aws_cost::aws_cost(payouts.max(1)).await,
        Command::Coldstart { binaries } => coldstart::coldstart(binaries).await,
        Command::Load {
            requests,
            concurrency,
        } => {
            load::load(load::LoadArgs {
                requests: requests.max(1),
                concurrency: concurrency.max(1),
            })
            .await
        }
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
        Command::AwsLocal {
            action: AwsLocalAction::Up { prefix },
        } => {
            let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
                anyhow::anyhow!(
                    "set AWS_ENDPOINT_URL to the emulator (this command never touches real AWS)"
                )
            })?;
            let sdk = payout_aws::config::sdk_config().await;
            let names = payout_aws::stack::StackNames::with_prefix(&prefix);
            let resources = payout_aws::stack::create_stack(&sdk, &names, None)
                .await
                .with_context(|| format!("cannot create the stack on {endpoint}"))?;
            println!("export AWS_ENDPOINT_URL={endpoint}");
            println!("export TABLE_NAME={}", resources.table);
            println!("export JOB_QUEUE_URL={}", resources.queue_url);
            println!("export DEAD_LETTER_QUEUE_URL={}", resources.dead_letter_url);
            println!("export TOPIC_ARN={}", resources.topic_arn);
            Ok(())
        }
        Command::Reconcile { db, days, repair } => {
            anyhow::ensure!(db.exists(), "{} does not exist", db.display());
            let rail = payout_stripe::StripeRail::new(&payout_stripe::StripeConfig::from_env()?)?;
            let mut pipeline = payout_local::runtime::embedded_pipeline(
                &db,
                std::sync::Arc::default(),
                std::sync::Arc::new(payout_app::ports::SystemClock),
            )?;
            pipeline.rail = std::sync::Arc::new(rail);
            let report = payout_app::reconcile::reconcile(
                &pipeline,
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
            let role = match role.as_str() {
                "operator" => Role::Operator,
                "barber" => Role::Barber,
                other => anyhow::bail!("--role must be operator or barber, not `{other}`"),
            };
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
