//! The payout record and its audited transitions.
//!
//! Every change goes through [`Payout::move_to`], which refuses illegal transitions, bumps the
//! version the stores condition their writes on, and returns the audit event to store with it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::breakdown::PayoutBreakdown;
use crate::deduction::DeductionKind;
use crate::ids::{BarberId, DeductionId, PayoutId};
use crate::ledger::Deduction;
use crate::method::PaymentMethod;
use crate::money::Money;
use crate::retry::FailureKind;
use crate::schedule::NotificationPrefs;
use crate::status::{IllegalTransition, PayoutStatus};

/// Why the payout exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PayoutTrigger {
    Scheduled,
    Manual { reason: String },
}

/// One line of a payout's history: who moved it, when, from what to what, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub payout_id: PayoutId,
    pub at: DateTime<Utc>,
    pub from: Option<PayoutStatus>,
    pub to: PayoutStatus,
    pub actor: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub id: PayoutId,
    pub barber_id: BarberId,
    pub status: PayoutStatus,
    pub method: PaymentMethod,
    pub breakdown: PayoutBreakdown,
    pub trigger: PayoutTrigger,
    /// Earnings recorded up to this instant belong to the payout.
    pub cutoff: DateTime<Utc>,
    /// The barber's connected account at planning time.
    pub destination: Option<String>,
    pub notifications: NotificationPrefs,
    pub priority: u8,
    /// Attempts made, over the payout's life; part of each attempt's idempotency key.
    pub attempts: u32,
    /// Consecutive retryable failures since the last operator retry.
    pub round_failures: u32,
    pub idempotency_key: Option<String>,
    /// When the next attempt may start (queued, retry scheduled).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub transfer_id: Option<String>,
    pub failure_kind: Option<FailureKind>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the first attempt started; processing time runs from here to `accepted_at`.
    #[serde(default)]
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// When the rail accepted the transfer; settlement time runs from here to `completed_at`
    /// (days for a bank transfer in transit, which is not processing).
    #[serde(default)]
    pub accepted_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Operators who may not approve this payout (awaiting approval): the one who asked for it
    /// and the one who last changed where the barber's money goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approval_barred: Vec<String>,
    /// Why the payout goes by another method than the barber's (an instant payout over a
    /// limit, paid as a standard transfer with the standard fee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_note: Option<String>,
    /// The standard payout the provider made of this instant one it refused to pay instantly,
    /// and the instant fee given back for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_standard: Option<PaidStandard>,
    /// Bumped by every transition; stores write only if the stored version is the one read.
    pub version: u64,
}

/// An instant payout the provider refused to pay instantly (Stripe: the account cannot take
/// instant payouts, or is over its instant limit) and paid as a standard payout instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidStandard {
    /// The provider's refusal.
    pub refusal: String,
    /// What the instant fee charged came to over the standard fee: given back, as a negative
    /// deduction payable with the barber's next payout, once the standard payout arrived.
    pub fee_credit: Money,
    /// The payout's version whose write recorded the arrival, and opens the credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited_in: Option<u64>,
}

/// The fields a new payout is planned with.
#[derive(Debug, Clone)]
pub struct PlannedPayout {
    pub id: PayoutId,
    pub barber_id: BarberId,
    pub method: PaymentMethod,
    pub breakdown: PayoutBreakdown,
    pub trigger: PayoutTrigger,
    pub cutoff: DateTime<Utc>,
    pub destination: Option<String>,
    pub notifications: NotificationPrefs,
    pub priority: u8,
    /// Why `method` is not the barber's own, if it is not.
    pub method_note: Option<String>,
}

impl Payout {
    /// The release of the reserve this payout keeps, opened with it: given back (a negative
    /// deduction) by the first payout after the reserve's days.
    pub fn reserve_release(&self, at: DateTime<Utc>) -> Option<Deduction> {
        let kept = self.breakdown.reserve_kept()?;
        Some(Deduction {
            id: DeductionId::reserve_released_from(&self.id),
            barber_id: self.barber_id.clone(),
            kind: DeductionKind::ReserveRelease,
            amount: kept.negate(),
            description: format!("reserve kept by payout {} released", self.id),
            recorded_at: at,
            payable_from: self.breakdown.reserve_until,
        })
    }

    /// What cancelling this payout opens when it kept a reserve: its release owed back,
    /// payable with the release (so the two cancel out in one payout), or at once if the
    /// release was paid already.
    pub fn reserve_withdrawal(&self, at: DateTime<Utc>) -> Option<Deduction> {
        let kept = self.breakdown.reserve_kept()?;
        Some(Deduction {
            id: DeductionId::reserve_withdrawn_from(&self.id),
            barber_id: self.barber_id.clone(),
            kind: DeductionKind::ReserveRelease,
            amount: kept,
            description: format!(
                "reserve of payout {} withdrawn: the payout was cancelled",
                self.id
            ),
            recorded_at: at,
            payable_from: self.breakdown.reserve_until,
        })
    }

    /// The credit this payout's write at its current version opens, if it opens one: the
    /// instant fee given back once, by the write that records the standard payout's arrival
    /// (a payout reversed, failed or cancelled first opens none).
    pub fn fee_credit_opened(&self) -> Option<Deduction> {
        let paid = self.paid_standard.as_ref()?;
        let opens = paid.credited_in == Some(self.version) && paid.fee_credit.is_positive();
        opens.then(|| Deduction {
            id: DeductionId::fee_credit_of(&self.id),
            barber_id: self.barber_id.clone(),
            kind: DeductionKind::FeeCredit,
            amount: paid.fee_credit.negate(),
            description: format!(
                "instant fee of payout {} given back: it was paid as a standard payout",
                self.id
            ),
            recorded_at: self.updated_at,
            payable_from: None,
        })
    }

    /// The method the money went by: standard for an instant payout the provider paid
    /// standard instead, otherwise the payout's own.
    pub fn paid_by(&self) -> PaymentMethod {
        match self.paid_standard {
            Some(_) => PaymentMethod::StripeStandard,
            None => self.method,
        }
    }

    /// Records that the provider refused to pay this (instant) payout instantly and paid it as
    /// a standard payout, `refusal` saying why, with what the fee charged came to over
    /// `standard_fee` to be given back once it arrives. Called on the write that records the
    /// payout's transfer.
    pub fn record_paid_standard(&mut self, refusal: &str, standard_fee: Money) {
        let fee_credit = self
            .breakdown
            .fee
            .checked_sub(standard_fee)
            .ok()
            .filter(|credit| credit.is_positive())
            .unwrap_or(Money::zero(self.breakdown.fee.currency()));
        let given_back = match fee_credit.is_positive() {
            true => format!(
                "; the {} difference between the instant and the standard fee is given back with the next payout",
                fee_credit.formatted()
            ),
            false => String::new(),
        };
        self.method_note = Some(format!(
            "Stripe could not pay it instantly ({refusal}), so it was sent as a standard payout{given_back}"
        ));
        self.paid_standard = Some(PaidStandard {
            refusal: refusal.to_string(),
            fee_credit,
            credited_in: None,
        });
    }

    /// From the first attempt to the rail's acceptance (the brief's "processing time").
    pub fn processing_time(&self) -> Option<chrono::TimeDelta> {
        Some(self.accepted_at? - self.first_attempt_at?)
    }

    /// From the rail's acceptance to confirmed arrival (zero for rails that settle at once).
    pub fn settlement_time(&self) -> Option<chrono::TimeDelta> {
        Some(self.completed_at? - self.accepted_at?)
    }

    /// A payout ready for the executor from `not_before` on.
    pub fn queued(
        planned: PlannedPayout,
        now: DateTime<Utc>,
        not_before: DateTime<Utc>,
        actor: &str,
    ) -> (Self, AuditEvent) {
        let mut payout = Self::created(planned, PayoutStatus::Queued, now);
        payout.next_attempt_at = Some(not_before);
        let mut why = payout.trigger_reason();
        if not_before > now {
            why.push_str(&format!(
                "; low priority, deferred: starts at {}",
                not_before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        let event = payout.creation_event(actor, &why);
        (payout, event)
    }

    /// A payout that waits for a second operator's approval (`why`), which none of `barred` may
    /// give; no job runs it until it is approved.
    pub fn awaiting_approval(
        planned: PlannedPayout,
        now: DateTime<Utc>,
        actor: &str,
        why: &str,
        barred: Vec<String>,
    ) -> (Self, AuditEvent) {
        let mut payout = Self::created(planned, PayoutStatus::AwaitingApproval, now);
        payout.approval_barred = barred;
        let event = payout.creation_event(
            actor,
            &format!("{}; awaiting approval: {why}", payout.trigger_reason()),
        );
        (payout, event)
    }

    /// Approved by `actor`: queued to be paid from `now`.
    pub fn approve(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        if self.status != PayoutStatus::AwaitingApproval {
            return Err(IllegalTransition {
                from: self.status,
                to: PayoutStatus::Queued,
            });
        }
        let event = self.move_to(PayoutStatus::Queued, now, actor, "approved")?;
        self.next_attempt_at = Some(now);
        Ok(event)
    }

    /// A period whose deductions exceeded the barber's share: closed at once without moving
    /// money; the owed balance is carried into the next period as a deduction.
    pub fn settled_with_balance_owed(
        planned: PlannedPayout,
        now: DateTime<Utc>,
        actor: &str,
    ) -> (Self, AuditEvent) {
        let mut payout = Self::created(planned, PayoutStatus::Completed, now);
        payout.completed_at = Some(now);
        let event = payout.creation_event(
            actor,
            "deductions exceed commission: no transfer, balance carried forward as owed",
        );
        (payout, event)
    }

    fn created(planned: PlannedPayout, status: PayoutStatus, now: DateTime<Utc>) -> Self {
        Self {
            id: planned.id,
            barber_id: planned.barber_id,
            status,
            method: planned.method,
            breakdown: planned.breakdown,
            trigger: planned.trigger,
            cutoff: planned.cutoff,
            destination: planned.destination,
            notifications: planned.notifications,
            priority: planned.priority,
            attempts: 0,
            round_failures: 0,
            idempotency_key: None,
            next_attempt_at: None,
            transfer_id: None,
            failure_kind: None,
            failure_reason: None,
            created_at: now,
            updated_at: now,
            first_attempt_at: None,
            accepted_at: None,
            completed_at: None,
            approval_barred: Vec::new(),
            method_note: planned.method_note,
            paid_standard: None,
            version: 1,
        }
    }

    /// Why the payout was made, as its audit trail's first line says: an operator's reason for
    /// paying early is part of the record.
    fn trigger_reason(&self) -> String {
        let trigger = match &self.trigger {
            PayoutTrigger::Scheduled => "planned".to_string(),
            PayoutTrigger::Manual { reason } => format!("manual payout: {reason}"),
        };
        match &self.method_note {
            Some(note) => format!("{trigger}; {note}"),
            None => trigger,
        }
    }

    pub(crate) fn creation_event(&self, actor: &str, reason: &str) -> AuditEvent {
        AuditEvent {
            payout_id: self.id.clone(),
            at: self.created_at,
            from: None,
            to: self.status,
            actor: actor.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The one place a payout changes state.
    pub fn move_to(
        &mut self,
        to: PayoutStatus,
        now: DateTime<Utc>,
        actor: &str,
        reason: impl Into<String>,
    ) -> Result<AuditEvent, IllegalTransition> {
        self.status.check_move_to(to)?;
        Ok(self.moved(to, now, actor, reason))
    }

    /// An operator's move, which may take the edges only an operator takes
    /// ([`PayoutStatus::can_be_moved_by_operator_to`]).
    fn move_by_operator(
        &mut self,
        to: PayoutStatus,
        now: DateTime<Utc>,
        actor: &str,
        reason: impl Into<String>,
    ) -> Result<AuditEvent, IllegalTransition> {
        if !self.status.can_be_moved_by_operator_to(to) {
            return Err(IllegalTransition {
                from: self.status,
                to,
            });
        }
        Ok(self.moved(to, now, actor, reason))
    }

    fn moved(
        &mut self,
        to: PayoutStatus,
        now: DateTime<Utc>,
        actor: &str,
        reason: impl Into<String>,
    ) -> AuditEvent {
        let from = self.status;
        self.status = to;
        self.updated_at = now;
        self.version += 1;
        AuditEvent {
            payout_id: self.id.clone(),
            at: now,
            from: Some(from),
            to,
            actor: actor.to_string(),
            reason: reason.into(),
        }
    }

    /// An operator pays out again what this failed payout's transfer left in the barber's
    /// Stripe balance (`how`: the new payout, instant or standard); in transit until Stripe
    /// reports it paid.
    pub fn pay_out_balance(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        how: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        self.require_left_behind(PayoutStatus::InTransit)?;
        let event = self.move_by_operator(PayoutStatus::InTransit, now, actor, how)?;
        self.forget_paid_standard();
        self.accepted_at = Some(now);
        self.failure_kind = None;
        self.failure_reason = None;
        Ok(event)
    }

    /// An earlier attempt's standard payout in place of an instant one no longer stands (a new
    /// transfer is recorded, or an operator pays out anew): nothing of it is given back.
    fn forget_paid_standard(&mut self) {
        if self.paid_standard.take().is_some() {
            self.method_note = None;
        }
    }

    /// An operator records that what this failed payout's transfer left behind reached the
    /// barber by other means (`reference`).
    pub fn settle_by_hand(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        reference: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        self.require_left_behind(PayoutStatus::Completed)?;
        let reason = format!("settled by hand, reference {reference}");
        let event = self.move_by_operator(PayoutStatus::Completed, now, actor, reason)?;
        self.forget_paid_standard();
        self.completed_at = Some(now);
        self.failure_kind = None;
        self.failure_reason = None;
        Ok(event)
    }

    /// Only a failed payout whose transfer was made has something left behind to settle.
    fn require_left_behind(&self, to: PayoutStatus) -> Result<(), IllegalTransition> {
        if self.status == PayoutStatus::Failed && self.transfer_id.is_some() {
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self.status,
                to,
            })
        }
    }

    /// Records a new attempt and its idempotency key before the rail is called (the recovery
    /// point of docs/design.md, "The exactly-once protocol").
    pub fn begin_attempt(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        let attempt = self.attempts + 1;
        let event = self.move_to(
            PayoutStatus::Processing,
            now,
            actor,
            format!("attempt {attempt}"),
        )?;
        self.attempts = attempt;
        self.first_attempt_at.get_or_insert(now);
        self.idempotency_key = Some(format!("{}:{attempt}", self.id));
        self.next_attempt_at = None;
        Ok(event)
    }

    /// The rail took the money: completed, or in transit until settlement is confirmed.
    pub fn record_transfer(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        transfer_id: String,
        settled: bool,
        how: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        let to = if settled {
            PayoutStatus::Completed
        } else {
            PayoutStatus::InTransit
        };
        let event = self.move_to(to, now, actor, format!("{how}: transfer {transfer_id}"))?;
        self.forget_paid_standard();
        self.transfer_id = Some(transfer_id);
        self.accepted_at = Some(now);
        self.failure_kind = None;
        self.failure_reason = None;
        if settled {
            self.completed_at = Some(now);
        }
        Ok(event)
    }

    /// The provider confirmed that money in transit arrived.
    pub fn confirm_arrival(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        reason: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        let event = self.move_to(PayoutStatus::Completed, now, actor, reason)?;
        self.completed_at = Some(now);
        if let Some(paid) = &mut self.paid_standard {
            paid.credited_in = Some(self.version);
        }
        Ok(event)
    }

    pub fn schedule_retry(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        at: DateTime<Utc>,
        kind: FailureKind,
        detail: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        let reason = format!(
            "{}: {detail}; retry at {}",
            kind.describe(),
            at.to_rfc3339()
        );
        let event = self.wait_until(now, actor, at, reason)?;
        self.round_failures += 1;
        self.failure_kind = Some(kind);
        self.failure_reason = Some(kind.describe().to_string());
        Ok(event)
    }

    /// The provider refused the call for its rate (429): nothing was paid and nothing failed,
    /// so the payout waits until `at` without using one of its retries.
    pub fn hold_back(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        at: DateTime<Utc>,
        detail: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        let reason = format!(
            "held back, not a failure: {detail}; next attempt at {}",
            at.to_rfc3339()
        );
        self.wait_until(now, actor, at, reason)
    }

    fn wait_until(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        at: DateTime<Utc>,
        reason: String,
    ) -> Result<AuditEvent, IllegalTransition> {
        let event = self.move_to(PayoutStatus::RetryScheduled, now, actor, reason)?;
        self.next_attempt_at = Some(at);
        Ok(event)
    }

    pub fn fail(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        kind: FailureKind,
        detail: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        let event = self.move_to(
            PayoutStatus::Failed,
            now,
            actor,
            format!("{}: {detail}", kind.describe()),
        )?;
        self.next_attempt_at = None;
        self.failure_kind = Some(kind);
        self.failure_reason = Some(kind.describe().to_string());
        Ok(event)
    }

    /// An operator's retry of a failed payout (or of one waiting for its retry): a fresh retry
    /// ladder, same payout. Never of one awaiting approval, which only [`Payout::approve`]
    /// queues: a retry would let the operator who asked for it skip the second operator.
    pub fn requeue(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        reason: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        if self.status == PayoutStatus::AwaitingApproval {
            return Err(IllegalTransition {
                from: self.status,
                to: PayoutStatus::Queued,
            });
        }
        let event = self.move_to(PayoutStatus::Queued, now, actor, reason)?;
        self.round_failures = 0;
        self.next_attempt_at = Some(now);
        Ok(event)
    }

    /// Its destination cannot be paid (`why`): waits on hold, no attempt, no retry used.
    pub fn hold(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        why: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        let event = self.move_to(PayoutStatus::OnHold, now, actor, format!("on hold: {why}"))?;
        self.next_attempt_at = None;
        self.failure_reason = Some(why.to_string());
        Ok(event)
    }

    /// Its destination is ready again: queued to be paid from `now`, with a fresh retry ladder.
    pub fn resume(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        why: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        if self.status != PayoutStatus::OnHold {
            return Err(IllegalTransition {
                from: self.status,
                to: PayoutStatus::Queued,
            });
        }
        let event = self.requeue(now, actor, why)?;
        self.failure_reason = None;
        Ok(event)
    }

    pub fn cancel(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        reason: &str,
    ) -> Result<AuditEvent, IllegalTransition> {
        let event = self.move_to(PayoutStatus::Cancelled, now, actor, reason)?;
        self.next_attempt_at = None;
        Ok(event)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::*;
    use crate::breakdown::{PayoutPolicy, PeriodActivity};
    use crate::money::{Currency, Money};

    pub(crate) fn queued_payout(method: PaymentMethod, start: DateTime<Utc>) -> Payout {
        let breakdown = PayoutPolicy::default()
            .breakdown(
                &PeriodActivity {
                    gross: Money::from_minor(100_000, Currency::Usd),
                    services: 5,
                    tips: Money::zero(Currency::Usd),
                    deductions: Vec::new(),
                },
                method,
            )
            .unwrap();
        Payout::queued(
            PlannedPayout {
                id: PayoutId::parse("po_1").unwrap(),
                barber_id: BarberId::parse("123").unwrap(),
                method,
                breakdown,
                trigger: PayoutTrigger::Scheduled,
                cutoff: start,
                destination: Some("bank-ref".into()),
                notifications: NotificationPrefs::default(),
                priority: 50,
                method_note: None,
            },
            start,
            start,
            "planner",
        )
        .0
    }

    #[test]
    fn a_standard_payout_in_place_of_an_instant_one_gives_the_fee_back_only_on_arrival() {
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap();
        let mut payout = queued_payout(PaymentMethod::StripeInstant, start);
        let standard_fee = Money::from_minor(275, Currency::Usd);
        payout.begin_attempt(start, "executor").unwrap();
        payout
            .record_transfer(start, "executor", "tr_1".into(), false, "paid")
            .unwrap();
        payout.record_paid_standard("instant_payouts_unsupported", standard_fee);
        assert_eq!(payout.paid_by(), PaymentMethod::StripeStandard);
        assert!(payout.fee_credit_opened().is_none(), "not before arrival");
        let note = payout.method_note.clone().unwrap();
        assert!(note.contains("$10.00 difference"), "{note}");

        // Arrived: $12.75 charged, $2.75 the standard fee: $10.00 given back, by this write.
        let mut arrived = payout.clone();
        arrived.confirm_arrival(start, "webhook", "paid").unwrap();
        let credit = arrived.fee_credit_opened().unwrap();
        assert_eq!(credit.amount, Money::from_minor(-1000, Currency::Usd));
        assert_eq!(credit.id, DeductionId::fee_credit_of(&payout.id));

        // Failed instead (the standard payout failed): an operator pays the balance out
        // anew, and nothing of the refused attempt is given back when that arrives.
        payout
            .fail(start, "webhook", FailureKind::ProviderRejected, "failed")
            .unwrap();
        payout
            .pay_out_balance(start, "operator", "instant")
            .unwrap();
        assert_eq!(payout.paid_standard, None);
        assert_eq!(payout.method_note, None);
        payout.confirm_arrival(start, "webhook", "paid").unwrap();
        assert!(payout.fee_credit_opened().is_none());
    }

    #[test]
    fn a_hold_back_uses_no_retry_and_a_failure_does() {
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap();
        let mut payout = queued_payout(PaymentMethod::StripeStandard, start);
        payout.begin_attempt(start, "executor").unwrap();
        let at = start + TimeDelta::seconds(2);
        let event = payout.hold_back(start, "executor", at, "429").unwrap();
        assert!(event.reason.contains("not a failure"), "{}", event.reason);
        assert_eq!(payout.status, PayoutStatus::RetryScheduled);
        assert_eq!(payout.next_attempt_at, Some(at));
        assert_eq!((payout.round_failures, payout.failure_kind), (0, None));
        payout.begin_attempt(at, "executor").unwrap();
        payout
            .schedule_retry(at, "executor", at, FailureKind::Timeout, "no answer")
            .unwrap();
        assert_eq!(payout.round_failures, 1);
    }

    /// A bank transfer accepted in 2 s and confirmed three days later processed in 2 s: the
    /// days in transit are settlement, which the processing-time alert must not see.
    #[test]
    fn processing_ends_when_the_rail_accepts_and_settlement_is_apart() {
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap();
        let mut payout = queued_payout(PaymentMethod::BankTransfer, start);
        payout.begin_attempt(start, "executor").unwrap();
        let accepted = start + TimeDelta::seconds(2);
        payout
            .record_transfer(accepted, "executor", "bt_1".into(), false, "bank")
            .unwrap();
        let arrived = accepted + TimeDelta::days(3);
        payout
            .confirm_arrival(arrived, "operator", "ref 9")
            .unwrap();
        assert_eq!(payout.processing_time(), Some(TimeDelta::seconds(2)));
        assert_eq!(payout.settlement_time(), Some(TimeDelta::days(3)));
    }
}
