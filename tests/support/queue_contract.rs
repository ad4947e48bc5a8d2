//! What every `JobQueue` must do, whatever it is built on (the in-process queue and SQS). Each
//! function takes a fresh, empty queue. Times are real: SQS keeps its own clock, so the
//! checks wait where they need time to pass.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use payout_app::ports::{JobQueue, PayoutJob};
use payout_core::ids::PayoutId;

fn job(id: &str, delay: TimeDelta) -> PayoutJob {
    PayoutJob {
        payout_id: PayoutId::parse(id).unwrap(),
        not_before: Utc::now() + delay,
        priority: 0,
    }
}

/// A job is delivered once, invisible to other receivers while in hand, and gone once
/// acknowledged.
pub async fn a_job_is_delivered_then_gone_once_acknowledged(queue: &dyn JobQueue) {
    queue.send(&[job("po_1", TimeDelta::zero())]).await.unwrap();
    let deliveries = queue.receive(Utc::now(), 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].job.payout_id.as_str(), "po_1");
    assert_eq!(deliveries[0].receive_count, 1);
    assert!(
        queue.receive(Utc::now(), 10).await.unwrap().is_empty(),
        "in hand: invisible to other receivers"
    );
    queue.ack(&deliveries[0].receipt).await.unwrap();
    let depth = queue.depth(Utc::now()).await.unwrap();
    assert_eq!((depth.waiting, depth.in_flight), (0, 0), "{depth:?}");
}

/// A deferred delivery is not seen again before its time, and is seen after it.
pub async fn a_deferred_job_comes_back_at_its_time(queue: &dyn JobQueue) {
    queue.send(&[job("po_2", TimeDelta::zero())]).await.unwrap();
    let deliveries = queue.receive(Utc::now(), 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    queue
        .defer(&deliveries[0], Utc::now() + TimeDelta::seconds(2))
        .await
        .unwrap();
    assert!(queue.receive(Utc::now(), 10).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let again = queue.receive(Utc::now(), 10).await.unwrap();
    assert_eq!(again.len(), 1, "back after its time");
    assert_eq!(again[0].job.payout_id.as_str(), "po_2");
    assert_eq!(
        again[0].receive_count, 1,
        "a deferral is not a failed receive: it never counts towards the dead-letter threshold"
    );
}

/// A job sent for later is not delivered before its `not_before`; the others are, and the
/// depth counts what waits and what is in hand.
pub async fn a_job_for_later_waits_and_depth_counts(queue: &dyn JobQueue) {
    queue
        .send(&[
            job("po_now_1", TimeDelta::zero()),
            job("po_now_2", TimeDelta::zero()),
            job("po_later", TimeDelta::seconds(2)),
        ])
        .await
        .unwrap();
    let mut ready: Vec<String> = Vec::new();
    for _ in 0..3 {
        for delivery in queue.receive(Utc::now(), 10).await.unwrap() {
            ready.push(delivery.job.payout_id.to_string());
        }
    }
    ready.sort();
    assert_eq!(ready, ["po_now_1", "po_now_2"]);
    let depth = queue.depth(Utc::now()).await.unwrap();
    assert_eq!(depth.in_flight, 2, "{depth:?}");
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let later = queue.receive(Utc::now(), 10).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].job.payout_id.as_str(), "po_later");
}

/// Among jobs ready at once an operator's goes first, whatever was sent before it, and its
/// receipt acknowledges it as any other does.
pub async fn an_urgent_job_is_delivered_first(queue: &dyn JobQueue) {
    queue
        .send(&[
            job("po_bulk_1", TimeDelta::zero()),
            job("po_bulk_2", TimeDelta::zero()),
        ])
        .await
        .unwrap();
    let urgent = PayoutJob {
        priority: PayoutJob::URGENT,
        ..job("po_urgent", TimeDelta::zero())
    };
    queue.send(&[urgent]).await.unwrap();
    let first = queue.receive(Utc::now(), 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].job.payout_id.as_str(), "po_urgent");
    queue.ack(&first[0].receipt).await.unwrap();
    let mut rest = Vec::new();
    for _ in 0..3 {
        for delivery in queue.receive(Utc::now(), 10).await.unwrap() {
            queue.ack(&delivery.receipt).await.unwrap();
            rest.push(delivery.job.payout_id.to_string());
        }
    }
    rest.sort();
    assert_eq!(rest, ["po_bulk_1", "po_bulk_2"]);
    let depth = queue.depth(Utc::now()).await.unwrap();
    assert_eq!((depth.waiting, depth.in_flight), (0, 0), "{depth:?}");
}
