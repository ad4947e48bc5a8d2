//! `payouts aws-local up` against moto's server: it creates the stack and prints the
//! environment the functions read.

use std::process::Command;

use payout_tests::moto::Moto;

#[tokio::test]
async fn aws_local_up_creates_the_stack_and_prints_its_environment() {
    let moto = Moto::start();
    let output = Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args(["aws-local", "up", "--prefix", "dev"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
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
    assert_eq!(table.table().unwrap().global_secondary_indexes().len(), 2);

    let refused = Command::new(env!("CARGO_BIN_EXE_payouts"))
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
    let output = Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args(["aws-cost", "--payouts", "5"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
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
