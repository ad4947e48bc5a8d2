//! The job queue on SQS (with its urgent lane), and the queue of due-index shards the planner
//! fans out to.
//!
//! SQS delays a message by at most 15 minutes; a job due later (the 1 h retry, an off-peak
//! start) is sent with the longest delay and, when delivered early, the executor sees the
//! payout's `next_attempt_at` and defers it: a fresh message with the next delay, never a
//! changed visibility, whose receives would count towards the dead-letter threshold.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use payout_app::ports::{
    Delivery, JobQueue, PayoutJob, QueueDepth, QueueError, ShardPlan, ShardQueue,
};

/// SQS's limits: 10 messages per batch call, 900 s of delay.
const BATCH: usize = 10;
const MAX_DELAY_SECONDS: i64 = 900;

/// The job queue: one SQS queue, or two when the deployment has an urgent lane. SQS keeps no
/// order of priority, so a job [`PayoutJob::in_urgent_lane`] goes to a queue of its own, which
/// every executor looks at before its own batch; both dead-letter to the same queue.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    urgent_url: Option<String>,
    dead_letter_url: String,
}

fn error(e: impl std::error::Error) -> QueueError {
    QueueError(DisplayErrorContext(e).to_string())
}

/// The job a message body carries (the executor Lambda parses SQS events with this too).
pub fn parse_job(body: &str) -> Result<PayoutJob, QueueError> {
    serde_json::from_str(body).map_err(|e| QueueError(format!("malformed job message: {e}")))
}

fn seconds_until(at: DateTime<Utc>, now: DateTime<Utc>, max: i64) -> i32 {
    i32::try_from((at - now).num_seconds().clamp(0, max)).unwrap_or(0)
}

impl SqsQueue {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        dead_letter_url: impl Into<String>,
    ) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            urgent_url: None,
            dead_letter_url: dead_letter_url.into(),
        }
    }

    /// The same queue with its urgent lane at `url`.
    pub fn with_urgent_lane(self, url: impl Into<String>) -> Self {
        Self {
            urgent_url: Some(url.into()),
            ..self
        }
    }

    /// The urgent lane's URL, when the deployment has one.
    pub fn urgent_lane(&self) -> Option<&str> {
        self.urgent_url.as_deref()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The lanes, the urgent one first.
    fn lanes(&self) -> impl Iterator<Item = &str> {
        self.urgent_url
            .as_deref()
            .into_iter()
            .chain(std::iter::once(self.queue_url.as_str()))
    }

    fn lane_of(&self, job: &PayoutJob) -> &str {
        match &self.urgent_url {
            Some(url) if job.in_urgent_lane() => url,
            _ => &self.queue_url,
        }
    }

    async fn attribute(&self, url: &str, names: &[QueueAttributeName]) -> Result<u64, QueueError> {
        let mut request = self.client.get_queue_attributes().queue_url(url);
        for name in names {
            request = request.attribute_names(name.clone());
        }
        let output = request.send().await.map_err(error)?;
        let attributes: HashMap<_, _> = output.attributes().cloned().unwrap_or_default();
        Ok(names
            .iter()
            .filter_map(|name| attributes.get(name))
            .filter_map(|value| value.parse::<u64>().ok())
            .sum())
    }

    async fn send_at(&self, jobs: &[PayoutJob], now: DateTime<Utc>) -> Result<(), QueueError> {
        let mut by_lane: HashMap<&str, Vec<(String, i32)>> = HashMap::new();
        for job in jobs {
            let body = serde_json::to_string(job).map_err(|e| QueueError(e.to_string()))?;
            by_lane
                .entry(self.lane_of(job))
                .or_default()
                .push((body, seconds_until(job.not_before, now, MAX_DELAY_SECONDS)));
        }
        for (url, messages) in by_lane {
            send_messages(&self.client, url, &messages).await?;
        }
        Ok(())
    }

    async fn receive_from(&self, url: &str, max: usize) -> Result<Vec<Delivery>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(max.clamp(1, BATCH)).unwrap_or(10))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(error)?;
        output
            .messages()
            .iter()
            .map(|message| {
                Ok(Delivery {
                    receipt: receipt(url, message.receipt_handle().unwrap_or_default()),
                    job: parse_job(message.body().unwrap_or_default())?,
                    receive_count: message
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|count| count.parse().ok())
                        .unwrap_or(1),
                })
            })
            .collect()
    }

    /// Every lane's figure for `names`, summed.
    async fn lanes_attribute(&self, names: &[QueueAttributeName]) -> Result<u64, QueueError> {
        let mut total = 0;
        for url in self.lanes() {
            total += self.attribute(url, names).await?;
        }
        Ok(total)
    }
}

/// A delivery's receipt names the lane it came from, whose URL its deletion needs (SQS's
/// receipt handles and URLs hold no space).
fn receipt(url: &str, handle: &str) -> String {
    format!("{url} {handle}")
}

fn lane_and_handle(receipt: &str) -> Result<(&str, &str), QueueError> {
    receipt
        .split_once(' ')
        .ok_or_else(|| QueueError(format!("not a receipt of this queue: {receipt}")))
}

/// Calls to SendMessageBatch in flight at once: a planner page of 500 jobs is 50 calls, whose
/// round trips one after another would cost more than planning the page.
const SENDS_AT_ONCE: usize = 8;

/// Sends each (body, delay in seconds) to `url`, ten to a call.
async fn send_messages(
    client: &Client,
    url: &str,
    messages: &[(String, i32)],
) -> Result<(), QueueError> {
    let calls: Vec<_> = messages
        .chunks(BATCH)
        .map(|chunk| send_batch(client, url, chunk))
        .collect();
    futures::stream::iter(calls)
        .buffer_unordered(SENDS_AT_ONCE)
        .try_collect()
        .await
}

async fn send_batch(client: &Client, url: &str, chunk: &[(String, i32)]) -> Result<(), QueueError> {
    let entries = chunk
        .iter()
        .enumerate()
        .map(|(i, (body, delay))| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .delay_seconds(*delay)
                .build()
                .map_err(error)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let output = client
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(error)?;
    match output.failed().first() {
        Some(failed) => Err(QueueError(format!(
            "{} of {} messages not sent: {}",
            output.failed().len(),
            chunk.len(),
            failed.message().unwrap_or("no reason given")
        ))),
        None => Ok(()),
    }
}

/// The queue of shards to plan: each message starts a planner invocation (its event source).
#[derive(Clone)]
pub struct SqsShardQueue {
    client: Client,
    queue_url: String,
}

impl SqsShardQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

/// The shard plan a message body carries (the planner parses its SQS events with this).
pub fn parse_shard_plan(body: &str) -> Result<ShardPlan, QueueError> {
    serde_json::from_str(body).map_err(|e| QueueError(format!("malformed shard message: {e}")))
}

#[async_trait]
impl ShardQueue for SqsShardQueue {
    async fn send_plans(&self, plans: &[ShardPlan]) -> Result<(), QueueError> {
        let messages = plans
            .iter()
            .map(|plan| {
                let body = serde_json::to_string(plan).map_err(|e| QueueError(e.to_string()))?;
                Ok((body, 0))
            })
            .collect::<Result<Vec<_>, QueueError>>()?;
        send_messages(&self.client, &self.queue_url, &messages).await
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, jobs: &[PayoutJob]) -> Result<(), QueueError> {
        self.send_at(jobs, Utc::now()).await
    }

    /// The urgent lane's jobs first, then the others.
    async fn receive(&self, _now: DateTime<Utc>, max: usize) -> Result<Vec<Delivery>, QueueError> {
        let mut deliveries = Vec::new();
        for url in self.lanes() {
            let room = max.min(BATCH).saturating_sub(deliveries.len());
            if room == 0 {
                break;
            }
            deliveries.extend(self.receive_from(url, room).await?);
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let (url, handle) = lane_and_handle(receipt)?;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn defer(&self, delivery: &Delivery, until: DateTime<Utc>) -> Result<(), QueueError> {
        // Changing the message's visibility would count its next receive towards the
        // dead-letter threshold, so a job deferred often enough would be dead-lettered while
        // merely waiting. It goes back as a fresh message instead (sent first: at least once).
        let job = PayoutJob {
            not_before: until,
            ..delivery.job.clone()
        };
        self.send_at(&[job], Utc::now()).await?;
        self.ack(&delivery.receipt).await
    }

    async fn depth(&self, _now: DateTime<Utc>) -> Result<QueueDepth, QueueError> {
        Ok(QueueDepth {
            waiting: self
                .lanes_attribute(&[
                    QueueAttributeName::ApproximateNumberOfMessages,
                    QueueAttributeName::ApproximateNumberOfMessagesDelayed,
                ])
                .await?,
            in_flight: self
                .lanes_attribute(&[QueueAttributeName::ApproximateNumberOfMessagesNotVisible])
                .await?,
            dead_letter: self
                .attribute(
                    &self.dead_letter_url,
                    &[QueueAttributeName::ApproximateNumberOfMessages],
                )
                .await?,
            oldest_ready_ms: None,
        })
    }

    /// The visible messages, one GetQueueAttributes a lane (the planner's role may read no
    /// more): delayed ones (deferred low priority, retries, jobs held back by a 429) are not
    /// ready, and counting them would keep a loaded hour looking loaded.
    async fn ready(&self, _now: DateTime<Utc>) -> Result<u64, QueueError> {
        self.lanes_attribute(&[QueueAttributeName::ApproximateNumberOfMessages])
            .await
    }

    async fn redrive_dead_letters(&self, now: DateTime<Utc>) -> Result<u64, QueueError> {
        let mut moved = 0;
        loop {
            let output = self
                .client
                .receive_message()
                .queue_url(&self.dead_letter_url)
                .max_number_of_messages(10)
                .send()
                .await
                .map_err(error)?;
            if output.messages().is_empty() {
                return Ok(moved);
            }
            for message in output.messages() {
                // A job that cannot be parsed stays in the dead-letter queue for a human.
                let Ok(job) = parse_job(message.body().unwrap_or_default()) else {
                    continue;
                };
                let job = PayoutJob {
                    not_before: now,
                    ..job
                };
                self.send_at(std::slice::from_ref(&job), now).await?;
                self.client
                    .delete_message()
                    .queue_url(&self.dead_letter_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .map_err(error)?;
                moved += 1;
            }
        }
    }
}
