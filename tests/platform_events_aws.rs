//! The booking platform's events on AWS, on moto. In: a rule on the event bus sends
//! `ServiceCompleted`/`ServiceRefunded` to the intake queue, and the intake handler applies
//! what the queue receives. Earnings are recorded once, a duplicate is absorbed, a conflicting
//! repeat reaches the intake dead-letter queue with its reason, a refund voids an open earning
//! and claws back a paid one's share. Out: a payout the executor completes reaches a second
//! rule's queue as one `PayoutCompleted`, through `PutEvents` partial failures.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::{TimeDelta, Utc};
use payout_app::execute::{JobOutcome, execute_payout};
use payout_app::payout_actions::manual_payout;
use payout_app::ports::{EventPublisher, OpenWindow, OutboundEvent};
use payout_aws::eventbridge::EventBridgePublisher;
use payout_aws::intake::{Rejections, handle_intake_batch};
use payout_aws::lambda::{AwsRuntime, publish_events};
use payout_aws::stack::{StackNames, create_stack};
use payout_core::ids::{DeductionId, EarningId};
use payout_core::money::{Currency, Money};
use payout_local::{FailurePlan, SimulatedRail};
use payout_tests::aws_events::{invoke_executor, sqs_batch};
use payout_tests::moto::{Moto, queue_arn, rule_to_queue};
use payout_tests::world::World;
use serde_json::{Value, json};

const SOURCE: &str = "booking.platform";

struct Intake {
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    queue_url: String,
    queue_arn: String,
    dead_letter_url: String,
}

impl Intake {
    /// The intake queue, its dead-letter queue, and the rule that feeds it from the bus.
    async fn create(sdk: &aws_config::SdkConfig) -> Self {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let mut urls = Vec::new();
        for name in ["intake", "intake-dlq"] {
            let created = sqs.create_queue().queue_name(name).send().await.unwrap();
            urls.push(created.queue_url.unwrap());
        }
        let queue_arn = queue_arn(&sqs, &urls[0]).await;
        let pattern =
            json!({"source": [SOURCE], "detail-type": ["ServiceCompleted", "ServiceRefunded"]});
        rule_to_queue(sdk, "platform-events", &pattern, &queue_arn).await;
        let events = aws_sdk_eventbridge::Client::new(sdk);
        Self {
            sqs,
            events,
            queue_url: urls[0].clone(),
            queue_arn,
            dead_letter_url: urls[1].clone(),
        }
    }

    /// Puts `details` on the bus as the platform does, with a type each.
    async fn publish(&self, details: &[(&str, Value)]) {
        let mut request = self.events.put_events();
        for (detail_type, detail) in details {
            request = request.entries(
                PutEventsRequestEntry::builder()
                    .source(SOURCE)
                    .detail_type(*detail_type)
                    .detail(detail.to_string())
                    .build(),
            );
        }
        let output = request.send().await.unwrap();
        assert_eq!(output.failed_entry_count, 0);
    }

    /// Receives `count` messages from the intake queue.
    async fn receive(&self, count: usize) -> Vec<aws_sdk_sqs::types::Message> {
        let mut messages = Vec::new();
        for _ in 0..20 {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            messages.extend(output.messages.unwrap_or_default());
            if messages.len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(messages.len(), count, "the rule delivered every event");
        messages
    }

    /// The intake handler on `count` messages the queue receives; the messages it reported.
    async fn run(&self, runtime: &AwsRuntime, count: usize) -> Vec<Value> {
        let messages = self.receive(count).await;
        let event = serde_json::from_value(sqs_batch(&messages, &self.queue_arn)).unwrap();
        let rejections = Rejections::new(self.sqs.clone(), &self.dead_letter_url);
        let response = handle_intake_batch(runtime, &rejections, event, Utc::now()).await;
        serde_json::to_value(response).unwrap()["batchItemFailures"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The rejected events and their reasons.
    async fn dead_letters(&self) -> Vec<(Value, String)> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(&self.dead_letter_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        output
            .messages
            .unwrap_or_default()
            .iter()
            .map(|message| {
                let reason = message.message_attributes().unwrap()["reason"]
                    .string_value()
                    .unwrap()
                    .to_string();
                (
                    serde_json::from_str(message.body().unwrap()).unwrap(),
                    reason,
                )
            })
            .collect()
    }
}

/// When the test's services were performed: one instant, so a repeat is the same event.
static PERFORMED: LazyLock<String> =
    LazyLock::new(|| (Utc::now() - TimeDelta::hours(2)).to_rfc3339());

fn service(booking: &str, amount: &str) -> Value {
    json!({"booking_id": booking, "barber_id": "7", "amount": amount, "currency": "USD",
        "occurred_at": *PERFORMED, "service": "fade", "version": 1})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_events_from_the_bus_move_the_ledger_once() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let resources = create_stack(&sdk, &StackNames::with_prefix("events"), None)
        .await
        .unwrap();
    let rail = Arc::new(SimulatedRail::new(3, FailurePlan::default()));
    let runtime = AwsRuntime::new(&sdk, &resources, rail.clone(), "intake");
    let p = &runtime.services;
    let barber = World::open_barber(p, "7", None, Utc::now()).await;
    let intake = Intake::create(&sdk).await;

    // Two services, one of them twice, and a repeat that disagrees.
    intake
        .publish(&[
            ("ServiceCompleted", service("bk-1", "40.00")),
            ("ServiceCompleted", service("bk-2", "60.00")),
            ("ServiceCompleted", service("bk-1", "40.00")),
            ("ServiceCompleted", service("bk-1", "45.00")),
        ])
        .await;
    assert_eq!(intake.run(&runtime, 4).await, Vec::<Value>::new());
    for (booking, amount) in [("bk-1", "40.00"), ("bk-2", "60.00")] {
        let earning = p
            .store
            .get_earning(&EarningId::parse(booking).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(earning.amount, Money::parse(amount, Currency::Usd).unwrap());
    }
    let rejected = intake.dead_letters().await;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].0["detail"]["amount"], "45.00");
    assert!(rejected[0].1.contains("bk-1"), "{}", rejected[0].1);

    // A refund of the open bk-2 voids it; a refund before its completion waits on the queue.
    intake
        .publish(&[
            ("ServiceRefunded", service("bk-2", "60.00")),
            ("ServiceRefunded", service("bk-3", "25.00")),
        ])
        .await;
    let failures = intake.run(&runtime, 2).await;
    assert_eq!(
        failures.len(),
        1,
        "the refund of an unknown booking is retried"
    );
    let open = p
        .store
        .open_activity(&barber, Currency::Usd, OpenWindow::at(Utc::now()))
        .await
        .unwrap();
    assert_eq!(open.gross_minor, 4000, "only bk-1 is open");

    // bk-1 is paid, then refunded: its commission is owed back.
    let payout = manual_payout(p, &barber, "end of day", "operator", Utc::now())
        .await
        .unwrap();
    let outcome = execute_payout(p, &payout.id, "exec", Utc::now())
        .await
        .unwrap();
    assert_eq!(outcome, JobOutcome::Finished);
    intake
        .publish(&[("ServiceRefunded", service("bk-1", "40.00"))])
        .await;
    assert_eq!(intake.run(&runtime, 1).await, Vec::<Value>::new());
    let open = p
        .store
        .open_activity(&barber, Currency::Usd, OpenWindow::at(Utc::now()))
        .await
        .unwrap();
    assert_eq!(open.deductions.len(), 1);
    let refund = &open.deductions[0];
    assert_eq!(refund.id, DeductionId::parse("refund-bk-1").unwrap());
    assert_eq!(
        refund.amount, payout.breakdown.commission,
        "the commission, not the price"
    );
    assert_eq!(rail.transfers().len(), 1);
}

/// `PutEvents` failing for every other entry of its first call (reported, never sent), then
/// passing everything through: a partial failure as EventBridge reports one.
struct PartlyFailingOnce {
    inner: EventBridgePublisher,
    failed: AtomicBool,
}

#[async_trait]
impl EventPublisher for PartlyFailingOnce {
    async fn publish(&self, events: &[OutboundEvent]) -> Vec<Result<(), String>> {
        if self.failed.swap(true, Ordering::SeqCst) {
            return self.inner.publish(events).await;
        }
        let passed: Vec<OutboundEvent> = events.iter().skip(1).step_by(2).cloned().collect();
        let mut sent = self.inner.publish(&passed).await.into_iter();
        (0..events.len())
            .map(|index| {
                if index % 2 == 0 {
                    Err("ThrottlingException: injected".to_string())
                } else {
                    sent.next().unwrap()
                }
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_payout_reaches_the_platform_once_through_partial_failures() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let resources = create_stack(&sdk, &StackNames::with_prefix("out"), None)
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let platform_queue = sqs
        .create_queue()
        .queue_name("platform-payout-events")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let pattern =
        json!({"source": [payout_aws::eventbridge::SOURCE], "detail-type": ["PayoutCompleted"]});
    let target = queue_arn(&sqs, &platform_queue).await;
    rule_to_queue(&sdk, "payouts-completed", &pattern, &target).await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);

    let rail = Arc::new(SimulatedRail::new(4, FailurePlan::default()));
    let mut runtime = AwsRuntime::new(&sdk, &resources, rail, "executor");
    runtime.events = Some(Arc::new(PartlyFailingOnce {
        inner: EventBridgePublisher::new(events.clone(), "default"),
        failed: AtomicBool::new(false),
    }));
    let p = &runtime.services;
    let now = Utc::now();
    let mut paid = Vec::new();
    for barber in ["8", "9"] {
        let barber = World::open_barber(p, barber, Some("80.00"), now).await;
        paid.push(
            manual_payout(p, &barber, "end of day", "operator", now)
                .await
                .unwrap(),
        );
    }
    // The executor pays both and publishes what it can: half its events fail.
    // An operator's payouts are in the urgent lane.
    let urgent_lane = resources.urgent_queue_url.as_ref().unwrap();
    let (received, failed) = invoke_executor(&runtime, &sqs, urgent_lane).await;
    assert_eq!((received, failed), (2, 0));
    assert!(
        !p.store.unpublished_events(10).await.unwrap().is_empty(),
        "some were left"
    );
    // The next invocation publishes the rest.
    publish_events(&runtime).await;
    assert!(p.store.unpublished_events(10).await.unwrap().is_empty());
    publish_events(&runtime).await;

    let mut completed = Vec::new();
    for _ in 0..10 {
        let output = sqs
            .receive_message()
            .queue_url(&platform_queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        completed.extend(
            output
                .messages
                .unwrap_or_default()
                .iter()
                .map(|message| serde_json::from_str::<Value>(message.body().unwrap()).unwrap()),
        );
        if completed.len() >= 2 {
            break;
        }
    }
    let mut payouts: Vec<&str> = completed
        .iter()
        .map(|event| {
            assert_eq!(event["detail-type"], "PayoutCompleted");
            assert_eq!(event["detail"]["status"], "completed");
            assert!(event["detail"]["event_id"].as_str().unwrap().contains(':'));
            event["detail"]["payout_id"].as_str().unwrap()
        })
        .collect();
    payouts.sort_unstable();
    let mut expected: Vec<&str> = paid.iter().map(|payout| payout.id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(payouts, expected, "one PayoutCompleted per payout");
}
