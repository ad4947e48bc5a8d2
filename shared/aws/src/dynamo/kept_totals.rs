//! The counts and sums kept with every payout change ([`payout_core::totals`]): an item per
//! bucket and shard (`TOTALS#<bucket>`, sort key the shard), added to with `ADD` in the
//! transaction that writes the change. A payout's changes all go to one of [`SHARDS`] items
//! per bucket, so a Friday's writers spread over them instead of all conflicting on one item
//! (two transactions touching one item at once: one is cancelled, and sent again by
//! `transact`); a read gets a bucket's shards in one `BatchGetItem` (12 buckets to a call).
//!
//! A table written before the totals were kept starts them at zero: the counts of its older
//! payouts are missing until a recount writes them (not built yet; SQLite's migration does
//! it).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use payout_app::ports::StoreError;
use payout_core::ids::PayoutId;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::totals::{Bucket, Tally, Totals, by_bucket, tallies};

use super::DynamoStore;
use super::item::{Item, build_error, get_s, key, n};

/// Items per bucket, each taking the changes of an eighth of the payouts.
pub const SHARDS: u64 = 8;

/// The shard of a payout's totals, and of its place in the status index.
pub(super) fn shard_of(payout: &PayoutId) -> u64 {
    // FNV-1a: stable across builds and machines, unlike the standard library's hasher.
    let hash = payout
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    hash % SHARDS
}

fn bucket_key(bucket: &Bucket, shard: u64) -> Item {
    key(format!("TOTALS#{}", bucket.key()), shard.to_string())
}

/// The additions `event` (the change that left `payout` as it is) makes, an update per bucket,
/// to go in the change's own transaction.
pub fn count(
    store: &DynamoStore,
    payout: &Payout,
    event: &AuditEvent,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let shard = shard_of(&payout.id);
    by_bucket(&tallies(payout, event))
        .0
        .iter()
        .map(|(bucket, counters)| {
            let mut update = Update::builder()
                .table_name(&store.table)
                .set_key(Some(bucket_key(bucket, shard)));
            let mut adds = Vec::with_capacity(counters.len());
            for (i, (counter, value)) in counters.iter().enumerate() {
                adds.push(format!("#c{i} :v{i}"));
                update = update
                    .expression_attribute_names(format!("#c{i}"), counter)
                    .expression_attribute_values(format!(":v{i}"), n(*value));
            }
            let update = update
                .update_expression(format!("ADD {}", adds.join(", ")))
                .build()
                .map_err(build_error)?;
            Ok(TransactWriteItem::builder().update(update).build())
        })
        .collect()
}

/// The kept counters of `buckets`, every shard of each summed. Read eventually consistently
/// (half the read units of a report; a change of the last second may not be in it yet).
pub async fn read(store: &DynamoStore, buckets: &[Bucket]) -> Result<Totals, StoreError> {
    let by_name: HashMap<String, Bucket> = buckets
        .iter()
        .map(|bucket| (format!("TOTALS#{}", bucket.key()), bucket.clone()))
        .collect();
    let keys = buckets
        .iter()
        .flat_map(|bucket| (0..SHARDS).map(move |shard| bucket_key(bucket, shard)))
        .collect();
    let mut tallies = Vec::new();
    for record in store.batch_get(keys, false).await? {
        let Some(bucket) = by_name.get(get_s(&record, "pk")?) else {
            continue;
        };
        for (counter, value) in &record {
            if let AttributeValue::N(number) = value {
                let add = number.parse().map_err(|_| {
                    StoreError::Corrupt(format!("total {counter} is not a whole number: {number}"))
                })?;
                tallies.push(Tally {
                    bucket: bucket.clone(),
                    counter: counter.clone(),
                    add,
                });
            }
        }
    }
    Ok(by_bucket(&tallies))
}
