//! Operational figures (payouts succeeded, failed, retried, amount paid, processing time,
//! planner lag). In AWS they are CloudWatch Embedded Metric Format log lines, which cost no API
//! call; the embedded default has no metrics backend and reads the same figures from the store.

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
}

/// For processes whose figures come from the store instead (the embedded default, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn publish(&self, _dimensions: &[(&str, &str)], _metrics: &[Metric]) {}
}
