//! What every `Store` must do, whatever it is built on. Each function takes a fresh,
//! empty store.

use chrono::{DateTime, TimeDelta, Utc, Weekday};
use payout_app::ports::{
    AdvanceNotice, CreateOutcome, HeldEarnings, IntakeOutcome, NoticeDelivery, NoticeState,
    NotificationKind, OpenWindow, OutcomeRecorded, OutcomeWrite, PayoutCreation, PayoutQuery,
    PayoutWrite, PeriodClose, PeriodWrite, Store, VoidOutcome, WriteOutcome,
};
use payout_app::totals_check::totals_differences;
use payout_core::breakdown::{PayoutPolicy, PeriodActivity};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::money::Currency;
use payout_core::payout::{Payout, PayoutTrigger, PlannedPayout};
use payout_core::schedule::{NotificationPrefs, PayoutSchedule};
use payout_core::status::PayoutStatus;
use payout_core::totals::Bucket;

use crate::world::{World, usd, utc};

fn barber(id: &str) -> BarberId {
    BarberId::parse(id).unwrap()
}

pub async fn lock_is_exclusive_until_its_lease_expires(store: &dyn Store) {
    let b = barber("b1");
    let t0 = utc(2026, 1, 1, 0, 0);
    let lease = TimeDelta::minutes(5);
    assert!(store.try_lock(&b, "a", t0, t0 + lease).await.unwrap());
    assert!(
        !store
            .try_lock(&b, "b", t0 + TimeDelta::minutes(1), t0 + lease * 2)
            .await
            .unwrap()
    );
    // Only the owner releases.
    store.release_lock(&b, "b").await.unwrap();
    assert!(
        !store
            .try_lock(&b, "b", t0 + TimeDelta::minutes(2), t0 + lease * 2)
            .await
            .unwrap()
    );
    // An expired lease can be taken over; the old owner's release then does nothing.
    assert!(
        store
            .try_lock(&b, "b", t0 + TimeDelta::minutes(6), t0 + lease * 3)
            .await
            .unwrap()
    );
    store.release_lock(&b, "a").await.unwrap();
    assert!(
        !store
            .try_lock(&b, "c", t0 + TimeDelta::minutes(7), t0 + lease * 3)
            .await
            .unwrap()
    );
    store.release_lock(&b, "b").await.unwrap();
    assert!(
        store
            .try_lock(&b, "c", t0 + TimeDelta::minutes(7), t0 + lease * 3)
            .await
            .unwrap()
    );
}

pub async fn earnings_are_idempotent_by_id_and_content(store: &dyn Store) {
    let t0 = utc(2026, 1, 5, 12, 0);
    let e = World::earning("b1", 1, "40.00", t0);
    let hash = "h1".to_string();
    assert_eq!(
        store
            .insert_earnings(std::slice::from_ref(&e), std::slice::from_ref(&hash))
            .await
            .unwrap(),
        vec![IntakeOutcome::Created]
    );
    assert_eq!(
        store
            .insert_earnings(std::slice::from_ref(&e), &[hash])
            .await
            .unwrap(),
        vec![IntakeOutcome::Duplicate]
    );
    assert_eq!(
        store
            .insert_earnings(&[e], &["h2".to_string()])
            .await
            .unwrap(),
        vec![IntakeOutcome::Conflict]
    );
    let open = store
        .open_activity(&barber("b1"), Currency::Usd, OpenWindow::at(t0))
        .await
        .unwrap();
    assert_eq!((open.gross_minor, open.services), (4000, 1));
}

async fn seed_period(store: &dyn Store) -> (PayoutCreation, chrono::DateTime<chrono::Utc>) {
    seed_period_of(store, "b1", 3).await
}

/// `barber`'s open gross (minor units) and services in USD recorded by `cutoff`.
async fn open_services(store: &dyn Store, who: &str, cutoff: DateTime<Utc>) -> (i64, u32) {
    let open = store
        .open_activity(&barber(who), Currency::Usd, OpenWindow::at(cutoff))
        .await
        .unwrap();
    (open.gross_minor, open.services)
}

/// A barber with `services` open earnings of $100 and the creation that closes the period.
async fn seed_period_of(
    store: &dyn Store,
    barber: &str,
    services: usize,
) -> (PayoutCreation, chrono::DateTime<chrono::Utc>) {
    let monday = utc(2026, 3, 2, 12, 0);
    let schedule = World::weekly_schedule(barber, Weekday::Fri, monday);
    store.insert_schedule(&schedule).await.unwrap();
    let earnings: Vec<_> = (0..services)
        .map(|n| World::earning(barber, n, "100.00", monday + TimeDelta::minutes(n as i64)))
        .collect();
    let hashes: Vec<String> = (0..services).map(|n| format!("h{n}")).collect();
    for (earnings, hashes) in earnings.chunks(500).zip(hashes.chunks(500)) {
        store.insert_earnings(earnings, hashes).await.unwrap();
    }
    let cutoff = schedule.next_run_at;
    let breakdown = PayoutPolicy::default()
        .breakdown(
            &PeriodActivity {
                gross: payout_core::money::Money::from_minor(
                    services as i64 * 10_000,
                    Currency::Usd,
                ),
                services: services as u32,
                tips: payout_core::money::Money::zero(Currency::Usd),
                deductions: vec![],
            },
            schedule.method,
        )
        .unwrap();
    let (payout, event) = Payout::queued(
        PlannedPayout {
            id: PayoutId::scheduled(&schedule.barber_id, cutoff),
            barber_id: schedule.barber_id.clone(),
            method: schedule.method,
            breakdown,
            trigger: PayoutTrigger::Scheduled,
            cutoff,
            destination: None,
            notifications: schedule.notifications.clone(),
            priority: 10,
            method_note: None,
        },
        cutoff,
        cutoff,
        "test",
    );
    let next = schedule.calendar.next_run_after(cutoff).unwrap();
    (
        PayoutCreation {
            payout,
            event,
            claimed_earnings_minor: services as i64 * 10_000,
            claimed_earnings: services as u32,
            claimed_deductions: vec![],
            earned_by: cutoff,
            carried_balance: None,
            reserve_release: None,
            schedule_advance: Some((cutoff, next)),
        },
        cutoff,
    )
}

pub async fn payout_creation_is_conditional_and_claims_earnings(store: &dyn Store) {
    let (creation, cutoff) = seed_period(store).await;
    let mut wrong = creation.clone();
    wrong.claimed_earnings_minor = 29999;
    assert_eq!(
        store.create_payout(&wrong).await.unwrap(),
        CreateOutcome::ClaimChanged
    );
    // Nothing of the refused creation remains.
    assert!(
        store
            .get_payout(&creation.payout.id)
            .await
            .unwrap()
            .is_none()
    );
    let open = store
        .open_activity(&barber("b1"), Currency::Usd, OpenWindow::at(cutoff))
        .await
        .unwrap();
    assert_eq!(open.services, 3);

    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::Created
    );
    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::AlreadyExists
    );
    assert_eq!(open_services(store, "b1", cutoff).await, (0, 0));
    let schedule = store.get_schedule(&barber("b1")).await.unwrap().unwrap();
    assert_eq!(
        Some((cutoff, schedule.next_run_at)),
        creation.schedule_advance
    );
    let trail = store.audit_trail(&creation.payout.id).await.unwrap();
    assert_eq!(trail.len(), 1);
}

/// A payout's earnings, what its statement lists, are the ones it claims, by when they were
/// performed; a cancelled payout claims none.
pub async fn a_payouts_earnings_are_the_ones_it_claims(store: &dyn Store) {
    let (creation, cutoff) = seed_period(store).await;
    let (other, _) = seed_period_of(store, "b2", 2).await;
    for creation in [&creation, &other] {
        assert_eq!(
            store.create_payout(creation).await.unwrap(),
            CreateOutcome::Created
        );
    }
    let id = &creation.payout.id;
    let earnings = store.earnings_of_payout(id).await.unwrap();
    let ids: Vec<String> = earnings.iter().map(|e| e.id.to_string()).collect();
    let expected: Vec<String> = (0..3)
        .map(|n| World::earning("b1", n, "100.00", cutoff).id.to_string())
        .collect();
    assert_eq!(ids, expected, "b1's three, in the order performed");
    assert!(earnings.iter().all(|e| e.amount == usd("100.00")));

    let mut cancelled = creation.payout.clone();
    let read = cancelled.version;
    let event = cancelled.cancel(cutoff, "operator", "test").unwrap();
    store.cancel_payout(&cancelled, read, &event).await.unwrap();
    assert!(store.earnings_of_payout(id).await.unwrap().is_empty());
    assert_eq!(
        store
            .earnings_of_payout(&other.payout.id)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn payout_updates_are_conditional_on_version(store: &dyn Store) {
    let (creation, cutoff) = seed_period(store).await;
    store.create_payout(&creation).await.unwrap();
    let mut first = creation.payout.clone();
    let mut second = creation.payout.clone();
    let read = first.version;
    let e1 = first.begin_attempt(cutoff, "a").unwrap();
    let e2 = second.begin_attempt(cutoff, "b").unwrap();
    assert_eq!(
        store.update_payout(&first, read, &e1).await.unwrap(),
        WriteOutcome::Written
    );
    assert_eq!(
        store.update_payout(&second, read, &e2).await.unwrap(),
        WriteOutcome::Stale
    );
    let stored = store.get_payout(&first.id).await.unwrap().unwrap();
    assert_eq!(stored, first);
    assert_eq!(store.audit_trail(&first.id).await.unwrap().len(), 2);
}

pub async fn cancel_returns_earnings_to_the_open_balance(store: &dyn Store) {
    let (creation, cutoff) = seed_period(store).await;
    store.create_payout(&creation).await.unwrap();
    let mut payout = creation.payout.clone();
    let read = payout.version;
    let event = payout.cancel(cutoff, "operator", "test").unwrap();
    assert_eq!(
        store.cancel_payout(&payout, read, &event).await.unwrap(),
        WriteOutcome::Written
    );
    assert_eq!(open_services(store, "b1", cutoff).await, (30000, 3));
    let stored = store.get_payout(&payout.id).await.unwrap().unwrap();
    assert_eq!(stored.status, PayoutStatus::Cancelled);
    // A stale cancel changes nothing.
    assert_eq!(
        store.cancel_payout(&payout, read, &event).await.unwrap(),
        WriteOutcome::Stale
    );
}

/// A payout keeping a reserve opens its release with it, payable only from the reserve's date;
/// cancelling the payout opens the release's withdrawal, payable with it, so the two cancel
/// out in whichever payout takes them.
pub async fn a_reserve_is_released_from_its_date_and_withdrawn_with_its_payout(store: &dyn Store) {
    use payout_core::breakdown::KeptReserve;
    use payout_core::deduction::DeductionKind;
    use payout_core::hold::Reserve;

    let (mut creation, cutoff) = seed_period(store).await;
    let until = cutoff + TimeDelta::days(30);
    let payout = &mut creation.payout;
    payout.breakdown = payout
        .breakdown
        .clone()
        .keep_reserve(&KeptReserve {
            reserve: Reserve::new(10, 30).unwrap().unwrap(),
            line: payout_core::ids::DeductionId::reserve_of(&payout.id),
            until,
        })
        .unwrap();
    let kept = payout.breakdown.reserve_kept().unwrap();
    creation.reserve_release = creation.payout.reserve_release(cutoff);
    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::Created
    );
    let kinds = |deductions: &[payout_core::deduction::DeductionLine]| {
        deductions
            .iter()
            .map(|line| (line.kind, line.amount))
            .collect::<Vec<_>>()
    };
    let open_at = async |at| {
        store
            .open_activity(&barber("b1"), Currency::Usd, OpenWindow::at(at))
            .await
            .unwrap()
            .deductions
    };
    assert!(open_at(until - TimeDelta::seconds(1)).await.is_empty());
    let release = vec![(DeductionKind::ReserveRelease, kept.negate())];
    assert_eq!(kinds(&open_at(until).await), release);
    let pending = store
        .deductions_payable_after(&barber("b1"), Currency::Usd, cutoff)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payable_from(), until);
    assert!(
        store
            .deductions_payable_after(&barber("b1"), Currency::Usd, until)
            .await
            .unwrap()
            .is_empty()
    );

    let mut cancelled = creation.payout.clone();
    let read = cancelled.version;
    let event = cancelled.cancel(cutoff, "operator", "test").unwrap();
    store.cancel_payout(&cancelled, read, &event).await.unwrap();
    assert!(open_at(until - TimeDelta::seconds(1)).await.is_empty());
    let mut both = kinds(&open_at(until).await);
    both.sort_by_key(|(_, amount)| amount.amount());
    assert_eq!(
        both,
        vec![
            (DeductionKind::ReserveRelease, kept.negate()),
            (DeductionKind::ReserveRelease, kept)
        ]
    );
}

/// An instant payout the provider paid standard instead gives back the instant fee's excess:
/// opened by the write that records its arrival, once, payable at once.
pub async fn a_payout_paid_standard_instead_opens_its_fee_credit_once(store: &dyn Store) {
    use payout_core::deduction::DeductionKind;

    let (mut creation, cutoff) = seed_period(store).await;
    creation.payout.method = payout_core::method::PaymentMethod::StripeInstant;
    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::Created
    );
    let mut payout = creation.payout.clone();
    let standard_fee = payout.breakdown.fee.checked_sub(usd("1.00")).unwrap();
    let read = payout.version;
    let event = payout.begin_attempt(cutoff, "executor").unwrap();
    store.update_payout(&payout, read, &event).await.unwrap();
    let read = payout.version;
    let event = payout
        .record_transfer(cutoff, "executor", "tr_1".into(), false, "paid")
        .unwrap();
    payout.record_paid_standard("instant_payouts_unsupported", standard_fee);
    assert_eq!(
        store.update_payout(&payout, read, &event).await.unwrap(),
        WriteOutcome::Written
    );
    let open = async || {
        store
            .open_activity(&barber("b1"), Currency::Usd, OpenWindow::at(cutoff))
            .await
            .unwrap()
            .deductions
            .iter()
            .map(|line| (line.kind, line.amount))
            .collect::<Vec<_>>()
    };
    assert!(open().await.is_empty(), "nothing given back before arrival");
    let read = payout.version;
    let event = payout
        .confirm_arrival(cutoff, "webhook", "arrived")
        .unwrap();
    assert_eq!(
        store.update_payout(&payout, read, &event).await.unwrap(),
        WriteOutcome::Written
    );
    assert_eq!(open().await, vec![(DeductionKind::FeeCredit, usd("-1.00"))]);
}

pub async fn due_schedules_page_in_order_and_advance_conditionally(store: &dyn Store) {
    let monday = utc(2026, 3, 2, 12, 0);
    for (i, day) in [Weekday::Wed, Weekday::Tue, Weekday::Thu, Weekday::Tue]
        .iter()
        .enumerate()
    {
        store
            .insert_schedule(&World::weekly_schedule(&format!("b{i}"), *day, monday))
            .await
            .unwrap();
    }
    let friday = utc(2026, 3, 6, 0, 0);
    let first = store.due_schedules(friday, None, 2).await.unwrap();
    let ids: Vec<_> = first.iter().map(|s| s.barber_id().to_string()).collect();
    assert_eq!(ids, ["b1", "b3"]);
    let cursor = payout_app::ports::DueCursor {
        next_run_at: first[1].next_run_at(),
        barber_id: first[1].barber_id().clone(),
    };
    let second = store.due_schedules(friday, Some(&cursor), 2).await.unwrap();
    let ids: Vec<_> = second.iter().map(|s| s.barber_id().to_string()).collect();
    assert_eq!(ids, ["b0", "b2"]);

    let payout_app::ports::DueSchedule::Ready(s) = &first[0] else {
        panic!("a schedule written by the store reads back");
    };
    let next = s.next_run_at + TimeDelta::weeks(1);
    assert!(
        !store
            .advance_schedule(&s.barber_id, next, next)
            .await
            .unwrap()
    );
    assert!(
        store
            .advance_schedule(&s.barber_id, s.next_run_at, next)
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_schedule(&s.barber_id, s.next_run_at, next)
            .await
            .unwrap()
    );
    let due_now = store.due_schedules(friday, None, 10).await.unwrap();
    assert_eq!(due_now.len(), 3);
}

/// The due index's shards split it: each due schedule is in exactly one shard, each shard pages
/// in order, and a shard past the last has none.
pub async fn the_due_index_shards_split_it_exactly(store: &dyn Store) {
    let monday = utc(2026, 3, 2, 12, 0);
    for i in 0..40 {
        let day = [Weekday::Tue, Weekday::Wed, Weekday::Thu][i % 3];
        store
            .insert_schedule(&World::weekly_schedule(&format!("b{i}"), day, monday))
            .await
            .unwrap();
    }
    let friday = utc(2026, 3, 6, 0, 0);
    let key = |due: &payout_app::ports::DueSchedule| (due.next_run_at(), due.barber_id().clone());
    let whole: Vec<_> = store
        .due_schedules(friday, None, 100)
        .await
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert_eq!(whole.len(), 40);
    let mut from_shards = Vec::new();
    for shard in 0..store.due_shards() {
        let mut cursor = None;
        loop {
            let page = store
                .due_schedules_in_shard(shard, friday, cursor.as_ref(), 3)
                .await
                .unwrap();
            let keys: Vec<_> = page.iter().map(key).collect();
            assert!(keys.is_sorted(), "shard {shard} pages in order: {keys:?}");
            let Some((next_run_at, barber_id)) = keys.last().cloned() else {
                break;
            };
            from_shards.extend(keys);
            cursor = Some(payout_app::ports::DueCursor {
                next_run_at,
                barber_id,
            });
        }
    }
    from_shards.sort();
    assert_eq!(
        from_shards, whole,
        "every due schedule in exactly one shard"
    );
    let past_the_last = store
        .due_schedules_in_shard(store.due_shards(), friday, None, 100)
        .await
        .unwrap();
    assert!(past_the_last.is_empty());
}

/// A schedule is created once: a second create of the same barber's schedule writes nothing.
pub async fn schedules_are_created_once(store: &dyn Store) {
    let monday = utc(2026, 3, 2, 12, 0);
    let first = World::weekly_schedule("b1", Weekday::Fri, monday);
    assert!(store.insert_schedule(&first).await.unwrap());
    let mut second = World::weekly_schedule("b1", Weekday::Tue, monday);
    second.connected_account = Some("acct_other".into());
    assert!(!store.insert_schedule(&second).await.unwrap());
    assert_eq!(
        store.get_schedule(&barber("b1")).await.unwrap(),
        Some(first)
    );
}

/// A schedule is replaced only over the version it was read at; the planner's advance is a
/// version of its own and writes nothing but the cut-off, so neither writer undoes the other.
pub async fn schedule_writes_are_conditional_on_version(store: &dyn Store) {
    let monday = utc(2026, 3, 2, 12, 0);
    let b1 = barber("b1");
    let first = World::weekly_schedule("b1", Weekday::Fri, monday);
    assert!(store.insert_schedule(&first).await.unwrap());
    let read = store.get_schedule(&b1).await.unwrap().unwrap();
    assert_eq!(read.version, 0);

    let mut edited = read.clone();
    edited.notifications.email = Some("first@example.com".into());
    assert!(store.replace_schedule(&edited).await.unwrap());
    let after_edit = store.get_schedule(&b1).await.unwrap().unwrap();
    assert_eq!(after_edit.version, 1);
    assert_eq!(
        after_edit.notifications.email.as_deref(),
        Some("first@example.com")
    );

    let stale = PayoutSchedule {
        notifications: NotificationPrefs {
            email: Some("stale@example.com".into()),
            ..read.notifications.clone()
        },
        ..read.clone()
    };
    assert!(
        !store.replace_schedule(&stale).await.unwrap(),
        "a write over version 0 once 1 stands"
    );

    let next = first.next_run_at + TimeDelta::days(7);
    assert!(
        store
            .advance_schedule(&b1, first.next_run_at, next)
            .await
            .unwrap()
    );
    let advanced = store.get_schedule(&b1).await.unwrap().unwrap();
    assert_eq!((advanced.version, advanced.next_run_at), (2, next));
    assert_eq!(
        advanced.notifications.email.as_deref(),
        Some("first@example.com"),
        "the advance keeps the edit"
    );
    assert!(
        !store.replace_schedule(&after_edit).await.unwrap(),
        "an edit read before the advance would put the old cut-off back"
    );
    assert_eq!(
        store.get_schedule(&b1).await.unwrap().unwrap().next_run_at,
        next
    );

    let missing = World::weekly_schedule("b2", Weekday::Fri, monday);
    assert!(
        !store.replace_schedule(&missing).await.unwrap(),
        "a replace creates nothing"
    );
    assert_eq!(store.get_schedule(&barber("b2")).await.unwrap(), None);
}

pub async fn advance_notices_come_due_once_per_barber(store: &dyn Store) {
    let notice = |barber_id: &str, cutoff| AdvanceNotice {
        barber_id: barber(barber_id),
        cutoff,
    };
    let friday = utc(2026, 3, 6, 22, 0);
    let thursday = friday - TimeDelta::days(1);
    store
        .mark_advance_notice(&notice("b2", friday), thursday)
        .await
        .unwrap();
    store
        .mark_advance_notice(&notice("b1", friday), thursday - TimeDelta::hours(1))
        .await
        .unwrap();
    let before = thursday - TimeDelta::hours(2);
    assert!(
        store
            .due_advance_notices(before, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.due_advance_notices(thursday, 10).await.unwrap(),
        [notice("b1", friday), notice("b2", friday)],
        "earliest first"
    );
    // A newer run replaces the barber's pending notice; clearing the old one leaves it alone.
    let next_friday = friday + TimeDelta::weeks(1);
    store
        .mark_advance_notice(&notice("b1", next_friday), thursday + TimeDelta::weeks(1))
        .await
        .unwrap();
    store
        .clear_advance_notice(&notice("b1", friday))
        .await
        .unwrap();
    store
        .clear_advance_notice(&notice("b2", friday))
        .await
        .unwrap();
    assert!(
        store
            .due_advance_notices(thursday, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.due_advance_notices(next_friday, 10).await.unwrap(),
        [notice("b1", next_friday)]
    );
}

pub async fn webhook_events_are_recorded_once(store: &dyn Store) {
    let t0 = utc(2026, 1, 1, 0, 0);
    assert!(store.record_webhook_event("evt_1", t0).await.unwrap());
    assert!(!store.record_webhook_event("evt_1", t0).await.unwrap());
    assert!(store.record_webhook_event("evt_2", t0).await.unwrap());
    store.forget_webhook_event("evt_2").await.unwrap();
    assert!(store.record_webhook_event("evt_2", t0).await.unwrap());
}

pub async fn notifications_are_recorded_once(store: &dyn Store) {
    let t0 = utc(2026, 1, 1, 0, 0);
    let notice = |key: &str, barber: &str| payout_app::ports::Notification {
        dedupe_key: key.to_string(),
        barber_id: BarberId::parse(barber).unwrap(),
        payout_id: None,
        kind: payout_app::ports::NotificationKind::Completed,
        channels: vec![payout_app::ports::Channel::Email],
        recipient: Default::default(),
        message: format!("message {key}"),
    };
    assert!(
        store
            .record_notification(&notice("po_1#completed", "b1"), t0, t0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_notification(&notice("po_1#completed", "b1"), t0, t0)
            .await
            .unwrap()
    );
    let later = t0 + TimeDelta::minutes(1);
    assert!(
        store
            .record_notification(&notice("po_1#failed", "b1"), later, later)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_notification(&notice("po_2#completed", "b2"), later, later)
            .await
            .unwrap()
    );
    let sent = store.list_notifications(&barber("b1"), 10).await.unwrap();
    let keys: Vec<&str> = sent
        .iter()
        .map(|n| n.notification.dedupe_key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["po_1#failed", "po_1#completed"],
        "newest first, this barber only"
    );
    assert_eq!(sent[1].sent_at, t0);
    assert!(sent.iter().all(|n| n.state == NoticeState::Pending));
}

/// A recorded notice stays pending until delivered: due at its retry time, rescheduled by a
/// failed attempt, and gone from the due list once delivered or given up.
pub async fn pending_notices_come_due_until_settled(store: &dyn Store) {
    let t0 = utc(2026, 1, 1, 0, 0);
    let notice = |key: &str| payout_app::ports::Notification {
        dedupe_key: key.to_string(),
        barber_id: barber("b1"),
        payout_id: None,
        kind: payout_app::ports::NotificationKind::Completed,
        channels: vec![payout_app::ports::Channel::Sms],
        recipient: Default::default(),
        message: format!("message {key}"),
    };
    let minute = TimeDelta::minutes(1);
    for key in ["n1", "n2", "n3"] {
        assert!(
            store
                .record_notification(&notice(key), t0, t0 + minute)
                .await
                .unwrap()
        );
    }
    let due_keys = |due: Vec<payout_app::ports::PendingNotification>| -> Vec<(String, u32)> {
        due.into_iter()
            .map(|p| (p.notification.dedupe_key, p.attempts))
            .collect()
    };
    assert!(store.due_notifications(t0, 10).await.unwrap().is_empty());
    assert_eq!(
        due_keys(store.due_notifications(t0 + minute, 10).await.unwrap()),
        [("n1".into(), 0), ("n2".into(), 0), ("n3".into(), 0)]
    );
    store
        .settle_notification("n1", NoticeDelivery::Delivered)
        .await
        .unwrap();
    store
        .settle_notification(
            "n2",
            NoticeDelivery::Retry {
                attempts: 1,
                at: t0 + minute * 5,
            },
        )
        .await
        .unwrap();
    store
        .settle_notification("n3", NoticeDelivery::GaveUp { attempts: 5 })
        .await
        .unwrap();
    assert!(
        store
            .due_notifications(t0 + minute * 4, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        due_keys(store.due_notifications(t0 + minute * 5, 10).await.unwrap()),
        [("n2".into(), 1)]
    );
    let mut states: Vec<(String, NoticeState)> = store
        .list_notifications(&barber("b1"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.notification.dedupe_key, n.state))
        .collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        states,
        [
            ("n1".into(), NoticeState::Delivered),
            ("n2".into(), NoticeState::Pending),
            ("n3".into(), NoticeState::GaveUp)
        ]
    );
}

/// A planning failure counts failures in a row, keeps when it first happened, and is listed
/// by barber until cleared.
pub async fn planning_failures_count_until_cleared(store: &dyn Store) {
    let t0 = utc(2026, 1, 1, 0, 0);
    let minute = TimeDelta::minutes(1);
    assert!(
        store
            .planning_failure(&barber("b2"))
            .await
            .unwrap()
            .is_none()
    );
    let first = store
        .record_planning_failure(&barber("b2"), "overflow", t0, t0 + minute)
        .await
        .unwrap();
    assert_eq!((first.failures, first.first_failed_at), (1, t0));
    let second = store
        .record_planning_failure(
            &barber("b2"),
            "still overflow",
            t0 + minute,
            t0 + minute * 3,
        )
        .await
        .unwrap();
    assert_eq!(second.failures, 2);
    assert_eq!(second.first_failed_at, t0);
    assert_eq!(second.last_failed_at, t0 + minute);
    assert_eq!(second.retry_at, t0 + minute * 3);
    assert_eq!(second.reason, "still overflow");
    store
        .record_planning_failure(&barber("b1"), "corrupt", t0, t0 + minute)
        .await
        .unwrap();
    let listed: Vec<String> = store
        .planning_failures(10)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.barber_id.to_string())
        .collect();
    assert_eq!(listed, ["b1", "b2"]);
    assert_eq!(
        store.planning_failure(&barber("b2")).await.unwrap(),
        Some(second)
    );
    store.clear_planning_failure(&barber("b2")).await.unwrap();
    store.clear_planning_failure(&barber("b3")).await.unwrap();
    assert!(
        store
            .planning_failure(&barber("b2"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.planning_failures(10).await.unwrap().len(), 1);
}

/// A restriction keeps its first reason and time until lifted; restrictions are read for many
/// accounts at once (those in force among them), lifting returns what was lifted, and a word
/// older than the last one about the account (a late event) changes nothing.
pub async fn account_restrictions_keep_their_first_reason_until_lifted(store: &dyn Store) {
    let t0 = utc(2026, 1, 1, 0, 0);
    let hour = TimeDelta::hours(1);
    let accounts = |names: &[&str]| names.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    assert!(
        store
            .account_restrictions(&accounts(&["acct_1"]))
            .await
            .unwrap()
            .is_empty()
    );
    let first = store
        .restrict_account("acct_1", "payouts disabled", t0, t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.reason.as_str(), first.since),
        ("payouts disabled", t0)
    );
    let again = store
        .restrict_account("acct_1", "account_closed", t0 + hour, t0 + hour)
        .await
        .unwrap();
    assert_eq!(again, Some(first.clone()), "one in force keeps its first");
    store
        .restrict_account("acct_2", "account_closed", t0, t0)
        .await
        .unwrap();
    let mut among: Vec<String> = store
        .account_restrictions(&accounts(&["acct_2", "acct_3", "acct_1", "acct_2"]))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.account)
        .collect();
    among.sort();
    assert_eq!(among, ["acct_1", "acct_2"]);
    assert_eq!(
        store
            .lift_account_restriction("acct_1", t0 + hour * 2)
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        store
            .lift_account_restriction("acct_1", t0 + hour * 3)
            .await
            .unwrap(),
        None,
        "nothing in force"
    );
    // Stripe's older "disabled", delivered late, after its newer "enabled": nothing changes.
    assert_eq!(
        store
            .restrict_account("acct_1", "late", t0 + hour * 4, t0 + hour)
            .await
            .unwrap(),
        None
    );
    // Nor does an older "enabled" lift what a newer word restricted.
    let newer = store
        .restrict_account("acct_2", "ignored: in force", t0 + hour, t0 + hour * 5)
        .await
        .unwrap();
    assert!(newer.is_some());
    assert_eq!(
        store
            .lift_account_restriction("acct_2", t0 + hour * 4)
            .await
            .unwrap(),
        None
    );
    // A lift of an account never restricted is remembered: an older word after it is late.
    assert_eq!(
        store
            .lift_account_restriction("acct_4", t0 + hour * 2)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .restrict_account("acct_4", "late", t0 + hour * 3, t0 + hour)
            .await
            .unwrap(),
        None
    );
    let in_force: Vec<String> = store
        .account_restrictions(&accounts(&["acct_1", "acct_2", "acct_4"]))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.account)
        .collect();
    assert_eq!(in_force, ["acct_2"]);
}

/// DynamoDB writes at most 100 items per transaction; a period may hold many more earnings.
pub async fn a_period_beyond_one_transaction_is_claimed_and_released_whole(store: &dyn Store) {
    let (creation, cutoff) = seed_period_of(store, "b1", 260).await;
    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::Created
    );
    assert_eq!(open_services(store, "b1", cutoff).await, (0, 0));
    let mut payout = store
        .get_payout(&creation.payout.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payout.breakdown.service_count, 260);
    let read = payout.version;
    let event = payout.cancel(cutoff, "operator", "test").unwrap();
    assert_eq!(
        store.cancel_payout(&payout, read, &event).await.unwrap(),
        WriteOutcome::Written
    );
    let open = store
        .open_activity(&barber("b1"), Currency::Usd, OpenWindow::at(cutoff))
        .await
        .unwrap();
    assert_eq!((open.gross_minor, open.services), (2_600_000, 260));
    // Counted once, when the payout became visible with all its claims, and moved by the cancel.
    assert_eq!(
        store.count_by_status().await.unwrap(),
        [(PayoutStatus::Cancelled, 1)]
    );
    assert_eq!(
        totals_differences(store).await.unwrap(),
        Vec::<String>::new()
    );
}

/// Counts per status, per day paid and failures move in the commit of the change that moves
/// them, never for a write that lost, and agree with a recount of the records.
pub async fn totals_are_kept_with_every_payout_change(store: &dyn Store) {
    let (creation, cutoff) = seed_period(store).await;
    store.create_payout(&creation).await.unwrap();
    let mut payout = creation.payout.clone();
    let created_at = payout.created_at;
    let read = payout.version;
    let begun = payout.begin_attempt(cutoff, "executor").unwrap();
    store.update_payout(&payout, read, &begun).await.unwrap();
    let mut loser = payout.clone();
    let read = payout.version;
    let paid_at = cutoff + TimeDelta::seconds(31);
    let paid = payout
        .record_transfer(paid_at, "executor", "tr_1".into(), false, "paid")
        .unwrap();
    store.update_payout(&payout, read, &paid).await.unwrap();
    let retry = loser
        .schedule_retry(
            cutoff,
            "executor",
            cutoff + TimeDelta::minutes(5),
            payout_core::retry::FailureKind::ProviderUnavailable,
            "503",
        )
        .unwrap();
    assert_eq!(
        store.update_payout(&loser, read, &retry).await.unwrap(),
        WriteOutcome::Stale
    );

    assert_eq!(
        store.count_by_status().await.unwrap(),
        [(PayoutStatus::InTransit, 1)]
    );
    let day = Bucket::Day(paid_at.date_naive());
    let hour = Bucket::hour_of(created_at);
    let totals = store.totals(&[day.clone(), hour.clone()]).await.unwrap();
    let net = payout.breakdown.net.to_minor().unwrap();
    assert_eq!(totals.get(&day, "paid_count_usd"), 1);
    assert_eq!(totals.get(&day, "paid_net_minor_usd"), net);
    assert_eq!(totals.get(&hour, "created"), 1);
    assert_eq!(
        totals.get(&day, "retry_scheduled"),
        0,
        "a stale write counted"
    );
    assert_eq!(
        store
            .count_payouts_created(created_at, created_at + TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );

    // Stripe fails it after the transfer: it leaves the paid count of the day it was paid.
    let read = payout.version;
    let failed = payout
        .fail(
            paid_at + TimeDelta::days(1),
            "stripe-webhook",
            payout_core::retry::FailureKind::InvalidPaymentMethod,
            "account_closed",
        )
        .unwrap();
    store.update_payout(&payout, read, &failed).await.unwrap();
    let next_day = Bucket::Day((paid_at + TimeDelta::days(1)).date_naive());
    let totals = store
        .totals(&[day.clone(), next_day.clone()])
        .await
        .unwrap();
    assert_eq!(totals.get(&day, "paid_count_usd"), 0);
    assert_eq!(totals.get(&next_day, "failed"), 1);
    assert_eq!(
        totals_differences(store).await.unwrap(),
        Vec::<String>::new()
    );
}

/// Payouts list in (created_at, id) order, page by page after a cursor, and by each filter.
pub async fn payouts_list_in_order_by_filters_and_cursor(store: &dyn Store) {
    let mut cutoff = None;
    for barber in ["b3", "b1", "b2"] {
        let (creation, at) = seed_period_of(store, barber, 2).await;
        assert_eq!(
            store.create_payout(&creation).await.unwrap(),
            CreateOutcome::Created
        );
        cutoff = Some(at);
    }
    let cutoff = cutoff.unwrap();
    let ids = |payouts: Vec<Payout>| -> Vec<String> {
        payouts
            .into_iter()
            .map(|p| p.barber_id.to_string())
            .collect()
    };
    let all = PayoutQuery::default();
    let first = store.list_payouts(&all, 2).await.unwrap();
    let after = first.last().map(|p| (p.created_at, p.id.clone()));
    assert_eq!(ids(first), ["b1", "b2"]);
    let rest = PayoutQuery {
        after,
        ..PayoutQuery::default()
    };
    assert_eq!(ids(store.list_payouts(&rest, 2).await.unwrap()), ["b3"]);
    let by_barber = PayoutQuery {
        barber: Some(barber("b2")),
        ..PayoutQuery::default()
    };
    assert_eq!(
        ids(store.list_payouts(&by_barber, 10).await.unwrap()),
        ["b2"]
    );
    let queued = PayoutQuery {
        status: Some(PayoutStatus::Queued),
        method: Some(payout_core::method::PaymentMethod::StripeStandard),
        from: Some(cutoff),
        to: Some(cutoff + TimeDelta::seconds(1)),
        ..PayoutQuery::default()
    };
    assert_eq!(
        ids(store.list_payouts(&queued, 10).await.unwrap()),
        ["b1", "b2", "b3"]
    );
    for empty in [
        PayoutQuery {
            status: Some(PayoutStatus::Completed),
            ..PayoutQuery::default()
        },
        PayoutQuery {
            method: Some(payout_core::method::PaymentMethod::BankTransfer),
            ..PayoutQuery::default()
        },
        PayoutQuery {
            from: Some(cutoff + TimeDelta::seconds(1)),
            ..PayoutQuery::default()
        },
        PayoutQuery {
            to: Some(cutoff),
            ..PayoutQuery::default()
        },
    ] {
        assert!(
            store.list_payouts(&empty, 10).await.unwrap().is_empty(),
            "{empty:?}"
        );
    }
}

/// A heartbeat keeps its latest time; an older one recorded late does not move it back.
pub async fn heartbeats_keep_the_latest(store: &dyn Store) {
    let t0 = utc(2026, 1, 1, 0, 0);
    assert_eq!(store.last_heartbeat("planner").await.unwrap(), None);
    store.record_heartbeat("planner", t0).await.unwrap();
    store
        .record_heartbeat("planner", t0 - TimeDelta::minutes(5))
        .await
        .unwrap();
    assert_eq!(store.last_heartbeat("planner").await.unwrap(), Some(t0));
    store
        .record_heartbeat("planner", t0 + TimeDelta::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        store.last_heartbeat("planner").await.unwrap(),
        Some(t0 + TimeDelta::minutes(5))
    );
}

pub async fn a_voided_earning_leaves_the_balance_for_good(store: &dyn Store) {
    let (creation, cutoff) = seed_period(store).await;
    let monday = utc(2026, 3, 2, 12, 0);
    let refunded = World::earning("b1", 0, "100.00", monday);
    assert_eq!(
        store.void_earning(&refunded.id, cutoff).await.unwrap(),
        VoidOutcome::Voided
    );
    assert_eq!(
        store.void_earning(&refunded.id, cutoff).await.unwrap(),
        VoidOutcome::AlreadyVoided
    );
    let unknown = payout_core::ids::EarningId::parse("never-recorded").unwrap();
    assert_eq!(
        store.void_earning(&unknown, cutoff).await.unwrap(),
        VoidOutcome::Unknown
    );
    assert_eq!(open_services(store, "b1", cutoff).await, (20000, 2));
    // A repeat of its completion does not bring it back.
    let repeat = store
        .insert_earnings(std::slice::from_ref(&refunded), &["h0".to_string()])
        .await
        .unwrap();
    assert_eq!(repeat, vec![IntakeOutcome::Duplicate]);
    let totals = store.ledger_totals(Currency::Usd).await.unwrap();
    assert_eq!(
        totals.earnings_minor, 20000,
        "a voided earning is no earning"
    );
    assert!(totals.conserves_money());
    // A period closed on what was read before the void no longer matches.
    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::ClaimChanged
    );
}

pub async fn a_claimed_earning_is_not_voided_and_names_its_payout(store: &dyn Store) {
    let (creation, cutoff) = seed_period(store).await;
    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::Created
    );
    let paid = World::earning("b1", 1, "100.00", utc(2026, 3, 2, 12, 1));
    assert_eq!(
        store.void_earning(&paid.id, cutoff).await.unwrap(),
        VoidOutcome::Claimed(creation.payout.id.clone())
    );
    let totals = store.ledger_totals(Currency::Usd).await.unwrap();
    assert_eq!(totals.earnings_minor, 30000);
    assert!(totals.conserves_money());
}

pub async fn payout_events_wait_in_the_outbox_until_published(store: &dyn Store) {
    let (creation, cutoff) = seed_period(store).await;
    store.create_payout(&creation).await.unwrap();
    let mut payout = creation.payout.clone();
    let read = payout.version;
    let attempt = payout.begin_attempt(cutoff, "exec").unwrap();
    // A stale write leaves no event behind.
    let mut stale = creation.payout.clone();
    let lost = stale.begin_attempt(cutoff, "other").unwrap();
    store.update_payout(&payout, read, &attempt).await.unwrap();
    assert_eq!(
        store.update_payout(&stale, read, &lost).await.unwrap(),
        WriteOutcome::Stale
    );
    let pending = store.unpublished_events(10).await.unwrap();
    let trail = store.audit_trail(&payout.id).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|(_, event)| event.clone())
            .collect::<Vec<_>>(),
        trail,
        "each recorded change, oldest first"
    );
    // What the publisher reads to describe them: those that exist, in one call.
    let unknown = PayoutId::parse("po_unknown").unwrap();
    let described = store
        .get_payouts(&[payout.id.clone(), unknown])
        .await
        .unwrap();
    let stored = store.get_payout(&payout.id).await.unwrap().unwrap();
    assert_eq!(described, vec![stored]);
    store.mark_published(&pending[..1]).await.unwrap();
    let left = store.unpublished_events(10).await.unwrap();
    assert_eq!(left, pending[1..].to_vec());
    store.mark_published(&left).await.unwrap();
    assert!(store.unpublished_events(10).await.unwrap().is_empty());
    // The trail is the same once published: marking rewrote nothing of it.
    assert_eq!(
        store.audit_trail(&payout.id).await.unwrap(),
        trail,
        "the trail after publishing"
    );
}

pub async fn open_activities_agree_with_open_activity(store: &dyn Store) {
    let (_, cutoff) = seed_period_of(store, "b1", 3).await;
    seed_period_of(store, "b2", 2).await;
    let rent = payout_core::ledger::Deduction {
        id: payout_core::ids::DeductionId::parse("rent-b2").unwrap(),
        barber_id: barber("b2"),
        kind: payout_core::deduction::DeductionKind::BoothRent,
        amount: crate::world::usd("25.00"),
        description: "booth rent".into(),
        recorded_at: cutoff - TimeDelta::hours(1),
        payable_from: None,
    };
    store.insert_deduction(&rent, "rent").await.unwrap();
    // b1's services were at Monday 12:00, 12:01 and 12:02: a hold to 12:01 keeps the last.
    let monday = utc(2026, 3, 2, 12, 0);
    let held = OpenWindow {
        cutoff,
        earned_by: monday + TimeDelta::minutes(1),
    };
    let asked = [
        (barber("b2"), Currency::Usd, OpenWindow::at(cutoff)),
        (barber("nobody"), Currency::Usd, OpenWindow::at(cutoff)),
        (barber("b1"), Currency::Usd, held),
        (barber("b1"), Currency::Eur, OpenWindow::at(cutoff)),
        (barber("b1"), Currency::Usd, OpenWindow::at(cutoff)),
    ];
    let batch = store.open_activities(&asked).await.unwrap();
    for ((who, currency, window), together) in asked.iter().zip(&batch) {
        let alone = store.open_activity(who, *currency, *window).await.unwrap();
        assert_eq!(together, &alone, "{who} in {currency}");
    }
    assert_eq!((batch[4].gross_minor, batch[4].services), (30000, 3));
    assert_eq!((batch[2].gross_minor, batch[2].services), (20000, 2));
    let late = monday + TimeDelta::minutes(2);
    assert_eq!(
        batch[2].held,
        HeldEarnings {
            gross_minor: 10000,
            services: 1,
            earliest_service: Some(late),
            latest_service: Some(late),
        }
    );
    assert_eq!(batch[2].earliest_service, Some(monday));
    assert_eq!(batch[0].deductions.len(), 1);
}

/// A payout claims only the earnings its hold has released: the held one stays open, and a
/// creation that counted it is refused.
pub async fn a_payout_claims_only_released_earnings(store: &dyn Store) {
    let (mut creation, cutoff) = seed_period_of(store, "b1", 3).await;
    let monday = utc(2026, 3, 2, 12, 0);
    creation.earned_by = monday + TimeDelta::minutes(1);
    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::ClaimChanged,
        "three services claimed where the hold releases two"
    );
    creation.claimed_earnings_minor = 20000;
    creation.claimed_earnings = 2;
    assert_eq!(
        store.create_payout(&creation).await.unwrap(),
        CreateOutcome::Created
    );
    assert_eq!(open_services(store, "b1", cutoff).await, (10000, 1));
}

/// The executor's batch steps hold each member to the single steps' conditions: a member whose
/// barber is locked by another, or whose payout moved, is neither locked nor written; an
/// outcome is written (with its notice) only at the attempt's version; every lock asked for is
/// released; settled notices stop coming due.
pub async fn batch_attempts_lock_record_and_unlock_each_member_alone(store: &dyn Store) {
    let mut payouts = Vec::new();
    for name in ["b1", "b2", "b3"] {
        let (creation, cutoff) = seed_period_of(store, name, 1).await;
        store.create_payout(&creation).await.unwrap();
        payouts.push((creation.payout, cutoff));
    }
    let now = payouts[0].1;
    let lease = now + TimeDelta::minutes(5);
    assert!(
        store
            .try_lock(&barber("b2"), "other", now, lease)
            .await
            .unwrap()
    );
    let attempts: Vec<PayoutWrite> = payouts
        .iter()
        .enumerate()
        .map(|(n, (payout, _))| {
            let mut payout = payout.clone();
            // The third was read at a version that is no longer stored.
            let expected_version = payout.version + if n == 2 { 7 } else { 0 };
            let event = payout.begin_attempt(now, "executor:x").unwrap();
            PayoutWrite {
                payout,
                expected_version,
                event,
            }
        })
        .collect();
    let started = store
        .lock_and_record_attempts(&attempts, "x", now, lease)
        .await
        .unwrap();
    assert_eq!(started, [true, false, false]);
    let stored = |n: usize| attempts[n].payout.id.clone();
    let twice = store.get_payouts(&[stored(0), stored(0)]).await.unwrap();
    assert_eq!(twice.len(), 1, "a payout asked for twice is read once");
    let b1 = store.get_payout(&stored(0)).await.unwrap().unwrap();
    assert_eq!((b1.status, b1.attempts), (PayoutStatus::Processing, 1));
    for n in [1, 2] {
        let untouched = store.get_payout(&stored(n)).await.unwrap().unwrap();
        assert_eq!(untouched, payouts[n].0, "member {n} is written by nothing");
    }
    // Another owner takes only the lock the batch did not keep.
    let takes = |name: &'static str| async move {
        store
            .try_lock(&barber(name), "y", now, lease)
            .await
            .unwrap()
    };
    assert!(!takes("b1").await && !takes("b2").await && takes("b3").await);
    store.release_lock(&barber("b3"), "y").await.unwrap();

    let outcome = |payout: &Payout, expected_version: u64| {
        let mut payout = payout.clone();
        let event = payout
            .record_transfer(now, "executor:x", "tr_1".into(), true, "paid")
            .unwrap();
        OutcomeWrite {
            notice: payout_app::notify::outcome_notice(&payout, NotificationKind::Completed, None),
            write: PayoutWrite {
                payout,
                expected_version,
                event,
            },
        }
    };
    let outcomes = [outcome(&b1, b1.version), outcome(&b1, b1.version - 1)];
    assert!(
        outcomes[0].notice.is_some(),
        "the seeded barber is told by email"
    );
    let written = store
        .record_outcomes_and_unlock(&outcomes, &[barber("b1")], "x", now)
        .await
        .unwrap();
    assert_eq!(
        written,
        [
            OutcomeRecorded {
                write: WriteOutcome::Written,
                new_notice: true
            },
            OutcomeRecorded::STALE
        ]
    );
    let paid = store.get_payout(&b1.id).await.unwrap().unwrap();
    assert_eq!(paid.status, PayoutStatus::Completed);
    assert_eq!(store.audit_trail(&b1.id).await.unwrap().len(), 3);
    let told = store.list_notifications(&barber("b1"), 10).await.unwrap();
    assert_eq!(told.len(), 1, "the stale outcome's notice is not recorded");
    assert!(takes("b1").await && !takes("b2").await);

    let key = told[0].notification.dedupe_key.clone();
    let later = now + TimeDelta::days(1);
    assert_eq!(store.due_notifications(later, 10).await.unwrap().len(), 1);
    store
        .settle_notifications(&[(key, NoticeDelivery::Delivered)])
        .await
        .unwrap();
    assert!(store.due_notifications(later, 10).await.unwrap().is_empty());
}

/// A page of periods closes member by member: one whose balance moved, or whose schedule
/// another run advanced, neither claims nor advances anything, and the others close with their
/// notices.
pub async fn a_page_of_periods_closes_each_member_alone(store: &dyn Store) {
    let (b1, cutoff) = seed_period_of(store, "b1", 2).await;
    let (mut b2, _) = seed_period_of(store, "b2", 2).await;
    b2.claimed_earnings_minor += 1;
    seed_period_of(store, "b3", 0).await;
    seed_period_of(store, "b4", 0).await;
    let (_, next) = b1.schedule_advance.unwrap();
    let notice = |name: &str| {
        let notice = AdvanceNotice {
            barber_id: barber(name),
            cutoff: next,
        };
        Some((notice, next - TimeDelta::hours(12)))
    };
    let advance = |name: &str, from| PeriodClose::Advance {
        barber: barber(name),
        from,
        to: next,
    };
    let periods = [
        PeriodWrite {
            close: PeriodClose::Create(Box::new(b1.clone())),
            advance_notice: notice("b1"),
        },
        PeriodWrite {
            close: PeriodClose::Create(Box::new(b2.clone())),
            advance_notice: notice("b2"),
        },
        PeriodWrite {
            close: advance("b3", cutoff),
            advance_notice: notice("b3"),
        },
        PeriodWrite {
            close: advance("b4", cutoff - TimeDelta::days(7)),
            advance_notice: notice("b4"),
        },
    ];
    let closed = store.close_periods(&periods).await.unwrap();
    assert_eq!(
        closed,
        [
            CreateOutcome::Created,
            CreateOutcome::ClaimChanged,
            CreateOutcome::Created,
            CreateOutcome::AlreadyExists
        ]
    );
    assert!(store.get_payout(&b1.payout.id).await.unwrap().is_some());
    assert!(store.get_payout(&b2.payout.id).await.unwrap().is_none());
    let next_run = |name: &'static str| async move {
        store
            .get_schedule(&barber(name))
            .await
            .unwrap()
            .unwrap()
            .next_run_at
    };
    assert_eq!(next_run("b1").await, next);
    assert_eq!(
        next_run("b2").await,
        cutoff,
        "a member that did not close is not advanced"
    );
    assert_eq!(next_run("b3").await, next);
    assert_eq!(next_run("b4").await, cutoff);
    let noticed: Vec<BarberId> = store
        .due_advance_notices(next, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|notice| notice.barber_id)
        .collect();
    // A notice may outlive a member that did not close (one whose run does not happen is
    // dropped when it comes due); those that closed have theirs.
    assert!(noticed.contains(&barber("b1")) && noticed.contains(&barber("b3")));
    let open = store
        .open_activity(&barber("b2"), Currency::Usd, OpenWindow::at(cutoff))
        .await
        .unwrap();
    assert_eq!(open.services, 2, "the refused member claimed nothing");
}
