//! `payouts-tools`: measuring and emulator tools beside the product (`payouts`): the
//! benchmark, a bounded load run, Lambda cold starts, AWS cost on an emulator, and an emulated
//! stack for trying the Lambdas locally. Parses arguments and prints.

mod aws_cost;
mod bench;
mod coldstart;
mod fanout;
mod load;
mod monthly_bill;
mod soak;

use std::num::NonZeroU32;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use payout_core::pace::{Endpoint, RailLimits, STRIPE_LIVE_TOTAL};
use payout_local::friday::{FridayConfig, QueueKind, simulate};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "payouts-tools",
    version,
    about = "Benchmarks and emulator tools for the payout scheduler"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        #[arg(long, value_enum, default_value_t = DurabilityArg::Full)]
        durability: DurabilityArg,
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
    /// Drives a `payouts serve` process for N minutes and prints its resident size every 15 s.
    Soak {
        /// The `payouts` binary to run (build it with --release first).
        #[arg(long, default_value = "target/release/payouts")]
        binary: PathBuf,
        #[arg(long, default_value_t = 10)]
        minutes: u64,
        #[arg(long, default_value_t = 8)]
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
    /// The planner's fan-out on an emulator (AWS_ENDPOINT_URL): barbers due at once, planned
    /// shard by shard with a region's round trip added to each request; projects a million.
    Fanout {
        #[arg(long, default_value_t = 3_200)]
        schedules: usize,
    },
    /// Friday 17:00: a million barbers due at 17:00 local across four US zones against
    /// Stripe's limit on creating transfers, on a simulated clock: at Stripe's default (25 a
    /// second) and at a raised limit.
    Friday {
        #[arg(long, default_value_t = 1_000_000)]
        barbers: u64,
        /// Executors paying at once (the template's ExecutorMaximumConcurrency).
        #[arg(long, default_value_t = 50)]
        executors: u32,
        /// Transfers a second Stripe accepts by default (`POST /v1/transfers`); the deployment
        /// paces to it ([rail.limits] transfers), shared by the executors.
        #[arg(long, default_value_t = 25)]
        transfers_limit: u32,
        /// The same for an account whose limit Stripe has raised.
        #[arg(long, default_value_t = 100)]
        raised_limit: u32,
        /// Retryable failures per thousand transfers.
        #[arg(long, default_value_t = 20)]
        failures_per_mille: u64,
        /// Executors started for the urgent lane alone (the template's
        /// UrgentExecutorMaximumConcurrency), with `--queue lanes`.
        #[arg(long, default_value_t = 2)]
        urgent_executors: u32,
        /// `lanes` as deployed (SQS with the urgent lane), `sent-order` as one SQS queue
        /// delivers, `priority` as `serve`'s queue.
        #[arg(long, value_enum, default_value_t = QueueArg::Lanes)]
        queue: QueueArg,
        #[arg(long, default_value_t = 17)]
        seed: u64,
    },
    /// Create the deployment's table, queues and topic on an AWS emulator (AWS_ENDPOINT_URL).
    AwsLocal {
        #[command(subcommand)]
        action: AwsLocalAction,
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

/// How the Friday simulation's job queue hands out ready jobs.
#[derive(Clone, Copy, ValueEnum)]
enum QueueArg {
    Lanes,
    SentOrder,
    Priority,
}

/// How hard the benchmark's commits try to reach the disk.
#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    /// fsync at every commit.
    Full,
    /// Survives a process crash, not a power loss.
    Process,
}

impl From<DurabilityArg> for payout_local::sqlite::Durability {
    fn from(arg: DurabilityArg) -> Self {
        match arg {
            DurabilityArg::Full => Self::Full,
            DurabilityArg::Process => Self::ProcessCrashSafe,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Bench {
            barbers,
            earnings,
            db,
            durability,
            sweep,
            json,
        } => {
            bench::bench(bench::BenchArgs {
                barbers,
                earnings,
                db,
                durability: durability.into(),
                sweep,
                json,
            })
            .await
        }
        Command::AwsCost { payouts } => aws_cost::aws_cost(payouts.max(1)).await,
        Command::Fanout { schedules } => fanout::fanout(schedules.max(1)).await,
        Command::Coldstart { binaries } => coldstart::coldstart(binaries).await,
        Command::Soak {
            binary,
            minutes,
            concurrency,
        } => {
            soak::soak(soak::SoakArgs {
                binary,
                minutes: minutes.max(1),
                concurrency: concurrency.max(1),
            })
            .await
        }
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
        Command::Friday {
            barbers,
            executors,
            urgent_executors,
            transfers_limit,
            raised_limit,
            failures_per_mille,
            queue,
            seed,
        } => {
            let base = FridayConfig::million();
            let queue = match queue {
                QueueArg::Lanes => QueueKind::Lanes,
                QueueArg::SentOrder => QueueKind::SentOrder,
                QueueArg::Priority => QueueKind::Priority,
            };
            let mut config = FridayConfig {
                barbers,
                executors: NonZeroU32::new(executors)
                    .context("--executors: at least 1")?
                    .get(),
                urgent_executors,
                retryable_failures_per_mille: failures_per_mille.min(1000),
                queue,
                seed,
                ..base
            };
            // Every executor running at once shares the rate (the template's RAIL_PACE_SHARES).
            config.pace.shares =
                NonZeroU32::new(config.executors_at_once()).context("--executors: at least 1")?;
            let mut figures = serde_json::Map::new();
            for (name, limit) in [
                ("default_limit", transfers_limit),
                ("raised_limit", raised_limit),
            ] {
                let limit = NonZeroU32::new(limit).context("a limit of at least 1")?;
                config.provider_limit = limit.get();
                config.pace.overrides.set(Endpoint::Transfers, Some(limit));
                // A limit raised past the account's total is raised with it.
                config.pace.overrides.total = Some(limit.max(STRIPE_LIVE_TOTAL));
                config.pace.limits = config.pace.overrides.over(RailLimits::stripe(false));
                figures.insert(name.into(), serde_json::to_value(simulate(&config).await)?);
            }
            println!("{}", serde_json::to_string_pretty(&figures)?);
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
            if let Some(url) = &resources.urgent_queue_url {
                println!("export URGENT_JOB_QUEUE_URL={url}");
            }
            println!("export DEAD_LETTER_QUEUE_URL={}", resources.dead_letter_url);
            println!("export TOPIC_ARN={}", resources.topic_arn);
            Ok(())
        }
    }
}
