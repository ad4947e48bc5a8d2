//! The faults the simulation injects, counted by kind, and the state every injector shares.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::TimeDelta;
use parking_lot::Mutex;
use payout_app::ports::{Clock, ManualClock};
use payout_core::ids::PayoutId;

use super::rng::SimRng;

macro_rules! fault_kinds {
    ($($kind:ident => $name:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum FaultKind { $($kind,)* }

        impl FaultKind {
            pub const ALL: &'static [FaultKind] = &[$(FaultKind::$kind,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(FaultKind::$kind => $name,)* }
            }
        }
    };
}

fault_kinds! {
    QueueDuplicate => "queue_duplicate_delivery",
    QueueReorder => "queue_reorder",
    QueueDelay => "queue_delayed_delivery",
    VisibilityExpiry => "queue_visibility_expiry_mid_job",
    ConcurrentExecutors => "executors_concurrent",
    CrashAfterLock => "crash_after_lock",
    CrashAfterProcessing => "crash_after_marking_processing",
    CrashAfterRailSuccess => "crash_after_rail_success",
    CrashAfterResult => "crash_after_result_written",
    Rail429 => "rail_429",
    Rail5xx => "rail_5xx",
    RailTimeoutPaid => "rail_timeout_transfer_made",
    RailTimeoutUnpaid => "rail_timeout_no_transfer",
    RailPermanent => "rail_permanent_error",
    RailSlowPastLease => "rail_slow_past_lease",
    RailLookupHangs => "rail_lookup_hangs",
    StoreConflict => "store_conditional_conflict",
    LeaseExpiredMidJob => "store_lease_expired_mid_job",
    PlannerLate => "planner_late",
    PlannerTwice => "planner_twice",
    PlannerConcurrent => "planner_concurrent",
    DstEdge => "clock_dst_edge",
    ScheduleEdit => "schedule_edit_mid_period",
    ScheduleEditRacingPlanner => "schedule_edit_racing_planner",
    WebhookPayoutFailed => "webhook_payout_failed",
    WebhookTransferReversed => "webhook_transfer_reversed",
    ProcessCrash => "process_crash_losing_its_queue",
    EarningLate => "earning_late",
    EarningDuplicate => "earning_duplicate",
    EarningPausedBarber => "earning_paused_barber",
    ApprovalGiven => "approval_given_racing_the_pipeline",
    ApprovalRejected => "approval_rejected_racing_the_pipeline",
    AccountRestricted => "account_restricted_by_stripe",
    AccountReady => "account_ready_again",
}

/// How often each injector fires, per mille of the chances it gets.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    pub executor_crash: u64,
    pub rail_fault: u64,
    pub store_conflict: u64,
    pub lease_expiry: u64,
    pub queue_duplicate: u64,
    pub queue_delay: u64,
    pub queue_reorder: u64,
    pub visibility_expiry: u64,
    /// A lookup the provider never answers (on a paused runtime clock only: see
    /// [`Chaos::pause_time`]).
    pub lookup_hang: u64,
    /// Extra scheduling points, which interleave concurrent tasks differently.
    pub yield_point: u64,
}

impl FaultRates {
    pub const CHAOTIC: FaultRates = FaultRates {
        executor_crash: 40,
        rail_fault: 250,
        store_conflict: 30,
        lease_expiry: 40,
        queue_duplicate: 150,
        queue_delay: 100,
        queue_reorder: 500,
        visibility_expiry: 60,
        lookup_hang: 60,
        yield_point: 300,
    };

    /// No faults: the drain at the end of a run, which lets everything finish.
    pub const CALM: FaultRates = FaultRates {
        executor_crash: 0,
        rail_fault: 0,
        store_conflict: 0,
        lease_expiry: 0,
        queue_duplicate: 0,
        queue_delay: 0,
        queue_reorder: 0,
        visibility_expiry: 0,
        lookup_hang: 0,
        yield_point: 300,
    };
}

/// A deliberate bug, to prove the invariants catch one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sabotage {
    #[default]
    None,
    /// The rail's lookup never finds a transfer: retries pay without reconciling first.
    SkipReconciliation,
    /// The executor pays however long it has held its lock (its stopwatch never moves), so a
    /// paused executor may pay after another has taken the payout over.
    IgnoreLeaseExpiry,
    /// A batch takes its locks but writes its attempts only with its results, after paying:
    /// no recovery point stands before the payments.
    PayBeforeAttemptsRecorded,
    /// A batch of two or more loses its last member's outcome, though the store says written.
    LoseOneOutcome,
    /// A schedule is written over whatever version is stored (the unconditional write of old),
    /// so an edit that read before the planner's advance puts the cut-off back.
    IgnoreScheduleVersion,
    /// Reconciliation reads failed payouts as if their last attempt's outcome were unknown,
    /// so a payout Stripe reported failed is taken for paid by the transfer it left behind.
    ReconcileFailed,
    /// A process that restarts after a crash re-enqueues only the payouts overdue by the stale
    /// threshold (the start of old), not every payout owed work.
    RecoverOnlyStale,
    /// Reconciliation asks the provider without a time limit (the rail's timeout of a year, the
    /// sweep of old), so a lookup the provider never answers holds the sweep for good.
    DropLookupTimeout,
}

/// A rail call that took `took` to answer attempt `key` of `payout`.
#[derive(Debug, Clone)]
pub struct SlowCall {
    pub payout: PayoutId,
    pub key: String,
    pub took: TimeDelta,
}

struct State {
    rng: SimRng,
    rates: FaultRates,
    injected: BTreeMap<FaultKind, u64>,
    /// Invariants broken while the run went on, seen by the injectors themselves.
    violations: Vec<String>,
    /// Rail calls that took a while to answer: the payout, the attempt's key, how long.
    slow_calls: Vec<SlowCall>,
    /// Whether the runtime's clock is paused and moves only when every task waits on a timer,
    /// so a call may hang for minutes of it in no time and the same for a seed.
    time_paused: bool,
    trace: Option<Vec<String>>,
}

/// What every injector of one run shares: the seeded dice, the simulated clock and the counts.
#[derive(Clone)]
pub struct Chaos {
    state: Arc<Mutex<State>>,
    pub clock: ManualClock,
    pub sabotage: Sabotage,
}

impl Chaos {
    pub fn new(seed: u64, clock: ManualClock, sabotage: Sabotage, trace: bool) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                rng: SimRng::new(seed),
                rates: FaultRates::CHAOTIC,
                injected: BTreeMap::new(),
                violations: Vec::new(),
                slow_calls: Vec::new(),
                time_paused: false,
                trace: trace.then(Vec::new),
            })),
            clock,
            sabotage,
        }
    }

    pub fn set_rates(&self, rates: FaultRates) {
        self.state.lock().rates = rates;
    }

    /// Rolls the dice with `rate(rates)` per mille.
    pub fn roll(&self, rate: impl FnOnce(&FaultRates) -> u64) -> bool {
        let mut state = self.state.lock();
        let per_mille = rate(&state.rates);
        per_mille > 0 && state.rng.chance(per_mille)
    }

    pub fn with_rng<T>(&self, use_rng: impl FnOnce(&mut SimRng) -> T) -> T {
        use_rng(&mut self.state.lock().rng)
    }

    pub fn injected(&self, kind: FaultKind) {
        *self.state.lock().injected.entry(kind).or_default() += 1;
        self.note(|| format!("fault {}", kind.as_str()));
    }

    /// Records a broken invariant, seen as it happened.
    pub fn violated(&self, violation: String) {
        self.note(|| format!("violation {violation}"));
        self.state.lock().violations.push(violation);
    }

    /// Remembers that the rail took `took` to answer the attempt `key` of `payout`.
    pub fn slow_call(&self, payout: PayoutId, key: String, took: TimeDelta) {
        self.state
            .lock()
            .slow_calls
            .push(SlowCall { payout, key, took });
    }

    /// Says the run's runtime was started with its clock paused: calls may hang.
    pub fn pause_time(&self) {
        self.state.lock().time_paused = true;
    }

    pub fn time_paused(&self) -> bool {
        self.state.lock().time_paused
    }

    pub fn take_slow_calls(&self) -> Vec<SlowCall> {
        std::mem::take(&mut self.state.lock().slow_calls)
    }

    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.state.lock().violations)
    }

    pub fn counts(&self) -> BTreeMap<FaultKind, u64> {
        self.state.lock().injected.clone()
    }

    /// Adds a line to the trace, when this run keeps one.
    pub fn note(&self, line: impl FnOnce() -> String) {
        let mut state = self.state.lock();
        if let Some(trace) = state.trace.as_mut() {
            let at = self.clock.now().format("%m-%d %H:%M:%S");
            trace.push(format!("{at} {}", line()));
        }
    }

    pub fn take_trace(&self) -> Vec<String> {
        self.state.lock().trace.take().unwrap_or_default()
    }
}
