//! `payouts`: the payout scheduler on the embedded default (SQLite, in-process queue, simulated
//! rail, log notifier). Parses arguments and prints; the work happens in `payout-local`. The
//! measuring and emulator tools are `payouts-tools`, so this binary links no AWS SDK.

mod chaos;
mod import;
mod init;
mod summary;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use payout_app::config::ConfigError;
use payout_app::config::load::ConfigSource;
use payout_core::ids::BarberId;
use payout_http::auth::{AuthConfig, Role};
use payout_local::demo::{DemoConfig, run_demo};
use payout_local::runtime::{ServeConfig, serve};
use payout_local::sqlite::backup;
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
        /// How many barbers the simulated marketplace has.
        #[arg(long, default_value_t = 200)]
        barbers: usize,
        /// How many weeks it runs (1 to 104).
        #[arg(long, default_value_t = 4)]
        weeks: u32,
        /// The random seed; the same seed gives the same month.
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
        /// How many seeded runs to make.
        #[arg(long, default_value_t = 1000)]
        runs: u64,
        /// The first seed; run i uses seed + i, and one seed replays one run exactly.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Print one JSON object (runs, violations, figures) instead of the report.
        #[arg(long)]
        json: bool,
    },
    /// Run the planner, executor workers and the HTTP API in one process.
    Serve {
        /// The configuration file (TOML, see payouts.example.toml); `PAYOUTS_<SECTION>__<KEY>`
        /// environment variables override it, these flags override both.
        #[arg(long, env = "PAYOUTS_CONFIG", hide_env_values = true)]
        config: Option<PathBuf>,
        /// Where to listen (server.addr).
        #[arg(long)]
        addr: Option<String>,
        /// The SQLite database (server.db).
        #[arg(long)]
        db: Option<PathBuf>,
        /// HS256 secret for API tokens (server.jwt_secret). Required off loopback.
        #[arg(long, env = "PAYOUTS_JWT_SECRET", hide_env_values = true)]
        jwt_secret: Option<String>,
        /// Tokens must carry this issuer, `iss` (server.jwt_issuer).
        #[arg(long, env = "PAYOUTS_JWT_ISSUER", hide_env_values = true)]
        jwt_issuer: Option<String>,
        /// Tokens must carry this audience, `aud` (server.jwt_audience).
        #[arg(long, env = "PAYOUTS_JWT_AUDIENCE", hide_env_values = true)]
        jwt_audience: Option<String>,
        /// An OIDC issuer's keys, its jwks_uri (server.jwks_url): tokens are the issuer's,
        /// checked against them, with --jwt-issuer and --jwt-audience.
        #[arg(long, conflicts_with = "jwks_file")]
        jwks_url: Option<String>,
        /// The issuer's keys from a JWKS file (server.jwks_file).
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// Stripe webhook endpoint secret, whsec_... (server.stripe_webhook_secret).
        #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
        stripe_webhook_secret: Option<String>,
        /// How the log is written: plain text (coloured on a terminal), or one JSON object per
        /// line for a log collector.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Write a configuration to start from (payouts.toml: every key at its default, each
    /// explained) and a private secrets file (secrets.env) with a newly generated token secret.
    Init {
        /// The directory to write them to.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Replace the files if they exist (refused otherwise).
        #[arg(long)]
        force: bool,
    },
    /// Print the shell completion script for SHELL, e.g.
    /// `payouts completions bash > ~/.local/share/bash-completion/completions/payouts`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Copy a database, even one `serve` is using, to a new file (SQLite's online backup).
    Backup {
        /// The database to copy.
        #[arg(long, default_value = "payouts.db")]
        db: PathBuf,
        /// The new file to copy it to (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Replace a database no process is using with a backup, after checking the backup.
    Restore {
        /// The backup to restore (checked before anything is replaced).
        #[arg(long)]
        from: PathBuf,
        /// The database to replace (refused while a process uses it).
        #[arg(long, default_value = "payouts.db")]
        db: PathBuf,
    },
    /// Check a database: SQLite's integrity check and the money identities (USD).
    Check {
        /// The database to check; it may be in use (a snapshot of it is checked).
        #[arg(long, default_value = "payouts.db")]
        db: PathBuf,
    },
    /// Check a configuration file, or show the effective configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Send a file to a running API (`payouts serve`, or the deployed one).
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Compare the store's Stripe payouts with Stripe (STRIPE_SECRET_KEY) and report differences.
    Reconcile {
        /// The database whose payouts are compared.
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
        /// operator (every route and action) or barber (its own records only).
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The barber the token belongs to; required for --role barber.
        #[arg(long)]
        barber_id: Option<String>,
        /// Who the token says is calling (its `sub`), as the audit trail records it.
        #[arg(long, default_value = "cli")]
        subject: String,
        /// How long the token is valid, in hours (1 to 720).
        #[arg(long, default_value_t = 12)]
        ttl_hours: i64,
        /// The HS256 secret `serve` checks tokens with (the local development secret when
        /// unset).
        #[arg(long, env = "PAYOUTS_JWT_SECRET", default_value = DEV_SECRET, hide_default_value = true, hide_env_values = true)]
        jwt_secret: String,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Earnings from a CSV file: a header naming the fields (earning_id, barber_id, amount,
    /// occurred_at, service; currency and kind optional), then an earning a row. Sent 500 rows
    /// a request, each request all or nothing unless --row-by-row; exits non-zero naming each
    /// refused row by its line.
    Earnings {
        /// The CSV file.
        file: PathBuf,
        /// The API's base URL, e.g. http://127.0.0.1:8080/api/v1/payout-scheduler.
        #[arg(long, env = "PAYOUTS_API")]
        api: String,
        /// An operator's bearer token (default: one signed with PAYOUTS_JWT_SECRET, as
        /// `payouts token --role operator` prints).
        #[arg(long, env = "PAYOUTS_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Record every row that can be and report the others, instead of stopping at the
        /// first request with a refused row (the requests before it are recorded).
        #[arg(long)]
        row_by_row: bool,
        /// The HS256 secret a default token is signed with.
        #[arg(long, env = "PAYOUTS_JWT_SECRET", default_value = DEV_SECRET, hide_default_value = true, hide_env_values = true)]
        jwt_secret: String,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Check the configuration as `serve` would (the file, then the environment's overrides);
    /// exits non-zero naming the file, line and key at fault.
    Check {
        /// The configuration file (or --config, or PAYOUTS_CONFIG); the defaults when none.
        file: Option<PathBuf>,
        /// The configuration file, as `serve` takes it.
        #[arg(long, env = "PAYOUTS_CONFIG", hide_env_values = true)]
        config: Option<PathBuf>,
    },
    /// Print the effective configuration (defaults, file, environment), secrets masked.
    Show {
        /// The configuration file, as `serve` takes it (the defaults when none).
        #[arg(long, env = "PAYOUTS_CONFIG", hide_env_values = true)]
        config: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Plain text, coloured only on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Every route and action.
    Operator,
    /// Its own schedule, payouts and notices only.
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

/// A log writer that keeps each event on one line: a line break inside an event (a notice's
/// body, an error spanning lines) is written as `\n`, so a line of the log is an event.
/// tracing-subscriber writes each event whole, ending in its one real line break.
struct OneLinePerEvent<W>(W);

impl<W: std::io::Write> std::io::Write for OneLinePerEvent<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (body, end) = match buf.split_last() {
            Some((b'\n', body)) => (body, &b"\n"[..]),
            _ => (buf, &b""[..]),
        };
        let mut line = Vec::with_capacity(buf.len() + 8);
        for &byte in body {
            match byte {
                b'\n' => line.extend_from_slice(b"\\n"),
                byte => line.push(byte),
            }
        }
        line.extend_from_slice(end);
        self.0.write_all(&line)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The secret `serve` and `token` share when none is configured: fine on a laptop, announced in
/// the log, and refused when `serve` listens anywhere but loopback.
const DEV_SECRET: &str = "payouts-local-development-secret";

/// A mistake of the user's is a sentence on stderr and exit code 1, never a backtrace
/// (anyhow prints one for `main`'s error when RUST_BACKTRACE is set).
#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The demo injects failures on purpose; its summary reports them, so the log stays quiet.
    let default_level = match cli.command {
        // The simulation's faults make errors by design; its report says what went wrong.
        Command::Chaos { .. } => "off",
        Command::Demo { .. }
        | Command::Token { .. }
        | Command::Config { .. }
        | Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Check { .. }
        | Command::Reconcile { .. }
        | Command::Import { .. } => "error",
        Command::Serve { .. } => "info",
        Command::Init { .. } | Command::Completions { .. } => "error",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colour only for a person at a terminal: a file or a pipe gets plain text.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(|| OneLinePerEvent(std::io::stderr()));
    match cli.command {
        Command::Serve {
            log_format: LogFormat::Json,
            ..
        } => logs.json().init(),
        _ => logs.init(),
    }
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
            config,
            addr,
            db,
            jwt_secret,
            jwt_issuer,
            jwt_audience,
            jwks_url,
            jwks_file,
            stripe_webhook_secret,
            log_format,
        } => {
            let source = ConfigSource::file(config.as_deref())?;
            let mut settings = source.settings()?;
            let server = &mut settings.server;
            server.addr = addr.unwrap_or(server.addr.clone());
            server.db = db.map_or(server.db.clone(), |db| db.display().to_string());
            server.jwt_secret = jwt_secret.or(server.jwt_secret.take());
            server.jwt_issuer = jwt_issuer.or(server.jwt_issuer.take());
            server.jwt_audience = jwt_audience.or(server.jwt_audience.take());
            server.jwks_url = jwks_url.or(server.jwks_url.take());
            server.jwks_file = jwks_file
                .map(|file| file.display().to_string())
                .or(server.jwks_file.take());
            server.stripe_webhook_secret =
                stripe_webhook_secret.or(server.stripe_webhook_secret.take());
            let (addr, config) = checked_for_serving(&source, settings)?;
            serve_for_real(addr, config, log_format == LogFormat::Text).await
        }
        Command::Init { dir, force } => {
            print!("{}", init::init(&dir, force)?);
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "payouts",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Backup { db, to } => {
            let pages = backup::backup(&db, &to)?;
            println!(
                "{} -> {}: {pages} pages, integrity ok",
                db.display(),
                to.display()
            );
            Ok(())
        }
        Command::Restore { from, db } => {
            let pages = backup::restore(&from, &db)?;
            println!(
                "{} -> {}: {pages} pages restored",
                from.display(),
                db.display()
            );
            Ok(())
        }
        Command::Check { db } => {
            let checked = backup::check(&db, payout_core::money::Currency::Usd).await?;
            anyhow::ensure!(
                checked.conserves_money,
                "{}: the money identities do not hold",
                db.display()
            );
            anyhow::ensure!(
                checked.totals_differences.is_empty(),
                "{}: the kept totals differ from a recount of the payouts: {}",
                db.display(),
                checked.totals_differences.join("; ")
            );
            println!(
                "{}: {} pages, integrity ok, money identities hold, kept totals agree with a recount",
                db.display(),
                checked.pages
            );
            Ok(())
        }
        Command::Config { action } => match action {
            ConfigAction::Check { file, config } => {
                let file = file.or(config);
                let source = ConfigSource::file(file.as_deref())?;
                checked_for_serving(&source, source.settings()?)?;
                let checked = file.as_deref().map(Path::display);
                match checked {
                    Some(file) => println!("{file}: valid"),
                    None => println!("the defaults and the environment: valid"),
                }
                Ok(())
            }
            ConfigAction::Show { config } => {
                let (mut settings, _) = payout_app::config::load(config.as_deref())?;
                // The secrets `serve` takes from the command line's variables are in effect too.
                let server = &mut settings.server;
                for (variable, key) in [
                    ("PAYOUTS_JWT_SECRET", &mut server.jwt_secret),
                    ("PAYOUTS_JWT_ISSUER", &mut server.jwt_issuer),
                    ("PAYOUTS_JWT_AUDIENCE", &mut server.jwt_audience),
                    ("STRIPE_WEBHOOK_SECRET", &mut server.stripe_webhook_secret),
                ] {
                    if let Ok(value) = std::env::var(variable) {
                        *key = Some(value);
                    }
                }
                println!(
                    "# In effect: the defaults, then {}, then the environment.",
                    config
                        .as_deref()
                        .map_or("no file".into(), |file| file.display().to_string())
                );
                print!("{}", toml::to_string(&settings.masked())?);
                Ok(())
            }
        },
        Command::Reconcile { db, days, repair } => {
            anyhow::ensure!(db.exists(), "{} does not exist", db.display());
            let rail = payout_stripe::StripeRail::new(&payout_stripe::StripeConfig::from_env()?)?;
            let services = payout_local::runtime::embedded_services(
                &db,
                &payout_app::config::file::QueueSection::default(),
                std::sync::Arc::new(rail),
                std::sync::Arc::new(payout_local::LogNotifier),
                std::sync::Arc::new(payout_app::ports::SystemClock),
                payout_app::AppConfig::default(),
            )?;
            let report = payout_app::reconcile::reconcile(
                &services,
                chrono::Utc::now(),
                days,
                payout_app::reconcile::ReconcileScope::Everything,
                repair,
                &|| true,
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
            if jwt_secret == DEV_SECRET {
                eprintln!(
                    "warning: PAYOUTS_JWT_SECRET is not set: this token is signed with the local \
                     development secret, which only a `payouts serve` without a secret of its own \
                     accepts"
                );
            }
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
        Command::Import {
            what:
                ImportWhat::Earnings {
                    file,
                    api,
                    token,
                    row_by_row,
                    jwt_secret,
                },
        } => {
            let token = match token {
                Some(token) => token,
                None => AuthConfig::hs256(jwt_secret.as_bytes()).issue(
                    "cli-import",
                    Role::Operator,
                    None,
                    chrono::Utc::now(),
                    chrono::TimeDelta::hours(1),
                )?,
            };
            let started = std::time::Instant::now();
            let imported = import::earnings(&file, &api, &token, row_by_row).await?;
            println!(
                "{}: {} created, {} already recorded, {} refused, in {:.1} s",
                file.display(),
                imported.created,
                imported.duplicates,
                imported.errors.len(),
                started.elapsed().as_secs_f64()
            );
            for (line, error) in &imported.errors {
                println!("line {line}: {error}");
            }
            if let Some(line) = imported.unsent_from {
                println!(
                    "stopped: nothing from line {line} on was recorded (every row before it was); \
                     fix the rows above and run again, or pass --row-by-row"
                );
            }
            anyhow::ensure!(
                imported.errors.is_empty() && imported.unsent_from.is_none(),
                "refused rows: {}",
                imported.errors.len()
            );
            Ok(())
        }
    }
}

/// Everything `serve` checks before it starts, `config check` checks too: the rules, where to
/// listen, who signs tokens, the rail's credentials, the webhook endpoints. An error says
/// where its key was set.
fn checked_for_serving(
    source: &ConfigSource,
    mut settings: payout_app::config::Settings,
) -> anyhow::Result<(SocketAddr, ServeConfig)> {
    let addr: SocketAddr = settings.server.addr.parse().map_err(|_| {
        source.locate(ConfigError::invalid(
            "server.addr",
            format!(
                "found \"{}\"; allowed: an IP address and port, e.g. \"127.0.0.1:8080\" or \"0.0.0.0:8080\"",
                settings.server.addr
            ),
        ))
    })?;
    let db = Path::new(&settings.server.db);
    let db_directory = db.parent().filter(|dir| !dir.as_os_str().is_empty());
    if settings.server.db.trim().is_empty() || db_directory.is_some_and(|dir| !dir.is_dir()) {
        return Err(source
            .locate(ConfigError::invalid(
                "server.db",
                format!(
                    "found \"{}\"; allowed: a file in a directory that exists, e.g. \"payouts.db\"",
                    settings.server.db
                ),
            ))
            .into());
    }
    let issuer_keys = settings.server.jwks_url.is_some() || settings.server.jwks_file.is_some();
    match settings.server.jwt_secret.as_deref() {
        None if issuer_keys => {}
        None | Some(DEV_SECRET) if !addr.ip().is_loopback() => anyhow::bail!(
            "server.jwt_secret (or PAYOUTS_JWT_SECRET) must be set to a secret of your own, or \
             server.jwks_url to an issuer's keys, to serve on {addr}: the development secret is \
             public"
        ),
        None => {
            tracing::warn!("PAYOUTS_JWT_SECRET is not set: using the local development secret");
            settings.server.jwt_secret = Some(DEV_SECRET.to_string());
        }
        Some(_) => {}
    }
    let app = payout_app::config::load::app_config(&settings).map_err(|e| source.locate(e))?;
    Ok((addr, ServeConfig::from_settings(&settings, app)?))
}

/// `payouts serve` with its checked configuration, served until SIGINT or SIGTERM; the
/// start-up line goes to stderr when the log is text (JSON logs carry it as an event).
async fn serve_for_real(
    addr: SocketAddr,
    config: ServeConfig,
    announce: bool,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    // Announced once the database is this process's alone: a second `serve` on the same file
    // fails before it says it serves.
    serve(config, listener, stop_signal(), |startup| match announce {
        true => eprintln!("{startup}"),
        false => tracing::info!(
            addr = %startup.addr,
            dashboard = %format!("http://{}/dashboard", startup.addr),
            db = %startup.db_path.display(),
            rail = startup.rail,
            email = %startup.email,
            sms = %startup.sms,
            webhook_endpoints = startup.webhook_endpoints,
            recovered = startup.recovered,
            "serving"
        ),
    })
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves at the first SIGTERM or SIGINT: `serve` stops taking requests and jobs, lets the
/// jobs in hand finish, and returns. A second signal exits at once.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    tracing::info!("stopping: finishing the jobs in hand (a second signal exits at once)");
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_flag_says_what_it_does() {
        let mut cli = Cli::command();
        cli.build();
        cli.clone().debug_assert();
        let mut commands: Vec<&clap::Command> = vec![&cli];
        let mut undescribed = Vec::new();
        while let Some(command) = commands.pop() {
            for sub in command.get_subcommands() {
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    undescribed.push(sub.get_name().to_string());
                }
                commands.push(sub);
            }
            for arg in command.get_arguments() {
                let built_in = ["help", "version"].contains(&arg.get_id().as_str());
                if !built_in && arg.get_help().is_none() {
                    undescribed.push(format!("{} {}", command.get_name(), arg.get_id()));
                }
            }
        }
        assert!(
            undescribed.is_empty(),
            "without a description: {undescribed:?}"
        );
    }
}
