//! The configuration file's shape: one section per concern, every key optional over the
//! brief's defaults (the domain's own, where the domain has one), unknown keys refused. Durations are humantime strings (`"5m"`, `"3s"`),
//! amounts and rates decimal strings (`"25.00"`, `"0.72"`), so nothing passes through a float.

use std::time::Duration;

use chrono::NaiveTime;
use payout_core::commission::CommissionPolicy;
use payout_core::method::{FeeSchedule, MethodFee};
use payout_core::priority::{DEFAULT_MAX_WAIT, PriorityPolicy};
use payout_core::retry::RetryPolicy;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

/// Amounts and rates are read exactly: from decimal strings (`"25.00"`), whole numbers, or a
/// number with a fraction (`0.05`, as an environment variable's value is parsed) through its
/// shortest decimal text, which is the literal as written; never through float arithmetic.
mod exact {
    use rust_decimal::Decimal;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    struct Exact;

    impl Visitor<'_> for Exact {
        type Value = Decimal;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a decimal such as \"25.00\"")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Decimal, E> {
            text.trim().parse().map_err(E::custom)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(value))
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(value))
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<Decimal, E> {
            self.visit_str(&value.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_any(Exact)
    }
}

/// Durations as humantime text: read as any humantime spelling (`"90s"`, `"1h 30m"`), written
/// back in the largest unit that is exact (`"366d"`, `"90m"`), never rounded into months or
/// years (humantime's own writer turns 366 days into `1year 18h`).
mod duration_text {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&exact(*duration))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        humantime_serde::deserialize(deserializer)
    }

    fn exact(duration: Duration) -> String {
        let nanos = duration.as_nanos();
        if nanos == 0 {
            return "0s".into();
        }
        const UNITS: [(u128, &str); 6] = [
            (86_400_000_000_000, "d"),
            (3_600_000_000_000, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
            (1_000_000, "ms"),
            (1_000, "us"),
        ];
        UNITS
            .into_iter()
            .find(|(unit, _)| nanos.is_multiple_of(*unit))
            .map_or_else(
                || format!("{nanos}ns"),
                |(unit, name)| format!("{}{name}", nanos / unit),
            )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_duration_is_written_back_exactly_in_its_largest_exact_unit() {
            for (written, read) in [
                ("366days", "366d"),
                ("90s", "90s"),
                ("1h 30m", "90m"),
                ("1500ms", "1500ms"),
                ("0s", "0s"),
            ] {
                let duration = humantime::parse_duration(written).unwrap();
                assert_eq!(exact(duration), read);
                assert_eq!(humantime::parse_duration(read).unwrap(), duration);
            }
        }
    }
}

/// A duration in a list, written as humantime (`"5m"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Span(#[serde(with = "duration_text")] pub Duration);

/// The whole file. `payouts config show` prints it back, secrets masked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub commission: CommissionSection,
    pub fees: FeesSection,
    pub schedules: SchedulesSection,
    pub priority: PrioritySection,
    pub intake: IntakeSection,
    pub retry: RetrySection,
    pub rail: RailSection,
    pub executor: ExecutorSection,
    pub queue: QueueSection,
    pub planner: PlannerSection,
    pub notifier: NotifierSection,
    pub health: HealthSection,
    pub server: ServerSection,
    pub auth: AuthSection,
    pub events: EventsSection,
    pub approvals: ApprovalsSection,
    pub instant: InstantSection,
    pub holds: HoldsSection,
    pub shop: ShopSection,
    pub tax: TaxSection,
    /// Where `payouts serve` sends payout events as signed webhooks, each a `[[webhooks]]`.
    pub webhooks: Vec<WebhookEndpoint>,
}

/// The shop as its barbers' statements name it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShopSection {
    /// Printed at the head of every payout statement.
    pub name: String,
    /// Where barbers reach the dashboard (`https://payouts.shop.example`, `/dashboard` added
    /// unless given): the completed notice links to the payout's page there, which opens its
    /// statement. No link without it.
    pub dashboard_url: Option<String>,
}

impl Default for ShopSection {
    fn default() -> Self {
        Self {
            name: "The barbershop".into(),
            dashboard_url: None,
        }
    }
}

/// What the tax-year report flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaxSection {
    /// A barber paid at least this in a calendar year (in their currency) is flagged in the
    /// tax-year report. The default is the United States' Form 1099-NEC threshold for payments
    /// made from 2026 ($2,000: 26 U.S.C. 6041 as amended by Public Law 119-21, section 70433;
    /// $600 before); which form, and whether one is due, is the shop's business.
    #[serde(with = "exact")]
    pub reporting_threshold: Decimal,
}

impl Default for TaxSection {
    fn default() -> Self {
        Self {
            reporting_threshold: Decimal::from(2000),
        }
    }
}

/// What every barber's pay waits for, whatever their schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoldsSection {
    /// A barber who has never had a payout is first paid this many days after their first
    /// earning's service.
    pub first_payout_after_days: u32,
}

/// Caps on instant payouts per UTC day; a payout that would pass one is paid as a standard
/// transfer with the standard fee instead. Unset by default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstantSection {
    /// A barber's instant payouts created in a UTC day, not cancelled, at most this net.
    #[serde(
        default,
        with = "exact_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub per_barber_daily: Option<Decimal>,
    /// The platform's instant payouts created in a UTC day, not cancelled, at most this net.
    #[serde(
        default,
        with = "exact_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub platform_daily: Option<Decimal>,
}

/// Payouts that wait for a second operator before any money moves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalsSection {
    /// A payout netting more than this waits for approval (none when unset).
    #[serde(
        default,
        with = "exact_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub above: Option<Decimal>,
    /// A barber's first payout after where their money goes was changed (not first set up)
    /// waits for approval.
    pub first_payout_after_destination_change: bool,
    /// A payout waiting longer than this is an alert.
    #[serde(with = "duration_text")]
    pub expire_after: Duration,
}

impl Default for ApprovalsSection {
    fn default() -> Self {
        Self {
            above: None,
            first_payout_after_destination_change: false,
            expire_after: Duration::from_secs(3 * 86_400),
        }
    }
}

/// [`exact`] for a key that may be left out.
mod exact_option {
    use rust_decimal::Decimal;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::exact::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        super::exact::deserialize(deserializer).map(Some)
    }
}

/// Payout events out to the platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsSection {
    /// An event not delivered this long after its change is given up (counted, alarmed).
    #[serde(with = "duration_text")]
    pub expire_after: Duration,
}

impl Default for EventsSection {
    fn default() -> Self {
        Self {
            expire_after: Duration::from_secs(3 * 24 * 60 * 60),
        }
    }
}

/// One webhook endpoint (the Standard Webhooks convention).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    pub url: String,
    /// `whsec_` and the base64 of the signing key.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommissionSection {
    #[serde(with = "exact")]
    pub base_rate: Decimal,
    pub tiers: Vec<TierEntry>,
    #[serde(with = "exact")]
    pub volume_bonus_gross_above: Decimal,
    #[serde(with = "exact")]
    pub volume_bonus_rate: Decimal,
    /// The barber's share of tips, a fraction (`1`: all of it).
    #[serde(with = "exact")]
    pub tip_share: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierEntry {
    pub more_than_services: u32,
    #[serde(with = "exact")]
    pub rate: Decimal,
}

impl Default for CommissionSection {
    fn default() -> Self {
        let policy = CommissionPolicy::default();
        Self {
            base_rate: policy.base_rate.fraction(),
            tiers: policy
                .tiers
                .iter()
                .map(|tier| TierEntry {
                    more_than_services: tier.more_than_services,
                    rate: tier.rate.fraction(),
                })
                .collect(),
            volume_bonus_gross_above: policy.volume_bonus.gross_above,
            volume_bonus_rate: policy.volume_bonus.rate.fraction(),
            tip_share: policy.tip_share.fraction(),
        }
    }
}

/// A method's fee: a share of gross plus a fixed amount in the payout's currency.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeEntry {
    #[serde(with = "exact")]
    pub percent_of_gross: Decimal,
    #[serde(with = "exact")]
    pub fixed: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeesSection {
    pub stripe: FeeEntry,
    pub stripe_instant: FeeEntry,
    pub bank_transfer: FeeEntry,
    pub manual: FeeEntry,
}

impl From<MethodFee> for FeeEntry {
    fn from(fee: MethodFee) -> Self {
        Self {
            percent_of_gross: fee.percent_of_gross.fraction(),
            fixed: fee.fixed,
        }
    }
}

impl Default for FeesSection {
    fn default() -> Self {
        let fees = FeeSchedule::default();
        Self {
            stripe: fees.stripe_standard.into(),
            stripe_instant: fees.stripe_instant.into(),
            bank_transfer: fees.bank_transfer.into(),
            manual: fees.manual.into(),
        }
    }
}

/// What a new schedule gets when its request does not say.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulesSection {
    #[serde(with = "exact")]
    pub default_minimum: Decimal,
    pub default_local_time: NaiveTime,
    pub default_advance_notice_hours: u32,
    /// How many days after the service a new schedule's earnings become payable (0-30).
    pub default_hold_days: u32,
}

impl Default for SchedulesSection {
    fn default() -> Self {
        Self {
            default_minimum: dec!(25.00),
            default_local_time: NaiveTime::from_hms_opt(17, 0, 0).expect("a valid time"),
            default_advance_notice_hours: 24,
            default_hold_days: 0,
        }
    }
}

/// When low-priority payouts wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferLow {
    /// Only while the system is loaded, at most `max_wait`.
    Load,
    /// Inside the UTC window from `peak_start` to `peak_end`, to its end, whatever the load.
    Window,
    Never,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrioritySection {
    #[serde(with = "exact")]
    pub high_value: Decimal,
    pub defer_low: DeferLow,
    /// How long a low-priority payout planned on a loaded system waits: loaded means the rail
    /// held a transfer back (its pace full, or a 429) within `rate_limited_within`, or more
    /// jobs waiting than the executors clear in `max_wait` at the transfers' rate limit.
    #[serde(with = "duration_text")]
    pub max_wait: Duration,
    #[serde(with = "duration_text")]
    pub rate_limited_within: Duration,
    pub peak_start: NaiveTime,
    pub peak_end: NaiveTime,
}

impl Default for PrioritySection {
    fn default() -> Self {
        Self {
            high_value: PriorityPolicy::default().high_value,
            defer_low: DeferLow::Load,
            max_wait: DEFAULT_MAX_WAIT.to_std().expect("a positive duration"),
            rate_limited_within: Duration::from_secs(5 * 60),
            peak_start: NaiveTime::from_hms_opt(14, 0, 0).expect("a valid time"),
            peak_end: NaiveTime::from_hms_opt(22, 0, 0).expect("a valid time"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeSection {
    #[serde(with = "exact")]
    pub max_earning: Decimal,
    #[serde(with = "exact")]
    pub max_deduction: Decimal,
    #[serde(with = "exact")]
    pub max_payout: Decimal,
    #[serde(with = "duration_text")]
    pub occurred_within_past: Duration,
    #[serde(with = "duration_text")]
    pub occurred_within_future: Duration,
}

impl Default for IntakeSection {
    fn default() -> Self {
        Self {
            max_earning: dec!(10000),
            max_deduction: dec!(10000),
            max_payout: dec!(100000),
            occurred_within_past: Duration::from_secs(366 * 86_400),
            occurred_within_future: Duration::from_secs(86_400),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySection {
    /// The wait before each further attempt after a retryable failure; when they run out the
    /// payout fails.
    pub delays: Vec<Span>,
}

impl Default for RetrySection {
    fn default() -> Self {
        Self {
            delays: RetryPolicy::default()
                .delays_seconds
                .iter()
                .map(|seconds| Span(Duration::from_secs(u64::from(*seconds))))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RailKind {
    /// The in-process stand-in for a provider: pays instantly, never for real.
    Simulated,
    /// Stripe Connect, with `STRIPE_SECRET_KEY` (and `STRIPE_API_BASE` to point elsewhere).
    Stripe,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RailSection {
    pub kind: RailKind,
    /// The longest the executor waits for the provider before the outcome is unknown.
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    /// How long the simulated provider takes to answer.
    #[serde(with = "duration_text")]
    pub simulated_latency: Duration,
    /// The provider's rate limits for the whole deployment, over its published defaults. On
    /// Lambda each process takes its share: these over the functions' maximum concurrency.
    pub limits: RailLimitsSection,
    /// The longest a transfer waits for its turn before it is held back (never less than one
    /// turn of the process's share). At least `hold_after_429`, so that a process held back by
    /// a 429 waits it out rather than taking job after job only to hold each back.
    #[serde(with = "duration_text")]
    pub pace_patience: Duration,
    /// After a 429 (or a transfer held back), how long the payout and the process's later
    /// transfers wait. Not a failure: no retry is used.
    #[serde(with = "duration_text")]
    pub hold_after_429: Duration,
}

impl Default for RailSection {
    fn default() -> Self {
        Self {
            kind: RailKind::Simulated,
            timeout: Duration::from_secs(60),
            simulated_latency: Duration::ZERO,
            limits: RailLimitsSection::default(),
            pace_patience: Duration::from_secs(5),
            hold_after_429: Duration::from_secs(2),
        }
    }
}

/// `[rail.limits]`: requests a second the provider accepts of the deployment, in all and per
/// endpoint; each unset one is the provider's published default (Stripe: 25 per endpoint; 100 in
/// all in live mode, 25 with an `sk_test_` key). Set what Stripe has raised for the account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RailLimitsSection {
    pub total: Option<u32>,
    /// Creating transfers (`POST /v1/transfers`).
    pub transfers: Option<u32>,
    /// Creating payouts on connected accounts (`POST /v1/payouts`).
    pub payouts: Option<u32>,
    /// Listing transfers (`GET /v1/transfers`): reconciliation and recovery.
    pub transfer_lookups: Option<u32>,
    /// Listing a connected account's payouts (`GET /v1/payouts`): recovery.
    pub payout_lookups: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorSection {
    /// How long a barber lock is held; longer than the rail timeout plus the bookkeeping
    /// around the call.
    #[serde(with = "duration_text")]
    pub lock_lease: Duration,
    /// How long a job waits when another executor holds the barber's lock.
    #[serde(with = "duration_text")]
    pub busy_backoff: Duration,
    /// A payout whose job should have run this long ago is re-enqueued.
    #[serde(with = "duration_text")]
    pub stale_after: Duration,
    /// Where an invocation has a deadline (Lambda), the time kept back from it to record a
    /// rail call's outcome and release the lock: the call gets at most what is left before.
    #[serde(with = "duration_text")]
    pub deadline_margin: Duration,
    /// Executor workers in `payouts serve`.
    pub workers: usize,
    /// Jobs a `payouts serve` worker takes at once: their locks and attempts are recorded in
    /// one commit, and their outcomes in another.
    pub batch_size: usize,
}

impl Default for ExecutorSection {
    fn default() -> Self {
        Self {
            lock_lease: Duration::from_secs(5 * 60),
            busy_backoff: Duration::from_secs(30),
            stale_after: Duration::from_secs(15 * 60),
            deadline_margin: Duration::from_secs(5),
            workers: 2,
            batch_size: 10,
        }
    }
}

/// `payouts serve`'s in-process job queue, with SQS's semantics; on AWS the template's queue
/// says the same (`VisibilityTimeout`, the redrive policy's `maxReceiveCount`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSection {
    /// A received job not finished within this comes back for another worker.
    #[serde(with = "duration_text")]
    pub visibility_timeout: Duration,
    /// A job received this many times without finishing goes to the dead letters, where an
    /// operator replays it once its cause is fixed.
    pub max_receives: u32,
}

impl Default for QueueSection {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(30 * 60),
            max_receives: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerSection {
    /// Between planner runs in `payouts serve` (EventBridge's schedule on AWS).
    #[serde(with = "duration_text")]
    pub interval: Duration,
    pub page_size: usize,
    /// Periods of a page read and decided at the same time (each is a few store reads; on
    /// DynamoDB their latency, not the work, bounds a planner).
    pub concurrency: usize,
    /// A barber that could not be planned waits this long, doubled per failure up to
    /// `backoff_max`.
    #[serde(with = "duration_text")]
    pub backoff: Duration,
    #[serde(with = "duration_text")]
    pub backoff_max: Duration,
}

impl Default for PlannerSection {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            page_size: 500,
            concurrency: 16,
            backoff: Duration::from_secs(60),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTls {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSection {
    pub host: String,
    pub port: u16,
    pub tls: EmailTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `"Payouts <payouts@shop.example>"`.
    pub from: String,
}

/// An SMS provider with Twilio's Messages API shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSection {
    /// `https://api.twilio.com` unless pointed elsewhere.
    pub api_base: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The sending number, E.164.
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierSection {
    /// Waits before each further delivery attempt of a notice; then it is given up.
    pub retry_delays: Vec<Span>,
    /// Email over SMTP; without it email notices go to the log.
    pub email: Option<EmailSection>,
    /// SMS over HTTP; without it SMS notices go to the log.
    pub sms: Option<SmsSection>,
}

impl Default for NotifierSection {
    fn default() -> Self {
        Self {
            retry_delays: [60, 5 * 60, 30 * 60, 2 * 3600]
                .map(|seconds| Span(Duration::from_secs(seconds)))
                .to_vec(),
            email: None,
            sms: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSection {
    #[serde(with = "exact")]
    pub failure_rate: Decimal,
    #[serde(with = "duration_text")]
    pub processing_time: Duration,
    #[serde(with = "duration_text")]
    pub planner_silence: Duration,
    #[serde(with = "exact")]
    pub webhook_failure_rate: Decimal,
    #[serde(with = "exact")]
    pub daily_volume_floor: Decimal,
}

impl Default for HealthSection {
    fn default() -> Self {
        Self {
            failure_rate: dec!(0.05),
            processing_time: Duration::from_secs(30),
            planner_silence: Duration::from_secs(15 * 60),
            webhook_failure_rate: dec!(0.02),
            daily_volume_floor: dec!(0.5),
        }
    }
}

/// `payouts serve`: where it listens, its database, and the secrets of its API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    pub addr: String,
    pub db: String,
    /// HS256 secret for API tokens; the development secret is refused off loopback.
    pub jwt_secret: Option<String>,
    /// Tokens must carry this `iss` (required with an OIDC issuer's keys).
    pub jwt_issuer: Option<String>,
    /// Tokens must carry this `aud` (required with an OIDC issuer's keys).
    pub jwt_audience: Option<String>,
    /// An OIDC issuer's keys (its `jwks_uri`): tokens are RS256/ES256 tokens it signed, and
    /// the `[auth]` claims say who the caller is. Exclusive with `jwt_secret`.
    pub jwks_url: Option<String>,
    /// The same keys from a JWKS file.
    pub jwks_file: Option<String>,
    /// Stripe's endpoint secret (`whsec_...`); webhooks are refused without one.
    pub stripe_webhook_secret: Option<String>,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".to_string(),
            db: "payouts.db".to_string(),
            jwt_secret: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwks_url: None,
            jwks_file: None,
            stripe_webhook_secret: None,
        }
    }
}

/// Which verified claims of a token say who the caller is, where an identity provider issues
/// the tokens (API Gateway's JWT authorizer in AWS). The defaults fit Amazon Cognito.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// The claim listing the caller's groups or roles.
    pub role_claim: String,
    /// The group (in `role_claim`) of operators, who see and do everything.
    pub operator_group: String,
    /// The group of barbers, who see only their own records.
    pub barber_group: String,
    /// The claim holding a barber's id.
    pub barber_claim: String,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            role_claim: "cognito:groups".to_string(),
            operator_group: "operator".to_string(),
            barber_group: "barber".to_string(),
            barber_claim: "custom:barber_id".to_string(),
        }
    }
}

/// What `payouts config show` prints in place of a secret.
pub const MASK: &str = "********";

impl Settings {
    /// These settings with every secret replaced by [`MASK`], for printing.
    pub fn masked(&self) -> Settings {
        let mask = |secret: &Option<String>| secret.as_ref().map(|_| MASK.to_string());
        let mut masked = self.clone();
        masked.server.jwt_secret = mask(&self.server.jwt_secret);
        masked.server.stripe_webhook_secret = mask(&self.server.stripe_webhook_secret);
        if let Some(email) = &mut masked.notifier.email {
            email.password = mask(&email.password);
        }
        if let Some(sms) = &mut masked.notifier.sms {
            sms.auth_token = MASK.to_string();
        }
        for endpoint in &mut masked.webhooks {
            endpoint.secret = MASK.to_string();
        }
        masked
    }
}
