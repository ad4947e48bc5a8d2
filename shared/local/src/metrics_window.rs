//! The operational figures of the last two days, kept in memory by minute, so the embedded
//! default's `/health` evaluates the same rules the CloudWatch alarms do in AWS; and each
//! figure since the process started, for `/metrics`. Both are bounded: a minute per minute for
//! two days, an entry per metric name.
//!
//! A restart forgets them; the rules that need history across restarts (the daily volume drop)
//! read the store instead.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use payout_app::ports::{Clock, Cumulative, Metric, Metrics};

/// Minutes kept: two days, enough for every rule's window.
const MINUTES_KEPT: i64 = 2 * 24 * 60;

type Minute = i64;

fn minute_of(at: DateTime<Utc>) -> Minute {
    at.timestamp().div_euclid(60)
}

pub struct MetricsWindow {
    clock: Arc<dyn Clock>,
    minutes: Mutex<BTreeMap<Minute, BTreeMap<&'static str, i64>>>,
    since_start: Mutex<BTreeMap<&'static str, Cumulative>>,
}

impl MetricsWindow {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            minutes: Mutex::new(BTreeMap::new()),
            since_start: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Metrics for MetricsWindow {
    /// Dimensions are summed over: the rules look at totals.
    fn publish(&self, _dimensions: &[(&str, &str)], metrics: &[Metric]) {
        let minute = minute_of(self.clock.now());
        let mut minutes = self.minutes.lock();
        let totals = minutes.entry(minute).or_default();
        for metric in metrics {
            *totals.entry(metric.name).or_default() += metric.value;
        }
        *minutes = minutes.split_off(&(minute - MINUTES_KEPT));
        drop(minutes);
        let mut since_start = self.since_start.lock();
        for metric in metrics {
            let figures = since_start.entry(metric.name).or_insert(Cumulative {
                unit: metric.unit,
                sum: 0,
                samples: 0,
            });
            figures.sum = figures.sum.saturating_add(metric.value);
            figures.samples += 1;
        }
    }

    fn since_start(&self) -> Option<BTreeMap<&'static str, Cumulative>> {
        Some(self.since_start.lock().clone())
    }

    fn totals_since(&self, since: DateTime<Utc>) -> Option<BTreeMap<&'static str, i64>> {
        let mut sums = BTreeMap::new();
        for totals in self
            .minutes
            .lock()
            .range(minute_of(since)..)
            .map(|(_, t)| t)
        {
            for (name, value) in totals {
                *sums.entry(*name).or_default() += value;
            }
        }
        Some(sums)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};
    use payout_app::ports::ManualClock;

    #[test]
    fn sums_what_was_published_in_the_window_and_forgets_old_minutes() {
        let clock = ManualClock::starting_at(Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap());
        let window = MetricsWindow::new(Arc::new(clock.clone()));
        window.publish(&[], &[Metric::count("WebhooksReceived", 1)]);
        clock.advance(TimeDelta::hours(2));
        let recent_start = clock.now();
        window.publish(
            &[("Provider", "stripe")],
            &[Metric::count("WebhooksReceived", 1)],
        );
        window.publish(&[], &[Metric::count("WebhooksFailed", 1)]);
        let recent = window.totals_since(recent_start).unwrap();
        assert_eq!(recent.get("WebhooksReceived"), Some(&1));
        assert_eq!(recent.get("WebhooksFailed"), Some(&1));
        clock.advance(TimeDelta::days(3));
        window.publish(&[], &[Metric::count("PayoutsAttempted", 1)]);
        let all = window
            .totals_since(recent_start - TimeDelta::days(1))
            .unwrap();
        assert_eq!(all.get("WebhooksReceived"), None, "older than two days");
    }
}
