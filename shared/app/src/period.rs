//! Closing one barber's period: read the open balance, compute the breakdown, and create the
//! payout with its claim on the earnings in one conditional write.

use chrono::{DateTime, Utc};
use payout_core::breakdown::{KeptReserve, PayoutBreakdown, PeriodActivity, SettlementDecision};
use payout_core::deduction::DeductionKind;
use payout_core::ids::{DeductionId, PayoutId};
use payout_core::ledger::Deduction;
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::payout::{Payout, PayoutTrigger, PlannedPayout};
use payout_core::priority::{PriorityClass, PriorityInput, SystemLoad};
use payout_core::schedule::PayoutSchedule;
use payout_core::status::PayoutStatus;

use crate::approval::{ApprovalNeeded, approval_needed};
use crate::error::AppError;
use crate::ingest::within_limit;
use crate::instant_limits;
use crate::lifecycle;
use crate::ports::{
    CreateOutcome, HeldEarnings, OpenActivity, OpenWindow, PayoutCreation, PayoutJob, PayoutQuery,
};
use crate::services::Services;

/// What closing a period did.
#[derive(Debug)]
pub enum PeriodOutcome {
    /// A payout to execute; its job is returned for the caller to enqueue.
    Queued(Box<Payout>, PayoutJob),
    /// A payout waiting for a second operator's approval: no job until it is approved.
    AwaitingApproval(Box<Payout>),
    /// Deductions exceeded the barber's share: closed without a transfer, balance carried.
    SettledOwed(Box<Payout>),
    /// Deductions exceed the barber's share and the payout is manual: nothing was written.
    Owed(PayoutBreakdown),
    /// Positive but under the minimum: everything stays open.
    BelowMinimum(PayoutBreakdown),
    /// No open earnings or deductions.
    Nothing,
    /// Nothing payable, but open earnings the schedule's hold keeps until this (the first
    /// release).
    EarningsHeld(DateTime<Utc>),
    /// The barber has never been paid and `[holds] first_payout_after_days` have not passed
    /// since their first service: everything stays open until then.
    FirstPayoutWaits(DateTime<Utc>),
    /// Another planner closed this period first.
    AlreadyPlanned,
}

/// How a period is being closed.
pub struct PeriodRequest<'a> {
    pub schedule: &'a PayoutSchedule,
    pub payout_id: PayoutId,
    pub cutoff: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub trigger: PayoutTrigger,
    /// The system's load when the period closes: a loaded system defers low priority.
    pub load: SystemLoad,
    pub minimum: Money,
    /// For scheduled runs: move the schedule from its cut-off to this next run atomically.
    pub next_run: Option<DateTime<Utc>>,
    pub actor: &'a str,
}

/// Retries of the read-compute-claim loop when entries arrive between the read and the write.
const CLAIM_ATTEMPTS: usize = 5;

/// How a period closes at the open balance read, before anything is written.
pub enum Closing {
    /// Nothing open, or under the minimum (the outcome says which): the schedule only advances.
    AdvanceOnly(PeriodOutcome),
    /// Deductions exceed the barber's share and the payout is manual: nothing is written.
    Owed(PayoutBreakdown),
    /// A payout to create with this breakdown; it settles the balance owed when `settles_owed`.
    Pay {
        breakdown: PayoutBreakdown,
        settles_owed: bool,
    },
}

/// A barber's open balance at a period's close, as the schedule's hold leaves it.
pub struct OpenPeriod {
    pub open: OpenActivity,
    /// Until when a new barber's first payout waits, if it still does.
    pub first_payout_waits_until: Option<DateTime<Utc>>,
}

/// What the schedule's window holds open for `barber` at `cutoff`, and whether their first
/// payout still waits.
pub async fn open_period(
    p: &Services,
    schedule: &PayoutSchedule,
    cutoff: DateTime<Utc>,
) -> Result<OpenPeriod, AppError> {
    let window = OpenWindow::held(cutoff, schedule.holds.hold_days);
    let open = p
        .store
        .open_activity(&schedule.barber_id, schedule.currency, window)
        .await?;
    let first_payout_waits_until = first_payout_wait(p, schedule, &open, cutoff).await?;
    Ok(OpenPeriod {
        open,
        first_payout_waits_until,
    })
}

/// Until when the first payout of a barber never paid (no payout but cancelled ones) waits:
/// `[holds] first_payout_after` past their first service. Their payouts are read only while
/// that is still ahead.
pub async fn first_payout_wait(
    p: &Services,
    schedule: &PayoutSchedule,
    open: &OpenActivity,
    cutoff: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(until) = open
        .earliest_service
        .map(|first| first + p.config.first_payout_after)
        .filter(|until| *until > cutoff)
    else {
        return Ok(None);
    };
    let query = PayoutQuery {
        barber: Some(schedule.barber_id.clone()),
        ..PayoutQuery::default()
    };
    // A cancelled payout (rejected, say) paid nothing: the first payout is still to come. A
    // page of nothing but cancelled payouts counts as paid before, rather than read on.
    let earliest = p.store.list_payouts(&query, FIRST_PAYOUTS_READ).await?;
    let paid_before = earliest.len() == FIRST_PAYOUTS_READ
        || earliest
            .iter()
            .any(|payout| payout.status != PayoutStatus::Cancelled);
    Ok((!paid_before).then_some(until))
}

/// How many of a barber's earliest payouts the first payout's wait reads.
const FIRST_PAYOUTS_READ: usize = 20;

/// When the first of the earnings `held` under `schedule`'s hold is released, if any are held.
pub fn first_release(schedule: &PayoutSchedule, held: &HeldEarnings) -> Option<DateTime<Utc>> {
    held.earliest_service
        .map(|service| schedule.holds.hold_days.releases_at(service))
}

/// Decides how the period of `req` closes at the open balance of `period`.
pub fn closing(
    p: &Services,
    req: &PeriodRequest<'_>,
    period: &OpenPeriod,
) -> Result<Closing, AppError> {
    if let Some(until) = period.first_payout_waits_until {
        return Ok(Closing::AdvanceOnly(PeriodOutcome::FirstPayoutWaits(until)));
    }
    let schedule = req.schedule;
    let open = &period.open;
    let kept = kept_reserve(schedule, &req.payout_id, req.now);
    let (breakdown, settles_owed) = match settle(p, schedule, open, req.minimum, kept.as_ref())? {
        SettlementDecision::Nothing => {
            let outcome = match first_release(schedule, &open.held) {
                Some(release) => PeriodOutcome::EarningsHeld(release),
                None => PeriodOutcome::Nothing,
            };
            return Ok(Closing::AdvanceOnly(outcome));
        }
        SettlementDecision::BelowMinimum(breakdown) => {
            return Ok(Closing::AdvanceOnly(PeriodOutcome::BelowMinimum(breakdown)));
        }
        SettlementDecision::Pay(breakdown) => (breakdown, false),
        SettlementDecision::CarryOwed(breakdown)
            if !matches!(req.trigger, PayoutTrigger::Scheduled) =>
        {
            return Ok(Closing::Owed(breakdown));
        }
        SettlementDecision::CarryOwed(breakdown) => (breakdown, true),
    };
    within_limit(
        &format!("payout for barber {}", schedule.barber_id),
        breakdown.net,
        p.config.intake.max_payout,
        "intake.max_payout",
    )?;
    Ok(Closing::Pay {
        breakdown,
        settles_owed,
    })
}

/// The payout of a period that pays `breakdown` from the open balance `open`, with its claims
/// and its job (none for one that settles the balance owed or waits for approval): the
/// barber's past failures feed its priority, and `[approvals]` says whether it waits.
pub async fn payout_creation(
    p: &Services,
    req: &PeriodRequest<'_>,
    open: &OpenActivity,
    breakdown: PayoutBreakdown,
    settles_owed: bool,
) -> Result<(PayoutCreation, Option<PayoutJob>), AppError> {
    let priced = priced(p, req, open, breakdown).await?;
    let past_failures = p.store.failed_payout_count(&req.schedule.barber_id).await?;
    let approval = match settles_owed {
        true => None,
        false => approval_needed(p, req.schedule, req.actor, &priced.breakdown).await?,
    };
    Ok(creation(
        p,
        req,
        open,
        priced,
        settles_owed,
        past_failures,
        approval,
    ))
}

/// What a period pays, by which method, and why that is not the barber's own if it is not.
struct Priced {
    breakdown: PayoutBreakdown,
    method: PaymentMethod,
    method_note: Option<String>,
}

/// `breakdown` by the barber's method; or, for an instant payout over an `[instant]` cap, a
/// standard transfer's breakdown (the standard fee) and why.
async fn priced(
    p: &Services,
    req: &PeriodRequest<'_>,
    open: &OpenActivity,
    breakdown: PayoutBreakdown,
) -> Result<Priced, AppError> {
    let method = req.schedule.method;
    let barber = &req.schedule.barber_id;
    let over = match method == PaymentMethod::StripeInstant && breakdown.net.is_positive() {
        true => instant_limits::over_limit(p, barber, breakdown.net, req.now).await?,
        false => None,
    };
    let Some(why) = over else {
        return Ok(Priced {
            breakdown,
            method,
            method_note: None,
        });
    };
    let standard = PaymentMethod::StripeStandard;
    let breakdown = p
        .config
        .policy
        .breakdown(&activity_of(req.schedule, open), standard)?;
    let breakdown = match kept_reserve(req.schedule, &req.payout_id, req.now) {
        Some(kept) => breakdown.keep_reserve(&kept)?,
        None => breakdown,
    };
    Ok(Priced {
        breakdown,
        method: standard,
        method_note: Some(why),
    })
}

fn creation(
    p: &Services,
    req: &PeriodRequest<'_>,
    open: &OpenActivity,
    priced: Priced,
    settles_owed: bool,
    past_failures: u32,
    approval: Option<ApprovalNeeded>,
) -> (PayoutCreation, Option<PayoutJob>) {
    let schedule = req.schedule;
    let priority = p.config.priority.score(&PriorityInput {
        overdue: req.now - req.cutoff,
        net: priced.breakdown.net.amount(),
        standing: schedule.standing,
        past_failures,
    });
    let planned = PlannedPayout {
        id: req.payout_id.clone(),
        barber_id: schedule.barber_id.clone(),
        method: priced.method,
        breakdown: priced.breakdown,
        trigger: req.trigger.clone(),
        cutoff: req.cutoff,
        destination: schedule.connected_account.clone(),
        notifications: schedule.notifications.clone(),
        priority,
        method_note: priced.method_note,
    };
    let (payout, event, carried_balance, job) = if settles_owed {
        let (payout, event) = Payout::settled_with_balance_owed(planned, req.now, req.actor);
        let carried = Deduction {
            id: DeductionId::carried_from(&payout.id),
            barber_id: payout.barber_id.clone(),
            kind: DeductionKind::CarriedBalance,
            amount: payout.breakdown.net.negate(),
            description: format!("balance owed from payout {}", payout.id),
            recorded_at: req.now,
            payable_from: None,
        };
        (payout, event, Some(carried), None)
    } else if let Some(approval) = approval {
        let (payout, event) =
            Payout::awaiting_approval(planned, req.now, req.actor, &approval.why, approval.barred);
        (payout, event, None, None)
    } else {
        let class = match req.trigger {
            PayoutTrigger::Manual { .. } => PriorityClass::Urgent,
            PayoutTrigger::Scheduled => p.config.priority.class(priority),
        };
        let not_before = p.config.priority.not_before(class, req.now, req.load);
        let (payout, event) = Payout::queued(planned, req.now, not_before, req.actor);
        let job = PayoutJob {
            payout_id: payout.id.clone(),
            not_before,
            priority: match req.trigger {
                PayoutTrigger::Manual { .. } => PayoutJob::URGENT,
                PayoutTrigger::Scheduled => priority,
            },
        };
        (payout, event, None, Some(job))
    };
    let reserve_release = payout.reserve_release(req.now);
    let creation = PayoutCreation {
        payout,
        event,
        claimed_earnings_minor: open.gross_minor + open.tips_minor,
        claimed_earnings: open.services + open.tips,
        claimed_deductions: open.deductions.iter().map(|line| line.id.clone()).collect(),
        earned_by: schedule.holds.hold_days.earned_by(req.cutoff),
        reserve_release,
        carried_balance,
        schedule_advance: req.next_run.map(|next| (req.cutoff, next)),
    };
    (creation, job)
}

/// What a created payout is, as a period's outcome.
pub fn created(creation: PayoutCreation, job: Option<PayoutJob>) -> PeriodOutcome {
    let payout = Box::new(creation.payout);
    match job {
        Some(job) => PeriodOutcome::Queued(payout, job),
        None if payout.status == PayoutStatus::AwaitingApproval => {
            PeriodOutcome::AwaitingApproval(payout)
        }
        None => PeriodOutcome::SettledOwed(payout),
    }
}

/// Closes the period of `req`: reads the open balance, decides, and creates the payout with its
/// claims in one conditional write, reading again when entries arrived in between.
pub async fn close_period(p: &Services, req: PeriodRequest<'_>) -> Result<PeriodOutcome, AppError> {
    let schedule = req.schedule;
    for _ in 0..CLAIM_ATTEMPTS {
        let period = open_period(p, schedule, req.cutoff).await?;
        let open = &period.open;
        let (breakdown, settles_owed) = match closing(p, &req, &period)? {
            Closing::AdvanceOnly(outcome) => {
                advance_only(p, &req).await?;
                return Ok(outcome);
            }
            Closing::Owed(breakdown) => return Ok(PeriodOutcome::Owed(breakdown)),
            Closing::Pay {
                breakdown,
                settles_owed,
            } => (breakdown, settles_owed),
        };
        let (creation, job) = payout_creation(p, &req, open, breakdown, settles_owed).await?;
        match lifecycle::create(p, &creation).await? {
            CreateOutcome::Created => return Ok(created(creation, job)),
            CreateOutcome::AlreadyExists => {
                // The cut-off has its payout, yet the schedule still points at it (another
                // planner's advance lost to a write that restored it, say): the calendar moves
                // on, or the barber would never be planned again.
                advance_only(p, &req).await?;
                return Ok(PeriodOutcome::AlreadyPlanned);
            }
            CreateOutcome::ClaimChanged => {
                tracing::debug!(barber = %schedule.barber_id, "open balance changed while closing the period; reading it again");
            }
        }
    }
    Err(AppError::Conflict(format!(
        "the open balance of barber {} kept changing while its period was closed; try again",
        schedule.barber_id
    )))
}

async fn advance_only(p: &Services, req: &PeriodRequest<'_>) -> Result<(), AppError> {
    if let Some(next) = req.next_run {
        p.store
            .advance_schedule(&req.schedule.barber_id, req.cutoff, next)
            .await?;
    }
    Ok(())
}

/// How the barber's open balance would settle if the period closed at `now`: the decision,
/// what the hold keeps back, and whether the first payout still waits.
pub struct Settlement {
    pub decision: SettlementDecision,
    pub held: HeldEarnings,
    pub first_payout_waits_until: Option<DateTime<Utc>>,
}

/// How the barber's open balance would settle under their schedule at `cutoff` (now, for a
/// preview; the run's, for its advance notice): what is recorded so far, with the hold, the
/// releases and the first payout's wait as they stand at `cutoff`.
pub async fn settlement_at(
    p: &Services,
    schedule: &PayoutSchedule,
    cutoff: DateTime<Utc>,
) -> Result<Settlement, AppError> {
    let period = open_period(p, schedule, cutoff).await?;
    let id = PayoutId::scheduled(&schedule.barber_id, cutoff);
    let kept = kept_reserve(schedule, &id, cutoff);
    Ok(Settlement {
        decision: settle(
            p,
            schedule,
            &period.open,
            schedule.minimum_payout,
            kept.as_ref(),
        )?,
        held: period.open.held,
        first_payout_waits_until: period.first_payout_waits_until,
    })
}

/// How `open` (the barber's open balance) would settle under `schedule` at its next run.
pub fn settle_open(
    p: &Services,
    schedule: &PayoutSchedule,
    open: &OpenActivity,
) -> Result<SettlementDecision, AppError> {
    let run = schedule.next_run_at;
    let kept = kept_reserve(
        schedule,
        &PayoutId::scheduled(&schedule.barber_id, run),
        run,
    );
    settle(p, schedule, open, schedule.minimum_payout, kept.as_ref())
}

fn settle(
    p: &Services,
    schedule: &PayoutSchedule,
    open: &OpenActivity,
    minimum: Money,
    kept: Option<&KeptReserve>,
) -> Result<SettlementDecision, AppError> {
    Ok(p.config
        .policy
        .settle(&activity_of(schedule, open), schedule.method, minimum, kept)?)
}

/// The reserve payout `payout_id`, closed at `now`, keeps under `schedule`, if it keeps one.
fn kept_reserve(
    schedule: &PayoutSchedule,
    payout_id: &PayoutId,
    now: DateTime<Utc>,
) -> Option<KeptReserve> {
    schedule.holds.reserve.map(|reserve| KeptReserve {
        reserve,
        line: DeductionId::reserve_of(payout_id),
        until: reserve.releases_at(now),
    })
}

/// The open balance `open` as the breakdown reads it, in the schedule's currency.
fn activity_of(schedule: &PayoutSchedule, open: &OpenActivity) -> PeriodActivity {
    PeriodActivity {
        gross: Money::from_minor(open.gross_minor, schedule.currency),
        services: open.services,
        tips: Money::from_minor(open.tips_minor, schedule.currency),
        deductions: open.deductions.clone(),
    }
}
