//! The SAM template and the stack `payouts-tools aws-local up` creates come from the same figures:
//! this test reads `infra/template.yaml` and compares it with `payout_aws`'s definitions.

use payout_aws::dynamo::table::{KEYS, TTL_ATTRIBUTE};
use payout_aws::stack::{
    DEAD_LETTER_RETENTION_SECONDS, EXECUTOR_TIMEOUT_SECONDS, JOB_VISIBILITY_SECONDS,
    MAX_RECEIVE_COUNT,
};
use serde_norway::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    &template["Resources"][name]["Properties"]
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{value:?} is not a number"))
}

#[test]
fn the_table_keys_indexes_and_ttl_match() {
    let t = template();
    let table = resource(&t, "PayoutTable");
    let mut declared: Vec<(String, String, String)> = Vec::new();
    for key in table["KeySchema"].as_sequence().unwrap() {
        declared.push((
            key["AttributeName"].as_str().unwrap().into(),
            String::new(),
            key["KeyType"].as_str().unwrap().into(),
        ));
    }
    for index in table["GlobalSecondaryIndexes"].as_sequence().unwrap() {
        assert_eq!(index["Projection"]["ProjectionType"], "ALL");
        for key in index["KeySchema"].as_sequence().unwrap() {
            declared.push((
                key["AttributeName"].as_str().unwrap().into(),
                index["IndexName"].as_str().unwrap().into(),
                key["KeyType"].as_str().unwrap().into(),
            ));
        }
    }
    let expected: Vec<(String, String, String)> = KEYS
        .iter()
        .map(|(name, index, kind)| (name.to_string(), index.to_string(), kind.to_string()))
        .collect();
    assert_eq!(declared, expected);
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        TTL_ATTRIBUTE
    );
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
}

#[test]
fn the_queues_and_the_executor_timeout_match() {
    let t = template();
    let queue = resource(&t, "JobQueue");
    assert_eq!(
        number(&queue["VisibilityTimeout"]),
        u64::from(JOB_VISIBILITY_SECONDS)
    );
    assert_eq!(
        number(&queue["RedrivePolicy"]["maxReceiveCount"]),
        u64::from(MAX_RECEIVE_COUNT)
    );
    let dead_letters = resource(&t, "JobDeadLetterQueue");
    assert_eq!(
        number(&dead_letters["MessageRetentionPeriod"]),
        u64::from(DEAD_LETTER_RETENTION_SECONDS)
    );
    let executor = resource(&t, "ExecutorFunction");
    assert_eq!(
        number(&executor["Timeout"]),
        u64::from(EXECUTOR_TIMEOUT_SECONDS)
    );
    const { assert!(JOB_VISIBILITY_SECONDS >= 6 * EXECUTOR_TIMEOUT_SECONDS) };
    const { assert!(MAX_RECEIVE_COUNT >= 5) };
    let jobs = &executor["Events"]["Jobs"]["Properties"];
    assert_eq!(jobs["FunctionResponseTypes"][0], "ReportBatchItemFailures");
}

#[test]
fn every_function_is_built_by_cargo_lambda_for_arm64() {
    let t = template();
    assert_eq!(t["Globals"]["Function"]["Architectures"][0], "arm64");
    for (function, binary) in [
        ("PlannerFunction", "payout-planner"),
        ("ExecutorFunction", "payout-executor"),
        ("ApiFunction", "payout-api"),
        ("WebhooksFunction", "payout-webhooks"),
    ] {
        let metadata = &t["Resources"][function]["Metadata"];
        assert_eq!(metadata["BuildMethod"], "rust-cargolambda");
        assert_eq!(metadata["BuildProperties"]["Binary"], binary);
    }
    for alarm in [
        "FailureRateAlarm",
        "WebhookFailureRateAlarm",
        "ProcessingTimeAlarm",
        "DailyVolumeDropAlarm",
        "DeadLetterAlarm",
    ] {
        assert_eq!(
            t["Resources"][alarm]["Type"], "AWS::CloudWatch::Alarm",
            "{alarm}"
        );
    }
}
