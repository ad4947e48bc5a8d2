//! The JSON Schemas of the platform's events in `schemas/` are the contract's Rust types,
//! generated (run with `UPDATE_SCHEMAS=1` to rewrite them after changing the types), and a
//! validator (Python's `jsonschema`, from the test tools' venv) accepts the events the tests
//! send and refuses malformed ones.

use std::path::PathBuf;
use std::process::Command;

use payout_app::platform_events::{SERVICE_COMPLETED, SERVICE_REFUNDED, detail_schema};
use payout_tests::emulator::venv_tool;
use serde_json::{Value, json};

fn schema_file(detail_type: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(format!("{detail_type}.v1.json"))
}

#[test]
fn the_committed_schemas_are_the_types() {
    for detail_type in [SERVICE_COMPLETED, SERVICE_REFUNDED] {
        let generated = serde_json::to_string_pretty(&detail_schema(detail_type)).unwrap() + "\n";
        let path = schema_file(detail_type);
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            committed,
            generated,
            "{} differs from the types: run with UPDATE_SCHEMAS=1",
            path.display()
        );
    }
}

/// Which of `instances` the schema of `detail_type` accepts.
fn accepted(detail_type: &str, instances: &[Value]) -> Vec<bool> {
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())\n\
                  print(json.dumps([validator.is_valid(i) for i in json.loads(sys.argv[2])]))";
    let output = Command::new(venv_tool("python"))
        .args(["-c", script])
        .arg(schema_file(detail_type))
        .arg(Value::from(instances.to_vec()).to_string())
        .output()
        .expect("the test tools' python (./scripts/python-tools)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_schemas_accept_the_events_the_tests_send() {
    let sent = json!({"booking_id": "bk-1", "barber_id": "7", "amount": "40.00", "currency": "USD",
        "occurred_at": "2026-11-27T15:00:00Z", "service": "haircut", "version": 1});
    let mut missing = sent.clone();
    missing.as_object_mut().unwrap().remove("booking_id");
    let mut extra = sent.clone();
    extra["tip"] = json!("5.00");
    let mut number = sent.clone();
    number["amount"] = json!(40.0);
    for detail_type in [SERVICE_COMPLETED, SERVICE_REFUNDED] {
        assert_eq!(
            accepted(
                detail_type,
                &[sent.clone(), missing.clone(), extra.clone(), number.clone()]
            ),
            [true, false, false, false],
            "{detail_type}: the sent event, then one without booking_id, one with an unknown \
             field, one with a float amount"
        );
    }
}
