//! The job queue as one task sees it: jobs sent twice or late, deliveries handed out in another
//! order. (A visibility timeout that expires mid-job is the executor task's fault: it stalls.)
//!
//! It also sees each acknowledgement: a job is done with only when its payout's outcome is
//! recorded, or when a new job for the payout was sent while it ran (a retry's).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use payout_app::ports::Store;
use payout_core::ids::PayoutId;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use payout_app::ports::{Clock, Delivery, JobQueue, PayoutJob, QueueDepth, QueueError};
use payout_core::status::PayoutStatus;

use super::faults::{Chaos, FaultKind};
use super::scheduler::yield_now;

pub struct ChaosQueue {
    inner: Arc<dyn JobQueue>,
    /// The store without faults, read at each acknowledgement.
    store: Arc<dyn Store>,
    chaos: Chaos,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Jobs sent per payout.
    sent: HashMap<PayoutId, u64>,
    /// Payouts a job was sent for since the last crash of the process.
    sent_since_crash: HashSet<PayoutId>,
    /// Each delivery out: its payout, and the jobs sent for it when it was received.
    out: HashMap<String, (PayoutId, u64)>,
}

impl ChaosQueue {
    pub fn new(inner: Arc<dyn JobQueue>, store: Arc<dyn Store>, chaos: Chaos) -> Self {
        Self {
            inner,
            store,
            chaos,
            seen: Mutex::default(),
        }
    }

    /// The process dies between ticks: every job it held in its queue is gone (whatever their
    /// delay). Nothing is in hand: every task of the tick has finished.
    pub async fn crash(&self) {
        let mut lost = 0;
        // Every job, however long its delay.
        let whenever = self.chaos.clock.now() + TimeDelta::days(3650);
        while let Ok(deliveries) = self.inner.receive(whenever, 100).await
            && !deliveries.is_empty()
        {
            for delivery in deliveries {
                lost += 1;
                let _ = self.inner.ack(&delivery.receipt).await;
            }
        }
        let mut seen = self.seen.lock();
        seen.out.clear();
        seen.sent_since_crash.clear();
        drop(seen);
        self.chaos
            .note(|| format!("the process dies with {lost} job(s) in its queue"));
    }

    /// Whether a job was sent for `payout` since the last crash.
    pub fn sent_since_crash(&self, payout: &PayoutId) -> bool {
        self.seen.lock().sent_since_crash.contains(payout)
    }

    /// Whether the payout's last change resumed it from hold: the job's own work ended in the
    /// hold, and whoever resumed it (Stripe's webhook, the planner) sends it a job of its own
    /// (or, had it crashed first, recovery finds it queued and due).
    async fn resumed_from_hold(&self, payout_id: &PayoutId) -> bool {
        self.store.audit_trail(payout_id).await.is_ok_and(|trail| {
            trail
                .last()
                .is_some_and(|e| e.from == Some(PayoutStatus::OnHold))
        })
    }

    /// (g) An acknowledged job leaves its payout settled, retry-scheduled with a new job, or
    /// gone; never queued or processing with no job left to finish it.
    async fn check_done(&self, receipt: &str) {
        let Some((payout_id, sent_then)) = self.seen.lock().out.remove(receipt) else {
            return;
        };
        let sent_since = self
            .seen
            .lock()
            .sent
            .get(&payout_id)
            .copied()
            .unwrap_or_default();
        if sent_since > sent_then {
            return;
        }
        if let Ok(Some(payout)) = self.store.get_payout(&payout_id).await
            && matches!(
                payout.status,
                PayoutStatus::Queued | PayoutStatus::Processing
            )
            && !self.resumed_from_hold(&payout_id).await
        {
            self.chaos.violated(format!(
                "(g) the job of {payout_id} was acknowledged with the payout still {}: its outcome was lost",
                payout.status
            ));
        }
    }
}

#[async_trait]
impl JobQueue for ChaosQueue {
    async fn send(&self, jobs: &[PayoutJob]) -> Result<(), QueueError> {
        yield_now().await;
        let mut sent = Vec::with_capacity(jobs.len());
        for job in jobs {
            let mut seen = self.seen.lock();
            *seen.sent.entry(job.payout_id.clone()).or_default() += 1;
            seen.sent_since_crash.insert(job.payout_id.clone());
            drop(seen);
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
        let mut seen = self.seen.lock();
        for delivery in &deliveries {
            let payout_id = delivery.job.payout_id.clone();
            let sent = seen.sent.get(&payout_id).copied().unwrap_or_default();
            seen.out.insert(delivery.receipt.clone(), (payout_id, sent));
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.check_done(receipt).await;
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

    async fn ready(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
        self.inner.ready(now).await
    }

    async fn redrive_dead_letters(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
        self.inner.redrive_dead_letters(now).await
    }
}
