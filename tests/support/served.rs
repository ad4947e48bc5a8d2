//! `payouts serve` as a user runs it: the real binary on a free port, its log drained, killed
//! when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::app::SECRET;
use crate::fake_stripe::FakeStripe;

/// `payouts serve` paying through the project's Stripe fake, in a directory of its own, with a
/// client to call it as an operator.
pub struct OnFakeStripe {
    pub server: Served,
    pub client: reqwest::Client,
    pub fake: FakeStripe,
    binary: String,
    webhook_secret: String,
    dir: tempfile::TempDir,
}

impl OnFakeStripe {
    /// `binary serve` with `[rail] kind = "stripe"` followed by `config` (more of `[rail]`, then
    /// other sections), its webhooks signed with `webhook_secret`.
    pub fn start(binary: &str, fake: FakeStripe, config: &str, webhook_secret: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payouts.toml");
        std::fs::write(&path, format!("[rail]\nkind = \"stripe\"\n{config}")).unwrap();
        let db = dir.path().join("payouts.db");
        let server = Served::on_stripe(binary, &db, &path, &fake.base_url, webhook_secret, &[]);
        Self {
            server,
            client: reqwest::Client::new(),
            fake,
            binary: binary.to_string(),
            webhook_secret: webhook_secret.to_string(),
            dir,
        }
    }

    /// Stops `serve` and starts it again on the same database and configuration, its clock
    /// `days` ahead of this process's (through libfaketime).
    pub fn restart_days_later(&mut self, days: i64) {
        self.server.crash();
        let later = days_later(days);
        let envs: Vec<(&str, &str)> = later.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.server = Served::on_stripe(
            &self.binary,
            &self.dir.path().join("payouts.db"),
            &self.dir.path().join("payouts.toml"),
            &self.fake.base_url,
            &self.webhook_secret,
            &envs,
        );
        // A token the server, `days` ahead, still takes.
        self.server.operator = crate::app::token(
            payout_http::auth::Role::Operator,
            None,
            chrono::TimeDelta::days(days + 1),
            crate::app::SECRET,
        );
    }

    pub async fn send(&self, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        self.server.send(&self.client, path, body).await
    }
}

/// The environment that runs a process `days` ahead of this one's clock: libfaketime
/// (`PAYOUTS_LIBFAKETIME`, which `scripts/test` sets, or Debian's package) with this process's
/// own offset (under `scripts/test-clock`) plus the days. Timers keep the real monotonic clock.
pub fn days_later(days: i64) -> Vec<(&'static str, String)> {
    let library = std::env::var("PAYOUTS_LIBFAKETIME").unwrap_or_else(|_| {
        let listed = Command::new("dpkg")
            .args(["-L", "libfaketime"])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default();
        listed
            .lines()
            .find(|line| line.ends_with("/libfaketimeMT.so.1"))
            .expect("libfaketime: run scripts/faketime, which installs Debian's faketime")
            .to_string()
    });
    let own: i64 = std::env::var("FAKETIME")
        .ok()
        .and_then(|offset| offset.parse().ok())
        .unwrap_or(0);
    vec![
        ("LD_PRELOAD", library),
        ("FAKETIME", format!("{:+}", own + days * 86_400)),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_string()),
        ("NO_FAKE_STAT", "1".to_string()),
    ]
}

pub struct Served {
    child: Child,
    /// `http://127.0.0.1:port/api/v1/payout-scheduler`.
    pub base: String,
    /// The operator's token the helpers send.
    pub operator: String,
}

impl Served {
    /// Starts `binary serve --db db` with `args` and `envs` (the test's JWT secret set), on a
    /// free port, planning every second (unless `envs` says otherwise), and waits until it
    /// listens.
    pub fn start(binary: &str, db: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        Self::spawn(Self::command(binary, db, args, envs))
    }

    /// `binary serve --config config` paying through the Stripe API at `stripe_base` (the
    /// project's fake), its webhooks signed with `webhook_secret`.
    pub fn on_stripe(
        binary: &str,
        db: &Path,
        config: &Path,
        stripe_base: &str,
        webhook_secret: &str,
        envs: &[(&str, &str)],
    ) -> Self {
        let mut all = vec![
            ("STRIPE_SECRET_KEY", "sk_test_fake"),
            ("STRIPE_API_BASE", stripe_base),
            ("STRIPE_WEBHOOK_SECRET", webhook_secret),
        ];
        all.extend_from_slice(envs);
        Self::start(
            binary,
            db,
            &["--config", &config.display().to_string()],
            &all,
        )
    }

    /// The command [`Served::start`] runs, for a test to change before [`Served::spawn`].
    pub fn command(binary: &str, db: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut command = Command::new(binary);
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .arg("--db")
            .arg(db)
            .env("PAYOUTS_JWT_SECRET", SECRET)
            .env("PAYOUTS_PLANNER__INTERVAL", "1s")
            .envs(envs.iter().copied())
            .env(
                "RUST_LOG",
                "payout_app=debug,payout_local=debug,payouts=debug",
            )
            .stderr(Stdio::piped());
        command
    }

    /// Runs `command` and waits until the server listens.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .unwrap();
            if let Some(addr) = line.strip_prefix("payouts serving on http://") {
                let addr = addr.split(' ').next().unwrap_or(addr);
                break addr.to_string();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(|l| eprintln!("SERVER {l:?}")));
        Self {
            child,
            base: format!("http://{addr}/api/v1/payout-scheduler"),
            operator: crate::app::operator(),
        }
    }

    /// POSTs `body` to `path` under the API with an operator's token; the status.
    pub async fn post(&self, client: &reqwest::Client, path: &str, body: serde_json::Value) -> u16 {
        client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.operator)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// GETs `path` (or POSTs `body` to it) with an operator's token; the answer, which must be a
    /// success.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let request = match body {
            Some(body) => client.post(format!("{}{path}", self.base)).json(&body),
            None => client.get(format!("{}{path}", self.base)),
        };
        self.success(path, request).await
    }

    /// PUTs `body` to `path` with an operator's token; the answer, which must be a success.
    pub async fn put(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let request = client.put(format!("{}{path}", self.base)).json(&body);
        self.success(path, request).await
    }

    async fn success(&self, path: &str, request: reqwest::RequestBuilder) -> serde_json::Value {
        let response = request.bearer_auth(&self.operator).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Stripe's event `kind` about the object `object`, signed with `secret` as Stripe signs
    /// it, delivered to the webhook route; its status. Its id is the kind's and the object's:
    /// sending it again is Stripe's redelivery of the same event.
    pub async fn stripe_event(
        &self,
        client: &reqwest::Client,
        secret: &str,
        kind: &str,
        object: serde_json::Value,
    ) -> u16 {
        let id = format!("evt_{kind}_{}", object["id"].as_str().unwrap_or_default());
        let now = chrono::Utc::now();
        self.stripe_event_at(client, secret, (&id, now), kind, object)
            .await
    }

    /// The same with the event's own id and creation (`event`): another event about the same
    /// object, perhaps created before one delivered earlier.
    pub async fn stripe_event_at(
        &self,
        client: &reqwest::Client,
        secret: &str,
        event: (&str, chrono::DateTime<chrono::Utc>),
        kind: &str,
        object: serde_json::Value,
    ) -> u16 {
        let (id, created) = event;
        let now = chrono::Utc::now().timestamp();
        let body = serde_json::json!({
            "id": id,
            "object": "event", "type": kind, "api_version": "2024-06-20",
            "created": created.timestamp(),
            "livemode": false, "data": {"object": object}
        })
        .to_string();
        let signature = payout_app::webhooks::sign(body.as_bytes(), secret.as_bytes(), now);
        client
            .post(format!("{}/webhooks/stripe", self.base))
            .header("content-type", "application/json")
            .header("Stripe-Signature", signature)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Sends SIGTERM, as a service manager stops it, and waits for the process to exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM");
        self.child.wait().unwrap()
    }

    pub fn kill(mut self) {
        self.crash();
    }

    /// Sends SIGKILL, as a crash ends it, and waits for the process to exit.
    pub fn crash(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
