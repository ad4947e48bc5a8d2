//! The deployment path as AWS runs it: the five Lambda bootstraps (debug builds of the same
//! mains `cargo lambda` ships) started behind a Runtime API of the test's, warm across
//! invocations, with `infra/template.yaml`'s environment for each function, against moto
//! (DynamoDB, SQS, SNS, SSM Parameter Store, EventBridge) and the project's Stripe fake. Driven
//! with the events AWS sends: HTTP API requests carrying the claims API Gateway's JWT
//! authorizer verified from RS256 tokens, a platform event through the bus's rule and the
//! intake queue, SQS batches from the job queue (messages not reported as failed are deleted,
//! as the event source does), a Scheduler tick, a signed Stripe webhook. Stripe
//! commits a transfer and hangs, answers 429, and a batch is delivered twice; each barber is
//! paid once, the executor answers before its deadline, notices reach the topic, the DLQ
//! stays empty.
//!
//! The one departure from the template: the job queue's visibility is 5 s instead of 360 s, so
//! the test does not wait minutes for a redelivery.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use chrono::Weekday;
use chrono::{TimeDelta, Utc};
use payout_app::ports::{LedgerStore, PayoutStore, ScheduleStore};
use payout_app::webhooks::sign;
use payout_aws::dynamo::{DUE_SHARDS, DynamoStore, due_shard_of};
use payout_aws::lambda::Resources;
use payout_aws::stack::{StackNames, create_stack};
use payout_core::money::{Currency, Money};
use payout_core::schedule::PayoutSchedule;
use payout_tests::aws_events::{http_request, scheduled_tick, sqs_batch};
use payout_tests::fake_stripe::{FakeStripe, Scenario};
use payout_tests::inboxes::SnsInbox;
use payout_tests::issuer::{
    Key, barber_token, claims, gateway_claims, operator_token, sign as sign_token,
};
use payout_tests::lambda::LambdaFunction;
use payout_tests::moto::{Moto, queue_arn, rule_to_queue};
use payout_tests::notifier_contract::Inbox;
use payout_tests::world::World;
use serde_json::{Value, json};
use serde_norway::Value as Yaml;

const BASE: &str = "/api/v1/payout-scheduler";
const WEBHOOK_SECRET: &str = "whsec_bootstrap";
/// The template's executor timeout, and the API's.
const EXECUTOR_TIMEOUT: Duration = Duration::from_secs(60);
const API_TIMEOUT: Duration = Duration::from_secs(29);

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `function`'s environment as the template declares it (globals, then its own), each `!Ref`
/// resolved to the emulated resource or the parameter's default.
fn template_environment(
    template: &Yaml,
    function: &str,
    resources: &Resources,
    intake: &Intake,
    plan_queue_url: &str,
) -> Vec<(String, String)> {
    let reference = |name: &str| -> String {
        match name {
            "PayoutTable" => resources.table.clone(),
            "JobQueue" => resources.queue_url.clone(),
            "UrgentJobQueue" => resources.urgent_queue_url.clone().unwrap(),
            "JobDeadLetterQueue" => resources.dead_letter_url.clone(),
            "NotificationTopic" => resources.topic_arn.clone(),
            "IntakeDeadLetterQueue" => intake.dead_letter_url.clone(),
            "PlanQueue" => plan_queue_url.to_string(),
            parameter => match &template["Parameters"][parameter]["Default"] {
                Yaml::String(text) => text.clone(),
                Yaml::Number(number) => number.to_string(),
                _ => panic!("{function}: cannot resolve !Ref {parameter}"),
            },
        }
    };
    let resolve = |value: &Yaml| -> String {
        match value {
            Yaml::String(text) => text.clone(),
            Yaml::Tagged(tagged) if tagged.tag == "Ref" => {
                reference(tagged.value.as_str().unwrap())
            }
            // `${Name}` replaced as !Ref Name would be.
            Yaml::Tagged(tagged) if tagged.tag == "Sub" => {
                let mut text = tagged.value.as_str().unwrap().to_string();
                while let Some(start) = text.find("${") {
                    let end = start + text[start..].find('}').unwrap();
                    let value = reference(&text[start + 2..end]);
                    text.replace_range(start..=end, &value);
                }
                text
            }
            other => panic!("{function}: unexpected environment value {other:?}"),
        }
    };
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    let own = &template["Resources"][function]["Properties"]["Environment"]["Variables"];
    [globals, own]
        .into_iter()
        .filter_map(Yaml::as_mapping)
        .flatten()
        .map(|(name, value)| (name.as_str().unwrap().to_string(), resolve(value)))
        .collect()
}

/// The intake path as the template wires it: a rule on the bus feeding the intake queue.
struct Intake {
    queue_url: String,
    queue_arn: String,
    dead_letter_url: String,
}

impl Intake {
    async fn create(sdk: &aws_config::SdkConfig, sqs: &aws_sdk_sqs::Client) -> Self {
        let mut urls = Vec::new();
        for name in ["boot-intake", "boot-intake-dlq"] {
            let created = sqs.create_queue().queue_name(name).send().await.unwrap();
            urls.push(created.queue_url.unwrap());
        }
        let queue_arn = queue_arn(sqs, &urls[0]).await;
        let template = template();
        let source = template["Parameters"]["PlatformEventSource"]["Default"]
            .as_str()
            .unwrap();
        let pattern =
            json!({"source": [source], "detail-type": ["ServiceCompleted", "ServiceRefunded"]});
        rule_to_queue(sdk, "platform-events", &pattern, &queue_arn).await;
        Self {
            queue_url: urls[0].clone(),
            queue_arn,
            dead_letter_url: urls[1].clone(),
        }
    }
}

struct Deployment {
    api: LambdaFunction,
    /// The API function's environment, for another warm instance of it.
    api_environment: Vec<(String, String)>,
    executor: LambdaFunction,
    planner: LambdaFunction,
    webhooks: LambdaFunction,
    intake: LambdaFunction,
    platform: Intake,
    sqs: aws_sdk_sqs::Client,
    resources: Resources,
    /// The job queue's lanes, the urgent one first.
    lanes: [Lane; 2],
    plan_queue_url: String,
}

/// A lane of the job queue, with the event source the executor has on it.
#[derive(Clone)]
struct Lane {
    url: String,
    arn: String,
}

impl Deployment {
    /// An API request through the API function: the response's status and JSON body.
    /// POSTs `body` to `path` as `claims`, which must create it (201); the answer.
    async fn create(&mut self, path: &str, claims: &Value, body: Value) -> Value {
        let (status, answer) = self.call("POST", path, Some(claims), Some(body)).await;
        assert_eq!(status, 201, "POST {path}: {answer}");
        answer
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        claims: Option<&Value>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let event = http_request(
            method,
            &format!("{BASE}{path}"),
            claims.cloned(),
            &[],
            body.map(|body| body.to_string()),
        );
        gateway_response(self.api.invoke(event, API_TIMEOUT).await)
    }

    /// Stripe's event `kind` about `object`, signed as Stripe signs it, through the webhooks
    /// function: the response's status and body.
    async fn stripe_event(&mut self, kind: &str, object: Value) -> (u16, Value) {
        let now = Utc::now().timestamp();
        let body = json!({
            "id": format!("evt_{kind}_{}_{}", object["id"].as_str().unwrap_or_default(),
                          Utc::now().timestamp_nanos_opt().unwrap_or_default()),
            "object": "event", "type": kind, "api_version": "2024-06-20", "created": now,
            "livemode": false, "data": {"object": object}
        })
        .to_string();
        let signature = sign(body.as_bytes(), WEBHOOK_SECRET.as_bytes(), now);
        let event = http_request(
            "POST",
            &format!("{BASE}/webhooks/stripe"),
            None,
            &[("Stripe-Signature", &signature)],
            Some(body),
        );
        gateway_response(self.webhooks.invoke(event, API_TIMEOUT).await)
    }

    /// Runs the executor on whatever waits in the lanes until `settled` holds of the payout
    /// `id` (60 s at most); the payout then.
    async fn execute_until(
        &mut self,
        id: &str,
        operator: &Value,
        settled: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let payout = self.payout(id, operator).await;
            if settled(&payout) {
                return payout;
            }
            assert!(Instant::now() < deadline, "not settled: {payout}");
            let (lane, messages) = self.receive().await;
            if !messages.is_empty() {
                self.execute(&lane, &messages, EXECUTOR_TIMEOUT).await;
            }
        }
    }

    /// Jobs waiting or in hand in either lane.
    async fn jobs_left(&self) -> u64 {
        let mut left = 0;
        for lane in &self.lanes {
            left += self.depth(&lane.url).await;
        }
        left
    }

    fn urgent_lane(&self) -> Lane {
        self.lanes[0].clone()
    }

    /// Up to ten jobs waiting in one lane of the job queue, the urgent lane's first: the lane
    /// and its messages.
    async fn receive(&self) -> (Lane, Vec<aws_sdk_sqs::types::Message>) {
        for lane in &self.lanes {
            let messages = self.receive_from(&lane.url).await;
            if !messages.is_empty() {
                return (lane.clone(), messages);
            }
        }
        (self.lanes[1].clone(), Vec::new())
    }

    /// Up to ten messages waiting on `queue_url`.
    async fn receive_from(&self, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        self.sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
    }

    /// Hands `messages` to the executor as `lane`'s event source does, with `timeout` to run,
    /// and deletes those it did not report as failed.
    async fn execute(
        &mut self,
        lane: &Lane,
        messages: &[aws_sdk_sqs::types::Message],
        timeout: Duration,
    ) -> Value {
        let answer = self
            .executor
            .invoke(sqs_batch(messages, &lane.arn), timeout)
            .await
            .expect("the executor answers");
        let failed: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|failure| failure["itemIdentifier"].as_str().unwrap())
            .collect();
        for message in messages {
            if !failed.contains(&message.message_id().unwrap()) {
                // A message already deleted (a duplicate delivery) is fine to delete again.
                let _ = self
                    .sqs
                    .delete_message()
                    .queue_url(&lane.url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await;
            }
        }
        answer
    }

    /// Hands one shard message to the planner as the shard queue's event source does (a batch
    /// of one), with `timeout` to run, and deletes it unless reported as failed.
    async fn plan(&mut self, message: &aws_sdk_sqs::types::Message, timeout: Duration) -> Value {
        let event = sqs_batch(
            std::slice::from_ref(message),
            "arn:aws:sqs:us-east-1:123456789012:boot-plan",
        );
        let answer = self
            .planner
            .invoke(event, timeout)
            .await
            .expect("the planner answers");
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
        self.sqs
            .delete_message()
            .queue_url(&self.plan_queue_url)
            .receipt_handle(message.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
        answer
    }

    /// EventBridge Scheduler's tick, now, through the planner: its report.
    async fn tick(&mut self) -> Value {
        self.planner
            .invoke(scheduled_tick(Utc::now()), Duration::from_secs(300))
            .await
            .expect("the planner answers")
    }

    /// Hands every message of the shard queue to the planner, `timeout` for each, until the
    /// queue is empty (an invocation may send the rest of its shard back); how many it took.
    async fn plan_every_shard(&mut self, timeout: Duration) -> u32 {
        let plan_queue_url = self.plan_queue_url.clone();
        let mut invocations = 0;
        loop {
            let messages = self.receive_from(&plan_queue_url).await;
            if messages.is_empty() {
                return invocations;
            }
            for message in &messages {
                self.plan(message, timeout).await;
                invocations += 1;
            }
        }
    }

    /// The payout `id` as an operator reads it.
    async fn payout(&mut self, id: &str, operator: &Value) -> Value {
        let (status, payout) = self
            .call("GET", &format!("/payouts/{id}"), Some(operator), None)
            .await;
        assert_eq!(status, 200, "{payout}");
        payout
    }

    async fn depth(&self, queue_url: &str) -> u64 {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attributes = attributes.attributes().unwrap();
        [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ]
        .iter()
        .map(|name| attributes[name].parse::<u64>().unwrap())
        .sum()
    }
}

/// A Lambda proxy response (payload 2.0) as API Gateway reads it.
fn gateway_response(answer: Result<Value, Value>) -> (u16, Value) {
    let response = answer.expect("the function answers");
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = response["body"].as_str().unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn deploy(moto: &Moto, stripe: &FakeStripe) -> Deployment {
    let sdk = moto.sdk_config().await;
    let resources = create_stack(&sdk, &StackNames::with_prefix("boot"), Some(5))
        .await
        .unwrap();
    let template = template();
    let key_parameter = template["Parameters"]["StripeSecretKeyParameter"]["Default"]
        .as_str()
        .unwrap();
    let webhook_parameter = template["Parameters"]["StripeWebhookSecretParameter"]["Default"]
        .as_str()
        .unwrap();
    // Real SQS delays pass in real time: retries after a second, not minutes.
    // Pages of two, so that a few due barbers make a shard of several pages.
    // Payouts netting over $5,000 wait for a second operator (no other test pays that much).
    let config = "[retry]\ndelays = [\"1s\", \"1s\", \"1s\"]\n[planner]\npage_size = 2\n\
                  [approvals]\nabove = \"5000.00\"\n";
    moto.put_parameters(&[
        (key_parameter, "sk_test_bootstrap", true),
        (webhook_parameter, WEBHOOK_SECRET, true),
        ("/payouts/config", config, false),
    ])
    .await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut lanes = Vec::new();
    for url in [
        resources.urgent_queue_url.clone().unwrap(),
        resources.queue_url.clone(),
    ] {
        let arn = queue_arn(&sqs, &url).await;
        lanes.push(Lane { url, arn });
    }
    let aws = [
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_SESSION_TOKEN", "test".to_string()),
        // Where moto and the fake stand in for AWS and Stripe.
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("STRIPE_API_BASE", stripe.base_url.clone()),
        // A deployment's own choice: its configuration in Parameter Store.
        ("PAYOUTS_CONFIG_PARAMETER", "/payouts/config".to_string()),
    ];
    let platform = Intake::create(&sdk, &sqs).await;
    let plan_queue_url = sqs
        .create_queue()
        .queue_name("boot-plan")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let environment = |function: &str| {
        let mut environment =
            template_environment(&template, function, &resources, &platform, &plan_queue_url);
        environment.extend(
            aws.iter()
                .map(|(name, value)| (name.to_string(), value.clone())),
        );
        environment
    };
    Deployment {
        api: LambdaFunction::start("payout-api", &environment("ApiFunction")).await,
        api_environment: environment("ApiFunction"),
        executor: LambdaFunction::start("payout-executor", &environment("ExecutorFunction")).await,
        planner: LambdaFunction::start("payout-planner", &environment("PlannerFunction")).await,
        webhooks: LambdaFunction::start("payout-webhooks", &environment("WebhooksFunction")).await,
        intake: LambdaFunction::start("payout-intake", &environment("IntakeFunction")).await,
        platform,
        sqs,
        resources,
        lanes: lanes.try_into().ok().unwrap(),
        plan_queue_url,
    }
}

/// The brief's week for barber 123: 60 services making $1,000.00 and $50.00 of booth rent, paid
/// $667.25 by Stripe; barber 456: three $40.00 services paid out instantly.
async fn the_week(deployment: &mut Deployment, operator: &Value) {
    let at = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    for (barber, method) in [("123", "stripe"), ("456", "stripe_instant")] {
        let schedule = json!({"barber_id": barber, "frequency": "weekly", "day_of_week": 5,
            "connected_account_id": format!("acct_barber{barber}"),
            "preferred_payment_method": method, "email": format!("{barber}@shop.example")});
        let (status, body) = deployment
            .call("POST", "/schedules", Some(operator), Some(schedule))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let mut earnings: Vec<Value> = (0..60)
        .map(|n| {
            json!({"earning_id": format!("e{n}"), "barber_id": "123",
                "amount": if n < 40 { "16.00" } else { "18.00" }, "occurred_at": at, "service": "haircut"})
        })
        .collect();
    earnings.extend((0..3).map(|n| {
        json!({"earning_id": format!("f{n}"), "barber_id": "456", "amount": "40.00",
            "occurred_at": at, "service": "fade"})
    }));
    let (status, body) = deployment
        .call("POST", "/earnings", Some(operator), Some(json!(earnings)))
        .await;
    assert_eq!(status, 201, "{body}");
    let rent = json!({"barber_id": "123", "kind": "booth_rent", "amount": "50.00",
        "description": "booth rent"});
    let (status, body) = deployment
        .call("POST", "/deductions", Some(operator), Some(rent))
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_four_bootstraps_pay_each_barber_once_as_lambda_runs_them() {
    let moto = Moto::start();
    let stripe = FakeStripe::start().await;
    let mut deployment = deploy(&moto, &stripe).await;
    let sdk = moto.sdk_config().await;
    let inbox = SnsInbox::subscribe(&sdk, &deployment.resources.topic_arn).await;

    // Tokens as the issuer signs them; claims as API Gateway forwards them.
    let operator = gateway_claims(&operator_token())
        .await
        .expect("a valid operator token");
    let barber = gateway_claims(&barber_token("456"))
        .await
        .expect("a valid barber token");
    let expired = {
        let mut expired = claims(&["operator"], None);
        expired["exp"] = json!(Utc::now().timestamp() - 3600);
        sign_token(Key::RsaA, &expired)
    };
    assert!(
        gateway_claims(&expired).await.is_none(),
        "the gateway refuses an expired token"
    );

    the_week(&mut deployment, &operator).await;

    // The platform reports one more of 456's services on its bus; the rule queues it and the
    // intake function records it.
    let detail = json!({"booking_id": "bk-boot-1", "barber_id": "456", "amount": "40.00",
        "currency": "USD", "occurred_at": (Utc::now() - TimeDelta::hours(1)).to_rfc3339(),
        "service": "fade", "version": 1});
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source("booking.platform")
        .detail_type("ServiceCompleted")
        .detail(detail.to_string())
        .build();
    aws_sdk_eventbridge::Client::new(&sdk)
        .put_events()
        .entries(entry)
        .send()
        .await
        .unwrap();
    let platform_events = deployment
        .sqs
        .receive_message()
        .queue_url(&deployment.platform.queue_url)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(platform_events.len(), 1, "the rule queued the event");
    let answer = deployment
        .intake
        .invoke(
            sqs_batch(&platform_events, &deployment.platform.queue_arn),
            Duration::from_secs(30),
        )
        .await
        .expect("the intake function answers");
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let (_, preview) = deployment
        .call(
            "GET",
            "/payouts/preview?barber_id=456",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(preview["service_count"], 4, "{preview}");

    // Refused: no claims on a protected route (a route the authorizer does not guard), a
    // barber reading another barber, a barber on an operator route.
    assert_eq!(deployment.call("GET", "/payouts", None, None).await.0, 401);
    assert_eq!(
        deployment
            .call("GET", "/schedules/123", Some(&barber), None)
            .await
            .0,
        404
    );
    let earning = json!([{"earning_id": "x", "barber_id": "456", "amount": "1000.00",
        "occurred_at": Utc::now().to_rfc3339(), "service": "haircut"}]);
    assert_eq!(
        deployment
            .call("POST", "/earnings", Some(&barber), Some(earning))
            .await
            .0,
        403
    );
    assert_eq!(
        deployment
            .call("GET", "/schedules/456", Some(&barber), None)
            .await
            .0,
        200
    );

    // Stripe commits 123's transfer and hangs; it rate-limits 456 once.
    stripe.set_scenario(
        "acct_barber123",
        Scenario::HangAfterCommit(Duration::from_secs(120)),
    );
    stripe.set_scenario(
        "acct_barber456",
        Scenario::Transient {
            status: 429,
            times: 1,
        },
    );
    let mut ids = HashMap::new();
    for barber_id in ["123", "456"] {
        let manual = json!({"barber_id": barber_id, "reason": "end of week"});
        let (status, body) = deployment
            .call("POST", "/payouts/manual", Some(&operator), Some(manual))
            .await;
        assert_eq!(status, 201, "{body}");
        ids.insert(barber_id, body["id"].as_str().unwrap().to_string());
        if barber_id == "123" {
            assert_eq!(body["net_amount"], "667.25", "{body}");
        }
    }

    // The planner's tick from EventBridge Scheduler.
    let report = deployment.tick().await;
    assert!(report["payouts_queued"].is_u64(), "{report}");

    // The first batch with 13 s left: the hung call is cut off in time to record it, and a
    // job behind it that no longer fits is handed back for redelivery, untouched.
    // An operator's payouts go in the urgent lane, which an executor of its own takes.
    let urgent = deployment.urgent_lane();
    let mut first = deployment.receive_from(&urgent.url).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while first.len() < 2 && Instant::now() < deadline {
        first.extend(deployment.receive_from(&urgent.url).await);
    }
    assert_eq!(
        first.len(),
        2,
        "one job per manual payout, in the urgent lane"
    );
    let started = Instant::now();
    let answer = deployment
        .execute(&urgent, &first, Duration::from_secs(13))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(13),
        "answered before the deadline"
    );
    let failures = answer["batchItemFailures"].as_array().unwrap();
    assert!(
        failures.len() <= 1,
        "only a job after the hung one: {answer}"
    );
    let standard = deployment.payout(&ids["123"], &operator).await;
    assert_eq!(standard["status"], "retry_scheduled", "{standard}");
    let last = standard["audit_trail"].as_array().unwrap().last().unwrap();
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains("did not answer in time"),
        "{last}"
    );
    // SQS delivers at least once: the same batch again.
    deployment.execute(&urgent, &first, EXECUTOR_TIMEOUT).await;

    // The retries come back after their delay; run them until both barbers are paid.
    let settled = Instant::now() + Duration::from_secs(60);
    loop {
        let standard = deployment.payout(&ids["123"], &operator).await;
        let instant = deployment.payout(&ids["456"], &operator).await;
        if standard["status"] == "completed" && instant["status"] == "in_transit" {
            break;
        }
        assert!(
            Instant::now() < settled,
            "not settled: {standard} {instant}"
        );
        let (lane, messages) = deployment.receive().await;
        if !messages.is_empty() {
            deployment.execute(&lane, &messages, EXECUTOR_TIMEOUT).await;
        }
    }

    // Stripe says the instant payout arrived: a signed webhook through the webhooks function.
    let object = json!({"id": "po_bootstrap", "object": "payout", "status": "paid",
        "method": "instant", "metadata": {"payout_id": ids["456"]}});
    let (status, answer) = deployment.stripe_event("payout.paid", object).await;
    assert_eq!(status, 200, "{answer}");
    // The fake's ledger: one transfer per payout, its net, to its barber's account; 456's
    // instant payout on its connected account.
    let transfers = stripe.transfers();
    for barber_id in ["123", "456"] {
        let payout = deployment.payout(&ids[barber_id], &operator).await;
        assert_eq!(payout["status"], "completed", "{payout}");
        let net = Money::parse(payout["net_amount"].as_str().unwrap(), Currency::Usd)
            .and_then(Money::to_minor)
            .unwrap();
        let paid: Vec<&Value> = transfers
            .iter()
            .filter(|transfer| transfer["destination"] == json!(format!("acct_barber{barber_id}")))
            .collect();
        assert_eq!(paid.len(), 1, "{barber_id} paid once: {transfers:?}");
        assert_eq!(paid[0]["amount"], json!(net), "{barber_id} paid its net");
    }
    let instant_payouts = stripe.payouts();
    assert_eq!(instant_payouts.len(), 1, "{instant_payouts:?}");
    assert_eq!(instant_payouts[0].0, "acct_barber456");
    assert_eq!(instant_payouts[0].1["method"], "instant");

    // One completed notice each on the topic; nothing dead-lettered, nothing left queued.
    let notices = inbox.received().await;
    for barber_id in ["123", "456"] {
        let completed = notices
            .iter()
            .filter(|notice| notice.barber_id == barber_id && notice.kind == "completed")
            .count();
        assert_eq!(completed, 1, "{barber_id}: {notices:?}");
    }
    // The duplicates the redelivered batch made (its jobs were not due yet) come back and are
    // acknowledged: nothing stays queued, nothing is dead-lettered.
    let drained = Instant::now() + Duration::from_secs(30);
    while deployment.jobs_left().await > 0 && Instant::now() < drained {
        let (lane, messages) = deployment.receive().await;
        if !messages.is_empty() {
            deployment.execute(&lane, &messages, EXECUTOR_TIMEOUT).await;
        }
    }
    let dead_letter_url = deployment.resources.dead_letter_url.clone();
    assert_eq!(deployment.depth(&dead_letter_url).await, 0, "dead letters");
    assert_eq!(deployment.jobs_left().await, 0, "jobs left");
}

/// A Friday's tick as AWS runs it. The tick sends one message per shard of the due index with
/// something due to the shard queue and plans nothing itself; each message, handed to the planner by the queue's
/// event source, plans its shard. An invocation inside the deadline margin plans one page and
/// sends the rest of its shard back to the queue. Every due barber gets one payout and one job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planners_tick_fans_out_and_each_shard_is_planned_by_invocations_of_its_own() {
    let moto = Moto::start();
    let stripe = FakeStripe::start().await;
    let mut deployment = deploy(&moto, &stripe).await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&moto.sdk_config().await),
        &deployment.resources.table,
    );
    let barbers = 80;
    let due = seed_due_barbers(&store, "friday", barbers).await;

    let tick = deployment.tick().await;
    assert_eq!(tick["shards_sent"], shards_of(&due), "{tick}");
    assert_eq!(
        tick["schedules_due"], 0,
        "the tick plans nothing itself: {tick}"
    );

    // 10 s left is inside the planner's margin: each invocation plans one page.
    let invocations = deployment.plan_every_shard(Duration::from_secs(10)).await;
    assert!(
        invocations > DUE_SHARDS,
        "shards of more than a page went back to the queue: {invocations} invocations"
    );

    let mut payouts = std::collections::BTreeSet::new();
    loop {
        let (lane, jobs) = deployment.receive().await;
        if jobs.is_empty() {
            break;
        }
        for message in &jobs {
            let job: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            assert!(
                payouts.insert(job["payout_id"].as_str().unwrap().to_string()),
                "one job per payout: {job}"
            );
            // Taken, so that it is not seen again when its visibility times out.
            deployment
                .sqs
                .delete_message()
                .queue_url(&lane.url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(payouts.len(), barbers, "one payout per due barber");
    let still_due = store.due_schedules(Utc::now(), None, 1000).await.unwrap();
    assert!(still_due.is_empty(), "{still_due:?}");
}

/// `count` barbers named `prefix0`, `prefix1`... whose weekly cut-off passed within the last
/// week, each with a $40.00 service before it: every one is due.
/// The shards of the due index `schedules` are in: those a tick sends (the rest have nothing
/// due).
fn shards_of(schedules: &[PayoutSchedule]) -> usize {
    let shards: std::collections::BTreeSet<u32> = schedules
        .iter()
        .map(|schedule| due_shard_of(&schedule.barber_id))
        .collect();
    shards.len()
}

async fn seed_due_barbers(store: &DynamoStore, prefix: &str, count: usize) -> Vec<PayoutSchedule> {
    let last_week = Utc::now() - TimeDelta::days(7);
    let mut schedules = Vec::new();
    for n in 0..count {
        let barber = format!("{prefix}{n}");
        let schedule = World::weekly_schedule(&barber, Weekday::Fri, last_week);
        let before_cutoff = schedule.next_run_at - TimeDelta::hours(1);
        assert!(store.insert_schedule(&schedule).await.unwrap());
        let earning = World::earning(&barber, 1, "40.00", before_cutoff);
        store
            .insert_earnings(&[earning], &[format!("hash-{barber}")])
            .await
            .unwrap();
        schedules.push(schedule);
    }
    schedules
}

/// Issue 29 on the deployed path, DynamoDB on moto: an instant payout Stripe reported failed
/// stays failed through the reconciliation sweep each planner tick runs, and schedule edits
/// through a second warm instance of the API function, racing the planner's shard invocations,
/// never put a planned cut-off back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payout_stays_failed_and_edits_racing_the_planner_keep_its_cut_offs() {
    let moto = Moto::start();
    let stripe = FakeStripe::start().await;
    let mut deployment = deploy(&moto, &stripe).await;
    let operator = gateway_claims(&operator_token())
        .await
        .expect("a valid operator token");

    let schedule = json!({"barber_id": "instant1", "frequency": "weekly", "day_of_week": 5,
        "connected_account_id": "acct_instant1", "preferred_payment_method": "stripe_instant"});
    let (status, body) = deployment
        .call("POST", "/schedules", Some(&operator), Some(schedule))
        .await;
    assert_eq!(status, 201, "{body}");
    let earning = json!([{"earning_id": "instant1-e0", "barber_id": "instant1", "amount": "80.00",
        "occurred_at": (Utc::now() - TimeDelta::hours(1)).to_rfc3339(), "service": "fade"}]);
    let (status, body) = deployment
        .call("POST", "/earnings", Some(&operator), Some(earning))
        .await;
    assert_eq!(status, 201, "{body}");
    let manual = json!({"barber_id": "instant1", "reason": "end of day"});
    let (status, body) = deployment
        .call("POST", "/payouts/manual", Some(&operator), Some(manual))
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    deployment
        .execute_until(&id, &operator, |payout| payout["status"] == "in_transit")
        .await;

    // The bank refused the instant payout; the transfer to the connected account stands.
    let object = json!({"id": "po_instant1", "object": "payout", "status": "failed",
        "method": "instant", "failure_code": "account_closed", "metadata": {"payout_id": id}});
    let (status, answer) = deployment.stripe_event("payout.failed", object).await;
    assert_eq!(status, 200, "{answer}");
    for _ in 0..3 {
        let report = deployment.tick().await;
        assert!(report["shards_sent"].is_u64(), "{report}");
    }
    let payout = deployment.payout(&id, &operator).await;
    assert_eq!(payout["status"], "failed", "{payout}");
    let trail = payout["audit_trail"].as_array().unwrap();
    assert_eq!(trail.last().unwrap()["to"], "failed", "{payout}");
    assert_eq!(stripe.transfers().len(), 1, "nothing paid again");
    assert_eq!(stripe.payouts().len(), 1, "no instant payout asked again");

    // Twenty barbers due; a tick fans the due index out to the shard queue.
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&moto.sdk_config().await),
        &deployment.resources.table,
    );
    let due = seed_due_barbers(&store, "racing", 20).await;
    let tick = deployment.tick().await;
    assert_eq!(tick["shards_sent"], shards_of(&due), "{tick}");

    // While the planner's invocations plan the shards, another instance of the API function
    // changes each barber's email again and again, checking after each change that no cut-off
    // with its payout is back on the calendar (a payout's creation moves it on in the same
    // transaction).
    let mut editor = LambdaFunction::start("payout-api", &deployment.api_environment).await;
    let planning = std::sync::atomic::AtomicBool::new(true);
    let edits = async {
        let (mut round, mut put_back) = (0, Vec::new());
        while planning.load(std::sync::atomic::Ordering::SeqCst) || round < 2 {
            round += 1;
            for schedule in &due {
                let barber = schedule.barber_id.as_str();
                let email = json!({"email": format!("{barber}-{round}@example.com")});
                let path = format!("{BASE}/schedules/{barber}");
                let put = http_request(
                    "PUT",
                    &path,
                    Some(operator.clone()),
                    &[],
                    Some(email.to_string()),
                );
                let (status, body) = gateway_response(editor.invoke(put, API_TIMEOUT).await);
                assert_eq!(status, 200, "{body}");
                let list = format!("{BASE}/payouts?barber_id={barber}");
                let get = http_request("GET", &list, Some(operator.clone()), &[], None);
                let (_, payouts) = gateway_response(editor.invoke(get, API_TIMEOUT).await);
                let planned = !payouts["items"].as_array().unwrap().is_empty();
                let get = http_request("GET", &path, Some(operator.clone()), &[], None);
                let (_, now) = gateway_response(editor.invoke(get, API_TIMEOUT).await);
                if planned && now["next_run_at"] == json!(schedule.next_run_at) {
                    put_back.push(format!("{barber} in round {round}"));
                }
            }
        }
        (round, put_back)
    };
    let plan = async {
        deployment.plan_every_shard(Duration::from_secs(60)).await;
        planning.store(false, std::sync::atomic::Ordering::SeqCst);
    };
    let ((rounds, put_back), ()) = tokio::join!(edits, plan);
    assert!(put_back.is_empty(), "cut-offs put back: {put_back:?}");
    for schedule in &due {
        let stored = store
            .get_schedule(&schedule.barber_id)
            .await
            .unwrap()
            .unwrap();
        // The next cut-off of its calendar (a week on, unless the clocks changed between).
        assert_eq!(
            Some(stored.next_run_at),
            schedule.calendar.next_run_after(schedule.next_run_at)
        );
        let email = format!("{}-{rounds}@example.com", schedule.barber_id);
        assert_eq!(stored.notifications.email.as_deref(), Some(email.as_str()));
        let planned =
            payout_core::ids::PayoutId::scheduled(&schedule.barber_id, schedule.next_run_at);
        assert!(
            store.get_payout(&planned).await.unwrap().is_some(),
            "{planned}"
        );
    }
}

/// A second operator's approval through the API function on DynamoDB: a payout over
/// `approvals.above` waits (no job in either lane), the operator who asked for it is refused,
/// another approves it and the executor pays it once.
#[tokio::test]
async fn a_payout_waiting_for_approval_is_paid_once_another_operator_approves_it() {
    let moto = Moto::start();
    let stripe = FakeStripe::start().await;
    let mut deployment = deploy(&moto, &stripe).await;
    let asker = gateway_claims(&operator_token())
        .await
        .expect("a valid operator token");
    let mut second = claims(&["operator"], None);
    second["sub"] = json!("second-operator");
    let approver = gateway_claims(&sign_token(Key::RsaA, &second))
        .await
        .expect("a valid token");

    let schedule = json!({"barber_id": "big1", "frequency": "weekly", "day_of_week": 5,
        "connected_account_id": "acct_big1"});
    deployment.create("/schedules", &asker, schedule).await;
    let at = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let earnings: Vec<Value> = (0..8)
        .map(|n| {
            json!({"earning_id": format!("big1-{n}"), "barber_id": "big1",
                        "amount": "1000.00", "occurred_at": at, "service": "colour"})
        })
        .collect();
    deployment
        .create("/earnings", &asker, json!(earnings))
        .await;
    let manual = json!({"barber_id": "big1", "reason": "a big week"});
    let waiting = deployment.create("/payouts/manual", &asker, manual).await;
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting}");
    let id = waiting["id"].as_str().unwrap().to_string();
    assert_eq!(
        deployment.jobs_left().await,
        0,
        "no job runs it before approval"
    );
    let (status, listed) = deployment
        .call(
            "GET",
            "/payouts?status=awaiting_approval",
            Some(&asker),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["id"], id.as_str(), "{listed}");

    let approve = format!("/payouts/{id}/approve");
    let (status, refused) = deployment
        .call("POST", &approve, Some(&asker), Some(json!({})))
        .await;
    assert_eq!(status, 403, "{refused}");
    let (status, approved) = deployment
        .call("POST", &approve, Some(&approver), Some(json!({})))
        .await;
    assert_eq!(status, 200, "{approved}");
    let paid = deployment
        .execute_until(&id, &asker, |payout| payout["status"] == "completed")
        .await;
    assert_eq!(paid["net_amount"], "5579.75", "{paid}");
    assert_eq!(stripe.transfers().len(), 1, "paid once");
    let (status, again) = deployment
        .call("POST", &approve, Some(&approver), Some(json!({})))
        .await;
    assert_eq!(status, 409, "{again}");
}

/// Paying only ready accounts through the webhooks, API and executor functions on DynamoDB:
/// Stripe's `account.updated` disables the account's payouts, so its payout waits on hold with
/// no request to Stripe; the next `account.updated` enables them, and the payout is paid once.
#[tokio::test]
async fn payouts_to_an_account_stripe_disabled_wait_on_hold_and_resume_once_it_is_ready() {
    let moto = Moto::start();
    let stripe = FakeStripe::start().await;
    let mut deployment = deploy(&moto, &stripe).await;
    let operator = gateway_claims(&operator_token())
        .await
        .expect("a valid operator token");
    let schedule = json!({"barber_id": "held1", "frequency": "weekly", "day_of_week": 5,
        "connected_account_id": "acct_held1"});
    deployment.create("/schedules", &operator, schedule).await;
    let earning = json!({"earning_id": "held1-1", "barber_id": "held1", "amount": "100.00",
        "occurred_at": (Utc::now() - TimeDelta::hours(1)).to_rfc3339(), "service": "fade"});
    deployment.create("/earnings", &operator, earning).await;

    stripe.disable_payouts("acct_held1", "requirements.past_due");
    let (status, answer) = deployment
        .stripe_event("account.updated", stripe.account("acct_held1"))
        .await;
    assert_eq!(status, 200, "{answer}");
    let manual = json!({"barber_id": "held1", "reason": "asked for early"});
    let payout = deployment
        .create("/payouts/manual", &operator, manual)
        .await;
    let id = payout["id"].as_str().unwrap().to_string();
    let held = deployment
        .execute_until(&id, &operator, |payout| payout["status"] == "on_hold")
        .await;
    assert_eq!(held["status"], "on_hold", "{held}");
    assert_eq!(stripe.transfer_requests("acct_held1"), 0, "not attempted");

    stripe.enable_payouts("acct_held1");
    let (status, answer) = deployment
        .stripe_event("account.updated", stripe.account("acct_held1"))
        .await;
    assert_eq!(status, 200, "{answer}");
    let paid = deployment
        .execute_until(&id, &operator, |payout| payout["status"] == "completed")
        .await;
    assert_eq!(paid["status"], "completed", "{paid}");
    assert_eq!(stripe.transfers().len(), 1, "paid once");
}
