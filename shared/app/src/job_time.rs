//! When each step of a job happens. A use case is given the time the job was picked up (the
//! executor's delivery, the reconciliation sweep's start); the steps after it (the lock, the
//! attempt, the rail's answer seconds or minutes later) are recorded at that time plus what the
//! stopwatch measured since, so a transfer that took 31 s is recorded 31 s after its attempt, on
//! whichever clock the use case runs (the simulation's too).

use chrono::{DateTime, TimeDelta, Utc};

use crate::services::Services;

#[derive(Debug, Clone, Copy)]
pub(crate) struct JobTime {
    /// When the job was picked up: what its decisions (is it due, when to come back) go by.
    pub(crate) picked_up: DateTime<Utc>,
    stopwatch_at_pick_up: DateTime<Utc>,
}

impl JobTime {
    pub(crate) fn start(p: &Services, now: DateTime<Utc>) -> Self {
        Self {
            picked_up: now,
            stopwatch_at_pick_up: p.stopwatch.now(),
        }
    }

    /// The time of the step taken now, to record it at.
    pub(crate) fn now(&self, p: &Services) -> DateTime<Utc> {
        self.picked_up + (p.stopwatch.now() - self.stopwatch_at_pick_up).max(TimeDelta::zero())
    }
}
