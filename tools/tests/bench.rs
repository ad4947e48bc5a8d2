//! The benchmarks still run end to end (small sizes: the figures are for BENCHMARKS.md, not CI).

use serde_json::Value;

use crate::tools;

#[test]
fn a_small_bench_pays_every_barber_and_prints_its_figures() {
    let printed = tools(
        &["bench", "--barbers", "200", "--earnings", "10000", "--json"],
        &[],
    );
    let reports: Value = serde_json::from_str(&printed).unwrap();
    let report = &reports[0];
    assert_eq!(report["payouts_completed"], 200);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|phase| phase["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["schedules", "earnings", "plan", "execute"]);
    assert!(report["floor_ratio"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_small_load_run_prints_throughput_and_latency() {
    let printed = tools(&["load", "--requests", "200", "--concurrency", "4"], &[]);
    for route in ["GET /payouts/{id}", "POST /earnings"] {
        let line = printed.lines().find(|line| line.contains(route)).unwrap();
        assert!(line.contains(" 0 errors") && line.contains("p99"), "{line}");
    }
}
