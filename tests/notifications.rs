//! Barber notices: rendered from templates with money formatted for people, sent on the
//! channels the barber chose (never when both are off), at most once per payout and kind.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc, Weekday};
use payout_app::Services;
use payout_app::execute::{JobOutcome, execute_payout};
use payout_app::ingest::ingest_earnings;
use payout_app::notify::{notify_payout, render_message};
use payout_app::payout_actions::manual_payout;
use payout_app::plan::plan_due_payouts;
use payout_app::ports::{
    Channel, ManualClock, NoticeState, Notification, NotificationKind, Notifier, NotifyError,
};
use payout_app::schedule_change::{add_schedule, change_schedule, create_schedule};
use payout_app::schedule_edit::{FrequencyEdit, ScheduleEdit};
use payout_core::breakdown::{PayoutPolicy, PeriodActivity};
use payout_core::deduction::{DeductionKind, DeductionLine};
use payout_core::ids::{BarberId, DeductionId, PayoutId};
use payout_core::method::PaymentMethod;
use payout_core::payout::{Payout, PayoutTrigger, PlannedPayout};
use payout_core::schedule::PayoutSchedule;
use payout_local::FailurePlan;
use payout_tests::world::{World, usd, utc};

#[derive(Default)]
struct Outbox(Mutex<Vec<Notification>>);

#[async_trait]
impl Notifier for Outbox {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

#[test]
fn the_completed_notice_of_the_brief_example_shows_every_line() {
    let activity = PeriodActivity {
        gross: usd("1000.00"),
        services: 60,
        tips: usd("0"),
        deductions: vec![DeductionLine {
            id: DeductionId::parse("rent").unwrap(),
            kind: DeductionKind::BoothRent,
            amount: usd("50.00"),
            description: "booth rent".into(),
        }],
    };
    let breakdown = PayoutPolicy::default()
        .breakdown(&activity, PaymentMethod::StripeStandard)
        .unwrap();
    let now = utc(2026, 3, 6, 22, 0);
    let barber = BarberId::parse("123").unwrap();
    let (payout, _) = Payout::queued(
        PlannedPayout {
            id: PayoutId::scheduled(&barber, now),
            barber_id: barber,
            method: PaymentMethod::StripeStandard,
            breakdown,
            trigger: PayoutTrigger::Scheduled,
            cutoff: now,
            destination: None,
            notifications: World::weekly_schedule("123", Weekday::Fri, now).notifications,
            priority: 10,
            method_note: None,
        },
        now,
        now,
        "test",
    );
    let message = render_message(&payout, NotificationKind::Completed, None);
    for line in [
        "Gross earnings (60 services): $1,000.00",
        "Commission (72%): $720.00",
        "Booth rent: -$50.00",
        "Platform fee: -$2.75",
        "Net payout: $667.25",
    ] {
        assert!(message.contains(line), "`{line}` missing from:\n{message}");
    }
    assert!(
        !message.contains("Volume bonus"),
        "no bonus line without a bonus"
    );
}

/// A world whose notices land in an outbox the test reads.
fn world_with_outbox() -> (World, Arc<Outbox>) {
    let mut world = World::new(1, FailurePlan::default(), false, Duration::ZERO);
    let outbox = Arc::new(Outbox::default());
    world.services.notifier = outbox.clone();
    (world, outbox)
}

/// Barber b1 on `schedule`, with $120 earned on Monday and a manual payout of it an hour later
/// (not yet executed). Returns the payout and that hour.
async fn manual_payout_of_monday(
    p: &Services,
    schedule: &PayoutSchedule,
) -> (Payout, DateTime<Utc>) {
    let monday = utc(2026, 3, 2, 12, 0);
    add_schedule(p.store.as_ref(), schedule).await.unwrap();
    ingest_earnings(
        p.store.as_ref(),
        &[World::earning("b1", 0, "120.00", monday)],
    )
    .await
    .unwrap();
    let now = monday + TimeDelta::hours(1);
    let payout = manual_payout(p, &BarberId::parse("b1").unwrap(), "r", "operator", now)
        .await
        .unwrap();
    (payout, now)
}

async fn paid_with_preferences(email: bool, sms: bool) -> (Vec<Notification>, Arc<Outbox>, World) {
    let (world, outbox) = world_with_outbox();
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    let mut schedule = World::weekly_schedule("b1", Weekday::Fri, monday);
    schedule.notifications.email_notifications = email;
    schedule.notifications.sms_notifications = sms;
    schedule.notifications.phone = Some("+15550000001".into());
    let (payout, now) = manual_payout_of_monday(p, &schedule).await;
    execute_payout(p, &payout.id, "exec", now).await.unwrap();
    let sent = outbox.0.lock().unwrap().clone();
    (sent, outbox, world)
}

#[tokio::test]
async fn each_preference_combination_gets_its_channels() {
    let cases = [
        (true, false, vec![Channel::Email]),
        (false, true, vec![Channel::Sms]),
        (true, true, vec![Channel::Email, Channel::Sms]),
    ];
    for (email, sms, channels) in cases {
        let (sent, _, _) = paid_with_preferences(email, sms).await;
        assert_eq!(sent.len(), 1, "email {email}, sms {sms}");
        assert_eq!(sent[0].kind, NotificationKind::Completed);
        assert_eq!(sent[0].channels, channels);
    }
    let (sent, _, _) = paid_with_preferences(false, false).await;
    assert!(sent.is_empty(), "never sent when both channels are off");
}

#[tokio::test]
async fn a_notice_is_sent_at_most_once_per_payout_and_kind() {
    let (_, outbox, world) = paid_with_preferences(true, false).await;
    let p = &world.services;
    let payout = p
        .store
        .list_payouts(&Default::default(), 1)
        .await
        .unwrap()
        .remove(0);
    let later = payout.updated_at + TimeDelta::minutes(1);
    // A duplicate delivery of the job, and the completion notified again.
    execute_payout(p, &payout.id, "exec-2", later)
        .await
        .unwrap();
    notify_payout(p, &payout, NotificationKind::Completed, later).await;
    notify_payout(p, &payout, NotificationKind::Completed, later).await;
    assert_eq!(outbox.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unverified_account_is_told_what_to_fix() {
    let (world, outbox) = world_with_outbox();
    let p = &world.services;
    world.rail.set_plan(
        &BarberId::parse("b1").unwrap(),
        FailurePlan {
            permanent: Some(payout_core::retry::FailureKind::AccountNotVerified),
            ..FailurePlan::default()
        },
    );
    let schedule = World::weekly_schedule("b1", Weekday::Fri, utc(2026, 3, 2, 12, 0));
    let (payout, now) = manual_payout_of_monday(p, &schedule).await;
    execute_payout(p, &payout.id, "exec", now).await.unwrap();
    let sent = outbox.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, NotificationKind::AccountActionNeeded);
    assert!(
        sent[0].message.contains("verifying your payout account"),
        "{}",
        sent[0].message
    );
    assert!(sent[0].message.contains("$83.45"), "{}", sent[0].message);
}

#[tokio::test]
async fn an_advance_notice_tells_the_expected_amount_once_before_each_run() {
    let (world, outbox) = world_with_outbox();
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    let schedule = World::weekly_schedule("b1", Weekday::Fri, monday);
    let mut quiet = World::weekly_schedule("b2", Weekday::Fri, monday);
    quiet.notifications.advance_notice_hours = 0;
    for s in [&schedule, &quiet] {
        add_schedule(p.store.as_ref(), s).await.unwrap();
    }
    ingest_earnings(
        p.store.as_ref(),
        &[
            World::earning("b1", 0, "120.00", monday),
            World::earning("b2", 0, "120.00", monday),
        ],
    )
    .await
    .unwrap();
    let friday_run = schedule.next_run_at;
    let notice_time = friday_run - TimeDelta::hours(24);
    let advance_notices = || {
        outbox
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.kind == NotificationKind::AdvanceNotice)
            .cloned()
            .collect::<Vec<_>>()
    };

    plan_due_payouts(p, notice_time - TimeDelta::minutes(1), &|| true)
        .await
        .unwrap();
    assert!(advance_notices().is_empty(), "not before its time");
    for minutes in [1, 6] {
        plan_due_payouts(p, notice_time + TimeDelta::minutes(minutes), &|| true)
            .await
            .unwrap();
    }
    let sent = advance_notices();
    assert_eq!(sent.len(), 1, "once, to the barber who asked: {sent:?}");
    assert_eq!(sent[0].barber_id.as_str(), "b1");
    assert!(sent[0].message.contains("$83.45"), "{}", sent[0].message);
    assert!(
        sent[0].message.contains(
            &friday_run
                .with_timezone(&chrono_tz::America::New_York)
                .format("%Y-%m-%d %H:%M EST")
                .to_string()
        ),
        "{}",
        sent[0].message
    );

    // The run itself remembers the notice for the week after.
    plan_due_payouts(p, friday_run + TimeDelta::minutes(1), &|| true)
        .await
        .unwrap();
    // (New York moves its clocks in between: the run is at 17:00 local, an hour earlier in UTC.)
    let next_run = schedule.calendar.next_run_after(friday_run).unwrap();
    let next_week = p
        .store
        .due_advance_notices(next_run - TimeDelta::hours(24), 10)
        .await
        .unwrap();
    assert_eq!(next_week.len(), 1);
    assert_eq!(next_week[0].cutoff, next_run);
}

#[tokio::test]
async fn each_retry_and_the_final_failure_are_told_once() {
    let (world, outbox) = world_with_outbox();
    let p = &world.services;
    let barber = BarberId::parse("b1").unwrap();
    world.rail.set_plan(
        &barber,
        FailurePlan {
            retryable_per_mille: 1000,
            ..FailurePlan::default()
        },
    );
    let schedule = World::weekly_schedule("b1", Weekday::Fri, utc(2026, 3, 2, 12, 0));
    let (payout, mut now) = manual_payout_of_monday(p, &schedule).await;
    loop {
        match execute_payout(p, &payout.id, "exec", now).await.unwrap() {
            JobOutcome::RetryAt(at) => {
                // The same delivery twice changes nothing.
                execute_payout(p, &payout.id, "exec-dup", now)
                    .await
                    .unwrap();
                now = at;
            }
            JobOutcome::Finished => break,
            JobOutcome::NotYet(at) => now = at,
        }
    }
    let kinds: Vec<NotificationKind> = outbox.0.lock().unwrap().iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NotificationKind::RetryScheduled,
            NotificationKind::RetryScheduled,
            NotificationKind::RetryScheduled,
            NotificationKind::Failed,
        ]
    );
    let failed = outbox.0.lock().unwrap().last().unwrap().message.clone();
    assert!(failed.contains("$83.45"), "{failed}");
    assert!(failed.contains("your earnings are safe"), "{failed}");
}

#[tokio::test]
async fn a_period_below_the_minimum_is_told_it_rolls_forward() {
    let (world, outbox) = world_with_outbox();
    let p = &world.services;
    let monday = utc(2026, 3, 2, 12, 0);
    let schedule = World::weekly_schedule("b1", Weekday::Fri, monday);
    add_schedule(p.store.as_ref(), &schedule).await.unwrap();
    ingest_earnings(
        p.store.as_ref(),
        &[World::earning("b1", 0, "20.00", monday)],
    )
    .await
    .unwrap();
    for _ in 0..2 {
        plan_due_payouts(p, schedule.next_run_at + TimeDelta::minutes(1), &|| true)
            .await
            .unwrap();
    }
    let sent = outbox.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].kind, NotificationKind::BelowMinimum);
    assert!(sent[0].message.contains("$25.00"), "{}", sent[0].message);
    assert!(
        sent[0].message.contains("roll into your next payout"),
        "{}",
        sent[0].message
    );
}

/// What a barber reads: their name (never their id), "1 service", a calm first setup and an
/// alarm only when a destination they had is replaced; and a notice with no address for its
/// channels is recorded as skipped, not as delivered.
#[tokio::test]
async fn a_barber_is_greeted_by_name_told_calmly_of_a_first_setup_and_never_falsely_reached() {
    let (world, outbox) = world_with_outbox();
    let p = &world.services;
    let now = utc(2026, 3, 2, 12, 0);
    let edit = |name: Option<&str>, email: Option<&str>, account: &str| ScheduleEdit {
        display_name: name.map(String::from),
        email: email.map(String::from),
        connected_account: Some(account.into()),
        frequency: FrequencyEdit {
            name: Some("weekly".into()),
            day_of_week: Some(5),
            ..FrequencyEdit::default()
        },
        ..ScheduleEdit::default()
    };
    let marco = BarberId::parse("b1").unwrap();
    create_schedule(
        p,
        marco.clone(),
        &edit(Some("Marco"), Some("marco@example.com"), "acct_first"),
        "operator:cli",
        now,
    )
    .await
    .unwrap();
    let first = outbox.0.lock().unwrap().last().unwrap().message.clone();
    assert!(
        first.starts_with(
            "Hi Marco, your payouts will go to Stripe, account acct_first, as the shop set up"
        ),
        "{first}"
    );
    assert!(!first.contains("did not ask"), "{first}");
    change_schedule(
        p,
        &marco,
        &edit(None, None, "acct_other"),
        "barber:b1",
        &ManualClock::starting_at(now + TimeDelta::minutes(1)),
    )
    .await
    .unwrap();
    let changed = outbox.0.lock().unwrap().last().unwrap().message.clone();
    assert!(
        changed.contains("has changed: Stripe to account acct_other (was acct_first), by you")
            && changed.contains("If you did not ask for this"),
        "{changed}"
    );

    // One service, and a barber whose only channel has no address.
    let lone = BarberId::parse("b2").unwrap();
    create_schedule(
        p,
        lone.clone(),
        &edit(None, None, "acct_lone"),
        "operator:cli",
        now,
    )
    .await
    .unwrap();
    let sent_before = outbox.0.lock().unwrap().len();
    ingest_earnings(p.store.as_ref(), &[World::earning("b2", 0, "30.00", now)])
        .await
        .unwrap();
    let payout = manual_payout(p, &lone, "r", "operator", now).await.unwrap();
    execute_payout(p, &payout.id, "exec", now).await.unwrap();
    let paid = p.store.get_payout(&payout.id).await.unwrap().unwrap();
    let message = render_message(&paid, NotificationKind::Completed, None);
    assert!(message.starts_with("Hi there, your payout"), "{message}");
    assert!(
        message.contains("Gross earnings (1 service): $30.00"),
        "{message}"
    );
    assert_eq!(
        outbox.0.lock().unwrap().len(),
        sent_before,
        "nothing sent without an address"
    );
    let states: Vec<_> = p
        .store
        .list_notifications(&lone, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|sent| (sent.notification.kind, sent.state))
        .collect();
    assert!(
        states.contains(&(NotificationKind::Completed, NoticeState::SkippedNoAddress)),
        "{states:?}"
    );
}
