//! `payouts config` and `payouts serve`'s refusals as a user meets them: the exit code and a
//! message naming the key at fault.

use std::process::{Command, Output};

fn payouts(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args(args)
        .envs(envs.iter().copied())
        .env_remove("PAYOUTS_JWT_SECRET")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("payouts.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn a_valid_file_checks_and_shows_with_its_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        "[rail]\nkind = \"stripe\"\ntimeout = \"3s\"\n[retry]\ndelays = [\"1s\", \"2s\", \"3s\"]\n\
         [server]\njwt_secret = \"a-secret-of-our-own\"\n",
    );
    // What `serve` needs for Stripe, `config check` asks for too.
    let unpaid = payouts(&["config", "check", &path], &[]);
    assert!(
        stderr(&unpaid).contains("STRIPE_SECRET_KEY is not set"),
        "{}",
        stderr(&unpaid)
    );
    let checked = payouts(
        &["config", "check", &path],
        &[("STRIPE_SECRET_KEY", "sk_test_checked")],
    );
    assert!(checked.status.success(), "{}", stderr(&checked));
    let shown = payouts(
        &["config", "show", "--config", &path],
        &[("PAYOUTS_EXECUTOR__WORKERS", "3")],
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(text.contains("timeout = \"3s\""), "{text}");
    assert!(text.contains("delays = [\"1s\", \"2s\", \"3s\"]"), "{text}");
    assert!(
        text.contains("workers = 3"),
        "the environment overrides: {text}"
    );
    assert!(!text.contains("a-secret-of-our-own"), "{text}");
    assert!(text.contains("jwt_secret = \"********\""), "{text}");
}

#[test]
fn a_bad_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[rail]\ntimeout = \"5m\"\n", "executor.lock_lease"),
        ("[rail]\ntimout = \"3s\"\n", "timout"),
        ("[retry]\ndelays = [\"soon\"]\n", "delays"),
        (
            "[commission]\nbase_rate = \"1.2\"\n",
            "commission.base_rate",
        ),
    ] {
        let path = file(&dir, text);
        let output = payouts(&["config", "check", &path], &[]);
        assert!(!output.status.success(), "{text} was accepted");
        assert!(stderr(&output).contains(key), "{}", stderr(&output));
    }
    // As a person meets them, with RUST_BACKTRACE=1 as many Rust users have it: one line, the
    // file, line and column, the key in full, what was found and what is allowed.
    for (text, said) in [
        (
            "[rail]\ntimeoutt = \"3s\"\n",
            "payouts.toml:2:1: rail.timeoutt: unknown key; the keys here are kind, timeout",
        ),
        (
            "[executor]\nworkers = \"two\"\n",
            "payouts.toml:2:1: executor.workers: found \"two\"; expected a whole number, 0 or more",
        ),
        (
            "[fees.stripe]\npercent_of_gross = \"-0.01\"\n",
            "payouts.toml:2:1: fees.stripe.percent_of_gross: found -0.01; allowed: a fraction from 0 to 1",
        ),
        (
            "[server]\naddr = \"localhost:http\"\n",
            "payouts.toml:2:1: server.addr: found \"localhost:http\"; allowed: an IP address and port",
        ),
    ] {
        let path = file(&dir, text);
        let output = Command::new(env!("CARGO_BIN_EXE_payouts"))
            .args(["config", "check", &path])
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let said_here = format!("error: {}", said.replace("payouts.toml", &path));
        assert!(!output.status.success(), "{text} was accepted");
        assert!(
            stderr(&output).starts_with(&said_here) && stderr(&output).lines().count() == 1,
            "{}\nshould be one line starting\n{said_here}",
            stderr(&output)
        );
    }
    let missing = payouts(&["config", "check", "/nonexistent/payouts.toml"], &[]);
    assert!(
        stderr(&missing).contains("does not exist"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn serve_refuses_the_development_secret_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("payouts.db").display().to_string();
    let output = payouts(&["serve", "--addr", "0.0.0.0:0", "--db", &db], &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("jwt_secret"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("payouts.db").exists(), "nothing written");
}

#[test]
fn serve_with_an_issuers_keys_needs_its_issuer_and_audience_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("payouts.db").display().to_string();
    let keys = ["--jwks-file", "/nonexistent/jwks.json"];
    let serve = ["serve", "--addr", "127.0.0.1:0", "--db", &db];
    for (extra, key) in [
        (vec!["--jwt-audience", "payouts"], "server.jwt_issuer"),
        (vec!["--jwt-issuer", "https://i"], "server.jwt_audience"),
        (
            vec![
                "--jwt-issuer",
                "https://i",
                "--jwt-audience",
                "a",
                "--jwt-secret",
                "s",
            ],
            "server.jwt_secret",
        ),
    ] {
        let args: Vec<&str> = serve.iter().chain(&keys).chain(&extra).copied().collect();
        let output = payouts(&args, &[]);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr(&output).contains(key), "{}", stderr(&output));
    }
    assert!(!dir.path().join("payouts.db").exists(), "nothing written");
}

#[test]
fn serve_on_stripe_without_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "[rail]\nkind = \"stripe\"\n");
    let db = dir.path().join("payouts.db").display().to_string();
    let output = payouts(
        &[
            "serve",
            "--config",
            &path,
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db,
        ],
        &[("STRIPE_SECRET_KEY", "")],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("STRIPE_SECRET_KEY"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_example_file_documents_every_key_at_its_default() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../payouts.example.toml");
    let defaults = payouts(&["config", "show"], &[]);
    let from_example = payouts(&["config", "show", "--config", example], &[]);
    assert!(from_example.status.success(), "{}", stderr(&from_example));
    // Past the first line, which says where the values came from.
    let values = |shown: &std::process::Output| {
        let text = String::from_utf8_lossy(&shown.stdout).to_string();
        text.split_once('\n')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        values(&from_example),
        values(&defaults),
        "the example's values are the defaults"
    );
    let text = std::fs::read_to_string(example).unwrap();
    for line in String::from_utf8_lossy(&defaults.stdout).lines() {
        if let Some((key, _)) = line.split_once(" = ") {
            assert!(
                text.contains(&format!("{key} = ")),
                "{key} is not documented"
            );
        }
    }
}
