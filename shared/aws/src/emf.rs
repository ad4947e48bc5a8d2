//! Metrics as CloudWatch Embedded Metric Format log lines: CloudWatch extracts them from the
//! function's logs, so publishing costs no API call and adds no latency.

use payout_app::ports::{Metric, Metrics, Unit};
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "PayoutScheduler";

/// Writes one EMF document per publish to stdout, with the function's name as a dimension.
pub struct EmfMetrics {
    service: String,
}

impl EmfMetrics {
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    /// The EMF document for `metrics` at `timestamp_ms`.
    pub fn document(
        &self,
        timestamp_ms: i64,
        dimensions: &[(&str, &str)],
        metrics: &[Metric],
    ) -> Value {
        let mut keys: Vec<&str> = vec!["Service"];
        keys.extend(dimensions.iter().map(|(name, _)| *name));
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|m| {
                let unit = match m.unit {
                    Unit::Count => "Count",
                    Unit::Milliseconds => "Milliseconds",
                    Unit::None => "None",
                };
                json!({"Name": m.name, "Unit": unit})
            })
            .collect();
        let mut document = Map::new();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    // Each metric also without dimensions: the alarms watch the totals, and
                    // CloudWatch never sums a metric across its dimension sets.
                    "Dimensions": [keys, []],
                    "Metrics": definitions,
                }],
            }),
        );
        document.insert("Service".into(), json!(self.service));
        for (name, value) in dimensions {
            document.insert((*name).into(), json!(value));
        }
        for metric in metrics {
            document.insert(metric.name.into(), json!(metric.value));
        }
        Value::Object(document)
    }
}

impl Metrics for EmfMetrics {
    fn publish(&self, dimensions: &[(&str, &str)], metrics: &[Metric]) {
        let document = self.document(chrono::Utc::now().timestamp_millis(), dimensions, metrics);
        println!("{document}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_emf_specification() {
        let emf = EmfMetrics::new("executor");
        let doc = emf.document(
            1_700_000_000_000,
            &[("Method", "stripe_standard")],
            &[
                Metric::count("PayoutsSucceeded", 1),
                Metric::millis("ProcessingTime", 1500),
            ],
        );
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            json!(["Service", "Method"]),
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][1],
            json!([])
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][1],
            json!({"Name": "ProcessingTime", "Unit": "Milliseconds"})
        );
        assert_eq!(doc["PayoutsSucceeded"], 1);
        assert_eq!(doc["Method"], "stripe_standard");
        assert_eq!(doc["Service"], "executor");
    }
}
