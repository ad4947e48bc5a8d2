//! Payouts written before the status index (gsi3) existed have no place in it, and what reads
//! it (the stalled-payout sweep, reconciliation, the listings by status, the bank file) would
//! never see one: a payout stuck since before the upgrade would stay stuck. [`backfill_step`]
//! gives them their place, a few pages of the table at a time from where the last step stopped
//! (kept in the item `MIGRATION#gsi3`), and says when it is done; the planner's tick runs a step
//! until then, and one `GetItem` a tick after.

use aws_sdk_dynamodb::types::AttributeValue;
use payout_app::ports::StoreError;
use payout_core::ids::PayoutId;
use payout_core::status::PayoutStatus;

use super::DynamoStore;
use super::item::{Item, backend, corrupt, get_s, item, key, n, s};

fn marker_key() -> Item {
    key("MIGRATION#gsi3", "MIGRATION")
}

/// Indexes the next `pages` pages' payouts that lack a place; true once every payout has one.
pub async fn backfill_step(store: &DynamoStore, pages: usize) -> Result<bool, StoreError> {
    let marker = store.get(marker_key()).await?;
    if marker.as_ref().is_some_and(|m| m.contains_key("done")) {
        return Ok(true);
    }
    let mut start = marker.and_then(|m| {
        Some(item([
            ("pk", m.get("resume_pk")?.clone()),
            ("sk", m.get("resume_sk")?.clone()),
        ]))
    });
    for _ in 0..pages {
        let page = store
            .client
            .scan()
            .table_name(&store.table)
            .filter_expression("sk = :payout AND attribute_not_exists(gsi3pk)")
            .expression_attribute_values(":payout", s("PAYOUT"))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(backend)?;
        for record in page.items() {
            // One unreadable record is left out (and said), never the end of the backfill.
            if let Err(error) = index_one(store, record).await {
                tracing::error!(%error, "a payout could not be given its place in the status index");
            }
        }
        start = page.last_evaluated_key().cloned();
        let mut progress = marker_key();
        match &start {
            Some(next) => {
                progress.insert(
                    "resume_pk".into(),
                    next.get("pk").cloned().unwrap_or_else(|| s("")),
                );
                progress.insert(
                    "resume_sk".into(),
                    next.get("sk").cloned().unwrap_or_else(|| s("")),
                );
            }
            None => {
                progress.insert("done".into(), n(1));
            }
        }
        store.put(progress).await?;
        if start.is_none() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Gives one payout its place, unless a change of it gave it one meanwhile (which is then the
/// right one).
async fn index_one(store: &DynamoStore, record: &Item) -> Result<(), StoreError> {
    let id =
        PayoutId::parse(get_s(record, "pk")?.trim_start_matches("PAYOUT#")).map_err(corrupt)?;
    let status: PayoutStatus = get_s(record, "payout_status")?.parse().map_err(corrupt)?;
    let created: AttributeValue = s(get_s(record, "gsi2sk")?);
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(key(format!("PAYOUT#{id}"), "PAYOUT")))
        .update_expression("SET gsi3pk = :status, gsi3sk = :created")
        .condition_expression("attribute_exists(pk) AND attribute_not_exists(gsi3pk)")
        .expression_attribute_values(":status", s(super::payouts::status_key(&id, status)))
        .expression_attribute_values(":created", created)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(backend(e)),
    }
}
