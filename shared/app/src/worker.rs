//! The embedded executor loop's body: receive deliveries, execute each, and tell the queue what
//! happened. The Lambda executor maps the same [`JobOutcome`]s onto SQS batch responses.

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::execute::{JobOutcome, execute_payout};
use crate::ports::{Delivery, PayoutJob};
use crate::services::Services;

/// Applies one delivery. On an error the delivery is neither acknowledged nor deferred: its
/// visibility timeout brings it back.
pub async fn process_delivery(
    p: &Services,
    delivery: &Delivery,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<JobOutcome, AppError> {
    let outcome = execute_payout(p, &delivery.job.payout_id, owner, now).await?;
    match outcome {
        JobOutcome::Finished => p.queue.ack(&delivery.receipt).await?,
        JobOutcome::RetryAt(at) => {
            // A fresh message for the retry keeps the receive count, and so the dead-letter
            // threshold, for genuinely poisonous jobs.
            p.queue
                .send(&[PayoutJob {
                    not_before: at,
                    ..delivery.job.clone()
                }])
                .await?;
            p.queue.ack(&delivery.receipt).await?;
        }
        JobOutcome::NotYet(at) => p.queue.defer(delivery, at).await?,
    }
    Ok(outcome)
}

/// Receives up to `max` visible deliveries and processes them one by one. Returns how many
/// were received.
pub async fn drain_once(
    p: &Services,
    owner: &str,
    now: DateTime<Utc>,
    max: usize,
) -> Result<usize, AppError> {
    let deliveries = p.queue.receive(now, max).await?;
    for delivery in &deliveries {
        if let Err(error) = process_delivery(p, delivery, owner, now).await {
            tracing::error!(payout_id = %delivery.job.payout_id, %error, "job failed; it will be redelivered");
        }
    }
    Ok(deliveries.len())
}
