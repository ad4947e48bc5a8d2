//! The payout events' outbox: an audit event (`PAYOUT#p` / `EVENT#seq`) is written, in the
//! payout's own transaction, into gsi2 under `EVENTS_OUT` by time, and leaves that index once
//! published.

use std::time::Duration;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use payout_app::ports::StoreError;
use payout_core::payout::AuditEvent;

use super::DynamoStore;
use super::item::{Item, backend, build_error, corrupt, from_json, get_s, item, s, time_key};
use super::payouts::event_record;
use super::table::GSI2;

const EVENTS_OUT: &str = "EVENTS_OUT";

/// The index keys that put an audit event in the outbox.
pub fn outbox_keys(event: &AuditEvent, seq: u64) -> Item {
    item([
        ("gsi2pk", s(EVENTS_OUT)),
        (
            "gsi2sk",
            s(format!(
                "{}#{}#{seq:010}",
                time_key(event.at),
                event.payout_id
            )),
        ),
    ])
}

pub async fn unpublished_events(
    store: &DynamoStore,
    limit: usize,
) -> Result<Vec<(u64, AuditEvent)>, StoreError> {
    let records = store
        .query(
            Some(GSI2),
            "gsi2pk = :out",
            item([(":out", s(EVENTS_OUT))]),
            Some(limit),
        )
        .await?;
    records
        .iter()
        .map(|record| {
            let seq = get_s(record, "sk")?
                .trim_start_matches("EVENT#")
                .parse()
                .map_err(corrupt)?;
            Ok((seq, from_json(record, "json_doc")?))
        })
        .collect()
}

/// Rewrites each event without its outbox keys, 25 to a `BatchWriteItem` (an audit event is
/// never changed once written, so writing it again whole is writing the same event), and
/// retries what DynamoDB leaves unprocessed.
pub async fn mark_published(
    store: &DynamoStore,
    events: &[(u64, AuditEvent)],
) -> Result<(), StoreError> {
    for chunk in events.chunks(25) {
        let mut writes = chunk
            .iter()
            .map(|(seq, event)| {
                let item = event_record(*seq, event)?;
                Ok(WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for attempt in 0.. {
            let output = store
                .client
                .batch_write_item()
                .request_items(&store.table, writes)
                .send()
                .await
                .map_err(backend)?;
            writes = output
                .unprocessed_items()
                .and_then(|unprocessed| unprocessed.get(&store.table))
                .cloned()
                .unwrap_or_default();
            if writes.is_empty() {
                break;
            }
            if attempt == UNPROCESSED_RETRIES {
                return Err(StoreError::Backend(format!(
                    "{} events still unprocessed after {UNPROCESSED_RETRIES} retries",
                    writes.len()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
    }
    Ok(())
}

/// How often unprocessed writes are sent again (with doubling waits from 50 ms) before the
/// publisher is told; its events stay unpublished and are marked on a later round.
const UNPROCESSED_RETRIES: u32 = 5;
