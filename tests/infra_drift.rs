//! The SAM template and the stack `payouts-tools aws-local up` creates come from the same figures:
//! this test reads `infra/template.yaml` and compares it with `payout_aws`'s definitions.

use std::time::Duration;

use payout_app::config::file::QueueSection;
use payout_app::execute::MIN_RAIL_WINDOW;
use payout_aws::dynamo::DUE_SHARDS;
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
    // The urgent lane is a second job queue, alike in all but its name.
    for lane in ["JobQueue", "UrgentJobQueue"] {
        let queue = resource(&t, lane);
        assert_eq!(
            number(&queue["VisibilityTimeout"]),
            u64::from(JOB_VISIBILITY_SECONDS),
            "{lane}"
        );
        assert_eq!(
            number(&queue["RedrivePolicy"]["maxReceiveCount"]),
            u64::from(MAX_RECEIVE_COUNT),
            "{lane}"
        );
        assert!(
            matches!(&queue["RedrivePolicy"]["deadLetterTargetArn"], Value::Tagged(tagged)
                if tagged.tag == "GetAtt" && tagged.value.as_str() == Some("JobDeadLetterQueue.Arn")),
            "{lane} dead-letters where the operators look"
        );
    }
    // `payouts serve`'s in-process queue dead-letters as the deployed one does.
    assert_eq!(QueueSection::default().max_receives, MAX_RECEIVE_COUNT);
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
    for (event, lane) in [("Jobs", "JobQueue"), ("UrgentJobs", "UrgentJobQueue")] {
        let jobs = &executor["Events"][event]["Properties"];
        assert_eq!(jobs["FunctionResponseTypes"][0], "ReportBatchItemFailures");
        assert!(
            matches!(&jobs["Queue"], Value::Tagged(tagged) if tagged.tag == "GetAtt"
                && tagged.value.as_str() == Some(&format!("{lane}.Arn"))),
            "{event}: {jobs:?}"
        );
    }
    let variables = &t["Globals"]["Function"]["Environment"]["Variables"];
    for (variable, lane) in [
        ("JOB_QUEUE_URL", "JobQueue"),
        ("URGENT_JOB_QUEUE_URL", "UrgentJobQueue"),
    ] {
        assert!(
            matches!(&variables[variable], Value::Tagged(tagged)
                if tagged.tag == "Ref" && tagged.value.as_str() == Some(lane)),
            "{variable}"
        );
    }
}

/// The planner's tick sends one message per shard of the due index, and the shard queue's
/// event source starts an invocation for each at once, each with the planner's whole timeout.
#[test]
fn the_planners_fan_out_plans_every_shard_at_once() {
    let t = template();
    let planner = resource(&t, "PlannerFunction");
    let shards = &planner["Events"]["Shards"]["Properties"];
    assert!(
        matches!(&shards["Queue"], Value::Tagged(tagged) if tagged.tag == "GetAtt"
            && tagged.value.as_str() == Some("PlanQueue.Arn")),
        "{shards:?}"
    );
    assert_eq!(number(&shards["BatchSize"]), 1);
    assert_eq!(
        shards["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert_eq!(
        number(&shards["ScalingConfig"]["MaximumConcurrency"]),
        u64::from(DUE_SHARDS),
        "one planner at once per shard of the due index"
    );
    assert!(
        matches!(&planner["Environment"]["Variables"]["PLAN_QUEUE_URL"], Value::Tagged(tagged)
            if tagged.tag == "Ref" && tagged.value.as_str() == Some("PlanQueue")),
        "the planner sends its shards to the queue it reads"
    );
    let queue = resource(&t, "PlanQueue");
    assert!(number(&queue["VisibilityTimeout"]) >= 6 * number(&planner["Timeout"]));
    assert!(number(&queue["RedrivePolicy"]["maxReceiveCount"]) >= 5);
}

/// Each function is built by `sam build` through the repository's Makefile: its own
/// bootstrap, for arm64, with the deploy profile.
#[test]
fn every_function_is_built_for_arm64_with_the_deploy_profile() {
    let t = template();
    assert_eq!(t["Globals"]["Function"]["Architectures"][0], "arm64");
    let makefile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Makefile")).unwrap();
    assert!(makefile.contains("cargo lambda build --profile deploy --arm64"));
    for (function, binary) in [
        ("PlannerFunction", "payout-planner"),
        ("ExecutorFunction", "payout-executor"),
        ("ApiFunction", "payout-api"),
        ("WebhooksFunction", "payout-webhooks"),
        ("IntakeFunction", "payout-intake"),
    ] {
        let metadata = &t["Resources"][function]["Metadata"];
        assert_eq!(metadata["BuildMethod"], "makefile", "{function}");
        assert!(
            makefile.contains(&format!(
                "build-{function}:\n\t$(call bootstrap,{binary})\n"
            )),
            "the Makefile does not build {binary} for {function}"
        );
    }
    for alarm in [
        "FailureRateAlarm",
        "WebhookFailureRateAlarm",
        "ProcessingTimeAlarm",
        "PlannerLagAlarm",
        "PlanningFailureAlarm",
        "DailyVolumeDropAlarm",
        "DeadLetterAlarm",
        "IntakeDeadLetterAlarm",
        "IntakeRejectedAlarm",
    ] {
        assert_eq!(
            t["Resources"][alarm]["Type"], "AWS::CloudWatch::Alarm",
            "{alarm}"
        );
    }
}

/// The executor's configuration as the template sets it: its `PAYOUTS_<SECTION>__<KEY>`
/// variables (a parameter's at its default) over the defaults, read the way the function
/// reads them.
fn executor_config(template: &Value) -> payout_app::AppConfig {
    let variables = resource(template, "ExecutorFunction")["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    let mut toml = String::new();
    for (name, value) in variables {
        let name = name.as_str().unwrap();
        if let Some((section, key)) = name
            .strip_prefix("PAYOUTS_")
            .and_then(|rest| rest.split_once("__"))
        {
            // A parameter's default, as the deployment gets it unless told otherwise.
            let value = match value {
                Value::Tagged(tagged) if tagged.tag == "Ref" => {
                    &template["Parameters"][tagged.value.as_str().unwrap()]["Default"]
                }
                other => other,
            };
            let value = match value {
                Value::Number(number) => number.to_string(),
                text => format!("\"{}\"", text.as_str().unwrap()),
            };
            toml += &format!(
                "{}.{} = {value}\n",
                section.to_lowercase(),
                key.to_lowercase()
            );
        }
    }
    payout_app::config::load::load_text(&toml).unwrap().1
}

#[test]
fn the_executors_timeout_rail_timeout_lease_and_visibility_are_consistent() {
    let t = template();
    let config = executor_config(&t);
    let timeout = Duration::from_secs(u64::from(EXECUTOR_TIMEOUT_SECONDS));
    let visibility = Duration::from_secs(u64::from(JOB_VISIBILITY_SECONDS));
    let margin = config.deadline_margin.to_std().unwrap();
    let lease = config.lock_lease.to_std().unwrap();
    assert!(
        config.rail_timeout + 2 * margin <= timeout,
        "a whole rail call ({:?}) and the deadline margin before and after it ({margin:?}) must \
         fit in the executor's timeout ({timeout:?})",
        config.rail_timeout
    );
    assert!(
        config.rail_timeout >= MIN_RAIL_WINDOW,
        "the rail timeout is shorter than any call"
    );
    assert!(
        lease >= timeout,
        "the lock's lease ({lease:?}) must outlive an invocation ({timeout:?})"
    );
    assert!(
        lease <= visibility,
        "a killed executor's lock ({lease:?}) must lapse before its jobs are visible again \
         ({visibility:?})"
    );
    // Each event source's executors at once name a parameter; together they share the rail's
    // rate, each pacing itself to its share.
    let executor = resource(&t, "ExecutorFunction");
    let mut parameters = Vec::new();
    for event in ["Jobs", "UrgentJobs"] {
        let scaling =
            &executor["Events"][event]["Properties"]["ScalingConfig"]["MaximumConcurrency"];
        let parameter = match scaling {
            Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().unwrap(),
            other => panic!("{event}'s MaximumConcurrency should name a parameter: {other:?}"),
        };
        let default = number(&t["Parameters"][parameter]["Default"]);
        assert!(
            (2..=20).contains(&default),
            "{event}'s executors at once by default: {default}"
        );
        parameters.push(format!("${{{parameter}}}"));
    }
    let shares = &executor["Environment"]["Variables"]["RAIL_PACE_SHARES"];
    let sum = parameters.join("+");
    assert!(
        matches!(shares, Value::Tagged(tagged) if tagged.tag == "Sub" && tagged.value.as_str() == Some(sum.as_str())),
        "RAIL_PACE_SHARES must add up every event source's maximum concurrency ({sum}): {shares:?}"
    );
}

#[test]
fn no_secret_is_in_the_template_and_every_log_group_has_a_retention() {
    let t = template();
    for (name, parameter) in t["Parameters"].as_mapping().unwrap() {
        assert!(
            parameter.get("NoEcho").is_none(),
            "{name:?}: secrets belong in Parameter Store"
        );
    }
    for (function, log_group) in [
        ("PlannerFunction", "PlannerLogGroup"),
        ("ExecutorFunction", "ExecutorLogGroup"),
        ("ApiFunction", "ApiLogGroup"),
        ("WebhooksFunction", "WebhooksLogGroup"),
        ("IntakeFunction", "IntakeLogGroup"),
    ] {
        let group = resource(&t, log_group);
        let name = format!("{:?}", group["LogGroupName"]);
        assert!(name.contains(function), "{log_group} is {function}'s");
        assert!(
            group.get("RetentionInDays").is_some(),
            "{log_group} keeps logs forever"
        );
        for (variable, _) in resource(&t, function)["Environment"]["Variables"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            let variable = variable.as_str().unwrap();
            assert!(
                !variable.contains("SECRET") || variable.ends_with("_PARAMETER"),
                "{function} has a secret in its environment: {variable}"
            );
        }
    }
}

#[test]
fn no_user_of_the_pool_can_write_its_own_barber_id() {
    let t = template();
    let client = resource(&t, "UserPoolClient");
    let writable: Vec<&str> = client["WriteAttributes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|attribute| attribute.as_str().unwrap())
        .collect();
    assert!(
        !writable.contains(&"custom:barber_id"),
        "a barber could point its token at another barber's money"
    );
    let settings = payout_app::config::Settings::default();
    assert_eq!(settings.auth.barber_claim, "custom:barber_id");
    assert_eq!(settings.auth.role_claim, "cognito:groups");
    for group in [&settings.auth.operator_group, &settings.auth.barber_group] {
        let declared = ["OperatorGroup", "BarberGroup"]
            .iter()
            .any(|resource_name| resource(&t, resource_name)["GroupName"] == group.as_str());
        assert!(declared, "the pool has no group {group}");
    }
}

/// The functions publish every metric without dimensions too (`payout_aws::emf`), and an
/// alarm on a metric with dimensions would watch only one slice of it: the alarms on the
/// service's own metrics name none.
#[test]
fn the_alarms_watch_the_metrics_the_functions_publish() {
    let t = template();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let alarm = &resource["Properties"];
        let mut watched = vec![alarm.clone()];
        for query in alarm["Metrics"].as_sequence().into_iter().flatten() {
            watched.push(query["MetricStat"]["Metric"].clone());
        }
        for metric in watched {
            if metric["Namespace"] == payout_aws::emf::NAMESPACE {
                assert!(
                    metric.get("Dimensions").is_none(),
                    "{name:?} watches {:?} by dimension",
                    metric["MetricName"]
                );
            }
        }
    }
}
