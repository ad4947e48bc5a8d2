//! `payouts demo --json` as a user runs it: the keys, no duplicate payment, and both money
//! identities to the cent.

use std::process::Command;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

fn money(report: &Value, key: &str) -> Decimal {
    let raw = report[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a decimal string: {}", report[key]));
    Decimal::from_str(raw).unwrap()
}

#[test]
fn demo_json_reports_no_duplicates_and_conserves_every_cent() {
    let output = Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args([
            "demo",
            "--json",
            "--barbers",
            "120",
            "--weeks",
            "5",
            "--seed",
            "7",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in [
        "barbers",
        "payouts_paid",
        "payouts_failed",
        "retries",
        "duplicate_payments",
    ] {
        assert!(report[key].is_u64(), "{key} missing: {report}");
    }
    assert_eq!(report["barbers"], 120);
    assert_eq!(report["duplicate_payments"], 0);
    assert!(report["payouts_paid"].as_u64().unwrap() > 100);
    assert!(
        report["payouts_failed"].as_u64().unwrap() > 0,
        "some rails fail for good"
    );
    assert!(report["retries"].as_u64().unwrap() > 0);

    let earnings = money(&report, "earnings_total");
    let gross = money(&report, "payout_gross_total");
    let open = money(&report, "open_earnings_total");
    assert_eq!(earnings, gross + open);
    let parts = money(&report, "shop_share_total")
        + money(&report, "deductions_total")
        + money(&report, "fees_total")
        + money(&report, "net_total");
    assert_eq!(gross, parts);
    assert!(money(&report, "net_paid_total") > Decimal::ZERO);
    assert_eq!(
        money(&report, "net_paid_total"),
        money(&report, "rail_paid_total")
    );
}

#[test]
fn demo_refuses_nonsense_arguments() {
    let output = Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args(["demo", "--barbers", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--barbers"));
}

#[test]
fn token_prints_a_jwt_for_each_role() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_payouts"))
            .args(args)
            .env("PAYOUTS_JWT_SECRET", "s3cret")
            .output()
            .unwrap()
    };
    let operator = run(&["token", "--role", "operator"]);
    assert!(operator.status.success());
    assert_eq!(
        String::from_utf8_lossy(&operator.stdout)
            .trim()
            .split('.')
            .count(),
        3
    );
    let barber = run(&["token", "--role", "barber", "--barber-id", "123"]);
    assert!(barber.status.success());
    assert!(!run(&["token", "--role", "barber"]).status.success());
    assert!(!run(&["token", "--role", "admin"]).status.success());
}
