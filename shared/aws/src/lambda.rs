//! What the Lambda functions do with their events, kept here so each `main` is a few lines and
//! tests drive the same code with recorded events.
//!
//! Functions are configured by environment (set by the SAM template): `TABLE_NAME`,
//! `JOB_QUEUE_URL`, `URGENT_JOB_QUEUE_URL` (optional), `DEAD_LETTER_QUEUE_URL`, `TOPIC_ARN`,
//! for the planner `PLAN_QUEUE_URL`, and for the API `JWT_SECRET`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, TimeDelta, Utc};
use payout_app::config::Settings;
use payout_app::execute::{
    JobOutcome, execute_payout_before, execute_payouts_before, time_for_a_job,
};
use payout_app::payout_events::{PublishReport, publish_payout_events};
use payout_app::plan::{PlanReport, plan_shard};
use payout_app::planner_tick::planner_tick;
use payout_app::ports::{
    EventPublisher, JobQueue, Metric, PayoutJob, QueueError, ShardPlan, ShardQueue,
};
use payout_app::rails::paced::PacedRail;
use payout_app::reconcile::sweep;
use payout_app::{AppConfig, AppError, Services};
use payout_core::pace::PaceSettings;
use payout_core::retry::FailureKind;

use crate::dynamo::DynamoStore;
use crate::dynamo::status_index::backfill_step;
use crate::emf::EmfMetrics;
use crate::event_source::{delete_handled, receive_as_event_source};
use crate::eventbridge::EventBridgePublisher;
use crate::sns::SnsNotifier;
use crate::sqs::{SqsQueue, SqsShardQueue, parse_job, parse_shard_plan};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error(transparent)]
    Settings(#[from] payout_app::config::ConfigError),
    #[error("secret parameter {0}")]
    Secret(String),
    #[error("environment variable {0}: {1}")]
    Invalid(&'static str, &'static str),
}

fn env(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).map_err(|_| ConfigError::Missing(name))
}

/// Where the function's resources are.
#[derive(Debug, Clone)]
pub struct Resources {
    pub table: String,
    pub queue_url: String,
    /// The job queue's urgent lane (`URGENT_JOB_QUEUE_URL`), when the deployment has one.
    pub urgent_queue_url: Option<String>,
    pub dead_letter_url: String,
    pub topic_arn: String,
}

impl Resources {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: env("TABLE_NAME")?,
            queue_url: env("JOB_QUEUE_URL")?,
            urgent_queue_url: std::env::var("URGENT_JOB_QUEUE_URL").ok(),
            dead_letter_url: env("DEAD_LETTER_QUEUE_URL")?,
            topic_arn: env("TOPIC_ARN")?,
        })
    }
}

/// Everything a function needs, built once at cold start and reused by every invocation.
#[derive(Clone)]
pub struct AwsRuntime {
    pub services: Services,
    pub queue: Arc<SqsQueue>,
    /// The whole configuration, for what the functions wire beyond the use cases (sign-in).
    pub settings: Settings,
    /// Where payout events go (the bus `EVENT_BUS_NAME` names); none without one.
    pub events: Option<Arc<dyn EventPublisher>>,
    /// The planner's queue of due-index shards (`PLAN_QUEUE_URL`): with one, its tick sends
    /// each shard to be planned by an invocation of its own; without, the tick plans them all.
    pub shards: Option<Arc<SqsShardQueue>>,
    /// The table itself, for what only DynamoDB has: the leases on those shards (one
    /// invocation at a time per shard) and the status index's backfill.
    pub shard_leases: DynamoStore,
}

impl AwsRuntime {
    /// `service` names the function in its metrics (planner, executor, api).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        resources: &Resources,
        rail: Arc<dyn payout_app::ports::PaymentRail>,
        service: &str,
    ) -> Self {
        let queue = SqsQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            &resources.queue_url,
            &resources.dead_letter_url,
        );
        let queue = Arc::new(match &resources.urgent_queue_url {
            Some(url) => queue.with_urgent_lane(url),
            None => queue,
        });
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &resources.table);
        Self {
            services: Services {
                store: Arc::new(store.clone()),
                queue: queue.clone(),
                rail,
                notifier: Arc::new(SnsNotifier::new(
                    aws_sdk_sns::Client::new(sdk),
                    &resources.topic_arn,
                )),
                metrics: Arc::new(EmfMetrics::new(service)),
                stopwatch: Arc::new(payout_app::ports::SystemClock),
                config: AppConfig::default(),
            },
            queue,
            settings: Settings::default(),
            events: None,
            shards: None,
            shard_leases: store,
        }
    }
}

/// Logs as JSON lines (what CloudWatch Logs Insights and EMF parse), level from `RUST_LOG`.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
}

/// Builds the runtime from the environment; what every function's cold start does. Functions
/// that pay (executor) or confirm payments (api) pass the Stripe rail; the planner never pays.
/// The tunables are `payouts serve`'s configuration: the SSM parameter
/// `PAYOUTS_CONFIG_PARAMETER` names, or the file `PAYOUTS_CONFIG` names (bundled with the
/// function), and `PAYOUTS_<SECTION>__<KEY>` variables, over the defaults.
pub async fn runtime_from_env(
    service: &str,
    rail: Arc<dyn payout_app::ports::PaymentRail>,
) -> Result<AwsRuntime, ConfigError> {
    let sdk = crate::config::sdk_config().await;
    let (settings, mut config) = match std::env::var("PAYOUTS_CONFIG_PARAMETER") {
        Ok(name) if !name.is_empty() => {
            let text = crate::secrets::parameter(&sdk, &name).await?;
            payout_app::config::load::load_text(&text)?
        }
        _ => {
            let file = std::env::var_os("PAYOUTS_CONFIG").map(std::path::PathBuf::from);
            payout_app::config::load(file.as_deref())?
        }
    };
    PacedRail::limits_for(rail.as_ref(), &mut config.rail_pace);
    let rail = Arc::new(PacedRail::new(
        rail,
        pace_share(config.rail_pace)?,
        Arc::new(payout_app::ports::SystemClock),
    ));
    let mut runtime = AwsRuntime::new(&sdk, &Resources::from_env()?, rail, service);
    runtime.services.config = config;
    runtime.settings = settings;
    if let Ok(url) = std::env::var("PLAN_QUEUE_URL")
        && !url.is_empty()
    {
        runtime.shards = Some(Arc::new(SqsShardQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            url,
        )));
    }
    if let Ok(bus) = std::env::var("EVENT_BUS_NAME")
        && !bus.is_empty()
    {
        runtime.events = Some(Arc::new(EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            bus,
        )));
    }
    Ok(runtime)
}

/// This function's share of the deployment's rail rate: the executors running at once share
/// it. `RAIL_PACE_SHARES` is their number, or a sum of numbers (the template's
/// `${ExecutorMaximumConcurrency}+${UrgentExecutorMaximumConcurrency}`, the two event sources'
/// maximum concurrency, since CloudFormation has no arithmetic).
fn pace_share(pace: PaceSettings) -> Result<PaceSettings, ConfigError> {
    let shares = match std::env::var("RAIL_PACE_SHARES") {
        Ok(text) => parse_shares(&text).ok_or(ConfigError::Invalid(
            "RAIL_PACE_SHARES",
            "a whole number from 1, or a sum of them (5+2)",
        ))?,
        Err(_) => NonZeroU32::MIN,
    };
    Ok(PaceSettings { shares, ..pace })
}

fn parse_shares(text: &str) -> Option<NonZeroU32> {
    text.split('+')
        .map(|term| term.trim().parse::<NonZeroU32>().ok())
        .try_fold(0_u32, |sum, term| sum.checked_add(term?.get()))
        .and_then(NonZeroU32::new)
}

/// The Lambda deadline (milliseconds since the epoch) as an instant of this process.
pub fn deadline_instant(deadline_ms: u64) -> std::time::Instant {
    let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    std::time::Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// The Lambda deadline (milliseconds since the epoch) as a time.
pub fn deadline_at(deadline_ms: u64) -> DateTime<Utc> {
    i64::try_from(deadline_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Time the planner leaves itself before the Lambda deadline to finish its page and report.
pub const PLANNER_MARGIN: Duration = Duration::from_secs(10);

/// Pages of the table (a megabyte each) a tick reads for the status index's backfill, until
/// it is done.
const STATUS_INDEX_PAGES: usize = 8;

/// The scheduled tick: the planner's run ([`planner_tick`]) until done or `deadline` (minus the
/// margin). With a shard queue, the due index's shards go there, each planned by an
/// invocation of its own ([`handle_shard_plans`]), so a Friday's million due schedules are
/// planned by as many invocations at once as there are shards.
pub async fn handle_schedule_tick(
    runtime: &AwsRuntime,
    now: DateTime<Utc>,
    deadline: std::time::Instant,
) -> Result<PlanReport, AppError> {
    let keep_going = move || std::time::Instant::now() + PLANNER_MARGIN < deadline;
    // Before the sweep of stalled payouts reads the status index: payouts from before it
    // existed are given their place first (a no-op read once done).
    if let Err(error) = backfill_step(&runtime.shard_leases, STATUS_INDEX_PAGES).await {
        tracing::error!(%error, "the status index's backfill failed; the next tick resumes it");
    }
    let shards = runtime.shards.as_deref().map(|q| q as &dyn ShardQueue);
    let report = planner_tick(&runtime.services, now, &keep_going, shards).await;
    // After planning, in what is left of the invocation: a provider that hangs delays no
    // barber's plan, and a lookup (the rail's timeout at most) starts only while the whole of
    // it fits before the margin.
    let lookup = runtime.services.config.rail_timeout;
    let room_for_a_lookup = move || std::time::Instant::now() + PLANNER_MARGIN + lookup < deadline;
    if let Err(error) = sweep(&runtime.services, now, &room_for_a_lookup).await {
        tracing::error!(%error, "reconciliation sweep failed");
    }
    publish_events(runtime).await;
    report
}

/// Messages from the shard queue: each shard is planned from where its message says until done
/// or `deadline` (minus the margin); a shard with more to plan goes back on the queue as a fresh
/// message starting where this one stopped. A shard another invocation holds the lease on is
/// left to it (the next tick sends it again). What failed is reported for redelivery (planning
/// it again is harmless: every period closes by a conditional write).
pub async fn handle_shard_plans(
    runtime: &AwsRuntime,
    event: SqsEvent,
    now: DateTime<Utc>,
    deadline: std::time::Instant,
) -> SqsBatchResponse {
    let keep_going = move || std::time::Instant::now() + PLANNER_MARGIN < deadline;
    let mut response = SqsBatchResponse::default();
    let mut report = PlanReport::default();
    // A lease outlives the invocation by nothing: a killed planner's shard is free at its
    // deadline.
    let lease_until = now
        + TimeDelta::from_std(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or(TimeDelta::zero());
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let lease = ShardLease {
            owner: format!("planner:{id}"),
            now,
            until: lease_until,
        };
        let planned = match parse_shard_plan(message.body.as_deref().unwrap_or_default()) {
            Ok(plan) => plan_and_continue(runtime, plan, &lease, &keep_going, &mut report).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = planned {
            tracing::warn!(message_id = %id, %error, "shard left for redelivery");
            response.add_failure(id);
        }
    }
    runtime.services.metrics.publish(
        &[],
        &[Metric::count(
            "PayoutsPlanned",
            i64::try_from(report.payouts_queued).unwrap_or(i64::MAX),
        )],
    );
    tracing::info!(?report, "shards planned");
    publish_events(runtime).await;
    response
}

/// Who plans a shard, from when, until when.
struct ShardLease {
    owner: String,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// Plans one shard under its lease; when the deadline stops it with more to plan, gives the
/// lease back and sends where it stopped, in that order, so that the invocation taking the rest
/// up finds the shard free.
async fn plan_and_continue(
    runtime: &AwsRuntime,
    plan: ShardPlan,
    lease: &ShardLease,
    keep_going: &(dyn Fn() -> bool + Sync),
    report: &mut PlanReport,
) -> Result<(), AppError> {
    let shard = plan.shard;
    let leases = &runtime.shard_leases;
    if !leases
        .lease_shard(shard, &lease.owner, lease.now, lease.until)
        .await?
    {
        tracing::info!(
            shard,
            "another invocation is planning this shard; left to it"
        );
        return Ok(());
    }
    let stopped = plan_shard(&runtime.services, plan, lease.now, keep_going, report).await;
    leases.release_shard(shard, &lease.owner).await?;
    if let Some(after) = stopped? {
        let shards = runtime.shards.as_ref().ok_or_else(|| {
            AppError::Queue(QueueError(
                "a shard to continue, and no PLAN_QUEUE_URL to send it to".into(),
            ))
        })?;
        let rest = ShardPlan {
            shard,
            after: Some(after),
        };
        shards.send_plans(&[rest]).await?;
    }
    Ok(())
}

/// Publishes the outbox's payout events when the function has a bus; what fails is logged and
/// left in the outbox for the next invocation.
pub async fn publish_events(runtime: &AwsRuntime) {
    let Some(publisher) = &runtime.events else {
        return;
    };
    match publish_payout_events(&runtime.services, publisher.as_ref(), Utc::now()).await {
        Ok(report) if report != PublishReport::default() => {
            tracing::info!(?report, "payout events published");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "payout events not published; retried later"),
    }
}

/// One SQS batch, its jobs executed together ([`execute_payouts_before`]: one read, every
/// attempt recorded before any payment, the payments concurrent); the ones to see again are
/// reported as batch item failures, so one bad message never fails the batch. A message that
/// cannot be parsed is reported every time and reaches the dead-letter queue after
/// maxReceiveCount. A batch the store fails as a whole is taken job by job, while the
/// invocation (ending at `deadline`) has time for one; the rest are reported for redelivery
/// untouched. An invocation for the bulk of the jobs first pays what waits in the urgent lane.
pub async fn handle_job_batch(
    runtime: &AwsRuntime,
    event: SqsEvent,
    owner: &str,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> SqsBatchResponse {
    if let Some(lane) = runtime.queue.urgent_lane()
        && !from_queue(&event, lane)
    {
        pay_urgent_lane(runtime, lane, owner, now, deadline).await;
    }
    let response = pay_batch(runtime, event, owner, now, deadline).await;
    // The events wait in the outbox for the next invocation if this one has no time left.
    if time_for_a_job(&runtime.services, deadline) {
        publish_events(runtime).await;
    }
    response
}

/// Whether the event's messages come from the queue at `url` (its ARN ends with the queue's
/// name, as its URL does).
fn from_queue(event: &SqsEvent, url: &str) -> bool {
    let name = url.rsplit('/').next().unwrap_or(url);
    event.records.iter().any(|message| {
        message
            .event_source_arn
            .as_deref()
            .is_some_and(|arn| arn.rsplit(':').next() == Some(name))
    })
}

/// Pays a batch of the urgent lane's jobs, received as its event source would, and deletes what
/// it does not report. The lane's own executors pay it too; this keeps an urgent job from
/// waiting for one of them to start while the bulk's executors are all busy. A receive that
/// finds nothing (SQS's short poll can miss a message) costs one request.
async fn pay_urgent_lane(
    runtime: &AwsRuntime,
    lane: &str,
    owner: &str,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) {
    if !time_for_a_job(&runtime.services, deadline) {
        return;
    }
    let sqs = runtime.queue.client();
    let paid = async {
        let (event, handles) = receive_as_event_source(sqs, lane).await?;
        if handles.is_empty() {
            return Ok(());
        }
        let response = pay_batch(runtime, event, owner, now, deadline).await;
        delete_handled(sqs, lane, &handles, &response).await
    };
    if let Err(error) = paid.await {
        tracing::warn!(%error, "the urgent lane not looked at; its own executors pay it");
    }
}

/// One batch of jobs through the protocol; the jobs to see again are reported.
async fn pay_batch(
    runtime: &AwsRuntime,
    event: SqsEvent,
    owner: &str,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    // How long the oldest job of the batch waited on the queue.
    let oldest_sent_ms = event
        .records
        .iter()
        .filter_map(|message| message.attributes.get("SentTimestamp")?.parse::<i64>().ok())
        .min();
    if let Some(sent_ms) = oldest_sent_ms {
        runtime.services.metrics.publish(
            &[],
            &[Metric::millis("QueueAge", now.timestamp_millis() - sent_ms)],
        );
    }
    let mut jobs = Vec::new();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        match parse_job(message.body.as_deref().unwrap_or_default()) {
            Ok(job) => jobs.push((id, job)),
            Err(error) => {
                tracing::warn!(message_id = %id, %error, "job left for redelivery");
                response.add_failure(id);
            }
        }
    }
    if !time_for_a_job(&runtime.services, deadline) {
        tracing::warn!(
            jobs = jobs.len(),
            "too little time left before the deadline; jobs left for redelivery"
        );
        jobs.into_iter()
            .for_each(|(id, _)| response.add_failure(id));
        return response;
    }
    let ids: Vec<_> = jobs.iter().map(|(_, job)| job.payout_id.clone()).collect();
    let outcomes = match execute_payouts_before(&runtime.services, &ids, owner, now, deadline).await
    {
        Ok(outcomes) => outcomes,
        Err(error) => {
            tracing::warn!(%error, "the batch failed; taking its jobs one by one");
            one_by_one(runtime, &jobs, owner, now, deadline).await
        }
    };
    send_again(runtime, jobs, outcomes, &mut response).await;
    response
}

/// Sends a fresh message for each job to run again (a retry, or not yet), so that its message
/// is deleted; reports the jobs whose work failed, or whose fresh message was not sent.
async fn send_again(
    runtime: &AwsRuntime,
    jobs: Vec<(String, PayoutJob)>,
    outcomes: Vec<Option<JobOutcome>>,
    response: &mut SqsBatchResponse,
) {
    let mut again = Vec::new();
    for ((id, job), outcome) in jobs.into_iter().zip(outcomes) {
        match outcome {
            Some(JobOutcome::Finished) => {}
            // A retry or a deferral goes back as a fresh message, and this one is deleted: a
            // changed visibility would count towards the dead-letter threshold, and waiting is
            // not failing.
            Some(JobOutcome::RetryAt(at) | JobOutcome::NotYet(at)) => {
                again.push((
                    id,
                    PayoutJob {
                        not_before: at,
                        ..job
                    },
                ));
            }
            None => response.add_failure(id),
        }
    }
    let fresh: Vec<PayoutJob> = again.iter().map(|(_, job)| job.clone()).collect();
    if fresh.is_empty() {
        return;
    }
    if let Err(error) = runtime.queue.send(&fresh).await {
        tracing::warn!(%error, jobs = fresh.len(), "jobs left for redelivery");
        again
            .into_iter()
            .for_each(|(id, _)| response.add_failure(id));
    }
}

/// Each job on its own, while the invocation has time for one: what became of each, in order
/// (`None` for a job that failed or was not started, left for redelivery).
async fn one_by_one(
    runtime: &AwsRuntime,
    jobs: &[(String, PayoutJob)],
    owner: &str,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Vec<Option<JobOutcome>> {
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (id, job) in jobs {
        if !time_for_a_job(&runtime.services, deadline) {
            tracing::warn!(
                jobs = jobs.len() - outcomes.len(),
                "too little time left before the deadline; jobs left for redelivery"
            );
            break;
        }
        let span = tracing::info_span!("job", message_id = %id);
        let _entered = span.enter();
        let p = &runtime.services;
        match execute_payout_before(p, &job.payout_id, owner, now, deadline).await {
            Ok(outcome) => outcomes.push(Some(outcome)),
            Err(error) => {
                tracing::warn!(%error, "job left for redelivery");
                outcomes.push(None);
            }
        }
    }
    outcomes.resize(jobs.len(), None);
    outcomes
}

/// The rail of a function that must never pay (the webhooks): it refuses every payment with a
/// reason, so a wiring mistake fails visibly instead of paying.
pub struct UnconfiguredRail;

#[async_trait::async_trait]
impl payout_app::ports::PaymentRail for UnconfiguredRail {
    async fn transfer(
        &self,
        _request: &payout_app::ports::TransferRequest,
    ) -> Result<payout_app::ports::TransferReceipt, payout_app::ports::RailError> {
        Err(payout_app::ports::RailError {
            kind: FailureKind::InsufficientPermissions,
            message: "this function does not pay; payouts are paid by the executor".into(),
        })
    }

    async fn find_transfer(
        &self,
        _payout: &payout_core::ids::PayoutId,
    ) -> Result<Option<payout_app::ports::TransferReceipt>, payout_app::ports::RailError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rail_shares_are_a_number_or_a_sum_of_them() {
        assert_eq!(parse_shares("5").map(NonZeroU32::get), Some(5));
        assert_eq!(parse_shares("50+2").map(NonZeroU32::get), Some(52));
        for bad in ["", "0", "5+", "5+0", "-1", "two", "4294967295+1"] {
            assert_eq!(parse_shares(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_event_names_the_queue_its_messages_come_from() {
        let event: SqsEvent = serde_json::from_value(serde_json::json!({"Records": [{
            "messageId": "1", "body": "{}", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:payouts-UrgentJobQueue-AbC"
        }]}))
        .unwrap();
        let urgent = "https://sqs.us-east-1.amazonaws.com/123456789012/payouts-UrgentJobQueue-AbC";
        let bulk = "https://sqs.us-east-1.amazonaws.com/123456789012/payouts-JobQueue-XyZ";
        assert!(from_queue(&event, urgent));
        assert!(!from_queue(&event, bulk));
        assert!(!from_queue(&SqsEvent::default(), urgent));
    }
}
