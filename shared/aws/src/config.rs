//! SDK configuration: the default chain (environment, profile, instance role), so
//! `AWS_ENDPOINT_URL=http://127.0.0.1:PORT` alone points every client at an emulator.

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
