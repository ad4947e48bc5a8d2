//! The job queue between planner and executor: at-least-once, with delayed delivery.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payout_core::ids::PayoutId;
use payout_core::priority::PriorityClass;
use serde::{Deserialize, Serialize};

/// "Execute this payout, not before this instant." Duplicates are expected and harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutJob {
    pub payout_id: PayoutId,
    pub not_before: DateTime<Utc>,
    /// Among jobs ready to run, a queue that can order them hands out the highest first: the
    /// payout's priority score, or [`PayoutJob::URGENT`] for one an operator asked for. Jobs
    /// sent before it existed read as 0.
    #[serde(default)]
    pub priority: u8,
}

impl PayoutJob {
    /// A manual payout's job goes before every scheduled one.
    pub const URGENT: u8 = u8::MAX;

    /// Whether a queue that cannot order its jobs (SQS) keeps this one in its urgent lane, a
    /// queue of its own that every executor looks at first: an operator's payouts and the
    /// high-priority ones, a few in a hundred on a Friday, so they never wait behind the bulk.
    pub fn in_urgent_lane(&self) -> bool {
        Self::urgent_lane_takes(self.priority)
    }

    /// Whether a job of `priority` goes in the urgent lane.
    pub fn urgent_lane_takes(priority: u8) -> bool {
        PriorityClass::of(priority) >= PriorityClass::High
    }
}

/// A received job; `receipt` acknowledges or defers this delivery only.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub receipt: String,
    pub job: PayoutJob,
    pub receive_count: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub waiting: u64,
    pub in_flight: u64,
    pub dead_letter: u64,
    /// How long the oldest job ready to run has waited, when the queue can tell (SQS reports
    /// it to CloudWatch as ApproximateAgeOfOldestMessage instead).
    pub oldest_ready_ms: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
#[error("queue: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn send(&self, jobs: &[PayoutJob]) -> Result<(), QueueError>;

    /// Up to `max` deliveries visible at `now`; each stays invisible to other receivers until
    /// acknowledged, deferred, or its visibility timeout passes (then it is delivered again).
    async fn receive(&self, now: DateTime<Utc>, max: usize) -> Result<Vec<Delivery>, QueueError>;

    async fn ack(&self, receipt: &str) -> Result<(), QueueError>;

    /// Hands the delivery back, to be received again at `until`. A deferral (the barber is busy,
    /// the job is early) is not a failed receive: it never counts towards the dead-letter
    /// threshold.
    async fn defer(&self, delivery: &Delivery, until: DateTime<Utc>) -> Result<(), QueueError>;

    async fn depth(&self, now: DateTime<Utc>) -> Result<QueueDepth, QueueError>;

    /// How many jobs are ready to run now (neither delayed nor in hand): what the planner
    /// reads, once a page, to tell whether the system is loaded. A queue that cannot tell ready
    /// from delayed counts every job waiting.
    async fn ready(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
        Ok(self.depth(now).await?.waiting)
    }

    /// Moves every dead-lettered job back onto the queue, visible at `now`; returns how many.
    async fn redrive_dead_letters(&self, now: DateTime<Utc>) -> Result<u64, QueueError>;
}
