//! The AWS bill a month, by platform size, from usage measured on the emulator and AWS's
//! published on-demand prices: what runs whatever the platform's size (the planner's ticks,
//! an uptime monitor's health polls, an operator's dashboard, the alarms) apart from what each
//! payout costs.

use std::collections::BTreeMap;

use payout_aws::counting_proxy::Tally;

/// AWS list prices, us-east-1, as published on 2026-11-01 (USD).
pub mod prices {
    /// DynamoDB on-demand, per million write request units.
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625;
    /// DynamoDB on-demand, per million read request units.
    pub const DYNAMODB_READ_UNIT: f64 = 0.125;
    /// SQS standard queue, per million requests (64 KB chunks).
    pub const SQS_REQUEST: f64 = 0.40;
    /// SNS standard topic, per million publishes.
    pub const SNS_PUBLISH: f64 = 0.50;
    /// EventBridge, per million custom events put.
    pub const EVENTBRIDGE_EVENT: f64 = 1.00;
    /// EventBridge Scheduler, per million invocations.
    pub const SCHEDULER_INVOCATION: f64 = 1.00;
    /// API Gateway HTTP API, per million requests (the first 300 million a month).
    pub const HTTP_API_REQUEST: f64 = 1.00;
    /// Lambda on arm64, per GB-second.
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    /// Lambda, per million invocations.
    pub const LAMBDA_REQUEST: f64 = 0.20;
    /// CloudWatch, a standard-resolution alarm a month.
    pub const ALARM_MONTH: f64 = 0.10;
    /// KMS, a customer managed key a month (the alarm topic's; its requests stay in the free
    /// tier at the alarms' rate).
    pub const KMS_KEY_MONTH: f64 = 1.00;
}

/// Every function's memory in the SAM template.
pub const LAMBDA_GB: f64 = 0.25;

/// A function's time on AWS, modelled: each AWS request of the work in sequence at an
/// in-region round trip (many run concurrently, so this is an upper bound), and a little per
/// invocation. The emulator's own time is far slower than DynamoDB's (moto answers one
/// DynamoDB request at a time), so measured time would bill the emulator.
pub const ROUND_TRIP_SECONDS: f64 = 0.010;
const INVOCATION_SECONDS: f64 = 0.005;

const MILLION: f64 = 1_000_000.0;

/// What some work used: AWS requests by (service, operation), and what is billed besides.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub requests: BTreeMap<(String, String), Tally>,
    pub invocations: f64,
    /// The handlers' time on the emulator (shown, not billed: see [`ROUND_TRIP_SECONDS`]).
    pub handler_seconds: f64,
    /// Requests through API Gateway.
    pub api_requests: f64,
    /// EventBridge Scheduler invocations.
    pub scheduled: f64,
}

impl Usage {
    fn service(&self, name: &str) -> Tally {
        let mut total = Tally::default();
        self.requests
            .iter()
            .filter(|((service, _), _)| service == name)
            .for_each(|(_, tally)| total.add(tally));
        total
    }

    /// What it costs at list prices, line by line.
    pub fn cost_lines(&self) -> Vec<(&'static str, f64)> {
        let dynamo = self.service("DynamoDB");
        vec![
            (
                "DynamoDB writes",
                dynamo.write_units * prices::DYNAMODB_WRITE_UNIT / MILLION,
            ),
            (
                "DynamoDB reads",
                dynamo.read_units * prices::DYNAMODB_READ_UNIT / MILLION,
            ),
            (
                "SQS",
                self.service("SQS").requests as f64 * prices::SQS_REQUEST / MILLION,
            ),
            (
                "SNS publish",
                self.service("SNS").requests as f64 * prices::SNS_PUBLISH / MILLION,
            ),
            (
                "EventBridge events",
                self.requests.values().map(|t| t.events_put).sum::<u64>() as f64
                    * prices::EVENTBRIDGE_EVENT
                    / MILLION,
            ),
            (
                "Scheduler",
                self.scheduled * prices::SCHEDULER_INVOCATION / MILLION,
            ),
            (
                "API Gateway",
                self.api_requests * prices::HTTP_API_REQUEST / MILLION,
            ),
            (
                "Lambda requests",
                self.invocations * prices::LAMBDA_REQUEST / MILLION,
            ),
            (
                "Lambda GB-s",
                self.modelled_seconds() * LAMBDA_GB * prices::LAMBDA_GB_SECOND,
            ),
        ]
    }

    /// The functions' time on AWS ([`ROUND_TRIP_SECONDS`]).
    pub fn modelled_seconds(&self) -> f64 {
        self.all_requests() as f64 * ROUND_TRIP_SECONDS + self.invocations * INVOCATION_SECONDS
    }

    pub fn dollars(&self) -> f64 {
        self.cost_lines().iter().map(|(_, cost)| cost).sum()
    }

    pub fn all_requests(&self) -> u64 {
        self.requests.values().map(|tally| tally.requests).sum()
    }
}

/// A month: 30 days.
const TICKS_A_MONTH: f64 = 12.0 * 24.0 * 30.0;
/// An uptime monitor's poll of the public health check, once a minute.
const HEALTH_POLLS_A_MONTH: f64 = 60.0 * 24.0 * 30.0;
/// A dashboard open 8 hours a day, its overview loaded once a minute.
const DASHBOARD_LOADS_A_MONTH: f64 = 60.0 * 8.0 * 30.0;
/// Weekly payouts a month per barber: 52 weeks over 12 months.
const WEEKLY_PAYOUTS_A_MONTH: f64 = 52.0 / 12.0;

/// What was measured once each: a tick with nothing due, a health poll, a dashboard load, and
/// one payout (the average of a run).
pub struct Measured {
    pub tick: Usage,
    pub health_poll: Usage,
    pub dashboard_load: Usage,
    /// A run of `payouts` payouts.
    pub payout_run: Usage,
    pub payouts: usize,
    /// The template's CloudWatch alarms.
    pub alarms: u32,
}

impl Measured {
    fn payout_dollars(&self) -> f64 {
        self.payout_run.dollars() / self.payouts.max(1) as f64
    }
}

/// The bill a month as a Markdown table: the fixed lines, then what payouts add for an idle
/// platform, 10,000 and 1,000,000 barbers paid weekly.
pub fn print(measured: &Measured) {
    let fixed = [
        (
            "planner ticks (every 5 minutes)",
            measured.tick.dollars() * TICKS_A_MONTH,
        ),
        (
            "health polls (1 a minute)",
            measured.health_poll.dollars() * HEALTH_POLLS_A_MONTH,
        ),
        (
            "dashboard (8 h a day, a load a minute)",
            measured.dashboard_load.dollars() * DASHBOARD_LOADS_A_MONTH,
        ),
        (
            "CloudWatch alarms",
            f64::from(measured.alarms) * prices::ALARM_MONTH,
        ),
        ("the alarm topic's KMS key", prices::KMS_KEY_MONTH),
    ];
    println!(
        "\nThe AWS bill a month (30 days; list prices of 2026-11-01, us-east-1; Stripe, email, SMS and logs excluded)\n"
    );
    println!("| fixed | requests a month | $ a month |");
    println!("|---|---:|---:|");
    let counts = [
        measured.tick.all_requests() as f64 * TICKS_A_MONTH,
        measured.health_poll.all_requests() as f64 * HEALTH_POLLS_A_MONTH,
        measured.dashboard_load.all_requests() as f64 * DASHBOARD_LOADS_A_MONTH,
        0.0,
        0.0,
    ];
    for ((name, dollars), requests) in fixed.iter().zip(counts) {
        println!("| {name} | {requests:.0} | {dollars:.2} |");
    }
    let fixed_total: f64 = fixed.iter().map(|(_, dollars)| dollars).sum();
    println!("| **fixed, all** | | **{fixed_total:.2}** |");
    println!("\n| platform | payouts a month | payouts $ | fixed $ | **total $ a month** |");
    println!("|---|---:|---:|---:|---:|");
    for (name, barbers) in [
        ("idle", 0.0),
        ("10,000 barbers paid weekly", 10_000.0),
        ("1,000,000 barbers paid weekly", 1_000_000.0),
    ] {
        let payouts = barbers * WEEKLY_PAYOUTS_A_MONTH;
        let variable = measured.payout_dollars() * payouts;
        println!(
            "| {name} | {payouts:.0} | {variable:.2} | {fixed_total:.2} | **{:.2}** |",
            variable + fixed_total
        );
    }
    println!("\n| one of each | requests | $ | of which the largest |");
    println!("|---|---:|---:|---|");
    for (name, usage, per) in [
        ("tick with nothing due", &measured.tick, 1.0),
        ("health poll", &measured.health_poll, 1.0),
        ("dashboard load", &measured.dashboard_load, 1.0),
        (
            "payout",
            &measured.payout_run,
            measured.payouts.max(1) as f64,
        ),
    ] {
        let mut lines = usage.cost_lines();
        lines.sort_by(|a, b| b.1.total_cmp(&a.1));
        println!(
            "| {name} | {:.2} | {:.7} | {} |",
            usage.all_requests() as f64 / per,
            usage.dollars() / per,
            lines
                .iter()
                .take(2)
                .map(|(line, dollars)| format!("{line} {:.7}", dollars / per))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "\nOne payout: {:.2} requests, ${:.6}; a tick with nothing due: {} requests, {:.0} invocations, ${:.6}; \
         a health poll: {} requests, ${:.6}; a dashboard load: {} requests, ${:.6}.",
        measured.payout_run.all_requests() as f64 / measured.payouts.max(1) as f64,
        measured.payout_dollars(),
        measured.tick.all_requests(),
        measured.tick.invocations,
        measured.tick.dollars(),
        measured.health_poll.all_requests(),
        measured.health_poll.dollars(),
        measured.dashboard_load.all_requests(),
        measured.dashboard_load.dollars(),
    );
}
