//! `payouts`: the payout scheduler on the embedded default (SQLite, in-process queue, simulated
//! rail, log notifier). Parses arguments and prints; the work happens in `payout-local`.

mod summary;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
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
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The demo injects failures on purpose; its summary reports them, so the log stays quiet.
    let default_level = match cli.command {
        Command::Demo { .. } => "error",
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
        Command::Serve {
            addr,
            db,
            planner_interval,
            workers,
        } => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            eprintln!("payouts serving on http://{}", listener.local_addr()?);
            let config = ServeConfig {
                db_path: db,
                planner_interval: Duration::from_secs(planner_interval.max(1)),
                worker_poll: Duration::from_millis(250),
                workers: workers.max(1),
            };
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            serve(config, listener, shutdown).await?;
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
