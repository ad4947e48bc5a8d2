//! Small records (barber locks and shard leases, notification outbox, heartbeats) and the
//! reports that scan.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use payout_app::ports::{LedgerTotals, PayoutTotalsRow, StatusTotals, StoreError};
use payout_core::ids::BarberId;
use payout_core::method::PaymentMethod;
use payout_core::money::Currency;
use payout_core::status::PayoutStatus;

use super::DynamoStore;
use super::item::{Item, backend, corrupt, get_n, get_s, get_time, item, key, micros, n, s};

/// Locks and outbox records expire from the table (DynamoDB TTL) well after they matter.
pub const RECORD_TTL: TimeDelta = TimeDelta::days(30);

fn conditional_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ConditionalCheckFailedException")
}

/// Puts `record` if `condition` holds; false when it does not.
pub async fn put_if(
    store: &DynamoStore,
    record: Item,
    condition: &str,
    values: Option<Item>,
) -> Result<bool, StoreError> {
    let result = store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(record))
        .condition_expression(condition)
        .set_expression_attribute_values(values)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(conditional_failed) => Ok(false),
        Err(e) => Err(backend(e)),
    }
}

pub async fn try_lock(
    store: &DynamoStore,
    barber: &BarberId,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    take_lease(
        store,
        &format!("LOCK#BARBER#{barber}"),
        owner,
        now,
        lease_until,
    )
    .await
}

/// Takes the lease at `pk` for `owner` until `lease_until`, unless one that has not lapsed at
/// `now` is held.
pub async fn take_lease(
    store: &DynamoStore,
    pk: &str,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut record = key(pk, "LOCK");
    record.extend(item([
        ("lock_owner", s(owner)),
        ("lease_until", micros(lease_until)),
        ("expires_at", n((lease_until + RECORD_TTL).timestamp())),
    ]));
    put_if(
        store,
        record,
        "attribute_not_exists(pk) OR lease_until < :now",
        Some(item([(":now", micros(now))])),
    )
    .await
}

/// Deletes the item at `record_key` if `condition` holds; a failed condition is not an error.
pub async fn delete_if(
    store: &DynamoStore,
    record_key: Item,
    condition: &str,
    values: Item,
) -> Result<(), StoreError> {
    let result = store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(record_key))
        .condition_expression(condition)
        .set_expression_attribute_values(Some(values))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(conditional_failed) => Ok(()),
        Err(e) => Err(backend(e)),
    }
}

pub async fn release_lock(
    store: &DynamoStore,
    barber: &BarberId,
    owner: &str,
) -> Result<(), StoreError> {
    give_back_lease(store, &format!("LOCK#BARBER#{barber}"), owner).await
}

/// Gives the lease at `pk` back if `owner` still holds it.
pub async fn give_back_lease(store: &DynamoStore, pk: &str, owner: &str) -> Result<(), StoreError> {
    // When the condition fails somebody else holds the lease (ours lapsed): theirs to give back.
    delete_if(
        store,
        key(pk, "LOCK"),
        "lock_owner = :owner",
        item([(":owner", s(owner))]),
    )
    .await
}

/// Writes `pk` once; false when it exists (a webhook delivered again, say).
pub async fn record_once(
    store: &DynamoStore,
    pk: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut record = key(pk, "ONCE");
    record.extend(item([
        ("received_at", micros(at)),
        ("expires_at", n((at + RECORD_TTL).timestamp())),
    ]));
    put_if(store, record, "attribute_not_exists(pk)", None).await
}

pub async fn record_heartbeat(
    store: &DynamoStore,
    component: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut record = key(format!("HEARTBEAT#{component}"), "HEARTBEAT");
    record.insert("beat_at".into(), micros(at));
    // A later heartbeat already recorded is not a failure.
    put_if(
        store,
        record,
        "attribute_not_exists(pk) OR beat_at < :at",
        Some(item([(":at", micros(at))])),
    )
    .await?;
    Ok(())
}

pub async fn last_heartbeat(
    store: &DynamoStore,
    component: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    store
        .get(key(format!("HEARTBEAT#{component}"), "HEARTBEAT"))
        .await?
        .map(|record| get_time(&record, "beat_at"))
        .transpose()
}

/// Adds to a total in minor units; a sum past `i64` is a corrupt ledger, never a wrapped one.
fn add(total: &mut i64, amount: i64) -> Result<(), StoreError> {
    *total = total
        .checked_add(amount)
        .ok_or_else(|| corrupt("a ledger total overflows"))?;
    Ok(())
}

async fn visible_payouts(store: &DynamoStore) -> Result<Vec<Item>, StoreError> {
    store
        .scan(
            "sk = :payout AND claim_state = :complete",
            item([(":payout", s("PAYOUT")), (":complete", s("complete"))]),
        )
        .await
}

pub async fn ledger_totals(
    store: &DynamoStore,
    currency: Currency,
) -> Result<LedgerTotals, StoreError> {
    let mut totals = LedgerTotals::default();
    let values = item([(":currency", s(currency.code()))]);
    for record in store
        .scan("sk = :earning AND currency = :currency", {
            let mut v = values.clone();
            v.insert(":earning".into(), s("EARNING"));
            v
        })
        .await?
    {
        if record.contains_key("voided_at") {
            continue;
        }
        let amount = get_n(&record, "amount_minor")?;
        add(&mut totals.earnings_minor, amount)?;
        totals.earnings_count += 1;
        if !record.contains_key("payout_id") {
            add(&mut totals.open_earnings_minor, amount)?;
        }
    }
    for record in store
        .scan(
            "sk = :deduction AND currency = :currency AND attribute_not_exists(payout_id)",
            {
                let mut v = values.clone();
                v.insert(":deduction".into(), s("DEDUCTION"));
                v
            },
        )
        .await?
    {
        let amount = get_n(&record, "amount_minor")?;
        if get_s(&record, "kind")? == "carried_balance" {
            add(&mut totals.open_carried_balance_minor, amount)?;
        } else {
            add(&mut totals.open_deductions_minor, amount)?;
        }
    }
    let mut rows: BTreeMap<(PayoutStatus, PaymentMethod), StatusTotals> = BTreeMap::new();
    for record in visible_payouts(store).await? {
        if get_s(&record, "currency")? != currency.code() {
            continue;
        }
        let status: PayoutStatus = get_s(&record, "payout_status")?.parse().map_err(corrupt)?;
        let method: PaymentMethod = get_s(&record, "method")?.parse().map_err(corrupt)?;
        let t = rows.entry((status, method)).or_default();
        let net = get_n(&record, "net_minor")?;
        t.count += 1;
        add(&mut t.gross_minor, get_n(&record, "gross_minor")?)?;
        add(&mut t.shop_share_minor, get_n(&record, "shop_minor")?)?;
        add(&mut t.deductions_minor, get_n(&record, "deductions_minor")?)?;
        add(&mut t.fee_minor, get_n(&record, "fee_minor")?)?;
        add(&mut t.net_minor, net)?;
        add(&mut t.paid_net_minor, net.max(0))?;
        t.retries += u64::try_from(get_n(&record, "attempts")? - 1).unwrap_or(0);
    }
    totals.payouts = rows
        .into_iter()
        .map(|((status, method), totals)| PayoutTotalsRow {
            status,
            method,
            totals,
        })
        .collect();
    Ok(totals)
}
