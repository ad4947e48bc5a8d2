//! Operational figures (payouts succeeded, failed, retried, amount paid, processing time,
//! planner lag). In AWS they are CloudWatch Embedded Metric Format log lines, which cost no API
//! call; the embedded default keeps them in memory for its `/health`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    /// Minor units of the payout currency (cents).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub value: i64,
    pub unit: Unit,
}

impl Metric {
    pub fn count(name: &'static str, value: i64) -> Self {
        Self {
            name,
            value,
            unit: Unit::Count,
        }
    }

    pub fn millis(name: &'static str, value: i64) -> Self {
        Self {
            name,
            value,
            unit: Unit::Milliseconds,
        }
    }
}

pub trait Metrics: Send + Sync {
    /// Publishes `metrics` with `dimensions` (name, value).
    fn publish(&self, dimensions: &[(&str, &str)], metrics: &[Metric]);

    /// Each metric's total since `since`, where this process keeps them (the embedded
    /// default); `None` where they live in CloudWatch, whose alarms evaluate them.
    fn totals_since(&self, _since: DateTime<Utc>) -> Option<BTreeMap<&'static str, i64>> {
        None
    }

    /// Every metric since the process started, by name, where this process keeps them.
    fn since_start(&self) -> Option<BTreeMap<&'static str, Cumulative>> {
        None
    }
}

/// A metric's figures since the process started: the sum of its values and how many were
/// published (for a duration, the count of samples it was measured over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cumulative {
    pub unit: Unit,
    pub sum: i64,
    pub samples: u64,
}

/// For processes that need no figures (the demo, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn publish(&self, _dimensions: &[(&str, &str)], _metrics: &[Metric]) {}
}
