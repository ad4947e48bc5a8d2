//! A new user's first hour, as the README leads them through it: the quick start run verbatim
//! (the block between `<!-- quick-start -->` and `<!-- /quick-start -->`, with only its port
//! moved to a free one and the installed binary taken from this build), then the mistakes a
//! first hour makes, each answered in words that name what to fix.

use std::path::Path;
use std::process::Command;

use payout_tests::app::operator;
use payout_tests::served::Served;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const README: &str = include_str!("../../README.md");

/// The quick start's shell, as the README shows it.
fn quick_start() -> &'static str {
    let (_, rest) = README
        .split_once("<!-- quick-start -->")
        .expect("the README marks its quick start");
    let (block, _) = rest
        .split_once("<!-- /quick-start -->")
        .expect("the quick start ends");
    let (_, shell) = block.split_once("```bash\n").expect("a bash block");
    let (shell, _) = shell.split_once("```").expect("the block closes");
    shell
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_readme_quick_start_runs_as_written_and_pays_the_barber() {
    let shell = quick_start();
    let first_lines = README.lines().take(60).collect::<Vec<_>>().join("\n");
    assert!(
        first_lines.contains("<!-- /quick-start -->"),
        "the quick start ends within the README's first 60 lines"
    );
    assert!(shell.contains("cargo install --locked --path cli"));
    // Installing would build the workspace again: this build's binary stands in for it.
    let script: String = shell
        .lines()
        .filter(|line| !line.starts_with("cargo install") && !line.starts_with("cargo build"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", free_port()));
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_payouts")).parent().unwrap();
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c"])
        .arg(format!(
            "{script}\nkill $SERVE_PID\nwait $SERVE_PID || true\n"
        ))
        .current_dir(dir.path())
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env_remove("PAYOUTS_JWT_SECRET")
        .env_remove("PAYOUTS_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log = std::fs::read_to_string(dir.path().join("payouts.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "the quick start failed:\n{stdout}\n{}\nserve's log:\n{log}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let paid = &last["items"][0];
    assert_eq!(paid["status"], "completed", "{stdout}");
    assert_eq!(paid["net_amount"], "348.50", "{stdout}");
    assert!(
        stdout.contains("/dashboard and paste this token: ey"),
        "{stdout}"
    );
    assert!(
        log.contains("payouts serving on http://127.0.0.1:"),
        "{log}"
    );
    assert!(
        log.contains("notification sent")
            && log.contains("barber_id=123")
            && log.contains("Hi Marco, your payout"),
        "the notice goes to the log: {log}"
    );
    assert!(!log.contains('\u{1b}'), "no colour codes in a file: {log}");
    assert!(
        log.lines()
            .all(|line| line.starts_with("20") || line.starts_with("payouts serving on")),
        "one line per event: {log}"
    );
}

/// POSTs `body` to `path` under the API with an operator's token; the status and body.
async fn post(server: &Served, path: &str, body: Value) -> (StatusCode, Value) {
    let response = Client::new()
        .post(format!("{}{path}", server.base))
        .bearer_auth(operator())
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_first_hours_mistakes_are_answered_naming_the_field_and_what_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(
        env!("CARGO_BIN_EXE_payouts"),
        &dir.path().join("first.db"),
        &[],
        &[],
    );
    let (created, _) = post(
        &server,
        "/schedules",
        json!({"barber_id": 123, "frequency": "weekly", "day_of_week": 5}),
    )
    .await;
    assert_eq!(created, StatusCode::CREATED);
    let now = chrono::Utc::now().to_rfc3339();
    let earning = json!({"earning_id": "e1", "barber_id": 123, "amount": "50.00",
                         "occurred_at": now, "service": "fade"});
    let mut no_service = earning.clone();
    no_service.as_object_mut().unwrap().remove("service");
    let mut yesterday = earning.clone();
    yesterday["occurred_at"] = json!("yesterday");
    let mut flag_amount = earning.clone();
    flag_amount["amount"] = json!(true);
    for (path, body, said) in [
        (
            "/earnings",
            no_service,
            "invalid request body: missing field `service`",
        ),
        (
            "/earnings",
            yesterday,
            "invalid request body: occurred_at: `yesterday` is not a time; expected RFC 3339",
        ),
        (
            "/earnings",
            json!([earning.clone(), flag_amount]),
            "invalid request body: [1].amount: invalid type: boolean `true`, expected a decimal amount",
        ),
        (
            "/schedules",
            json!({"barber_id": 9, "frequency": "weekly", "day_of_week": "friday"}),
            "invalid request body: day_of_week: invalid type: string \"friday\", expected a whole number",
        ),
        (
            "/schedules/123/onboarding-link",
            json!({}),
            "invalid request body: missing field `return_url`",
        ),
        (
            "/events",
            json!({"detail-type": "ServiceCompleted", "detail": {"booking_id": "b1",
                   "barber_id": false, "amount": "40.00", "currency": "USD",
                   "occurred_at": now, "service": "fade", "version": 1}}),
            "ServiceCompleted detail.barber_id: invalid type: boolean `false`, expected a string or a whole number",
        ),
    ] {
        let (status, problem) = post(&server, path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with(said),
            "{path}: {detail}\nshould start\n{said}"
        );
    }
    // The platform's events take the barber's id the way the REST API does: a number too.
    let (status, applied) = post(
        &server,
        "/events",
        json!({"detail-type": "ServiceCompleted", "detail": {"booking_id": 77, "barber_id": 123,
               "amount": "40.00", "currency": "USD", "occurred_at": now, "service": "fade",
               "version": 1}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["outcome"], "recorded");

    // The site's root sends a person to the dashboard.
    let site = server.base.trim_end_matches("/api/v1/payout-scheduler");
    let root = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{site}/"))
        .send()
        .await
        .unwrap();
    assert!(root.status().is_redirection());
    assert_eq!(root.headers()["location"], "/dashboard");
}

#[test]
fn init_writes_a_configuration_that_checks_and_a_private_secret_and_completions_print() {
    let dir = tempfile::tempdir().unwrap();
    let payouts = |args: &[&str], envs: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_payouts"))
            .args(args)
            .envs(envs.iter().copied())
            .env_remove("PAYOUTS_JWT_SECRET")
            .env_remove("PAYOUTS_CONFIG")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let init = payouts(&["init"], &[]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(
        String::from_utf8_lossy(&init.stdout).contains("payouts serve --config ./payouts.toml")
    );
    let secrets = std::fs::read_to_string(dir.path().join("secrets.env")).unwrap();
    let secret = secrets
        .lines()
        .find_map(|line| line.strip_prefix("PAYOUTS_JWT_SECRET="))
        .expect("a generated secret");
    assert!(
        secret.len() == 64 && secret.chars().all(|c| c.is_ascii_hexdigit()),
        "{secret}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("secrets.env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = payouts(&["init"], &[]);
    assert!(
        !again.status.success(),
        "init never overwrites without --force"
    );
    let checked = payouts(
        &["config", "check", "--config", "payouts.toml"],
        &[("PAYOUTS_JWT_SECRET", secret)],
    );
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let completions = payouts(&["completions", "bash"], &[]);
    assert!(String::from_utf8_lossy(&completions.stdout).contains("complete -F _payouts"));
    let help = payouts(&["serve", "--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("[env: PAYOUTS_CONFIG]") && !help.contains("PAYOUTS_CONFIG="),
        "{help}"
    );
}
