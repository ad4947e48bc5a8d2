//! The kept totals held against a recount from the records (`payouts check`, the simulation
//! after each run, the AWS pipeline tests): every payout and its audit trail read, so a check,
//! never a report.

use payout_core::payout::Payout;
use payout_core::totals::{Bucket, Totals, barber_buckets};

use crate::ports::{PayoutQuery, Store, StoreError};

const PAGE: usize = 500;

/// Where the kept totals differ from a recount of every payout (empty when they agree).
pub async fn totals_differences(store: &dyn Store) -> Result<Vec<String>, StoreError> {
    let mut query = PayoutQuery::default();
    let mut payouts: Vec<Payout> = Vec::new();
    loop {
        let page = store.list_payouts(&query, PAGE).await?;
        let Some(last) = page.last() else { break };
        query.after = Some((last.created_at, last.id.clone()));
        let full = page.len() == PAGE;
        payouts.extend(page);
        if !full {
            break;
        }
    }
    let mut trails = Vec::with_capacity(payouts.len());
    // The buckets a change of these payouts can have added to: a kept count there that the
    // recount has no counterpart for shows (a count in a bucket no stored payout touches
    // would not).
    let mut buckets = vec![Bucket::Status];
    for payout in &payouts {
        let trail = store.audit_trail(&payout.id).await?;
        for at in [payout.created_at, payout.updated_at]
            .into_iter()
            .chain(payout.accepted_at)
            .chain(payout.completed_at)
            .chain(trail.iter().map(|event| event.at))
        {
            buckets.push(Bucket::Day(at.date_naive()));
            buckets.push(Bucket::hour_of(at));
            buckets.extend(barber_buckets(payout, at));
        }
        trails.push(trail);
    }
    buckets.sort();
    buckets.dedup();
    let counted = Totals::recount(
        payouts
            .iter()
            .zip(&trails)
            .map(|(payout, trail)| (payout, trail.as_slice())),
    );
    let kept = store.totals(&buckets).await?;
    Ok(kept.differences(&counted))
}
