//! Destinations the provider will not pay: `ACCOUNT#a` / `RESTRICTION`, read by key (one
//! batch read for an executor's batch), never listed.

use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use payout_app::ports::{AccountRestriction, StoreError};

use super::DynamoStore;
use super::item::{Item, backend, corrupt, get_s, get_time, item, key, micros, s};

fn restriction_key(account: &str) -> Item {
    key(format!("ACCOUNT#{account}"), "RESTRICTION")
}

fn restriction(record: &Item) -> Result<AccountRestriction, StoreError> {
    Ok(AccountRestriction {
        account: get_s(record, "account")?.to_string(),
        reason: get_s(record, "reason")?.to_string(),
        since: get_time(record, "since")?,
    })
}

pub async fn restrict(
    store: &DynamoStore,
    account: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<AccountRestriction, StoreError> {
    let output = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(restriction_key(account)))
        .update_expression(
            "SET account = :account, reason = if_not_exists(reason, :reason), \
             since = if_not_exists(since, :at)",
        )
        .set_expression_attribute_values(Some(item([
            (":account", s(account)),
            (":reason", s(reason)),
            (":at", micros(at)),
        ])))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map_err(backend)?;
    restriction(
        output
            .attributes()
            .ok_or_else(|| corrupt("no attributes returned"))?,
    )
}

pub async fn among(
    store: &DynamoStore,
    accounts: &[String],
) -> Result<Vec<AccountRestriction>, StoreError> {
    let mut distinct: Vec<&String> = accounts.iter().collect();
    distinct.sort();
    distinct.dedup();
    let keys = distinct.into_iter().map(|a| restriction_key(a)).collect();
    store
        .batch_get(keys, true)
        .await?
        .iter()
        .map(restriction)
        .collect()
}

pub async fn lift(
    store: &DynamoStore,
    account: &str,
) -> Result<Option<AccountRestriction>, StoreError> {
    let output = store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(restriction_key(account)))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .map_err(backend)?;
    output.attributes().map(restriction).transpose()
}
