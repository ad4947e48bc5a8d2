//! An in-process delay queue with SQS's delivery semantics: at least once, a visibility timeout
//! after each receive, redelivery when it passes, and a dead-letter list after too many
//! receives. Unlike SQS it hands out the ready jobs highest priority first (oldest first among
//! equals), so on a Friday evening the rail's rate is spent on the payouts that matter most.
//! Time is passed in, so a simulated clock drives it.
//!
//! It lives in memory: a crash loses it, and the store's recovery sweep re-enqueues every
//! payout still owed work (see `payout_app::recovery`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;
use payout_app::config::file::QueueSection;
use payout_app::ports::{Delivery, JobQueue, PayoutJob, QueueDepth, QueueError};

#[derive(Debug)]
struct Message {
    job: PayoutJob,
    visible_at: DateTime<Utc>,
    receive_count: u32,
    /// The receipt of the latest delivery; older receipts no longer act on the message.
    receipt: Option<String>,
    /// In `ready` (visible, waiting to be received) rather than in `by_visibility`.
    ready: bool,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    messages: HashMap<u64, Message>,
    /// (visible_at, id) of the messages not visible yet: delayed, or in flight.
    by_visibility: BTreeSet<(DateTime<Utc>, u64)>,
    /// (priority, highest first; id, oldest first) of the visible messages.
    ready: BTreeSet<(Reverse<u8>, u64)>,
    dead_letter: Vec<PayoutJob>,
}

impl State {
    /// Moves the messages visible at `now` to the ready index.
    fn promote(&mut self, now: DateTime<Utc>) {
        while let Some(&(visible_at, id)) = self.by_visibility.first() {
            if visible_at > now {
                break;
            }
            self.by_visibility.pop_first();
            let message = self.messages.get_mut(&id).expect("indexed messages exist");
            message.ready = true;
            self.ready.insert((Reverse(message.job.priority), id));
        }
    }

    /// Takes the message out of whichever index holds it.
    fn unindex(&mut self, id: u64) {
        let message = &self.messages[&id];
        if message.ready {
            self.ready.remove(&(Reverse(message.job.priority), id));
        } else {
            self.by_visibility.remove(&(message.visible_at, id));
        }
    }
}

#[derive(Debug)]
pub struct MemoryQueue {
    visibility_timeout: TimeDelta,
    max_receives: u32,
    state: Mutex<State>,
}

impl MemoryQueue {
    pub fn new(visibility_timeout: TimeDelta, max_receives: u32) -> Self {
        Self {
            visibility_timeout,
            max_receives,
            state: Mutex::new(State::default()),
        }
    }

    pub fn dead_letters(&self) -> Vec<PayoutJob> {
        self.state.lock().dead_letter.clone()
    }

    fn parse_receipt(receipt: &str) -> Option<u64> {
        receipt.split_once(':')?.0.parse().ok()
    }
}

impl MemoryQueue {
    pub fn from_settings(settings: &QueueSection) -> Self {
        let visibility = TimeDelta::from_std(settings.visibility_timeout).unwrap_or(TimeDelta::MAX);
        Self::new(visibility, settings.max_receives)
    }
}

impl Default for MemoryQueue {
    /// The configuration's defaults, which are the SAM template's.
    fn default() -> Self {
        Self::from_settings(&QueueSection::default())
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn send(&self, jobs: &[PayoutJob]) -> Result<(), QueueError> {
        let mut state = self.state.lock();
        for job in jobs {
            let id = state.next_id;
            state.next_id += 1;
            state.by_visibility.insert((job.not_before, id));
            state.messages.insert(
                id,
                Message {
                    job: job.clone(),
                    visible_at: job.not_before,
                    receive_count: 0,
                    receipt: None,
                    ready: false,
                },
            );
        }
        Ok(())
    }

    async fn receive(&self, now: DateTime<Utc>, max: usize) -> Result<Vec<Delivery>, QueueError> {
        let mut state = self.state.lock();
        state.promote(now);
        let mut deliveries = Vec::with_capacity(max.min(state.ready.len()));
        while deliveries.len() < max {
            let Some((_, id)) = state.ready.pop_first() else {
                break;
            };
            let message = state.messages.get_mut(&id).expect("indexed messages exist");
            message.ready = false;
            message.receive_count += 1;
            if message.receive_count > self.max_receives {
                let message = state.messages.remove(&id).expect("present");
                state.dead_letter.push(message.job);
                continue;
            }
            let receipt = format!("{id}:{}", message.receive_count);
            message.receipt = Some(receipt.clone());
            message.visible_at = now + self.visibility_timeout;
            let delivery = Delivery {
                receipt,
                job: message.job.clone(),
                receive_count: message.receive_count,
            };
            let visible_at = message.visible_at;
            state.by_visibility.insert((visible_at, id));
            deliveries.push(delivery);
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let mut state = self.state.lock();
        let Some(id) = Self::parse_receipt(receipt) else {
            return Err(QueueError(format!("malformed receipt `{receipt}`")));
        };
        let current = state
            .messages
            .get(&id)
            .is_some_and(|message| message.receipt.as_deref() == Some(receipt));
        if current {
            state.unindex(id);
            state.messages.remove(&id);
        }
        Ok(())
    }

    async fn defer(&self, delivery: &Delivery, until: DateTime<Utc>) -> Result<(), QueueError> {
        let receipt = delivery.receipt.as_str();
        let mut state = self.state.lock();
        let Some(id) = Self::parse_receipt(receipt) else {
            return Err(QueueError(format!("malformed receipt `{receipt}`")));
        };
        let current = state
            .messages
            .get(&id)
            .is_some_and(|message| message.receipt.as_deref() == Some(receipt));
        if !current {
            return Ok(());
        }
        state.unindex(id);
        let message = state.messages.get_mut(&id).expect("present");
        message.visible_at = until;
        message.ready = false;
        // Deferring is not a failed receive: it does not count towards the dead-letter
        // threshold (the SQS adapter sends a fresh message for the same reason).
        message.receive_count = message.receive_count.saturating_sub(1);
        state.by_visibility.insert((until, id));
        Ok(())
    }

    async fn redrive_dead_letters(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
        let jobs: Vec<PayoutJob> = std::mem::take(&mut self.state.lock().dead_letter)
            .into_iter()
            .map(|job| PayoutJob {
                not_before: now,
                ..job
            })
            .collect();
        self.send(&jobs).await?;
        Ok(jobs.len() as u64)
    }

    async fn ready(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
        let mut state = self.state.lock();
        state.promote(now);
        Ok(state.ready.len() as u64)
    }

    async fn depth(&self, now: DateTime<Utc>) -> Result<QueueDepth, QueueError> {
        let mut state = self.state.lock();
        state.promote(now);
        let mut depth = QueueDepth {
            dead_letter: state.dead_letter.len() as u64,
            ..QueueDepth::default()
        };
        let mut oldest_ready: Option<DateTime<Utc>> = None;
        for message in state.messages.values() {
            if message.ready {
                depth.waiting += 1;
                oldest_ready = Some(
                    oldest_ready
                        .map_or(message.visible_at, |oldest| oldest.min(message.visible_at)),
                );
            } else if message.receipt.is_some() {
                depth.in_flight += 1;
            } else {
                depth.waiting += 1;
            }
        }
        depth.oldest_ready_ms = oldest_ready.map(|at| (now - at).num_milliseconds());
        Ok(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use payout_core::ids::PayoutId;

    fn job(id: &str, at: DateTime<Utc>) -> PayoutJob {
        PayoutJob {
            payout_id: PayoutId::parse(id).unwrap(),
            not_before: at,
            priority: 0,
        }
    }

    #[tokio::test]
    async fn delays_redelivers_and_dead_letters() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let queue = MemoryQueue::new(TimeDelta::minutes(1), 2);
        queue
            .send(&[job("a", t0 + TimeDelta::minutes(5))])
            .await
            .unwrap();
        assert!(queue.receive(t0, 10).await.unwrap().is_empty());

        let first = queue.receive(t0 + TimeDelta::minutes(5), 10).await.unwrap();
        assert_eq!(first.len(), 1);
        // Invisible while in flight, visible again once the timeout passes.
        assert!(
            queue
                .receive(t0 + TimeDelta::minutes(5), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let second = queue.receive(t0 + TimeDelta::minutes(7), 10).await.unwrap();
        assert_eq!(second[0].receive_count, 2);
        // A stale receipt does nothing.
        queue.ack(&first[0].receipt).await.unwrap();
        assert_eq!(
            queue
                .depth(t0 + TimeDelta::minutes(7))
                .await
                .unwrap()
                .in_flight,
            1
        );
        // A third receive exceeds max_receives and dead-letters the job.
        assert!(
            queue
                .receive(t0 + TimeDelta::minutes(9), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(queue.dead_letters().len(), 1);
    }

    #[tokio::test]
    async fn the_highest_priority_ready_job_goes_first_and_equals_in_order() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let queue = MemoryQueue::new(TimeDelta::minutes(1), 5);
        let with = |id: &str, priority: u8, at: DateTime<Utc>| PayoutJob {
            priority,
            ..job(id, at)
        };
        queue
            .send(&[
                with("low", 10, t0),
                with("normal-1", 30, t0),
                with(
                    "urgent-later",
                    PayoutJob::URGENT,
                    t0 + TimeDelta::minutes(1),
                ),
                with("high", 50, t0),
                with("normal-2", 30, t0),
            ])
            .await
            .unwrap();
        let order: Vec<String> = queue
            .receive(t0, 10)
            .await
            .unwrap()
            .iter()
            .map(|delivery| delivery.job.payout_id.to_string())
            .collect();
        assert_eq!(order, ["high", "normal-1", "normal-2", "low"]);
        let later = queue.receive(t0 + TimeDelta::minutes(1), 1).await.unwrap();
        assert_eq!(later[0].job.payout_id.as_str(), "urgent-later");
    }

    #[tokio::test]
    async fn ack_and_defer_act_on_the_current_delivery() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let queue = MemoryQueue::new(TimeDelta::minutes(1), 5);
        queue.send(&[job("a", t0), job("b", t0)]).await.unwrap();
        let got = queue.receive(t0, 10).await.unwrap();
        queue.ack(&got[0].receipt).await.unwrap();
        queue
            .defer(&got[1], t0 + TimeDelta::hours(1))
            .await
            .unwrap();
        assert!(
            queue
                .receive(t0 + TimeDelta::minutes(30), 10)
                .await
                .unwrap()
                .is_empty()
        );
        let later = queue.receive(t0 + TimeDelta::hours(1), 10).await.unwrap();
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].job.payout_id.as_str(), "b");
    }
}
