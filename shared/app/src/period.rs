//! Closing one barber's period: read the open balance, compute the breakdown, and create the
//! payout with its claim on the earnings in one conditional write.

use chrono::{DateTime, Utc};
use payout_core::breakdown::{PayoutBreakdown, PeriodActivity, SettlementDecision};
use payout_core::deduction::DeductionKind;
use payout_core::ids::{DeductionId, PayoutId};
use payout_core::ledger::Deduction;
use payout_core::money::Money;
use payout_core::payout::{Payout, PayoutTrigger, PlannedPayout};
use payout_core::priority::{PriorityClass, PriorityInput};
use payout_core::schedule::PayoutSchedule;

use crate::error::AppError;
use crate::ingest::within_limit;
use crate::ports::{CreateOutcome, OpenActivity, PayoutCreation, PayoutJob};
use crate::services::Services;

/// What closing a period did.
#[derive(Debug)]
pub enum PeriodOutcome {
    /// A payout to execute; its job is returned for the caller to enqueue.
    Queued(Box<Payout>, PayoutJob),
    /// Deductions exceeded the barber's share: closed without a transfer, balance carried.
    SettledOwed(Box<Payout>),
    /// Deductions exceed the barber's share and the payout is manual: nothing was written.
    Owed(PayoutBreakdown),
    /// Positive but under the minimum: everything stays open.
    BelowMinimum(PayoutBreakdown),
    /// No open earnings or deductions.
    Nothing,
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
    pub minimum: Money,
    /// For scheduled runs: move the schedule from its cut-off to this next run atomically.
    pub next_run: Option<DateTime<Utc>>,
    pub actor: &'a str,
}

/// Retries of the read-compute-claim loop when entries arrive between the read and the write.
const CLAIM_ATTEMPTS: usize = 5;

pub async fn close_period(p: &Services, req: PeriodRequest<'_>) -> Result<PeriodOutcome, AppError> {
    let schedule = req.schedule;
    let schedule_advance = req.next_run.map(|next| (req.cutoff, next));
    for _ in 0..CLAIM_ATTEMPTS {
        let open = p
            .store
            .open_activity(&schedule.barber_id, schedule.currency, req.cutoff)
            .await?;
        let activity = PeriodActivity {
            gross: Money::from_minor(open.gross_minor, schedule.currency),
            services: open.services,
            deductions: open.deductions.clone(),
        };
        let decision = p
            .config
            .policy
            .settle(&activity, schedule.method, req.minimum)?;
        let (breakdown, settles_owed) = match decision {
            SettlementDecision::Nothing => {
                advance_only(p, &req).await?;
                return Ok(PeriodOutcome::Nothing);
            }
            SettlementDecision::BelowMinimum(breakdown) => {
                advance_only(p, &req).await?;
                return Ok(PeriodOutcome::BelowMinimum(breakdown));
            }
            SettlementDecision::Pay(breakdown) => (breakdown, false),
            // A scheduled run closes the period by carrying the balance forward; a manual
            // payout has nothing to pay, and a refusal writes nothing.
            SettlementDecision::CarryOwed(breakdown)
                if !matches!(req.trigger, PayoutTrigger::Scheduled) =>
            {
                return Ok(PeriodOutcome::Owed(breakdown));
            }
            SettlementDecision::CarryOwed(breakdown) => (breakdown, true),
        };
        // An open balance this large is more likely a mistake than a week's work: it is held
        // for an operator (planner) or refused (manual payout), and nothing is written.
        within_limit(
            &format!("payout for barber {}", schedule.barber_id),
            breakdown.net,
            p.config.intake.max_payout,
            "intake.max_payout",
        )?;
        let priority = priority_of(p, &req, &breakdown).await?;
        let planned = PlannedPayout {
            id: req.payout_id.clone(),
            barber_id: schedule.barber_id.clone(),
            method: schedule.method,
            breakdown,
            trigger: req.trigger.clone(),
            cutoff: req.cutoff,
            destination: schedule.connected_account.clone(),
            notifications: schedule.notifications.clone(),
            priority,
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
            };
            (payout, event, Some(carried), None)
        } else {
            // Somebody asked for a manual payout now: it never waits for off-peak hours.
            let class = match req.trigger {
                PayoutTrigger::Manual { .. } => PriorityClass::Urgent,
                PayoutTrigger::Scheduled => p.config.priority.class(priority),
            };
            let not_before = p.config.priority.not_before(class, req.now);
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
        let creation = PayoutCreation {
            payout,
            event,
            claimed_gross_minor: open.gross_minor,
            claimed_services: open.services,
            claimed_deductions: open.deductions.iter().map(|line| line.id.clone()).collect(),
            carried_balance,
            schedule_advance,
        };
        match p.store.create_payout(&creation).await? {
            CreateOutcome::Created => {
                let payout = Box::new(creation.payout);
                return Ok(match job {
                    Some(job) => PeriodOutcome::Queued(payout, job),
                    None => PeriodOutcome::SettledOwed(payout),
                });
            }
            CreateOutcome::AlreadyExists => return Ok(PeriodOutcome::AlreadyPlanned),
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

async fn priority_of(
    p: &Services,
    req: &PeriodRequest<'_>,
    breakdown: &PayoutBreakdown,
) -> Result<u8, AppError> {
    let past_failures = p.store.failed_payout_count(&req.schedule.barber_id).await?;
    Ok(p.config.priority.score(&PriorityInput {
        overdue: req.now - req.cutoff,
        net: breakdown.net.amount(),
        standing: req.schedule.standing,
        past_failures,
    }))
}

/// How the barber's open balance up to `now` would settle under their schedule.
pub async fn settlement_at(
    p: &Services,
    schedule: &PayoutSchedule,
    now: DateTime<Utc>,
) -> Result<SettlementDecision, AppError> {
    let open = p
        .store
        .open_activity(&schedule.barber_id, schedule.currency, now)
        .await?;
    settle_open(p, schedule, open)
}

/// How `open` (the barber's open balance) would settle under `schedule`.
pub fn settle_open(
    p: &Services,
    schedule: &PayoutSchedule,
    open: OpenActivity,
) -> Result<SettlementDecision, AppError> {
    let activity = PeriodActivity {
        gross: Money::from_minor(open.gross_minor, schedule.currency),
        services: open.services,
        deductions: open.deductions,
    };
    Ok(p.config
        .policy
        .settle(&activity, schedule.method, schedule.minimum_payout)?)
}
