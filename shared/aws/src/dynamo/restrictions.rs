//! Destinations the provider will not pay: `ACCOUNT#a` / `RESTRICTION`, read by key (one
//! batch read for an executor's batch), never listed. The record stays when the restriction
//! is lifted (`active` 0), with when the provider last said (`as_of`), so a late, older word
//! changes nothing. Each write is conditional on the `as_of` it read: of two racing words the
//! second reads again.

use chrono::{DateTime, Utc};
use payout_app::ports::{AccountRestriction, StoreError};

use super::DynamoStore;
use super::item::{Item, corrupt, get_n, get_s, get_time, item, key, micros, n, s};
use super::records::put_if;

/// Words about one account racing each other; more means something is wrong.
const RACING_WORDS: usize = 5;

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

/// The record of `account`: its restriction, whether in force, and when the provider said so
/// (in microseconds, as stored).
async fn record(
    store: &DynamoStore,
    account: &str,
) -> Result<Option<(AccountRestriction, bool, i64)>, StoreError> {
    store
        .get(restriction_key(account))
        .await?
        .map(|record| {
            Ok((
                restriction(&record)?,
                get_n(&record, "active")? == 1,
                get_n(&record, "as_of")?,
            ))
        })
        .transpose()
}

/// Writes `restriction` (in force or not) as said at `as_of`, if the record is still the one
/// read (`read_as_of`, none when there was none); whether it was.
async fn write(
    store: &DynamoStore,
    restriction: &AccountRestriction,
    active: bool,
    as_of: DateTime<Utc>,
    read_as_of: Option<i64>,
) -> Result<bool, StoreError> {
    let mut record = restriction_key(&restriction.account);
    record.extend(item([
        ("account", s(&restriction.account)),
        ("reason", s(&restriction.reason)),
        ("since", micros(restriction.since)),
        ("active", n(i64::from(active))),
        ("as_of", micros(as_of)),
    ]));
    match read_as_of {
        None => put_if(store, record, "attribute_not_exists(pk)", None).await,
        Some(read) => {
            let values = item([(":read", n(read))]);
            put_if(store, record, "as_of = :read", Some(values)).await
        }
    }
}

pub async fn restrict(
    store: &DynamoStore,
    account: &str,
    reason: &str,
    at: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Option<AccountRestriction>, StoreError> {
    for _ in 0..RACING_WORDS {
        let read = record(store, account).await?;
        let in_force = match &read {
            Some((_, _, said)) if *said > as_of.timestamp_micros() => return Ok(None),
            Some((restriction, true, _)) => restriction.clone(),
            Some((_, false, _)) | None => AccountRestriction {
                account: account.to_string(),
                reason: reason.to_string(),
                since: at,
            },
        };
        if write(store, &in_force, true, as_of, read.map(|r| r.2)).await? {
            return Ok(Some(in_force));
        }
    }
    Err(corrupt(format!(
        "account {account}'s restriction kept changing"
    )))
}

pub async fn among(
    store: &DynamoStore,
    accounts: &[String],
) -> Result<Vec<AccountRestriction>, StoreError> {
    let mut distinct: Vec<&String> = accounts.iter().collect();
    distinct.sort();
    distinct.dedup();
    let keys = distinct.into_iter().map(|a| restriction_key(a)).collect();
    let mut in_force = Vec::new();
    for record in store.batch_get(keys, true).await? {
        if get_n(&record, "active")? == 1 {
            in_force.push(restriction(&record)?);
        }
    }
    Ok(in_force)
}

pub async fn lift(
    store: &DynamoStore,
    account: &str,
    as_of: DateTime<Utc>,
) -> Result<Option<AccountRestriction>, StoreError> {
    for _ in 0..RACING_WORDS {
        let read = record(store, account).await?;
        let (restriction, active) = match &read {
            Some((_, _, said)) if *said > as_of.timestamp_micros() => return Ok(None),
            Some((restriction, active, _)) => (restriction.clone(), *active),
            None => (AccountRestriction::never_restricted(account, as_of), false),
        };
        if write(store, &restriction, false, as_of, read.map(|r| r.2)).await? {
            return Ok(active.then_some(restriction));
        }
    }
    Err(corrupt(format!(
        "account {account}'s restriction kept changing"
    )))
}
