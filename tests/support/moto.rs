//! moto's server, the AWS emulator of the tests: one process per test on a free 127.0.0.1 port,
//! killed when the test ends. `scripts/test` installs it (`.venv/bin/moto_server`); set
//! `MOTO_SERVER` to use another binary.

use std::path::PathBuf;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

use crate::emulator::{Emulator, venv_tool};

pub struct Moto {
    _process: Emulator,
    pub endpoint: String,
}

fn binary() -> PathBuf {
    std::env::var("MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| venv_tool("moto_server"))
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
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .load()
            .await
    }
}
