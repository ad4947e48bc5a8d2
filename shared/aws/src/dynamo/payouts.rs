//! Payouts: creation with its claim on the ledger, versioned updates, audit trail, listings.
//!
//! A payout and its claim are one TransactWriteItems when they fit in 100 items (a period of up
//! to ~95 services). A bigger period is written in steps: the payout first, hidden as
//! `claim_state = pending` (executors and readers do not see it), then the claims in
//! transactions of 100, each conditional on the item being unclaimed (or already claimed by this
//! payout, so a step can be repeated), then the payout is revealed. If another payout took an
//! earning meanwhile, the claims made so far are released and the hidden payout is deleted, so
//! the earnings stay open for the next period: nothing is paid twice and nothing is lost.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use payout_app::ports::{CreateOutcome, PayoutCreation, PayoutQuery, StoreError, WriteOutcome};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::payout::{AuditEvent, Payout};
use payout_core::status::PayoutStatus;

use super::item::{
    Item, build_error, corrupt, from_json, get_n, get_s, item, key, micros, n, s, time_key, to_json,
};
use super::kept_totals;
use super::ledger::{earned_by, in_currency, open_ledger, put_deduction_item};
use super::schedules::advance_item;
use super::{DynamoStore, TRANSACTION_LIMIT, Transaction};

const COMPLETE: &str = "complete";
const PENDING: &str = "pending";

pub fn payout_key(id: &PayoutId) -> Item {
    key(format!("PAYOUT#{id}"), "PAYOUT")
}

fn event_key(id: &PayoutId, seq: u64) -> Item {
    key(format!("PAYOUT#{id}"), format!("EVENT#{seq:010}"))
}

fn minor(money: payout_core::money::Money) -> Result<i64, StoreError> {
    money.to_minor().map_err(corrupt)
}

/// The payout's partition of the status index: its status and shard.
pub(super) fn status_key(id: &PayoutId, status: PayoutStatus) -> String {
    status_partition(status, super::kept_totals::shard_of(id))
}

/// One shard of the status index's partitions for `status`.
fn status_partition(status: PayoutStatus, shard: u64) -> String {
    format!("STATUS#{}#{shard}", status.as_str())
}

fn payout_item(payout: &Payout, claim_state: &str) -> Result<Item, StoreError> {
    let b = &payout.breakdown;
    let created = format!("{}#{}", time_key(payout.created_at), payout.id);
    let mut record = payout_key(&payout.id);
    record.extend(item([
        ("json_doc", to_json(payout)?),
        ("payout_status", s(payout.status.as_str())),
        ("payout_version", n(payout.version as i64)),
        ("barber_id", s(payout.barber_id.as_str())),
        ("currency", s(b.gross.currency().code())),
        ("method", s(payout.method.as_str())),
        ("created_at", micros(payout.created_at)),
        ("updated_at", micros(payout.updated_at)),
        ("attempts", n(i64::from(payout.attempts))),
        // What its earnings add up to, tips and all: the ledger's identity is of this.
        ("gross_minor", n(minor(b.earned().map_err(corrupt)?)?)),
        ("shop_minor", n(minor(b.shop_share)?)),
        ("deductions_minor", n(minor(b.deductions_total)?)),
        ("fee_minor", n(minor(b.fee)?)),
        ("net_minor", n(minor(b.net)?)),
        ("claim_state", s(claim_state)),
        ("gsi1pk", s(format!("PAYOUTS#{}", payout.barber_id))),
        ("gsi1sk", s(created.clone())),
        ("gsi2pk", s("PAYOUTS")),
        ("gsi2sk", s(created.clone())),
        ("gsi3pk", s(status_key(&payout.id, payout.status))),
        ("gsi3sk", s(created)),
    ]));
    if let Some(at) = payout.next_attempt_at {
        record.insert("next_attempt_at".into(), micros(at));
    }
    Ok(record)
}

fn put(
    store: &DynamoStore,
    record: Item,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(&store.table)
                .set_item(Some(record))
                .set_condition_expression(condition.map(str::to_string))
                .build()
                .map_err(build_error)?,
        )
        .build())
}

fn event_item(
    store: &DynamoStore,
    seq: u64,
    event: &AuditEvent,
) -> Result<TransactWriteItem, StoreError> {
    let mut record = event_record(seq, event)?;
    record.extend(super::events_out::outbox_keys(event, seq));
    put(store, record, Some("attribute_not_exists(pk)"))
}

/// An audit event as stored, outside the outbox.
pub(super) fn event_record(seq: u64, event: &AuditEvent) -> Result<Item, StoreError> {
    let mut record = event_key(&event.payout_id, seq);
    record.insert("json_doc".into(), to_json(event)?);
    Ok(record)
}

/// Claims an open earning (`E`) or deduction (`D`) for `payout`.
fn claim_item(
    store: &DynamoStore,
    record: &Item,
    payout: &PayoutId,
    repeatable: bool,
) -> Result<TransactWriteItem, StoreError> {
    let pk = get_s(record, "pk")?;
    let (prefix, id) = pk
        .split_once('#')
        .ok_or_else(|| corrupt("key without a prefix"))?;
    let letter = if prefix == "EARNING" { "E" } else { "D" };
    // A voided earning is never claimed, even by a claim read before it was voided.
    let condition = if repeatable {
        "attribute_not_exists(voided_at) AND (attribute_not_exists(payout_id) OR payout_id = :p)"
    } else {
        "attribute_not_exists(voided_at) AND attribute_not_exists(payout_id)"
    };
    Ok(TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(&store.table)
                .set_key(Some(key(pk, get_s(record, "sk")?)))
                .update_expression(
                    "SET payout_id = :p, gsi2pk = :claim, gsi2sk = :sk REMOVE gsi1pk, gsi1sk",
                )
                .condition_expression(condition)
                .expression_attribute_values(":p", s(payout.as_str()))
                .expression_attribute_values(":claim", s(format!("CLAIM#{payout}")))
                .expression_attribute_values(":sk", s(format!("{letter}#{id}")))
                .build()
                .map_err(build_error)?,
        )
        .build())
}

/// Returns a claimed item to the open balance.
fn release_item(
    store: &DynamoStore,
    record: &Item,
    payout: &PayoutId,
) -> Result<TransactWriteItem, StoreError> {
    let pk = get_s(record, "pk")?;
    let (prefix, id) = pk
        .split_once('#')
        .ok_or_else(|| corrupt("key without a prefix"))?;
    let letter = if prefix == "EARNING" { "E" } else { "D" };
    // Back under its open key: an earning by when it was recorded, a deduction by when it is
    // payable (recorded, for those stored before deductions said).
    let sorted_by = match letter == "D" && record.contains_key("payable_from") {
        true => "payable_from",
        false => "recorded_at",
    };
    let recorded = DateTime::<Utc>::from_timestamp_micros(get_n(record, sorted_by)?)
        .ok_or_else(|| corrupt(format!("{sorted_by} out of range")))?;
    Ok(TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(&store.table)
                .set_key(Some(key(pk, get_s(record, "sk")?)))
                .update_expression(
                    "SET gsi1pk = :open, gsi1sk = :sk REMOVE payout_id, gsi2pk, gsi2sk",
                )
                .condition_expression("payout_id = :p")
                .expression_attribute_values(":p", s(payout.as_str()))
                .expression_attribute_values(
                    ":open",
                    s(format!("OPEN#{}", get_s(record, "barber_id")?)),
                )
                .expression_attribute_values(
                    ":sk",
                    s(format!("{letter}#{}#{id}", time_key(recorded))),
                )
                .build()
                .map_err(build_error)?,
        )
        .build())
}

pub(super) async fn claimed_by(
    store: &DynamoStore,
    payout: &PayoutId,
) -> Result<Vec<Item>, StoreError> {
    store
        .query(
            Some(super::table::GSI2),
            "gsi2pk = :claim",
            item([(":claim", s(format!("CLAIM#{payout}")))]),
            None,
        )
        .await
}

async fn in_batches(
    store: &DynamoStore,
    mut writes: Vec<TransactWriteItem>,
) -> Result<bool, StoreError> {
    while !writes.is_empty() {
        let rest = writes.split_off(writes.len().min(TRANSACTION_LIMIT));
        if let Transaction::Cancelled(_) =
            store.transact(std::mem::replace(&mut writes, rest)).await?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What a claim that no longer matches the open balance means: the period was closed by another
/// run (the payout exists, or the schedule moved on), or the balance changed.
async fn claim_changed(
    store: &DynamoStore,
    c: &PayoutCreation,
) -> Result<CreateOutcome, StoreError> {
    let payout = &c.payout;
    if store.get(payout_key(&payout.id)).await?.is_some() {
        return Ok(CreateOutcome::AlreadyExists);
    }
    if let Some((expected, _)) = c.schedule_advance {
        let current = super::schedules::get(store, &payout.barber_id).await?;
        if current.is_none_or(|schedule| schedule.next_run_at != expected) {
            return Ok(CreateOutcome::AlreadyExists);
        }
    }
    Ok(CreateOutcome::ClaimChanged)
}

pub async fn create(store: &DynamoStore, c: &PayoutCreation) -> Result<CreateOutcome, StoreError> {
    let payout = &c.payout;
    let currency = payout.breakdown.gross.currency();
    // The payout's absence and the schedule's cut-off are the transaction's own conditions, so
    // they are not read first; only a claim that no longer matches asks whether another run
    // closed the period (its earnings are then claimed, not changed).
    let open = open_ledger(store, &payout.barber_id, payout.cutoff).await?;
    let mut earnings: Vec<Item> = Vec::new();
    for record in open.earnings {
        if in_currency(&record, currency) && earned_by(&record, c.earned_by)? {
            earnings.push(record);
        }
    }
    let gross: i64 = earnings
        .iter()
        .map(|r| get_n(r, "amount_minor"))
        .sum::<Result<_, _>>()?;
    if gross != c.claimed_earnings_minor || earnings.len() != c.claimed_earnings as usize {
        return claim_changed(store, c).await;
    }
    let deductions: Vec<Item> = open
        .deductions
        .into_iter()
        .filter(|r| in_currency(r, currency))
        .collect();
    let mut open_ids: Vec<String> = deductions
        .iter()
        .map(|r| get_s(r, "pk").map(|pk| pk.trim_start_matches("DEDUCTION#").to_string()))
        .collect::<Result<_, _>>()?;
    let mut claimed_ids: Vec<String> = c
        .claimed_deductions
        .iter()
        .map(ToString::to_string)
        .collect();
    open_ids.sort();
    claimed_ids.sort();
    if open_ids != claimed_ids {
        return claim_changed(store, c).await;
    }

    let counted = kept_totals::count(store, payout, &c.event)?;
    // The payout, its event, the schedule's advance and the deductions it opens, with its
    // counts and claims.
    let opening = c.carried_balance.iter().chain(&c.reserve_release).count();
    let claims_fit =
        3 + opening + counted.len() + earnings.len() + deductions.len() <= TRANSACTION_LIMIT;
    // Counted when the payout becomes visible: at once, or once all its claims are taken.
    let (counted_now, counted_when_complete) = if claims_fit {
        (counted, Vec::new())
    } else {
        (Vec::new(), counted)
    };
    let mut head = vec![
        put(
            store,
            payout_item(payout, if claims_fit { COMPLETE } else { PENDING })?,
            Some("attribute_not_exists(pk)"),
        )?,
        event_item(store, payout.version, &c.event)?,
    ];
    head.extend(counted_now);
    if let Some((expected, next)) = c.schedule_advance {
        head.push(advance_item(store, &payout.barber_id, expected, next)?);
    }
    let head_len = head.len();
    // The deductions the payout opens are written when it becomes visible: with it, or with
    // the write that completes its claims, so a payout withdrawn (or never completed) opens
    // none.
    let opened = c
        .carried_balance
        .iter()
        .chain(&c.reserve_release)
        .map(|deduction| put_deduction_item(store, deduction))
        .collect::<Result<Vec<_>, _>>()?;
    let claims = earnings
        .iter()
        .chain(&deductions)
        .map(|record| claim_item(store, record, &payout.id, !claims_fit))
        .collect::<Result<Vec<_>, _>>()?;

    if claims_fit {
        let mut writes = head;
        writes.extend(opened);
        writes.extend(claims);
        return Ok(match store.transact(writes).await? {
            Transaction::Committed => CreateOutcome::Created,
            Transaction::Cancelled(failed) if failed[..head_len].iter().any(|f| *f) => {
                CreateOutcome::AlreadyExists
            }
            Transaction::Cancelled(_) => CreateOutcome::ClaimChanged,
        });
    }
    if let Transaction::Cancelled(_) = store.transact(head).await? {
        return Ok(CreateOutcome::AlreadyExists);
    }
    if !in_batches(store, claims).await? {
        // Another payout took part of this period: give back what was taken and withdraw the
        // hidden payout; the earnings stay open for the next period.
        let taken = claimed_by(store, &payout.id).await?;
        let releases = taken
            .iter()
            .map(|record| release_item(store, record, &payout.id))
            .collect::<Result<Vec<_>, _>>()?;
        in_batches(store, releases).await?;
        let mut withdraw = vec![
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&store.table)
                        .set_key(Some(payout_key(&payout.id)))
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
        ];
        withdraw.push(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&store.table)
                        .set_key(Some(event_key(&payout.id, payout.version)))
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
        );
        store.transact(withdraw).await?;
        return Ok(CreateOutcome::ClaimChanged);
    }
    let complete = Update::builder()
        .table_name(&store.table)
        .set_key(Some(payout_key(&payout.id)))
        .update_expression("SET claim_state = :complete")
        .condition_expression("claim_state = :pending")
        .set_expression_attribute_values(Some(item([
            (":complete", s(COMPLETE)),
            (":pending", s(PENDING)),
        ])))
        .build()
        .map_err(build_error)?;
    let mut writes = vec![TransactWriteItem::builder().update(complete).build()];
    writes.extend(counted_when_complete);
    writes.extend(opened);
    if let Transaction::Cancelled(_) = store.transact(writes).await? {
        return Err(StoreError::Backend(format!(
            "payout {} was no longer pending when its claims were all taken",
            payout.id
        )));
    }
    Ok(CreateOutcome::Created)
}

fn visible(record: &Item) -> bool {
    get_s(record, "claim_state").is_ok_and(|state| state == COMPLETE)
}

fn from_item(record: &Item) -> Result<Payout, StoreError> {
    from_json(record, "json_doc")
}

pub async fn get(store: &DynamoStore, id: &PayoutId) -> Result<Option<Payout>, StoreError> {
    match store.get(payout_key(id)).await? {
        Some(record) if visible(&record) => Ok(Some(from_item(&record)?)),
        Some(_) | None => Ok(None),
    }
}

/// Those of `ids` that exist and are visible.
pub async fn get_many(store: &DynamoStore, ids: &[PayoutId]) -> Result<Vec<Payout>, StoreError> {
    // BatchGetItem refuses a request that names a key twice (a job delivered twice can be in
    // one batch): each is asked for once.
    let unique: std::collections::BTreeSet<&PayoutId> = ids.iter().collect();
    let records = store
        .get_many(unique.into_iter().map(payout_key).collect())
        .await?;
    records
        .iter()
        .filter(|record| visible(record))
        .map(from_item)
        .collect()
}

/// The payouts `query` asks for: a barber's from their partition of gsi1, those in one status
/// from the status index's shards (merged), or everyone's from gsi2. Each partition is read
/// only as far as `limit` kept items.
pub async fn list(
    store: &DynamoStore,
    query: &PayoutQuery,
    limit: usize,
) -> Result<Vec<Payout>, StoreError> {
    use super::table::{GSI1, GSI2, GSI3};
    let partitions: Vec<(&str, String)> = match (&query.barber, query.status) {
        (Some(barber), _) => vec![(GSI1, format!("PAYOUTS#{barber}"))],
        (None, Some(status)) => (0..super::kept_totals::SHARDS)
            .map(|shard| (GSI3, status_partition(status, shard)))
            .collect(),
        (None, None) => vec![(GSI2, "PAYOUTS".to_string())],
    };
    let low = match (&query.after, query.from) {
        (Some((at, id)), _) => format!("{}#{id}!", time_key(*at)),
        (None, Some(from)) => time_key(from),
        (None, None) => " ".to_string(),
    };
    let high = match query.to {
        Some(to) => time_key(to - chrono::TimeDelta::microseconds(1)) + "#~",
        None => "~".to_string(),
    };
    if low.as_str() > high.as_str() {
        return Ok(Vec::new());
    }
    let status = query.status.map(PayoutStatus::as_str);
    let method = query.method.map(|m| m.as_str());
    let updated_from = query.updated_from.map(|t| t.timestamp_micros());
    // The status is checked on the item too: an index is eventually consistent, and may
    // still show a payout under the status it just left.
    let keep = move |record: &Item| {
        visible(record)
            && status.is_none_or(|s| get_s(record, "payout_status").is_ok_and(|v| v == s))
            && method.is_none_or(|m| get_s(record, "method").is_ok_and(|v| v == m))
            && updated_from.is_none_or(|t| get_n(record, "updated_at").is_ok_and(|v| v >= t))
    };
    let conditions: Vec<String> = partitions
        .iter()
        .map(|(index, _)| format!("{index}pk = :pk AND {index}sk BETWEEN :low AND :high"))
        .collect();
    let reads = partitions
        .iter()
        .zip(&conditions)
        .map(|((index, partition), condition)| {
            store.query_where(
                Some(index),
                condition,
                item([
                    (":pk", s(partition)),
                    (":low", s(&low)),
                    (":high", s(&high)),
                ]),
                limit,
                &keep,
            )
        });
    let mut payouts = futures::future::try_join_all(reads)
        .await?
        .iter()
        .flatten()
        .map(from_item)
        .collect::<Result<Vec<_>, _>>()?;
    payouts.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    payouts.truncate(limit);
    Ok(payouts)
}

pub async fn update(
    store: &DynamoStore,
    payout: &Payout,
    expected_version: u64,
    event: &AuditEvent,
    release_claims: bool,
) -> Result<WriteOutcome, StoreError> {
    let mut update = Update::builder()
        .table_name(&store.table)
        .set_key(Some(payout_key(&payout.id)))
        .condition_expression("payout_version = :expected AND claim_state = :complete")
        .expression_attribute_values(":expected", n(expected_version as i64))
        .expression_attribute_values(":complete", s(COMPLETE))
        .expression_attribute_values(":doc", to_json(payout)?)
        .expression_attribute_values(":status", s(payout.status.as_str()))
        .expression_attribute_values(":status_key", s(status_key(&payout.id, payout.status)))
        .expression_attribute_values(":version", n(payout.version as i64))
        .expression_attribute_values(":updated", micros(payout.updated_at))
        .expression_attribute_values(":attempts", n(i64::from(payout.attempts)));
    let set = "SET json_doc = :doc, payout_status = :status, gsi3pk = :status_key, \
               payout_version = :version, updated_at = :updated, attempts = :attempts";
    update = match payout.next_attempt_at {
        Some(at) => update
            .update_expression(format!("{set}, next_attempt_at = :next"))
            .expression_attribute_values(":next", micros(at)),
        None => update.update_expression(format!("{set} REMOVE next_attempt_at")),
    };
    let mut writes = vec![
        TransactWriteItem::builder()
            .update(update.build().map_err(build_error)?)
            .build(),
        event_item(store, payout.version, event)?,
    ];
    writes.extend(kept_totals::count(store, payout, event)?);
    if let Some(credit) = payout.fee_credit_opened() {
        writes.push(put_deduction_item(store, &credit)?);
    }
    if let Some(withdrawal) = payout.reserve_withdrawal(payout.updated_at)
        && release_claims
    {
        writes.push(put_deduction_item(store, &withdrawal)?);
    }
    let releases = if release_claims {
        claimed_by(store, &payout.id)
            .await?
            .iter()
            .map(|record| release_item(store, record, &payout.id))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let fits = writes.len() + releases.len() <= TRANSACTION_LIMIT;
    if fits {
        writes.extend(releases);
        return Ok(match store.transact(writes).await? {
            Transaction::Committed => WriteOutcome::Written,
            Transaction::Cancelled(_) => WriteOutcome::Stale,
        });
    }
    if let Transaction::Cancelled(_) = store.transact(writes).await? {
        return Ok(WriteOutcome::Stale);
    }
    // Releases are conditional on the claim and can be repeated; the payout is cancelled already.
    in_batches(store, releases).await?;
    Ok(WriteOutcome::Written)
}

pub async fn failed_count(store: &DynamoStore, barber: &BarberId) -> Result<u32, StoreError> {
    let failed = PayoutStatus::Failed.as_str();
    let keep = |record: &Item| get_s(record, "payout_status").is_ok_and(|s| s == failed);
    let records = store
        .query_where(
            Some(super::table::GSI1),
            "gsi1pk = :pk",
            item([(":pk", s(format!("PAYOUTS#{barber}")))]),
            usize::MAX,
            &keep,
        )
        .await?;
    Ok(u32::try_from(records.len()).unwrap_or(u32::MAX))
}

pub async fn audit_trail(
    store: &DynamoStore,
    id: &PayoutId,
) -> Result<Vec<AuditEvent>, StoreError> {
    store
        .query(
            None,
            "pk = :pk AND begins_with(sk, :events)",
            item([(":pk", s(format!("PAYOUT#{id}"))), (":events", s("EVENT#"))]),
            None,
        )
        .await?
        .iter()
        .map(|record| from_json(record, "json_doc"))
        .collect()
}

/// Payouts a crashed worker left: waiting past their time, or processing without a change
/// since `stale_before`. Read from the status index's partitions of those statuses, so a
/// sweep reads the payouts in flight, not the history.
pub async fn stalled(
    store: &DynamoStore,
    stale_before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Payout>, StoreError> {
    let t = stale_before.timestamp_micros();
    let before = |record: &Item, attribute: &str| get_n(record, attribute).is_ok_and(|at| at < t);
    let keep = move |record: &Item| {
        get_s(record, "claim_state").is_ok_and(|state| state == COMPLETE)
            && match get_s(record, "payout_status").map(str::parse::<PayoutStatus>) {
                Ok(Ok(
                    PayoutStatus::Scheduled | PayoutStatus::Queued | PayoutStatus::RetryScheduled,
                )) => before(record, "next_attempt_at"),
                Ok(Ok(PayoutStatus::Processing)) => before(record, "updated_at"),
                _ => false,
            }
    };
    // Processing first: a crashed worker's attempt is the one a backlog of waiting jobs must
    // not keep out of a sweep's page.
    let statuses = [
        PayoutStatus::Processing,
        PayoutStatus::Scheduled,
        PayoutStatus::Queued,
        PayoutStatus::RetryScheduled,
    ];
    let reads = statuses
        .into_iter()
        .flat_map(|status| (0..super::kept_totals::SHARDS).map(move |shard| (status, shard)))
        .map(|(status, shard)| {
            store.query_where(
                Some(super::table::GSI3),
                "gsi3pk = :pk",
                item([(":pk", s(status_partition(status, shard)))]),
                limit,
                &keep,
            )
        });
    let mut records: Vec<Item> = futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
        .collect();
    records.truncate(limit);
    records.iter().map(from_item).collect()
}
