//! `payouts-tools aws-local up` against moto's server: it creates the stack and prints the
//! environment the functions read.

use std::process::Command;

use payout_tests::moto::Moto;

use crate::tools;

/// Runs `payouts-tools ARGS` against the emulator; it must succeed. Returns what it printed.
fn payouts_on(moto: &Moto, args: &[&str]) -> String {
    tools(
        args,
        &[
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    )
}

#[tokio::test]
async fn aws_local_up_creates_the_stack_and_prints_its_environment() {
    let moto = Moto::start();
    let stdout = payouts_on(&moto, &["aws-local", "up", "--prefix", "dev"]);
    for name in [
        "TABLE_NAME=dev-payouts",
        "JOB_QUEUE_URL=",
        "DEAD_LETTER_QUEUE_URL=",
        "TOPIC_ARN=",
    ] {
        assert!(stdout.contains(name), "{name} missing from {stdout}");
    }
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = client
        .describe_table()
        .table_name("dev-payouts")
        .send()
        .await
        .unwrap();
    assert_eq!(table.table().unwrap().global_secondary_indexes().len(), 3);

    let refused = Command::new(env!("CARGO_BIN_EXE_payouts-tools"))
        .args(["aws-local", "up"])
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "never runs against real AWS by default"
    );
}

#[tokio::test]
async fn aws_cost_counts_requests_per_payout_on_the_emulator() {
    let moto = Moto::start();
    let stdout = payouts_on(&moto, &["aws-cost", "--payouts", "5"]);
    for line in [
        "TransactWriteItems",
        "SendMessageBatch",
        "Publish",
        "requests per payout, all services",
        "cost per million payouts",
    ] {
        assert!(stdout.contains(line), "{line} missing from {stdout}");
    }
}
