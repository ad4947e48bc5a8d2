//! The JSON Schemas in `schemas/` (the platform's events in, the payout events out) are the
//! contract's Rust types, generated (run with `UPDATE_SCHEMAS=1` to rewrite them after changing
//! the types), and a validator (Python's `jsonschema`, from the test tools' venv) accepts the
//! events the tests send and the system publishes, and refuses malformed ones.

use std::path::PathBuf;
use std::process::Command;

use chrono::Utc;
use payout_app::execute::execute_payout;
use payout_app::payout_actions::manual_payout;
use payout_app::payout_events::{
    EVENT_TYPES, PAYOUT_COMPLETED, PAYOUT_SCHEDULED, data_schema, outbound,
};
use payout_app::platform_events::{SERVICE_COMPLETED, SERVICE_REFUNDED, detail_schema};
use payout_local::FailurePlan;
use payout_tests::emulator::venv_tool;
use payout_tests::world::World;
use serde_json::{Value, json};

fn schema_file(detail_type: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(format!("{detail_type}.v1.json"))
}

fn every_schema() -> Vec<(&'static str, Value)> {
    let inbound = [SERVICE_COMPLETED, SERVICE_REFUNDED].map(|t| (t, detail_schema(t)));
    let outbound = EVENT_TYPES.map(|t| (t, data_schema(t)));
    inbound.into_iter().chain(outbound).collect()
}

#[test]
fn the_committed_schemas_are_the_types() {
    for (detail_type, schema) in every_schema() {
        let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
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
    extra["discount"] = json!("5.00");
    let mut tipped = sent.clone();
    tipped["tip"] = json!("5.00");
    let mut number = sent.clone();
    number["amount"] = json!(40.0);
    let mut numeric_ids = sent.clone();
    numeric_ids["barber_id"] = json!(7);
    numeric_ids["booking_id"] = json!(1001);
    let mut negative_id = sent.clone();
    negative_id["barber_id"] = json!(-7);
    for detail_type in [SERVICE_COMPLETED, SERVICE_REFUNDED] {
        assert_eq!(
            accepted(
                detail_type,
                &[
                    sent.clone(),
                    missing.clone(),
                    extra.clone(),
                    number.clone(),
                    numeric_ids.clone(),
                    negative_id.clone(),
                    tipped.clone()
                ]
            ),
            [true, false, false, false, true, false, true],
            "{detail_type}: the sent event, then one without booking_id, one with an unknown \
             field, one with a float amount, ids as whole numbers, a negative barber id, a tip"
        );
    }
}

#[tokio::test]
async fn the_schemas_accept_the_payout_events_the_system_publishes() {
    let world = World::new(1, FailurePlan::default(), false, std::time::Duration::ZERO);
    let p = &world.services;
    let now = Utc::now();
    let barber = World::open_barber(p, "5", Some("80.00"), now).await;
    let payout = manual_payout(p, &barber, "test", "operator", now)
        .await
        .unwrap();
    execute_payout(p, &payout.id, "exec", now).await.unwrap();
    let paid = p.store.get_payout(&payout.id).await.unwrap().unwrap();
    let mut seen = Vec::new();
    for (seq, event) in p.store.unpublished_events(10).await.unwrap() {
        seen.extend(outbound(seq, &event, &paid));
    }
    let types: Vec<&str> = seen.iter().map(|event| event.detail_type).collect();
    assert_eq!(types, [PAYOUT_SCHEDULED, PAYOUT_COMPLETED]);
    for event in &seen {
        let mut malformed = event.data.clone();
        malformed["net_amount"] = json!(12.5);
        assert_eq!(
            accepted(event.detail_type, &[event.data.clone(), malformed]),
            [true, false],
            "{}",
            event.detail_type
        );
    }
}
