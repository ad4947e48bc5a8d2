//! The notification outbox and the planner's failure records.
//!
//! A notice is one item, `NOTIFY#key`, listed per barber in gsi1; while it is pending delivery it
//! is also in gsi2 under `OUTBOX` by its next attempt, and leaves that index once delivered or
//! given up. A barber the planner could not plan is `BARBER#b` / `PLANNING`, listed in gsi2
//! under `PLANNING_FAILURES`.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use chrono::{DateTime, Utc};
use payout_app::ports::{
    NoticeDelivery, NoticeState, Notification, PendingNotification, PlanningFailure,
    SentNotification, StoreError,
};
use payout_core::ids::BarberId;

use super::DynamoStore;
use super::item::{
    Item, backend, corrupt, from_json, get_n, get_s, get_time, item, key, micros, n, s, time_key,
    to_json,
};
use super::records::{RECORD_TTL, put_if};
use super::table::{GSI1, GSI2};

const OUTBOX: &str = "OUTBOX";
const PLANNING_FAILURES: &str = "PLANNING_FAILURES";

fn notice_key(dedupe_key: &str) -> Item {
    key(format!("NOTIFY#{dedupe_key}"), "NOTIFY")
}

fn outbox_sort_key(at: DateTime<Utc>, dedupe_key: &str) -> String {
    format!("{}#{dedupe_key}", time_key(at))
}

pub async fn record_notification(
    store: &DynamoStore,
    notification: &Notification,
    at: DateTime<Utc>,
    retry_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut record = notice_key(&notification.dedupe_key);
    record.extend(item([
        ("json_doc", to_json(notification)?),
        ("sent_at", micros(at)),
        ("gsi1pk", s(format!("NOTICES#{}", notification.barber_id))),
        (
            "gsi1sk",
            s(format!("{}#{}", time_key(at), notification.dedupe_key)),
        ),
        ("delivery_state", s(NoticeState::Pending.as_str())),
        ("attempts", n(0)),
        ("gsi2pk", s(OUTBOX)),
        (
            "gsi2sk",
            s(outbox_sort_key(retry_at, &notification.dedupe_key)),
        ),
        ("expires_at", n((at + RECORD_TTL * 12).timestamp())),
    ]));
    put_if(store, record, "attribute_not_exists(pk)", None).await
}

pub async fn settle_notification(
    store: &DynamoStore,
    dedupe_key: &str,
    delivery: NoticeDelivery,
) -> Result<(), StoreError> {
    let request = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(notice_key(dedupe_key)))
        .condition_expression("attribute_exists(pk)");
    // Settled for good: out of the outbox's index.
    let settled = |request: UpdateItemFluentBuilder, state: NoticeState| {
        request
            .update_expression("SET delivery_state = :state REMOVE gsi2pk, gsi2sk")
            .set_expression_attribute_values(Some(item([(":state", s(state.as_str()))])))
    };
    let request = match delivery {
        NoticeDelivery::Delivered => settled(request, NoticeState::Delivered),
        NoticeDelivery::SkippedNoAddress => settled(request, NoticeState::SkippedNoAddress),
        NoticeDelivery::Retry { attempts, at } => request
            .update_expression("SET delivery_state = :state, attempts = :attempts, gsi2sk = :next")
            .set_expression_attribute_values(Some(item([
                (":state", s(NoticeState::Pending.as_str())),
                (":attempts", n(i64::from(attempts))),
                (":next", s(outbox_sort_key(at, dedupe_key))),
            ]))),
        NoticeDelivery::GaveUp { attempts } => request
            .update_expression(
                "SET delivery_state = :state, attempts = :attempts REMOVE gsi2pk, gsi2sk",
            )
            .set_expression_attribute_values(Some(item([
                (":state", s(NoticeState::GaveUp.as_str())),
                (":attempts", n(i64::from(attempts))),
            ]))),
    };
    request.send().await.map_err(backend)?;
    Ok(())
}

pub async fn due_notifications(
    store: &DynamoStore,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<PendingNotification>, StoreError> {
    // `~` sorts after every dedupe key, so the bound includes everything due at `now`.
    let records = store
        .query(
            Some(GSI2),
            "gsi2pk = :outbox AND gsi2sk <= :due",
            item([
                (":outbox", s(OUTBOX)),
                (":due", s(format!("{}#~", time_key(now)))),
            ]),
            Some(limit),
        )
        .await?;
    records
        .iter()
        .map(|record| {
            Ok(PendingNotification {
                notification: from_json(record, "json_doc")?,
                attempts: u32::try_from(get_n(record, "attempts")?).map_err(corrupt)?,
            })
        })
        .collect()
}

pub async fn list_notifications(
    store: &DynamoStore,
    barber: &BarberId,
    limit: usize,
) -> Result<Vec<SentNotification>, StoreError> {
    let mut records = store
        .query(
            Some(GSI1),
            "gsi1pk = :pk",
            item([(":pk", s(format!("NOTICES#{barber}")))]),
            None,
        )
        .await?;
    records.reverse();
    records.truncate(limit);
    records
        .iter()
        .map(|record| {
            Ok(SentNotification {
                notification: from_json(record, "json_doc")?,
                sent_at: get_time(record, "sent_at")?,
                // Recorded before the outbox kept delivery state: it was published then.
                state: match record.get("delivery_state") {
                    None => NoticeState::Delivered,
                    Some(_) => {
                        let raw = get_s(record, "delivery_state")?;
                        NoticeState::parse(raw)
                            .ok_or_else(|| corrupt(format!("notice state {raw}")))?
                    }
                },
            })
        })
        .collect()
}

fn planning_key(barber: &BarberId) -> Item {
    key(format!("BARBER#{barber}"), "PLANNING")
}

fn planning_failure(record: &Item) -> Result<PlanningFailure, StoreError> {
    Ok(PlanningFailure {
        barber_id: BarberId::parse(get_s(record, "gsi2sk")?).map_err(corrupt)?,
        reason: get_s(record, "reason")?.to_string(),
        failures: u32::try_from(get_n(record, "failures")?).map_err(corrupt)?,
        first_failed_at: get_time(record, "first_failed_at")?,
        last_failed_at: get_time(record, "last_failed_at")?,
        retry_at: get_time(record, "retry_at")?,
    })
}

pub async fn record_planning_failure(
    store: &DynamoStore,
    barber: &BarberId,
    reason: &str,
    at: DateTime<Utc>,
    retry_at: DateTime<Utc>,
) -> Result<PlanningFailure, StoreError> {
    let output = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(planning_key(barber)))
        .update_expression(
            "SET reason = :reason, last_failed_at = :at, retry_at = :retry, \
             first_failed_at = if_not_exists(first_failed_at, :at), \
             gsi2pk = :index, gsi2sk = :barber ADD failures :one",
        )
        .set_expression_attribute_values(Some(item([
            (":reason", s(reason)),
            (":at", micros(at)),
            (":retry", micros(retry_at)),
            (":index", s(PLANNING_FAILURES)),
            (":barber", s(barber.as_str())),
            (":one", n(1)),
        ])))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
        .send()
        .await
        .map_err(backend)?;
    planning_failure(
        output
            .attributes()
            .ok_or_else(|| corrupt("no attributes returned"))?,
    )
}

pub async fn clear_planning_failure(
    store: &DynamoStore,
    barber: &BarberId,
) -> Result<(), StoreError> {
    store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(planning_key(barber)))
        .send()
        .await
        .map_err(backend)?;
    Ok(())
}

pub async fn get_planning_failure(
    store: &DynamoStore,
    barber: &BarberId,
) -> Result<Option<PlanningFailure>, StoreError> {
    store
        .get(planning_key(barber))
        .await?
        .map(|record| planning_failure(&record))
        .transpose()
}

pub async fn planning_failures(
    store: &DynamoStore,
    limit: usize,
) -> Result<Vec<PlanningFailure>, StoreError> {
    store
        .query(
            Some(GSI2),
            "gsi2pk = :index",
            item([(":index", s(PLANNING_FAILURES))]),
            Some(limit),
        )
        .await?
        .iter()
        .map(planning_failure)
        .collect()
}
