//! The embedded executor loop's body: receive deliveries, execute them as a batch, and tell the
//! queue what happened to each. The Lambda executor maps the same [`JobOutcome`]s onto SQS
//! batch responses.

use chrono::{DateTime, Utc};

use crate::error::AppError;
use crate::execute::{JobOutcome, execute_payout, execute_payouts};
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
    respond(p, delivery, outcome).await?;
    Ok(outcome)
}

/// Applies deliveries as one batch ([`execute_payouts`]); a delivery whose own work failed is
/// neither acknowledged nor deferred. When the batch fails as a whole (a record that cannot be
/// read, a store that refuses the batch), each delivery is taken alone, so that one bad record
/// holds back only its own job.
pub async fn process_deliveries(
    p: &Services,
    deliveries: &[Delivery],
    owner: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let ids: Vec<_> = deliveries.iter().map(|d| d.job.payout_id.clone()).collect();
    let outcomes = match execute_payouts(p, &ids, owner, now).await {
        Ok(outcomes) => outcomes,
        Err(error) => {
            tracing::warn!(%error, deliveries = deliveries.len(), "the batch failed; taking its jobs one by one");
            for delivery in deliveries {
                if let Err(error) = process_delivery(p, delivery, owner, now).await {
                    tracing::error!(payout_id = %delivery.job.payout_id, %error, "job failed; it will be redelivered");
                }
            }
            return Ok(());
        }
    };
    for (delivery, outcome) in deliveries.iter().zip(outcomes) {
        if let Some(outcome) = outcome {
            respond(p, delivery, outcome).await?;
        }
    }
    Ok(())
}

/// Tells the queue what became of a delivery.
async fn respond(p: &Services, delivery: &Delivery, outcome: JobOutcome) -> Result<(), AppError> {
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
    Ok(())
}

/// Receives up to `max` visible deliveries and processes them as one batch. Returns how many
/// were received.
pub async fn drain_once(
    p: &Services,
    owner: &str,
    now: DateTime<Utc>,
    max: usize,
) -> Result<usize, AppError> {
    let deliveries = p.queue.receive(now, max).await?;
    if let Err(error) = process_deliveries(p, &deliveries, owner, now).await {
        tracing::error!(deliveries = deliveries.len(), %error, "batch failed; its jobs will be redelivered");
    }
    Ok(deliveries.len())
}
