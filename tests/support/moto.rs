//! moto's server, the AWS emulator of the tests: one process per test on a free 127.0.0.1 port,
//! killed when the test ends. `scripts/test` installs it in `.venv`, and `scripts/moto-server`
//! runs it taking one DynamoDB request at a time (moto's DynamoDB is not safe for concurrent
//! requests; DynamoDB is); set `MOTO_SERVER` to use another binary.

use std::path::PathBuf;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_ssm::types::ParameterType;

use crate::emulator::Emulator;

pub struct Moto {
    _process: Emulator,
    pub endpoint: String,
}

fn binary() -> PathBuf {
    std::env::var("MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/moto-server")
        })
}

impl Moto {
    pub fn start() -> Self {
        let process = Emulator::start(&binary(), |port| {
            vec![
                "-H".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
            ]
        });
        Self {
            endpoint: format!("http://127.0.0.1:{}", process.port),
            _process: process,
        }
    }

    /// SDK configuration pointed at this emulator, with moto's dummy credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.endpoint).await
    }

    /// Puts Parameter Store parameters: `(name, value, secure)`, a SecureString when secure.
    pub async fn put_parameters(&self, parameters: &[(&str, &str, bool)]) {
        let ssm = aws_sdk_ssm::Client::new(&self.sdk_config().await);
        for (name, value, secure) in parameters {
            let kind = if *secure {
                ParameterType::SecureString
            } else {
                ParameterType::String
            };
            ssm.put_parameter()
                .name(*name)
                .value(*value)
                .r#type(kind)
                .send()
                .await
                .unwrap();
        }
    }
}

/// The ARN of the queue at `queue_url`.
/// SDK configuration pointed at `endpoint` (moto, or a proxy in front of it), with moto's
/// dummy credentials.
pub async fn sdk_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

/// An EventBridge rule on the default bus that sends the events matching `pattern` to the queue
/// `queue_arn`, as the template's rules do.
pub async fn rule_to_queue(
    sdk: &SdkConfig,
    rule: &str,
    pattern: &serde_json::Value,
    queue_arn: &str,
) {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    events
        .put_rule()
        .name(rule)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id(format!("{rule}-target"))
        .arn(queue_arn)
        .build()
        .unwrap();
    events
        .put_targets()
        .rule(rule)
        .targets(target)
        .send()
        .await
        .unwrap();
}
