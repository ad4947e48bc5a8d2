//! The payout events' outbox: an audit event (`PAYOUT#p` / `EVENT#seq`) is written, in the
//! payout's own transaction, into gsi2 under `EVENTS_OUT` by time, and leaves that index once
//! published.

use payout_app::ports::StoreError;
use payout_core::ids::PayoutId;
use payout_core::payout::AuditEvent;

use super::DynamoStore;
use super::item::{Item, backend, corrupt, from_json, get_s, item, key, s, time_key};
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

pub async fn mark_published(
    store: &DynamoStore,
    events: &[(PayoutId, u64)],
) -> Result<(), StoreError> {
    for (payout, seq) in events {
        store
            .client
            .update_item()
            .table_name(&store.table)
            .set_key(Some(key(
                format!("PAYOUT#{payout}"),
                format!("EVENT#{seq:010}"),
            )))
            .update_expression("REMOVE gsi2pk, gsi2sk")
            .send()
            .await
            .map_err(backend)?;
    }
    Ok(())
}
