//! A barber's payout schedule: when, how, and the thresholds that apply.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::deduction::DeductionKind;
use crate::hold::Holds;
use crate::ids::{BarberId, DeductionId};
use crate::ledger::Deduction;
use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::priority::BarberStanding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleState {
    Active,
    /// Paused schedules are never due; their history and open balance are kept.
    Paused,
}

/// Where and how a barber wants to hear about payouts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NotificationPrefs {
    /// What notices call the barber ("Hi Marco"); without one they say "Hi there", never the
    /// barber's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub email_notifications: bool,
    pub sms_notifications: bool,
    pub advance_notice_hours: u32,
    /// The zone a notice gives times in: the schedule's own (kept equal to its calendar's when
    /// the schedule is saved); UTC in records from before.
    #[serde(default)]
    pub time_zone: Tz,
}

impl NotificationPrefs {
    /// The name a notice greets the barber by.
    pub fn greeting_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or("there")
    }

    /// `at` as the barber reads it: local date, time and zone ("2026-11-27 06:24 EST").
    pub fn local_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.time_zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutSchedule {
    pub barber_id: BarberId,
    pub calendar: Calendar,
    pub currency: Currency,
    /// A net below this is not paid; the earnings roll into the next period.
    pub minimum_payout: Money,
    pub method: PaymentMethod,
    /// When false the planner closes no periods; the barber is paid by manual payouts only.
    pub auto_payout_enabled: bool,
    pub state: ScheduleState,
    pub standing: BarberStanding,
    /// The barber's Stripe connected account (`acct_...`), when the method needs one.
    pub connected_account: Option<String>,
    pub notifications: NotificationPrefs,
    /// Deductions charged again at every scheduled cut-off (booth rent per period, say).
    #[serde(default)]
    pub recurring_deductions: Vec<RecurringDeduction>,
    /// What is kept back: earnings held after the service, a reserve of each payout. Set by
    /// operators only.
    #[serde(default)]
    pub holds: Holds,
    /// The next cut-off; the planner picks the schedule up once this has passed.
    pub next_run_at: DateTime<Utc>,
    /// Who changed where the money goes, and when; the latest [`DESTINATION_HISTORY`] kept.
    #[serde(default)]
    pub destination_changes: Vec<DestinationChange>,
    /// Bumped by every write of the schedule, the planner's advance included; a change is
    /// stored only over the version it was made from, so no writer undoes another's.
    #[serde(default)]
    pub version: u64,
}

/// How many destination changes a schedule keeps.
pub const DESTINATION_HISTORY: usize = 20;

/// One change of where a barber's money goes: the payment method or the connected account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationChange {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub method: PaymentMethod,
    pub previous_method: Option<PaymentMethod>,
    pub account: Option<String>,
    pub previous_account: Option<String>,
}

impl DestinationChange {
    /// The barber's first destination: a new schedule, or the first account given to the
    /// method they had. Nothing they were paid to before was replaced, so there is nothing to
    /// warn them about.
    pub fn is_first_setup(&self) -> bool {
        self.previous_account.is_none()
            && self
                .previous_method
                .is_none_or(|previous| previous == self.method)
    }
}

/// A deduction that the planner opens once per scheduled period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecurringDeduction {
    pub id: DeductionId,
    pub kind: DeductionKind,
    pub amount: Money,
    pub description: String,
}

impl RecurringDeduction {
    /// This deduction's instance for the period closing at `cutoff`; the id is derived from
    /// both, so a planner that runs twice opens it once.
    pub fn for_period(&self, barber: &BarberId, cutoff: DateTime<Utc>) -> Deduction {
        Deduction {
            id: self.id.for_period(cutoff),
            barber_id: barber.clone(),
            kind: self.kind,
            amount: self.amount,
            description: self.description.clone(),
            recorded_at: cutoff,
            payable_from: None,
        }
    }
}

impl PayoutSchedule {
    /// Records who moved the money's destination away from `before` (none: a new schedule),
    /// if they did. Returns the change, for the barber to be told.
    pub fn audit_destination(
        &mut self,
        before: Option<&PayoutSchedule>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Option<DestinationChange> {
        let previous_method = before.map(|b| b.method);
        let previous_account = before.and_then(|b| b.connected_account.clone());
        let changed = match before {
            Some(_) => {
                previous_method != Some(self.method) || previous_account != self.connected_account
            }
            None => self.connected_account.is_some(),
        };
        if !changed {
            return None;
        }
        let change = DestinationChange {
            at,
            actor: actor.to_string(),
            method: self.method,
            previous_method,
            account: self.connected_account.clone(),
            previous_account,
        };
        self.destination_changes.push(change.clone());
        let excess = self
            .destination_changes
            .len()
            .saturating_sub(DESTINATION_HISTORY);
        self.destination_changes.drain(..excess);
        Some(change)
    }

    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.state == ScheduleState::Active && self.next_run_at <= now
    }

    /// When the barber should hear that the run at `cutoff` is coming, if they asked to: only
    /// for runs the planner will make, and only with a channel to tell them on.
    pub fn advance_notice_at(&self, cutoff: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let prefs = &self.notifications;
        let wanted = self.state == ScheduleState::Active
            && self.auto_payout_enabled
            && prefs.advance_notice_hours > 0
            && (prefs.email_notifications || prefs.sms_notifications);
        wanted.then(|| cutoff - TimeDelta::hours(i64::from(prefs.advance_notice_hours)))
    }
}
