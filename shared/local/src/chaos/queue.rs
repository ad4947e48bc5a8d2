//! The job queue as one task sees it: jobs sent twice or late, deliveries handed out in another
//! order. (A visibility timeout that expires mid-job is the executor task's fault: it stalls.)

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use payout_app::ports::{Delivery, JobQueue, PayoutJob, QueueDepth, QueueError};

use super::faults::{Chaos, FaultKind};
use super::scheduler::yield_now;

pub struct ChaosQueue {
    pub inner: Arc<dyn JobQueue>,
    pub chaos: Chaos,
}

#[async_trait]
impl JobQueue for ChaosQueue {
    async fn send(&self, jobs: &[PayoutJob]) -> Result<(), QueueError> {
        yield_now().await;
        let mut sent = Vec::with_capacity(jobs.len());
        for job in jobs {
            let mut job = job.clone();
            if self.chaos.roll(|r| r.queue_delay) {
                self.chaos.injected(FaultKind::QueueDelay);
                job.not_before += TimeDelta::minutes(self.chaos.with_rng(|rng| rng.range(1, 90)));
            }
            if self.chaos.roll(|r| r.queue_duplicate) {
                self.chaos.injected(FaultKind::QueueDuplicate);
                sent.push(job.clone());
            }
            sent.push(job);
        }
        self.inner.send(&sent).await
    }

    async fn receive(&self, now: DateTime<Utc>, max: usize) -> Result<Vec<Delivery>, QueueError> {
        yield_now().await;
        let mut deliveries = self.inner.receive(now, max).await?;
        if deliveries.len() > 1 && self.chaos.roll(|r| r.queue_reorder) {
            self.chaos.injected(FaultKind::QueueReorder);
            self.chaos.with_rng(|rng| rng.shuffle(&mut deliveries));
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        yield_now().await;
        self.inner.ack(receipt).await
    }

    async fn defer(&self, delivery: &Delivery, until: DateTime<Utc>) -> Result<(), QueueError> {
        yield_now().await;
        self.inner.defer(delivery, until).await
    }

    async fn depth(&self, now: DateTime<Utc>) -> Result<QueueDepth, QueueError> {
        self.inner.depth(now).await
    }

    async fn redrive_dead_letters(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
        self.inner.redrive_dead_letters(now).await
    }
}
