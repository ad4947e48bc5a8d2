//! The exactly-once protocol's invariants (docs/design.md), checked after a run against the
//! store and the rail's own ledger: (a) no earning paid twice, (b) none lost, (c) never two
//! transfers for one payout, (d) every payout terminal once the faults stop, (e) the sum paid
//! equals the payouts' nets; and every payout's audit trail is one unbroken chain (no write was lost to another); (j) no
//! payout leaves `failed` but by an operator's action, (k) no payment is counted twice in the
//! metrics (a crash may lose a count, never add one), (l) an answer is recorded when it came,
//! not when the job was picked up, (m) a restart after a crash re-enqueues every payout owed
//! work, and (n) a provider lookup that hangs holds its caller no longer than the rail's
//! timeout (checked by the rail as the caller lets go), and (o) the totals kept with every
//! payout change (counts per status, per day paid, failures) are what a recount of the records
//! says. Three more keep barbers live: (h) no cut-off that has its payout is put back on the
//! calendar, checked after every tick, (i) no barber is left due once the planner has run
//! calmly, and (p) no payout is left on hold once Stripe has said every account is ready.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use payout_app::ports::{PayoutQuery, Store};
use payout_core::ids::{BarberId, PayoutId};
use payout_core::money::Currency;
use payout_core::status::PayoutStatus;

use super::faults::SlowCall;
use crate::SimulatedRail;
use crate::simulated_rail::RailTransfer;

/// Who records Stripe's reports (its webhooks).
const PROVIDER: &str = "stripe-webhook";

/// Far more payouts than a run makes.
const ALL: usize = 100_000;

pub async fn check(
    store: &dyn Store,
    rail: &SimulatedRail,
    now: DateTime<Utc>,
    counted_paid: i64,
) -> Result<Vec<String>, payout_app::AppError> {
    let mut violations = Vec::new();
    let owed = store
        .stalled_payouts(now + TimeDelta::days(3650), ALL)
        .await?;
    for payout in &owed {
        violations.push(format!(
            "(d) {} is still {} after the faults stopped",
            payout.id, payout.status
        ));
    }

    let mut transfers: BTreeMap<String, Vec<RailTransfer>> = BTreeMap::new();
    for transfer in rail.transfers() {
        transfers
            .entry(transfer.payout_id.to_string())
            .or_default()
            .push(transfer);
    }
    let payouts = store.list_payouts(&PayoutQuery::default(), ALL).await?;
    let (mut gross_claimed, mut paid_store) = (0i64, 0i64);
    for payout in &payouts {
        let made = transfers.remove(payout.id.as_str()).unwrap_or_default();
        let net = payout.breakdown.net;
        if made.len() > 1 {
            violations.push(format!("(c) {} was paid {} times", payout.id, made.len()));
        }
        let trail = store.audit_trail(&payout.id).await?;
        let paid = matches!(
            payout.status,
            PayoutStatus::Completed | PayoutStatus::InTransit
        );
        // Stripe reported the payout failed after its transfer: the money left the platform
        // (it is in the barber's Stripe balance), recorded or not.
        let failed_after_transfer = payout.status == PayoutStatus::Failed
            && trail.last().is_some_and(|event| event.actor == PROVIDER);
        match (paid && net.is_positive(), made.first()) {
            (true, Some(transfer)) => {
                if transfer.amount != net {
                    violations.push(format!(
                        "(e) {} recorded {net} but the rail moved {}",
                        payout.id, transfer.amount
                    ));
                }
                if payout.transfer_id.as_deref() != Some(transfer.transfer_id.as_str()) {
                    violations.push(format!(
                        "(e) {} records transfer {:?}, the rail made {}",
                        payout.id, payout.transfer_id, transfer.transfer_id
                    ));
                }
                paid_store += net.to_minor().unwrap_or_default();
            }
            (true, None) => violations.push(format!(
                "(e) {} is {} but the rail made no transfer",
                payout.id, payout.status
            )),
            (false, Some(transfer)) if failed_after_transfer => {
                paid_store += transfer.amount.to_minor().unwrap_or_default();
            }
            (false, Some(transfer)) => violations.push(format!(
                "(a) {} is {} but the rail paid it {} ({})",
                payout.id, payout.status, transfer.amount, transfer.transfer_id
            )),
            (false, None) => {}
        }
        if payout.status == PayoutStatus::OnHold {
            violations.push(format!(
                "(p) {} is still on hold after every account was ready again",
                payout.id
            ));
        }
        if payout.status != PayoutStatus::Cancelled {
            gross_claimed += payout
                .breakdown
                .earned()
                .and_then(|earned| earned.to_minor())
                .unwrap_or_default();
        }
        let mut previous = None;
        for event in &trail {
            if previous == Some(PayoutStatus::Failed) && !event.actor.starts_with("operator") {
                violations.push(format!(
                    "(j) {} left failed for {} by {}: only an operator moves a failed payout on",
                    payout.id, event.to, event.actor
                ));
            }
            if event.from != previous {
                violations.push(format!(
                    "lost update: {} went {:?} -> {} after it was {:?}",
                    payout.id, event.from, event.to, previous
                ));
            }
            previous = Some(event.to);
        }
        if previous != Some(payout.status) {
            violations.push(format!(
                "lost update: {} is {} but its trail ends {:?}",
                payout.id, payout.status, previous
            ));
        }
    }
    for (payout_id, made) in transfers {
        violations.push(format!(
            "(a) the rail paid {payout_id} {} time(s) but no such payout exists",
            made.len()
        ));
    }

    violations.extend(
        payout_app::totals_check::totals_differences(store)
            .await?
            .into_iter()
            .map(|difference| {
                format!("(o) a kept total is not what the records say: {difference}")
            }),
    );

    let totals = store.ledger_totals(Currency::Usd).await?;
    if totals.earnings_minor != gross_claimed + totals.open_earnings_minor {
        violations.push(format!(
            "(a/b) earnings {} != claimed by payouts {} + still open {}",
            totals.earnings_minor, gross_claimed, totals.open_earnings_minor
        ));
    }
    let rail_paid: i64 = rail
        .transfers()
        .iter()
        .map(|t| t.amount.to_minor().unwrap_or_default())
        .sum();
    if counted_paid > rail_paid {
        violations.push(format!(
            "(k) {counted_paid} cents counted paid, but the rail moved {rail_paid}: a payment counted twice"
        ));
    }
    if rail_paid != paid_store {
        violations.push(format!(
            "(e) the rail moved {rail_paid} cents, the store records {paid_store} paid"
        ));
    }
    Ok(violations)
}

/// (h) The schedules of `barbers` whose cut-off has its payout already: a payout's creation
/// moves the calendar on in the same commit, so only a write that restored the cut-off (an
/// edit made over the planner's advance) leaves one there.
pub async fn cut_offs_put_back(
    store: &dyn Store,
    barbers: &[BarberId],
) -> Result<Vec<String>, payout_app::AppError> {
    let mut violations = Vec::new();
    for barber in barbers {
        let Some(schedule) = store.get_schedule(barber).await? else {
            continue;
        };
        let planned = PayoutId::scheduled(barber, schedule.next_run_at);
        if store.get_payout(&planned).await?.is_some() {
            violations.push(format!(
                "(h) {barber}'s cut-off {} was put back on the calendar after {planned} was planned",
                schedule.next_run_at
            ));
        }
    }
    Ok(violations)
}

/// (i) The barbers of `barbers` still due at `now`, after the planner has run at `now`.
pub async fn overdue_barbers(
    store: &dyn Store,
    barbers: &[BarberId],
    now: DateTime<Utc>,
) -> Result<Vec<String>, payout_app::AppError> {
    let mut violations = Vec::new();
    for barber in barbers {
        if let Some(schedule) = store.get_schedule(barber).await?
            && schedule.auto_payout_enabled
            && schedule.is_due(now)
        {
            violations.push(format!(
                "(i) {barber} is due since {} but the planner never moved it on",
                schedule.next_run_at
            ));
        }
    }
    Ok(violations)
}

/// (l) Each of `slow` whose attempt paid the payout: its acceptance is recorded no earlier than
/// the rail's answer, the attempt's start plus the time the rail took (a time read once, when
/// the job was picked up, would record the answer at the start).
pub async fn processing_times(
    store: &dyn Store,
    slow: &[SlowCall],
) -> Result<Vec<String>, payout_app::AppError> {
    let mut violations = Vec::new();
    for call in slow {
        let Some(payout) = store.get_payout(&call.payout).await? else {
            continue;
        };
        let (Some(accepted_at), Some(key)) = (payout.accepted_at, &payout.idempotency_key) else {
            continue;
        };
        if *key != call.key {
            continue;
        }
        let trail = store.audit_trail(&payout.id).await?;
        let started = trail
            .iter()
            .filter(|event| event.to == PayoutStatus::Processing && event.at <= accepted_at)
            .map(|event| event.at)
            .next_back();
        if let Some(started) = started
            && accepted_at - started < call.took
        {
            violations.push(format!(
                "(l) {} was accepted at {accepted_at}, {} s after its attempt began, but the rail took {} s to answer",
                payout.id,
                (accepted_at - started).num_seconds(),
                call.took.num_seconds()
            ));
        }
    }
    Ok(violations)
}

/// (m) The payouts owed work for which `has_job` is false: after a restart, each must have
/// been re-enqueued, or it waits for the stale sweep (defect 5 of issue 29).
pub async fn owed_without_a_job(
    store: &dyn Store,
    has_job: impl Fn(&PayoutId) -> bool,
) -> Result<Vec<String>, payout_app::AppError> {
    let payouts = store.list_payouts(&PayoutQuery::default(), ALL).await?;
    Ok(payouts
        .iter()
        .filter(|payout| !payout.status.is_settled_for_executor() && !has_job(&payout.id))
        .map(|payout| {
            format!(
                "(m) {} ({}) lost its job in the crash and was not re-enqueued at the restart",
                payout.id, payout.status
            )
        })
        .collect())
}
