//! Schedules, the sharded due index, and pending advance notices (one item per barber, in the
//! same index under `NOTICE#shard`).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use payout_app::ports::{AdvanceNotice, DueCursor, DueSchedule, StoreError};
use payout_core::ids::BarberId;
use payout_core::schedule::{PayoutSchedule, ScheduleState};

use super::DynamoStore;
use super::item::{
    Item, backend, corrupt, from_json, get_n, get_s, get_time, item, key, micros, n, s, time_key,
    to_json,
};
use super::records::put_if;

/// Due-index partitions. The planner's tick sends one message per shard, and each is planned
/// by an invocation of its own; reads of the whole index query every shard at once and merge.
/// 32 keeps each partition's index writes on a Friday (a million schedules advanced in a few
/// minutes) well under DynamoDB's 1,000 writes a second per partition key. Raising it is safe:
/// an item stays in its old shard until next written, and every shard below the count is read.
pub const DUE_SHARDS: u32 = 32;

/// Every shard of the due index.
pub fn all_shards() -> std::ops::Range<u32> {
    0..DUE_SHARDS
}

/// The due-index shard of a barber's schedule (and of its pending notice).
pub fn due_shard_of(barber: &BarberId) -> u32 {
    let hash = barber
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    u32::try_from(hash % u64::from(DUE_SHARDS)).unwrap_or(0)
}

pub fn schedule_key(barber: &BarberId) -> Item {
    key(format!("BARBER#{barber}"), "SCHEDULE")
}

fn due_key(next_run_at: DateTime<Utc>, barber: &BarberId) -> String {
    format!("{}#{barber}", time_key(next_run_at))
}

/// The attribute holding the schedule's version (`version` may be a reserved word).
const VERSION: &str = "schedule_version";

/// The schedule in an item; its cut-off and its version live in attributes of their own (the
/// ones conditional writes test and advances update), which override the copies in the body.
pub fn from_item(item: &Item) -> Result<PayoutSchedule, StoreError> {
    let mut schedule: PayoutSchedule = from_json(item, "json_doc")?;
    schedule.next_run_at = get_time(item, "next_run_at")?;
    if item.contains_key(VERSION) {
        schedule.version = u64::try_from(get_n(item, VERSION)?).map_err(corrupt)?;
    }
    Ok(schedule)
}

/// A due item, readable or not; its barber and cut-off come from its key and cut-off attribute.
fn due_from_item(item: &Item) -> Result<DueSchedule, StoreError> {
    Ok(match from_item(item) {
        Ok(schedule) => DueSchedule::Ready(Box::new(schedule)),
        Err(error) => DueSchedule::Unreadable {
            barber_id: get_s(item, "pk")?
                .strip_prefix("BARBER#")
                .and_then(|raw| BarberId::parse(raw).ok())
                .ok_or_else(|| corrupt("a due schedule without a barber key"))?,
            next_run_at: get_time(item, "next_run_at")?,
            reason: error.to_string(),
        },
    })
}

/// Writes `schedule` as its next version if the stored one is still at its version (a
/// schedule written before versions has none, which is version 0).
pub async fn replace(store: &DynamoStore, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
    let next = PayoutSchedule {
        version: schedule.version + 1,
        ..schedule.clone()
    };
    let condition = if schedule.version == 0 {
        "attribute_exists(pk) AND (attribute_not_exists(schedule_version) OR schedule_version = :version)"
    } else {
        "schedule_version = :version"
    };
    put_if(
        store,
        record(&next)?,
        condition,
        Some(item([(":version", version(schedule.version)?)])),
    )
    .await
}

fn version(version: u64) -> Result<AttributeValue, StoreError> {
    i64::try_from(version).map(n).map_err(corrupt)
}

pub async fn insert(store: &DynamoStore, schedule: &PayoutSchedule) -> Result<bool, StoreError> {
    put_if(store, record(schedule)?, "attribute_not_exists(pk)", None).await
}

fn record(schedule: &PayoutSchedule) -> Result<Item, StoreError> {
    let mut record = schedule_key(&schedule.barber_id);
    record.extend(item([
        ("json_doc", to_json(schedule)?),
        ("next_run_at", micros(schedule.next_run_at)),
        (VERSION, version(schedule.version)?),
        ("gsi2pk", s("SCHEDULES")),
        ("gsi2sk", s(schedule.barber_id.as_str())),
    ]));
    if schedule.state == ScheduleState::Active {
        record.extend(item([
            (
                "gsi1pk",
                s(format!("DUE#{}", due_shard_of(&schedule.barber_id))),
            ),
            (
                "gsi1sk",
                s(due_key(schedule.next_run_at, &schedule.barber_id)),
            ),
        ]));
    }
    Ok(record)
}

pub async fn get(
    store: &DynamoStore,
    barber: &BarberId,
) -> Result<Option<PayoutSchedule>, StoreError> {
    store
        .get(schedule_key(barber))
        .await?
        .map(|item| from_item(&item))
        .transpose()
}

/// Up to `limit` items of each of `shards` of `prefix` whose index key lies in `low..=high`,
/// the shards queried at the same time.
async fn due_in_shards(
    store: &DynamoStore,
    shards: impl Iterator<Item = u32>,
    prefix: &str,
    low: &str,
    high: &str,
    limit: usize,
) -> Result<Vec<Item>, StoreError> {
    let queries = shards.map(|shard| {
        store.query(
            Some(super::table::GSI1),
            "gsi1pk = :shard AND gsi1sk BETWEEN :low AND :high",
            item([
                (":shard", s(format!("{prefix}#{shard}"))),
                (":low", s(low)),
                (":high", s(high)),
            ]),
            Some(limit),
        )
    });
    Ok(futures::future::try_join_all(queries)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

// Ids use [A-Za-z0-9._-], all below `~` and above `!`, and keys may not be empty: these bounds
// bracket every key.
const LOWEST_KEY: &str = " ";

fn highest_key_at(now: DateTime<Utc>) -> String {
    format!("{}#~", time_key(now))
}

/// The due schedules of `shards`, merged in (next run, barber) order.
pub async fn due(
    store: &DynamoStore,
    shards: impl Iterator<Item = u32>,
    now: DateTime<Utc>,
    cursor: Option<&DueCursor>,
    limit: usize,
) -> Result<Vec<DueSchedule>, StoreError> {
    let low = match cursor {
        Some(c) => format!("{}!", due_key(c.next_run_at, &c.barber_id)),
        None => LOWEST_KEY.to_string(),
    };
    let high = highest_key_at(now);
    // A cursor past the window (a page of a longer forecast) has nothing after it; DynamoDB
    // refuses a BETWEEN whose bounds are the wrong way round.
    if low > high {
        return Ok(Vec::new());
    }
    let mut due = due_in_shards(store, shards, "DUE", &low, &high, limit)
        .await?
        .iter()
        .map(due_from_item)
        .collect::<Result<Vec<_>, _>>()?;
    due.sort_by(|a, b| (a.next_run_at(), a.barber_id()).cmp(&(b.next_run_at(), b.barber_id())));
    due.truncate(limit);
    Ok(due)
}

/// An advance moves the cut-off and its place in the due index, as the schedule's next
/// version, and writes nothing else: an edit made meanwhile keeps its fields.
const ADVANCE: &str = "SET next_run_at = :next, gsi1sk = :due ADD schedule_version :one";

pub async fn advance(
    store: &DynamoStore,
    barber: &BarberId,
    expected: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(schedule_key(barber)))
        .update_expression(ADVANCE)
        .condition_expression("next_run_at = :expected")
        .set_expression_attribute_values(Some(item([
            (":next", micros(next)),
            (":due", s(due_key(next, barber))),
            (":expected", micros(expected)),
            (":one", n(1)),
        ])))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(backend(e)),
    }
}

/// The same advance as a transaction item, for payout creation.
pub fn advance_item(
    store: &DynamoStore,
    barber: &BarberId,
    expected: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&store.table)
        .set_key(Some(schedule_key(barber)))
        .update_expression(ADVANCE)
        .condition_expression("next_run_at = :expected")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":next", micros(next))
        .expression_attribute_values(":due", AttributeValue::S(due_key(next, barber)))
        .expression_attribute_values(":expected", micros(expected))
        .build()
        .map_err(super::item::build_error)?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .update(update)
        .build())
}

pub async fn list(
    store: &DynamoStore,
    after: Option<&BarberId>,
    limit: usize,
) -> Result<Vec<PayoutSchedule>, StoreError> {
    let items = store
        .query(
            Some(super::table::GSI2),
            "gsi2pk = :all AND gsi2sk > :after",
            item([
                (":all", s("SCHEDULES")),
                (":after", s(after.map(BarberId::as_str).unwrap_or(" "))),
            ]),
            Some(limit),
        )
        .await?;
    items.iter().map(from_item).collect()
}

fn notice_key(barber: &BarberId) -> Item {
    key(format!("BARBER#{barber}"), "NOTICE")
}

pub async fn mark_notice(
    store: &DynamoStore,
    notice: &AdvanceNotice,
    notice_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let barber = &notice.barber_id;
    let mut record = notice_key(barber);
    record.extend(item([
        ("barber_id", s(barber.as_str())),
        ("cutoff", micros(notice.cutoff)),
        ("gsi1pk", s(format!("NOTICE#{}", due_shard_of(barber)))),
        ("gsi1sk", s(due_key(notice_at, barber))),
    ]));
    store.put(record).await
}

pub async fn due_notices(
    store: &DynamoStore,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<AdvanceNotice>, StoreError> {
    let mut due = due_in_shards(
        store,
        all_shards(),
        "NOTICE",
        LOWEST_KEY,
        &highest_key_at(now),
        limit,
    )
    .await?
    .iter()
    .map(|record| {
        Ok((
            get_s(record, "gsi1sk")?.to_string(),
            AdvanceNotice {
                barber_id: BarberId::parse(get_s(record, "barber_id")?).map_err(corrupt)?,
                cutoff: get_time(record, "cutoff")?,
            },
        ))
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    due.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(due
        .into_iter()
        .take(limit)
        .map(|(_, notice)| notice)
        .collect())
}

pub async fn clear_notice(store: &DynamoStore, notice: &AdvanceNotice) -> Result<(), StoreError> {
    // When the condition fails a newer notice replaced this one: it stays.
    super::records::delete_if(
        store,
        notice_key(&notice.barber_id),
        "cutoff = :cutoff",
        item([(":cutoff", micros(notice.cutoff))]),
    )
    .await
}
