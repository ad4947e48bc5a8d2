//! Earnings and deductions: idempotent inserts and the open-balance index.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use payout_app::ports::{IntakeOutcome, OpenActivity, OpenWindow, StoreError, VoidOutcome};
use payout_core::deduction::{DeductionKind, DeductionLine};
use payout_core::ids::{BarberId, DeductionId, EarningId, PayoutId};
use payout_core::ledger::{Deduction, Earning, EarningKind};
use payout_core::money::{Currency, Money};

use super::item::{
    Item, backend, build_error, corrupt, get_n, get_s, get_time, item, key, micros, n, s, time_key,
};
use super::{DynamoStore, TRANSACTION_LIMIT, Transaction};

pub fn earning_key(id: &str) -> Item {
    key(format!("EARNING#{id}"), "EARNING")
}

pub fn deduction_key(id: &str) -> Item {
    key(format!("DEDUCTION#{id}"), "DEDUCTION")
}

fn minor(money: Money) -> Result<i64, StoreError> {
    money.to_minor().map_err(corrupt)
}

fn earning_item(earning: &Earning, hash: &str) -> Result<Item, StoreError> {
    let mut record = earning_key(earning.id.as_str());
    record.extend(item([
        ("barber_id", s(earning.barber_id.as_str())),
        ("currency", s(earning.amount.currency().code())),
        ("amount_minor", n(minor(earning.amount)?)),
        ("occurred_at", micros(earning.occurred_at)),
        ("recorded_at", micros(earning.recorded_at)),
        ("service", s(&earning.service)),
        ("kind", s(earning.kind.as_str())),
        ("content_hash", s(hash)),
        ("gsi1pk", s(format!("OPEN#{}", earning.barber_id))),
        (
            "gsi1sk",
            s(format!(
                "E#{}#{}",
                time_key(earning.recorded_at),
                earning.id
            )),
        ),
    ]));
    Ok(record)
}

fn deduction_item(deduction: &Deduction, hash: &str) -> Result<Item, StoreError> {
    let mut record = deduction_key(deduction.id.as_str());
    record.extend(item([
        ("barber_id", s(deduction.barber_id.as_str())),
        ("kind", s(deduction.kind.as_str())),
        ("currency", s(deduction.amount.currency().code())),
        ("amount_minor", n(minor(deduction.amount)?)),
        ("description", s(&deduction.description)),
        ("recorded_at", micros(deduction.recorded_at)),
        ("payable_from", micros(deduction.payable_from())),
        ("content_hash", s(hash)),
        ("gsi1pk", s(format!("OPEN#{}", deduction.barber_id))),
        // Open deductions sort by when they become payable, so a cut-off's range holds those
        // it may take.
        (
            "gsi1sk",
            s(format!(
                "D#{}#{}",
                time_key(deduction.payable_from()),
                deduction.id
            )),
        ),
    ]));
    Ok(record)
}

fn put_new(store: &DynamoStore, record: Item) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(&store.table)
                .set_item(Some(record))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(build_error)?,
        )
        .build())
}

/// The stored content hash of each id that exists.
async fn stored_hashes(
    store: &DynamoStore,
    ids: &[&str],
) -> Result<HashMap<String, String>, StoreError> {
    let records = store
        .get_many(ids.iter().map(|id| earning_key(id)).collect())
        .await?;
    let mut hashes = HashMap::new();
    for record in &records {
        let pk = get_s(record, "pk")?;
        let id = pk.trim_start_matches("EARNING#").to_string();
        hashes.insert(id, get_s(record, "content_hash")?.to_string());
    }
    Ok(hashes)
}

/// All or nothing for conflicts: they are found before anything is written. New earnings are
/// written in transactions of 100; a concurrent insert of the same id between the check and the
/// write fails its transaction, and the caller's retry then sees a duplicate or a conflict.
pub async fn insert_earnings(
    store: &DynamoStore,
    earnings: &[Earning],
    hashes: &[String],
) -> Result<Vec<IntakeOutcome>, StoreError> {
    let ids: Vec<&str> = earnings.iter().map(|e| e.id.as_str()).collect();
    let stored = stored_hashes(store, &ids).await?;
    let outcomes: Vec<IntakeOutcome> = earnings
        .iter()
        .zip(hashes)
        .map(|(earning, hash)| match stored.get(earning.id.as_str()) {
            None => IntakeOutcome::Created,
            Some(existing) if existing == hash => IntakeOutcome::Duplicate,
            Some(_) => IntakeOutcome::Conflict,
        })
        .collect();
    if outcomes.contains(&IntakeOutcome::Conflict) {
        return Ok(outcomes);
    }
    let mut writes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for ((earning, hash), outcome) in earnings.iter().zip(hashes).zip(&outcomes) {
        if *outcome == IntakeOutcome::Created && seen.insert(earning.id.as_str()) {
            writes.push(put_new(store, earning_item(earning, hash)?)?);
        }
    }
    while !writes.is_empty() {
        let rest = writes.split_off(writes.len().min(TRANSACTION_LIMIT));
        if let Transaction::Cancelled(_) =
            store.transact(std::mem::replace(&mut writes, rest)).await?
        {
            return Err(StoreError::Backend(
                "earnings with these ids were inserted concurrently; retry the request".into(),
            ));
        }
    }
    Ok(outcomes)
}

fn earning_from(record: &Item) -> Result<Earning, StoreError> {
    let currency: Currency = get_s(record, "currency")?.parse().map_err(corrupt)?;
    Ok(Earning {
        id: EarningId::parse(get_s(record, "pk")?.trim_start_matches("EARNING#"))
            .map_err(corrupt)?,
        barber_id: BarberId::parse(get_s(record, "barber_id")?).map_err(corrupt)?,
        amount: Money::from_minor(get_n(record, "amount_minor")?, currency),
        occurred_at: get_time(record, "occurred_at")?,
        service: get_s(record, "service")?.to_string(),
        kind: kind_of(record)?,
        recorded_at: get_time(record, "recorded_at")?,
    })
}

/// An earning's kind; one recorded before tips existed has none and is a service.
fn kind_of(record: &Item) -> Result<EarningKind, StoreError> {
    record.get("kind").map_or(Ok(EarningKind::Service), |_| {
        get_s(record, "kind")?.parse().map_err(corrupt)
    })
}

pub async fn get_earning(
    store: &DynamoStore,
    id: &EarningId,
) -> Result<Option<Earning>, StoreError> {
    store
        .get(earning_key(id.as_str()))
        .await?
        .map(|record| earning_from(&record))
        .transpose()
}

/// The earnings `payout` claims (the claim index holds its earnings and deductions), by when
/// they were performed.
pub async fn earnings_of_payout(
    store: &DynamoStore,
    payout: &PayoutId,
) -> Result<Vec<Earning>, StoreError> {
    let mut earnings = super::payouts::claimed_by(store, payout)
        .await?
        .iter()
        .filter(|record| get_s(record, "pk").is_ok_and(|pk| pk.starts_with("EARNING#")))
        .map(earning_from)
        .collect::<Result<Vec<_>, _>>()?;
    earnings.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    Ok(earnings)
}

/// Voids an open earning: its open-index keys go, so no balance sees it and no claim (whose
/// condition requires no `voided_at`) can take it.
pub async fn void_earning(
    store: &DynamoStore,
    id: &EarningId,
    at: DateTime<Utc>,
) -> Result<VoidOutcome, StoreError> {
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(earning_key(id.as_str())))
        .update_expression("SET voided_at = :at REMOVE gsi1pk, gsi1sk")
        .condition_expression(
            "attribute_exists(pk) AND attribute_not_exists(payout_id) \
             AND attribute_not_exists(voided_at)",
        )
        .expression_attribute_values(":at", micros(at))
        .send()
        .await;
    match result {
        Ok(_) => Ok(VoidOutcome::Voided),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            let Some(record) = store.get(earning_key(id.as_str())).await? else {
                return Ok(VoidOutcome::Unknown);
            };
            if record.contains_key("voided_at") {
                return Ok(VoidOutcome::AlreadyVoided);
            }
            let payout = get_s(&record, "payout_id")?;
            Ok(VoidOutcome::Claimed(
                PayoutId::parse(payout).map_err(corrupt)?,
            ))
        }
        Err(e) => Err(backend(e)),
    }
}

pub async fn insert_deduction(
    store: &DynamoStore,
    deduction: &Deduction,
    hash: &str,
) -> Result<IntakeOutcome, StoreError> {
    let result = store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(deduction_item(deduction, hash)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(IntakeOutcome::Created),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            let stored = store.get(deduction_key(deduction.id.as_str())).await?;
            let same = stored
                .as_ref()
                .map(|r| get_s(r, "content_hash"))
                .transpose()?
                == Some(hash);
            Ok(if same {
                IntakeOutcome::Duplicate
            } else {
                IntakeOutcome::Conflict
            })
        }
        Err(e) => Err(backend(e)),
    }
}

/// A deduction the system opens (a carried balance, a reserve's release or its withdrawal) as a
/// transaction item.
pub fn put_deduction_item(
    store: &DynamoStore,
    deduction: &Deduction,
) -> Result<TransactWriteItem, StoreError> {
    put_new(store, deduction_item(deduction, deduction.kind.as_str())?)
}

/// The barber's open entries whose open-index key lies between `low` and `high`.
async fn open_range(
    store: &DynamoStore,
    barber: &BarberId,
    low: String,
    high: String,
) -> Result<Vec<Item>, StoreError> {
    store
        .query(
            Some(super::table::GSI1),
            "gsi1pk = :open AND gsi1sk BETWEEN :low AND :high",
            item([
                (":open", s(format!("OPEN#{barber}"))),
                (":low", s(low)),
                (":high", s(high)),
            ]),
            None,
        )
        .await
}

/// The barber's open deductions in `currency` payable only after `after`: one query of the
/// open index past `after`'s key, among the deductions.
pub async fn deductions_payable_after(
    store: &DynamoStore,
    barber: &BarberId,
    currency: Currency,
    after: DateTime<Utc>,
) -> Result<Vec<Deduction>, StoreError> {
    let items = open_range(
        store,
        barber,
        format!("D#{}#~", time_key(after)),
        "D#~".into(),
    )
    .await?;
    items
        .iter()
        .filter(|record| in_currency(record, currency))
        .map(|record| {
            let line = deduction_line(record, currency)?;
            Ok(Deduction {
                id: line.id,
                barber_id: barber.clone(),
                kind: line.kind,
                amount: line.amount,
                description: line.description,
                recorded_at: get_time(record, "recorded_at")?,
                payable_from: Some(get_time(record, "payable_from")?),
            })
        })
        .collect()
}

/// A barber's open earnings and deductions recorded up to a cut-off, in any currency.
pub struct OpenLedger {
    pub earnings: Vec<Item>,
    pub deductions: Vec<Item>,
}

/// The barber's open earnings and deductions up to `cutoff` in one query: both are kept under
/// `OPEN#b`, deductions (`D#recorded#d`) sorting before earnings (`E#recorded#e`), so one key
/// range holds every open deduction and the earnings up to the cut-off; the deductions recorded
/// after it (rare: an adjustment for a later period) are left out here.
pub async fn open_ledger(
    store: &DynamoStore,
    barber: &BarberId,
    cutoff: DateTime<Utc>,
) -> Result<OpenLedger, StoreError> {
    let cutoff_key = time_key(cutoff);
    let items = open_range(store, barber, "D#".into(), format!("E#{cutoff_key}#~")).await?;
    let last_deduction = format!("D#{cutoff_key}#~");
    let mut open = OpenLedger {
        earnings: Vec::new(),
        deductions: Vec::new(),
    };
    for record in items {
        let key = get_s(&record, "gsi1sk")?;
        if key.starts_with("E#") {
            open.earnings.push(record);
        } else if key <= last_deduction.as_str() {
            open.deductions.push(record);
        }
    }
    Ok(open)
}

pub fn deduction_line(record: &Item, currency: Currency) -> Result<DeductionLine, StoreError> {
    Ok(DeductionLine {
        id: DeductionId::parse(get_s(record, "pk")?.trim_start_matches("DEDUCTION#"))
            .map_err(corrupt)?,
        kind: get_s(record, "kind")?
            .parse::<DeductionKind>()
            .map_err(corrupt)?,
        amount: Money::from_minor(get_n(record, "amount_minor")?, currency),
        description: get_s(record, "description")?.to_string(),
    })
}

pub fn in_currency(record: &Item, currency: Currency) -> bool {
    get_s(record, "currency").is_ok_and(|code| code == currency.code())
}

/// Whether an open earning's service was performed by `earned_by` (payable, not held).
pub fn earned_by(record: &Item, earned_by: DateTime<Utc>) -> Result<bool, StoreError> {
    Ok(get_time(record, "occurred_at")? <= earned_by)
}

pub async fn open_activity(
    store: &DynamoStore,
    barber: &BarberId,
    currency: Currency,
    window: OpenWindow,
) -> Result<OpenActivity, StoreError> {
    let open = open_ledger(store, barber, window.cutoff).await?;
    let overflow = || corrupt(format!("the open balance of barber {barber} overflows"));
    let mut activity = OpenActivity::default();
    for record in open.earnings.iter().filter(|r| in_currency(r, currency)) {
        let amount = get_n(record, "amount_minor")?;
        let occurred_at = get_time(record, "occurred_at")?;
        activity.earliest_service = Some(
            activity
                .earliest_service
                .map_or(occurred_at, |t| t.min(occurred_at)),
        );
        if occurred_at > window.earned_by {
            activity
                .held
                .add(amount, occurred_at)
                .ok_or_else(overflow)?;
            continue;
        }
        let (sum, count) = match kind_of(record)? {
            EarningKind::Service => (&mut activity.gross_minor, &mut activity.services),
            EarningKind::Tip => (&mut activity.tips_minor, &mut activity.tips),
        };
        *sum = sum.checked_add(amount).ok_or_else(overflow)?;
        *count += 1;
    }
    activity.deductions = open
        .deductions
        .iter()
        .filter(|r| in_currency(r, currency))
        .map(|r| deduction_line(r, currency))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(activity)
}
