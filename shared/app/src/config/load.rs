//! Reading the configuration: the brief's defaults, then the TOML file (`--config FILE` or
//! `PAYOUTS_CONFIG`), then `PAYOUTS_<SECTION>__<KEY>` environment variables; then every rule
//! checked, each error naming the key it is about.

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use chrono::TimeDelta;
use figment::Figment;
use figment::error::Kind;
use figment::providers::{Env, Format, Serialized, Toml};
use payout_core::breakdown::PayoutPolicy;
use payout_core::commission::{CommissionPolicy, CommissionTier, VolumeBonus};
use payout_core::hold::HoldDays;
use payout_core::method::{FeeSchedule, MethodFee};
use payout_core::pace::{Endpoint, LimitOverrides, PaceSettings, RailLimits};
use payout_core::priority::{Deferral, PeakWindow, PriorityPolicy};
use payout_core::rate::Rate;
use payout_core::retry::RetryPolicy;
use rust_decimal::Decimal;

use super::file::{DeferLow, FeeEntry, RailLimitsSection, Settings};
use super::locate::{FileText, Origin, locate, written_value};
use super::{
    AppConfig, ApprovalPolicy, HealthThresholds, InstantLimits, IntakeLimits, ScheduleDefaults,
};
use crate::error::type_in_words;

/// The longest a new barber's first payout may be made to wait.
const MAX_FIRST_PAYOUT_AFTER_DAYS: u32 = 365;

/// The environment variables that override the file: `PAYOUTS_RAIL__TIMEOUT=3s` sets
/// `rail.timeout`. Variables without a double underscore (`PAYOUTS_CONFIG`,
/// `PAYOUTS_JWT_SECRET`) are the command line's, not the file's.
pub const ENV_PREFIX: &str = "PAYOUTS_";

/// The rail timeout plus this must fit inside the lock lease: the bookkeeping around the
/// rail call (the attempt recorded before, the outcome after) happens under the same lock.
pub const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// The most jobs a `payouts serve` worker takes at once (one transaction holds them all).
pub const MAX_EXECUTOR_BATCH: usize = 500;
/// The most periods a planner reads at once.
pub const MAX_PLANNER_CONCURRENCY: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(String),
    #[error("cannot read configuration file {0}: {1}")]
    Unreadable(String, std::io::Error),
    /// A key whose value has the wrong shape or breaks a rule, and where it was set.
    #[error("{}{}{problem}", .origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default(), shown_key(.key))]
    Invalid {
        origin: Option<Origin>,
        /// Dotted; a number is an index into an array.
        key: String,
        problem: String,
    },
}

impl ConfigError {
    /// `key`'s value breaks `rule` (where it was set is found by [`ConfigSource::locate`]).
    pub fn invalid(key: impl Into<String>, rule: impl Into<String>) -> Self {
        ConfigError::Invalid {
            origin: None,
            key: key.into(),
            problem: rule.into(),
        }
    }
}

fn invalid(key: impl Into<String>, rule: impl Into<String>) -> ConfigError {
    ConfigError::invalid(key, rule)
}

/// `commission.tiers.1.rate` as a person writes it, `commission.tiers[1].rate: `; nothing for
/// an error about the whole file (its syntax).
fn shown_key(key: &str) -> String {
    if key.is_empty() {
        return String::new();
    }
    let shown = key.split('.').filter(|segment| !segment.is_empty()).fold(
        String::new(),
        |mut shown, segment| {
            if segment.parse::<usize>().is_ok() {
                shown.push_str(&format!("[{segment}]"));
            } else {
                if !shown.is_empty() {
                    shown.push('.');
                }
                shown.push_str(segment);
            }
            shown
        },
    );
    format!("{shown}: ")
}

/// The defaults, the file and the environment, kept so that an error found in the merged
/// settings can say where its key was set.
pub struct ConfigSource {
    figment: Figment,
    file: Option<FileText>,
}

impl ConfigSource {
    /// The defaults, the TOML file at `path` if given, then the environment.
    pub fn file(path: Option<&Path>) -> Result<Self, ConfigError> {
        let file = match path {
            None => None,
            Some(path) if !path.is_file() => {
                return Err(ConfigError::Missing(path.display().to_string()));
            }
            Some(path) => Some(FileText {
                name: path.display().to_string(),
                text: std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Unreadable(path.display().to_string(), e))?,
            }),
        };
        Ok(Self::over(file))
    }

    /// The defaults, `toml` (read from `name`, e.g. an SSM parameter), then the environment.
    pub fn text(name: &str, toml: &str) -> Self {
        Self::over(Some(FileText {
            name: name.to_string(),
            text: toml.to_string(),
        }))
    }

    fn over(file: Option<FileText>) -> Self {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = &file {
            figment = figment.merge(Toml::string(&file.text));
        }
        let figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        Self { figment, file }
    }

    /// The merged settings, not yet checked against the rules.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        self.figment.extract().map_err(|error| {
            let key = error.path.clone();
            let origin = locate(&self.figment, self.file.as_ref(), &key);
            let written = self.in_file(&origin, &key);
            ConfigError::Invalid {
                origin,
                key: key.join("."),
                problem: problem(&error.kind, written),
            }
        })
    }

    /// `error`, saying where its key was set when it does not say already.
    pub fn locate(&self, error: ConfigError) -> ConfigError {
        match error {
            ConfigError::Invalid {
                origin: None,
                key,
                problem,
            } => {
                let path: Vec<String> = key.split('.').map(String::from).collect();
                let origin = locate(&self.figment, self.file.as_ref(), &path);
                let written = match &origin {
                    Some(Origin::Environment(variable)) => std::env::var(variable).ok(),
                    _ => self.in_file(&origin, &path),
                };
                let problem = match written {
                    Some(found) if !problem.starts_with("found ") => {
                        format!("found {found}; {problem}")
                    }
                    _ => problem,
                };
                ConfigError::Invalid {
                    origin,
                    key,
                    problem,
                }
            }
            other => other,
        }
    }

    /// The value of `path` as the file writes it, when `origin` is the file.
    fn in_file(&self, origin: &Option<Origin>, path: &[String]) -> Option<String> {
        match (origin, &self.file) {
            (Some(Origin::File { .. }), Some(file)) => written_value(file, path),
            _ => None,
        }
    }

    /// The settings checked against every rule, and what the use cases run with.
    pub fn load(&self) -> Result<(Settings, AppConfig), ConfigError> {
        let settings = self.settings()?;
        let config = app_config(&settings).map_err(|e| self.locate(e))?;
        Ok((settings, config))
    }
}

/// What is wrong with a value, in words: what was found (as the file writes it, when serde's
/// message does not say) and what is allowed.
fn problem(kind: &Kind, written: Option<String>) -> String {
    match kind {
        Kind::Message(message) => {
            // The parsers' own words, with what they expect said.
            let expected = if message.starts_with("Invalid decimal") {
                "; expected a decimal number such as \"25.00\""
            } else if message.contains("input is out of range") || message.contains("premature end")
            {
                "; expected a time of day such as \"17:00:00\" or a date as written in the example"
            } else {
                ""
            };
            match written {
                Some(found) => format!("found {found}; {message}{expected}"),
                None => format!("{message}{expected}"),
            }
        }
        Kind::UnknownField(field, allowed) => {
            // A key this version replaced says where its setting went.
            let moved = match field.as_str() {
                "requests_per_second" => {
                    " (rail.requests_per_second is gone: Stripe's limits are per endpoint, in [rail.limits])"
                }
                _ => "",
            };
            format!(
                "unknown key; the keys here are {}{moved}",
                allowed.join(", ")
            )
        }
        Kind::UnknownVariant(found, allowed) => format!(
            "found \"{found}\"; allowed: {}",
            allowed
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kind::InvalidType(found, expected) | Kind::InvalidValue(found, expected) => {
            let expected = match type_in_words(expected) {
                "a duration" => "a duration such as \"90s\", \"5m\" or \"2h\"",
                other => other,
            };
            let found = written.unwrap_or_else(|| found.to_string());
            format!("found {found}; expected {expected}")
        }
        Kind::InvalidLength(found, expected) => {
            format!("found {found} entries; expected {expected}")
        }
        Kind::MissingField(name) => format!("`{name}` is required here"),
        Kind::DuplicateField(name) => format!("`{name}` is set twice"),
        other => other.to_string(),
    }
}

/// [`ConfigSource::load`] of the file at `path` (if any) over the defaults, under the
/// environment.
pub fn load(file: Option<&Path>) -> Result<(Settings, AppConfig), ConfigError> {
    ConfigSource::file(file)?.load()
}

/// [`load`] with the file's text given (read from SSM Parameter Store by a Lambda).
pub fn load_text(toml: &str) -> Result<(Settings, AppConfig), ConfigError> {
    ConfigSource::text("the configuration parameter", toml).load()
}

fn rate(key: &str, value: Decimal) -> Result<Rate, ConfigError> {
    Rate::new(value).map_err(|_| {
        invalid(
            key,
            format!("found {value}; allowed: a fraction from 0 to 1 (0.05 is 5%)"),
        )
    })
}

fn positive(key: &str, value: Decimal) -> Result<Decimal, ConfigError> {
    if value > Decimal::ZERO {
        Ok(value)
    } else {
        Err(invalid(key, format!("found {value}; allowed: above 0")))
    }
}

fn not_negative(key: &str, value: Decimal) -> Result<Decimal, ConfigError> {
    if value >= Decimal::ZERO {
        Ok(value)
    } else {
        Err(invalid(key, format!("found {value}; allowed: 0 or more")))
    }
}

fn delta(key: &str, value: Duration) -> Result<TimeDelta, ConfigError> {
    match TimeDelta::from_std(value) {
        Ok(delta) if delta > TimeDelta::zero() => Ok(delta),
        _ => Err(invalid(
            key,
            format!(
                "found \"{}\"; allowed: a duration above 0 (e.g. \"5m\")",
                humantime::format_duration(value)
            ),
        )),
    }
}

/// `[shop] dashboard_url`: where the dashboard is served, as `https://host[:port][/path]`
/// (`http://` only for this machine), no user, query or fragment; `/dashboard` is added unless
/// it ends with it. A link in a notice to a barber must go where it says.
fn dashboard_url(raw: &str) -> Result<String, ConfigError> {
    let refused = |why: &str| {
        invalid(
            "shop.dashboard_url",
            format!(
                "found `{raw}`: {why}; allowed: an address such as https://payouts.shop.example"
            ),
        )
    };
    if raw.contains('\\') || raw.len() > 200 {
        return Err(refused("not a plain address"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| refused(&e.to_string()))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(refused("https is required (http only for localhost)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("a user name in the address hides where it goes"));
    }
    if url.query().is_some() || url.fragment().is_some() || url.host_str().is_none() {
        return Err(refused("a host and path only, no query or fragment"));
    }
    let base = url.as_str().trim_end_matches('/');
    Ok(match base.ends_with("/dashboard") {
        true => base.to_string(),
        false => format!("{base}/dashboard"),
    })
}

/// `[shop] name`: printable text of 1 to 100 characters.
fn shop_name(name: &str) -> Result<String, ConfigError> {
    payout_core::input::free_text("shop.name", name, 100)
        .map_err(|e| invalid("shop.name", e.to_string()))?;
    let name = name.trim();
    match name.is_empty() {
        true => Err(invalid("shop.name", "allowed: 1 to 100 characters")),
        false => Ok(name.to_string()),
    }
}

/// `[rail.limits]`: each one set at least 1.
fn rail_limits(section: &RailLimitsSection) -> Result<LimitOverrides, ConfigError> {
    let limit = |key: &'static str, value: Option<u32>| match value {
        None => Ok(None),
        Some(value) => NonZeroU32::new(value)
            .map(Some)
            .ok_or_else(|| invalid(key, "allowed: at least 1 (requests a second)")),
    };
    let mut overrides = LimitOverrides {
        total: limit("rail.limits.total", section.total)?,
        ..LimitOverrides::default()
    };
    for (endpoint, key, value) in [
        (
            Endpoint::Transfers,
            "rail.limits.transfers",
            section.transfers,
        ),
        (Endpoint::Payouts, "rail.limits.payouts", section.payouts),
        (
            Endpoint::TransferLookups,
            "rail.limits.transfer_lookups",
            section.transfer_lookups,
        ),
        (
            Endpoint::PayoutLookups,
            "rail.limits.payout_lookups",
            section.payout_lookups,
        ),
    ] {
        overrides.set(endpoint, limit(key, value)?);
    }
    Ok(overrides)
}

fn fee(key: &str, entry: FeeEntry) -> Result<MethodFee, ConfigError> {
    Ok(MethodFee {
        percent_of_gross: rate(&format!("{key}.percent_of_gross"), entry.percent_of_gross)?,
        fixed: not_negative(&format!("{key}.fixed"), entry.fixed)?,
    })
}

/// Checks every rule and builds the use cases' configuration.
pub fn app_config(s: &Settings) -> Result<AppConfig, ConfigError> {
    let tiers = s
        .commission
        .tiers
        .iter()
        .enumerate()
        .map(|(i, tier)| {
            Ok(CommissionTier {
                more_than_services: tier.more_than_services,
                rate: rate(&format!("commission.tiers.{i}.rate"), tier.rate)?,
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let policy = PayoutPolicy {
        commission: CommissionPolicy {
            base_rate: rate("commission.base_rate", s.commission.base_rate)?,
            tiers,
            volume_bonus: VolumeBonus {
                gross_above: not_negative(
                    "commission.volume_bonus_gross_above",
                    s.commission.volume_bonus_gross_above,
                )?,
                rate: rate(
                    "commission.volume_bonus_rate",
                    s.commission.volume_bonus_rate,
                )?,
            },
            tip_share: rate("commission.tip_share", s.commission.tip_share)?,
        },
        fees: FeeSchedule {
            stripe_standard: fee("fees.stripe", s.fees.stripe)?,
            stripe_instant: fee("fees.stripe_instant", s.fees.stripe_instant)?,
            bank_transfer: fee("fees.bank_transfer", s.fees.bank_transfer)?,
            manual: fee("fees.manual", s.fees.manual)?,
        },
    };
    let priority = PriorityPolicy {
        high_value: positive("priority.high_value", s.priority.high_value)?,
        deferral: match s.priority.defer_low {
            DeferLow::Load => Deferral::WhenLoaded {
                max_wait: delta("priority.max_wait", s.priority.max_wait)?,
            },
            DeferLow::Window if s.priority.peak_start == s.priority.peak_end => {
                return Err(invalid(
                    "priority.peak_end",
                    "the peak window must not start and end at the same time",
                ));
            }
            DeferLow::Window => Deferral::Window(PeakWindow {
                start: s.priority.peak_start,
                end: s.priority.peak_end,
            }),
            DeferLow::Never => Deferral::Never,
        },
    };
    if s.retry.delays.len() > 10 {
        return Err(invalid("retry.delays", "allowed: at most 10 retries"));
    }
    let retry = RetryPolicy {
        delays_seconds: s
            .retry
            .delays
            .iter()
            .enumerate()
            .map(|(i, delay)| {
                let key = format!("retry.delays.{i}");
                u32::try_from(delta(&key, delay.0)?.num_seconds())
                    .ok()
                    .filter(|seconds| *seconds >= 1)
                    .ok_or_else(|| invalid(&key, "each delay is 1s to 136 years"))
            })
            .collect::<Result<_, _>>()?,
    };
    let rail_timeout = s.rail.timeout;
    if rail_timeout.is_zero() {
        return Err(invalid("rail.timeout", "must be above 0"));
    }
    if s.executor.lock_lease <= rail_timeout + LEASE_MARGIN {
        return Err(invalid(
            "executor.lock_lease",
            format!(
                "must be longer than rail.timeout ({}) plus {} for the bookkeeping around the call, \
                 or a lock could lapse while its holder can still pay",
                humantime::format_duration(rail_timeout),
                humantime::format_duration(LEASE_MARGIN)
            ),
        ));
    }
    if s.executor.workers == 0 {
        return Err(invalid("executor.workers", "allowed: at least 1"));
    }
    if !(1..=MAX_EXECUTOR_BATCH).contains(&s.executor.batch_size) {
        return Err(invalid(
            "executor.batch_size",
            format!("allowed: 1 to {MAX_EXECUTOR_BATCH}"),
        ));
    }
    if s.queue.max_receives == 0 {
        return Err(invalid("queue.max_receives", "allowed: at least 1"));
    }
    delta("queue.visibility_timeout", s.queue.visibility_timeout)?;
    if !(1..=10_000).contains(&s.planner.page_size) {
        return Err(invalid("planner.page_size", "allowed: 1 to 10000"));
    }
    if !(1..=MAX_PLANNER_CONCURRENCY).contains(&s.planner.concurrency) {
        return Err(invalid(
            "planner.concurrency",
            format!("allowed: 1 to {MAX_PLANNER_CONCURRENCY}"),
        ));
    }
    delta("planner.interval", s.planner.interval)?;
    let planning_backoff = delta("planner.backoff", s.planner.backoff)?;
    let planning_backoff_max = delta("planner.backoff_max", s.planner.backoff_max)?;
    if planning_backoff_max < planning_backoff {
        return Err(invalid(
            "planner.backoff_max",
            "must not be shorter than planner.backoff",
        ));
    }
    if s.notifier.retry_delays.is_empty() {
        return Err(invalid(
            "notifier.retry_delays",
            "at least one retry: a notice is delivered at least once",
        ));
    }
    let intake = IntakeLimits {
        max_earning: positive("intake.max_earning", s.intake.max_earning)?,
        max_deduction: positive("intake.max_deduction", s.intake.max_deduction)?,
        max_payout: positive("intake.max_payout", s.intake.max_payout)?,
        occurred_within_past: delta("intake.occurred_within_past", s.intake.occurred_within_past)?,
        occurred_within_future: delta(
            "intake.occurred_within_future",
            s.intake.occurred_within_future,
        )?,
    };
    if intake.max_payout < intake.max_earning {
        return Err(invalid(
            "intake.max_payout",
            "must not be below intake.max_earning: one earning alone could never be paid",
        ));
    }
    let health = HealthThresholds {
        failure_rate: rate("health.failure_rate", s.health.failure_rate)?.fraction(),
        processing_time: delta("health.processing_time", s.health.processing_time)?,
        planner_silence: delta("health.planner_silence", s.health.planner_silence)?,
        webhook_failure_rate: rate("health.webhook_failure_rate", s.health.webhook_failure_rate)?
            .fraction(),
        daily_volume_floor: rate("health.daily_volume_floor", s.health.daily_volume_floor)?
            .fraction(),
    };
    if s.schedules.default_advance_notice_hours > super::MAX_ADVANCE_NOTICE_HOURS {
        return Err(invalid(
            "schedules.default_advance_notice_hours",
            format!("allowed: at most {}", super::MAX_ADVANCE_NOTICE_HOURS),
        ));
    }
    if s.rail.pace_patience < s.rail.hold_after_429 {
        return Err(invalid(
            "rail.pace_patience",
            "at least rail.hold_after_429, or a process held back by a 429 holds back every job it takes",
        ));
    }
    let overrides = rail_limits(&s.rail.limits)?;
    let rail_pace = PaceSettings {
        limits: overrides.over(RailLimits::stripe(false)),
        overrides,
        shares: NonZeroU32::MIN,
        patience: delta("rail.pace_patience", s.rail.pace_patience)?,
        hold_after_429: delta("rail.hold_after_429", s.rail.hold_after_429)?,
    };
    Ok(AppConfig {
        policy,
        retry,
        priority,
        rate_limited_within: delta(
            "priority.rate_limited_within",
            s.priority.rate_limited_within,
        )?,
        rail_pace,
        lock_lease: delta("executor.lock_lease", s.executor.lock_lease)?,
        rail_timeout,
        busy_backoff: delta("executor.busy_backoff", s.executor.busy_backoff)?,
        deadline_margin: delta("executor.deadline_margin", s.executor.deadline_margin)?,
        events_expire_after: delta("events.expire_after", s.events.expire_after)?,
        stale_after: delta("executor.stale_after", s.executor.stale_after)?,
        planner_page_size: s.planner.page_size,
        planner_concurrency: s.planner.concurrency,
        planning_backoff,
        planning_backoff_max,
        notice_retry_delays: s
            .notifier
            .retry_delays
            .iter()
            .enumerate()
            .map(|(i, delay)| delta(&format!("notifier.retry_delays.{i}"), delay.0))
            .collect::<Result<_, _>>()?,
        intake,
        health,
        approvals: ApprovalPolicy {
            above: s
                .approvals
                .above
                .map(|above| not_negative("approvals.above", above))
                .transpose()?,
            first_payout_after_destination_change: s
                .approvals
                .first_payout_after_destination_change,
            expire_after: delta("approvals.expire_after", s.approvals.expire_after)?,
        },
        instant: InstantLimits {
            per_barber_daily: s
                .instant
                .per_barber_daily
                .map(|limit| not_negative("instant.per_barber_daily", limit))
                .transpose()?,
            platform_daily: s
                .instant
                .platform_daily
                .map(|limit| not_negative("instant.platform_daily", limit))
                .transpose()?,
        },
        schedule_defaults: ScheduleDefaults {
            minimum_payout: not_negative("schedules.default_minimum", s.schedules.default_minimum)?,
            local_time: s.schedules.default_local_time,
            advance_notice_hours: s.schedules.default_advance_notice_hours,
            hold_days: HoldDays::new(s.schedules.default_hold_days)
                .map_err(|e| invalid("schedules.default_hold_days", e.to_string()))?,
        },
        first_payout_after: match s.holds.first_payout_after_days {
            days @ 0..=MAX_FIRST_PAYOUT_AFTER_DAYS => TimeDelta::days(i64::from(days)),
            _ => {
                return Err(invalid(
                    "holds.first_payout_after_days",
                    format!("allowed: 0 to {MAX_FIRST_PAYOUT_AFTER_DAYS}"),
                ));
            }
        },
        shop_name: shop_name(&s.shop.name)?,
        dashboard_url: s
            .shop
            .dashboard_url
            .as_deref()
            .map(dashboard_url)
            .transpose()?,
        tax_reporting_threshold: not_negative(
            "tax.reporting_threshold",
            s.tax.reporting_threshold,
        )?,
    })
}

#[cfg(test)]
// figment's Jail returns its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use super::*;
    use crate::config::file::RailKind;

    /// Loads `toml` as the configuration file inside a jail (its own directory and
    /// environment), with `env` set.
    fn load_in_jail(
        toml: &str,
        env: &[(&str, &str)],
        check: impl FnOnce(Result<(Settings, AppConfig), ConfigError>),
    ) {
        Jail::expect_with(|jail| {
            jail.create_file("payouts.toml", toml)?;
            for (name, value) in env {
                jail.set_env(name, value);
            }
            check(load(Some(Path::new("payouts.toml"))));
            Ok(())
        });
    }

    fn refused(toml: &str, key: &str, rule: &str) {
        load_in_jail(toml, &[], |loaded| {
            let error = loaded.expect_err("refused").to_string();
            assert!(error.contains(key), "{error} names {key}");
            assert!(error.contains(rule), "{error} says {rule}");
        });
    }

    #[test]
    fn a_dashboard_link_goes_where_it_says() {
        for (raw, why) in [
            ("https://payouts.shop.example@evil.example", "user name"),
            ("https://evil.example\\@shop.example", "plain address"),
            ("http://payouts.shop.example", "https is required"),
            ("https://payouts.shop.example?x=1", "no query"),
            ("payouts.shop.example", "shop.dashboard_url"),
        ] {
            refused(
                &format!("[shop]\ndashboard_url = '{raw}'\n"),
                "shop.dashboard_url",
                why,
            );
        }
        for (raw, kept) in [
            (
                "https://payouts.shop.example",
                "https://payouts.shop.example/dashboard",
            ),
            (
                "https://payouts.shop.example/dashboard/",
                "https://payouts.shop.example/dashboard",
            ),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/dashboard"),
        ] {
            assert_eq!(dashboard_url(raw).unwrap(), kept, "{raw}");
        }
    }

    #[test]
    fn the_defaults_are_the_briefs() {
        let config = AppConfig::default();
        assert_eq!(config.retry.delays_seconds, [300, 900, 3600]);
        assert_eq!(config.lock_lease, TimeDelta::minutes(5));
        assert_eq!(config.rail_timeout, Duration::from_secs(60));
        assert_eq!(config.schedule_defaults.minimum_payout.to_string(), "25.00");
        assert_eq!(config.intake.max_payout.to_string(), "100000");
    }

    #[test]
    fn the_documented_keys_work() {
        let toml = "[rail]\nkind = \"stripe\"\ntimeout = \"3s\"\n[retry]\ndelays = [\"1s\", \"2s\", \"3s\"]\n";
        load_in_jail(toml, &[], |loaded| {
            let (settings, config) = loaded.unwrap();
            assert_eq!(settings.rail.kind, RailKind::Stripe);
            assert_eq!(config.rail_timeout, Duration::from_secs(3));
            assert_eq!(config.retry.delays_seconds, [1, 2, 3]);
        });
    }

    #[test]
    fn the_environment_overrides_the_file() {
        load_in_jail(
            "[rail]\ntimeout = \"3s\"\n",
            &[
                ("PAYOUTS_RAIL__TIMEOUT", "7s"),
                ("PAYOUTS_PLANNER__PAGE_SIZE", "50"),
                // The command line's variables are not configuration keys.
                ("PAYOUTS_JWT_SECRET", "not-a-key"),
            ],
            |loaded| {
                let (_, config) = loaded.unwrap();
                assert_eq!(config.rail_timeout, Duration::from_secs(7));
                assert_eq!(config.planner_page_size, 50);
            },
        );
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        refused("[rail]\ntimout = \"3s\"\n", "timout", "unknown key");
        refused("[rial]\n", "rial", "unknown key");
    }

    #[test]
    fn a_lease_not_longer_than_the_rail_timeout_and_its_margin_is_refused() {
        refused(
            "[rail]\ntimeout = \"5m\"\n",
            "executor.lock_lease",
            "longer than rail.timeout",
        );
    }

    #[test]
    fn each_rule_names_its_key() {
        for (toml, key, rule) in [
            (
                "[commission]\nbase_rate = \"1.5\"\n",
                "commission.base_rate",
                "fraction",
            ),
            (
                "[fees.stripe]\npercent_of_gross = \"0.01\"\nfixed = \"-1\"\n",
                "fees.stripe.fixed",
                "0 or more",
            ),
            (
                "[intake]\nmax_payout = \"5\"\n",
                "intake.max_payout",
                "max_earning",
            ),
            (
                "[intake]\nmax_earning = \"0\"\n",
                "intake.max_earning",
                "above 0",
            ),
            ("[retry]\ndelays = [\"0s\"]\n", "retry.delays[0]", "above 0"),
            (
                "[planner]\npage_size = 0\n",
                "planner.page_size",
                "allowed: 1 to 10000",
            ),
            (
                "[planner]\nconcurrency = 0\n",
                "planner.concurrency",
                "allowed: 1 to 256",
            ),
            (
                "[planner]\nbackoff = \"2h\"\n",
                "planner.backoff_max",
                "shorter",
            ),
            (
                "[executor]\nworkers = 0\n",
                "executor.workers",
                "at least 1",
            ),
            (
                "[rail.limits]\ntransfers = 0\n",
                "rail.limits.transfers",
                "at least 1",
            ),
            (
                "[rail]\npace_patience = \"1s\"\nhold_after_429 = \"2s\"\n",
                "rail.pace_patience",
                "at least rail.hold_after_429",
            ),
            (
                "[queue]\nmax_receives = 0\n",
                "queue.max_receives",
                "at least 1",
            ),
            (
                "[queue]\nvisibility_timeout = \"0s\"\n",
                "queue.visibility_timeout",
                "above 0",
            ),
            (
                "[notifier]\nretry_delays = []\n",
                "notifier.retry_delays",
                "at least one",
            ),
            (
                "[health]\nfailure_rate = \"2\"\n",
                "health.failure_rate",
                "fraction",
            ),
            (
                "[priority]\ndefer_low = \"window\"\npeak_start = \"10:00:00\"\npeak_end = \"10:00:00\"\n",
                "priority.peak_end",
                "same time",
            ),
            (
                "[schedules]\ndefault_advance_notice_hours = 1000\n",
                "schedules.default_advance_notice_hours",
                "at most",
            ),
        ] {
            refused(toml, key, rule);
        }
    }

    #[test]
    fn an_error_names_the_file_line_and_column_the_key_in_full_what_was_found_and_what_is_allowed()
    {
        for (toml, env, said) in [
            (
                "[rail]\ntimeoutt = \"3s\"\n",
                None,
                "payouts.toml:2:1: rail.timeoutt: unknown key; the keys here are kind, timeout,",
            ),
            (
                "[planner]\n\n  page_size = \"many\"\n",
                None,
                "payouts.toml:3:3: planner.page_size: found \"many\"; expected a whole number, 0 or more",
            ),
            (
                "[planner]\npage_size = 0\n",
                None,
                "payouts.toml:2:1: planner.page_size: found 0; allowed: 1 to 10000",
            ),
            (
                "[fees.stripe]\npercent_of_gross = \"-0.01\"\n",
                None,
                "payouts.toml:2:1: fees.stripe.percent_of_gross: found -0.01; allowed: a fraction",
            ),
            (
                "[[commission.tiers]]\nmore_than_services = 10\nrate = \"2\"\n",
                None,
                "payouts.toml:3:1: commission.tiers[0].rate: found 2; allowed: a fraction",
            ),
            (
                "[intake]\nmax_earning = \"12,50\"\n",
                None,
                "payouts.toml:2:1: intake.max_earning: found \"12,50\"; Invalid decimal",
            ),
            (
                "",
                Some(("PAYOUTS_PLANNER__PAGE_SIZE", "0")),
                "environment variable PAYOUTS_PLANNER__PAGE_SIZE: planner.page_size: found 0; allowed: 1 to 10000",
            ),
            (
                "[rail]\ntimeout = \"5m\"\n",
                None,
                "payouts.toml: executor.lock_lease: must be longer than rail.timeout (5m)",
            ),
            (
                "[rail\n",
                None,
                "payouts.toml: TOML parse error at line 1, column 6",
            ),
        ] {
            load_in_jail(toml, env.as_slice(), |loaded| {
                let error = loaded.expect_err("refused").to_string();
                assert!(
                    error.starts_with(said),
                    "{error}\nshould start with\n{said}"
                );
            });
        }
    }

    #[test]
    fn amounts_are_read_exactly_as_written() {
        let toml = "[intake]\nmax_earning = 1234.56\n[health]\nfailure_rate = \"0.1\"\n";
        load_in_jail(toml, &[("PAYOUTS_FEES__STRIPE__FIXED", "0.3")], |loaded| {
            let (settings, config) = loaded.unwrap();
            assert_eq!(config.intake.max_earning.to_string(), "1234.56");
            assert_eq!(config.health.failure_rate.to_string(), "0.1");
            assert_eq!(settings.fees.stripe.fixed.to_string(), "0.3");
        });
        refused("[intake]\nmax_earning = \"12,50\"\n", "max_earning", "");
    }

    #[test]
    fn a_duration_must_be_humantime() {
        refused("[rail]\ntimeout = \"soon\"\n", "timeout", "");
    }

    #[test]
    fn a_missing_file_is_an_error() {
        Jail::expect_with(|_| {
            let error = load(Some(Path::new("nowhere.toml"))).unwrap_err();
            assert!(matches!(error, ConfigError::Missing(_)), "{error}");
            Ok(())
        });
    }
}
