//! What a request may say about a schedule, and the schedule it makes: the defaults of a new
//! one, a partial change on top of an existing one, and the cut-off rule (a new calendar, or a
//! schedule coming back from a pause, starts from now; an unchanged active calendar keeps its
//! pending cut-off, even an overdue one).

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use payout_core::calendar::{Calendar, CronExpr, DayOfMonth, Frequency, weekday_from_iso};
use payout_core::hold::{HoldDays, Holds, Reserve};
use payout_core::ids::BarberId;
use payout_core::input;
use payout_core::method::PaymentMethod;
use payout_core::money::{Currency, Money};
use payout_core::priority::BarberStanding;
use payout_core::schedule::{NotificationPrefs, PayoutSchedule, ScheduleState};
use rust_decimal::Decimal;

use crate::config::{MAX_ADVANCE_NOTICE_HOURS, ScheduleDefaults};
use crate::error::AppError;

/// The number of fields the documented cron form has (minute hour day month weekday).
const CRON_FIELDS: usize = 5;

/// The calendar fields of a request, as given; which apply depends on the frequency.
#[derive(Debug, Clone, Default)]
pub struct FrequencyEdit {
    /// daily, weekly, biweekly (or bi-weekly), monthly or custom.
    pub name: Option<String>,
    /// ISO weekday, 1 (Monday) to 7.
    pub day_of_week: Option<u32>,
    pub day_of_month: Option<u32>,
    pub anchor_date: Option<NaiveDate>,
    pub cron: Option<String>,
}

impl FrequencyEdit {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.day_of_week.is_none()
            && self.day_of_month.is_none()
            && self.anchor_date.is_none()
            && self.cron.is_none()
    }
}

/// The fields a request sets; `None` keeps the existing value, or takes the default.
#[derive(Debug, Clone, Default)]
pub struct ScheduleEdit {
    pub frequency: FrequencyEdit,
    pub time_zone: Option<Tz>,
    pub local_time: Option<NaiveTime>,
    pub currency: Option<Currency>,
    pub minimum_payout: Option<Decimal>,
    pub method: Option<PaymentMethod>,
    pub standing: Option<BarberStanding>,
    pub state: Option<ScheduleState>,
    pub auto_payout_enabled: Option<bool>,
    pub connected_account: Option<String>,
    /// `Some("")` removes it.
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub email_notifications: Option<bool>,
    pub sms_notifications: Option<bool>,
    pub advance_notice_hours: Option<u32>,
    pub hold_days: Option<u32>,
    /// 0 removes the reserve.
    pub reserve_percent: Option<u32>,
    pub reserve_days: Option<u32>,
}

/// How long a reserve is kept when a request gives its share and not its days.
pub const DEFAULT_RESERVE_DAYS: u32 = 30;

/// The longest name a notice greets a barber by.
const MAX_DISPLAY_NAME_CHARS: usize = 80;

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(message.into())
}

impl ScheduleEdit {
    /// The schedule this edit makes of `existing` (or of `defaults`, for a new one).
    pub fn apply(
        &self,
        barber_id: BarberId,
        existing: Option<&PayoutSchedule>,
        defaults: &ScheduleDefaults,
        now: DateTime<Utc>,
    ) -> Result<PayoutSchedule, AppError> {
        let calendar = self.calendar(existing.map(|s| &s.calendar), defaults, now)?;
        let currency = self
            .currency
            .or(existing.map(|s| s.currency))
            .unwrap_or(Currency::Usd);
        if existing.is_some_and(|s| s.currency != currency) {
            return Err(invalid("currency cannot change once a schedule exists"));
        }
        let minimum_payout = match (self.minimum_payout, existing) {
            (Some(amount), _) => {
                let money = Money::new(amount, currency)
                    .map_err(|e| invalid(format!("minimum_payout_amount: {e}")))?;
                if money.is_negative() {
                    return Err(invalid("minimum_payout_amount must not be negative"));
                }
                money
            }
            (None, Some(s)) => s.minimum_payout,
            (None, None) => Money::new(defaults.minimum_payout, currency)
                .map_err(|e| invalid(format!("minimum_payout_amount: {e}")))?,
        };
        let method = self
            .method
            .or(existing.map(|s| s.method))
            .unwrap_or(PaymentMethod::StripeStandard);
        let state = self
            .state
            .or(existing.map(|s| s.state))
            .unwrap_or(ScheduleState::Active);
        let mut notifications = self.notifications(existing, defaults)?;
        notifications.time_zone = calendar.time_zone;
        let keeps_cut_off = existing.is_some_and(|s| {
            s.calendar == calendar
                && !(s.state == ScheduleState::Paused && state == ScheduleState::Active)
        });
        let next_run_at = match existing {
            Some(s) if keeps_cut_off => s.next_run_at,
            Some(_) | None => calendar
                .next_run_after(now)
                .ok_or_else(|| invalid("the schedule never runs"))?,
        };
        let connected_account = self
            .connected_account
            .clone()
            .or_else(|| existing.and_then(|s| s.connected_account.clone()));
        if let Some(account) = &connected_account {
            destination(method, account)?;
        }
        Ok(PayoutSchedule {
            barber_id,
            calendar,
            currency,
            minimum_payout,
            method,
            auto_payout_enabled: self
                .auto_payout_enabled
                .or(existing.map(|s| s.auto_payout_enabled))
                .unwrap_or(true),
            state,
            standing: self
                .standing
                .or(existing.map(|s| s.standing))
                .unwrap_or(BarberStanding::Regular),
            connected_account,
            notifications,
            recurring_deductions: existing
                .map(|s| s.recurring_deductions.clone())
                .unwrap_or_default(),
            holds: self.holds(existing.map(|s| s.holds), defaults)?,
            next_run_at,
            destination_changes: existing
                .map(|s| s.destination_changes.clone())
                .unwrap_or_default(),
            version: existing.map_or(0, |s| s.version),
        })
    }

    /// The schedule's hold and reserve: what the request says over the existing ones (or the
    /// default hold, and no reserve).
    fn holds(
        &self,
        existing: Option<Holds>,
        defaults: &ScheduleDefaults,
    ) -> Result<Holds, AppError> {
        let hold_days = match self.hold_days {
            Some(days) => HoldDays::new(days).map_err(|e| invalid(e.to_string()))?,
            None => existing.map_or(defaults.hold_days, |holds| holds.hold_days),
        };
        let kept = existing.and_then(|holds| holds.reserve);
        let reserve = match (self.reserve_percent, self.reserve_days) {
            (None, None) => kept,
            (None, Some(_)) if kept.is_none() => {
                return Err(invalid(
                    "reserve_days: the schedule keeps no reserve; give reserve_percent too",
                ));
            }
            (percent, days) => Reserve::new(
                percent.or(kept.map(Reserve::percent)).unwrap_or(0),
                days.or(kept.map(Reserve::days))
                    .unwrap_or(DEFAULT_RESERVE_DAYS),
            )
            .map_err(|e| invalid(e.to_string()))?,
        };
        Ok(Holds { hold_days, reserve })
    }

    fn notifications(
        &self,
        existing: Option<&PayoutSchedule>,
        defaults: &ScheduleDefaults,
    ) -> Result<NotificationPrefs, AppError> {
        let old = existing
            .map(|s| s.notifications.clone())
            .unwrap_or(NotificationPrefs {
                email_notifications: true,
                advance_notice_hours: defaults.advance_notice_hours,
                ..NotificationPrefs::default()
            });
        if let Some(name) = &self.display_name {
            input::free_text("display_name", name, MAX_DISPLAY_NAME_CHARS)
                .map_err(|e| invalid(e.to_string()))?;
        }
        if let Some(email) = &self.email {
            input::email(email).map_err(|e| invalid(e.to_string()))?;
        }
        if let Some(phone) = &self.phone {
            input::phone_e164(phone).map_err(|e| invalid(e.to_string()))?;
        }
        let notifications = NotificationPrefs {
            display_name: match self.display_name.as_deref().map(str::trim) {
                Some("") => None,
                Some(name) => Some(name.to_string()),
                None => old.display_name,
            },
            email: self.email.clone().or(old.email),
            phone: self.phone.clone().or(old.phone),
            email_notifications: self.email_notifications.unwrap_or(old.email_notifications),
            sms_notifications: self.sms_notifications.unwrap_or(old.sms_notifications),
            advance_notice_hours: self
                .advance_notice_hours
                .unwrap_or(old.advance_notice_hours),
            time_zone: old.time_zone,
        };
        if notifications.advance_notice_hours > MAX_ADVANCE_NOTICE_HOURS {
            return Err(invalid(format!(
                "advance_notice_hours must be at most {MAX_ADVANCE_NOTICE_HOURS} (two weeks)"
            )));
        }
        Ok(notifications)
    }

    fn calendar(
        &self,
        existing: Option<&Calendar>,
        defaults: &ScheduleDefaults,
        now: DateTime<Utc>,
    ) -> Result<Calendar, AppError> {
        let time_zone = self
            .time_zone
            .or(existing.map(|c| c.time_zone))
            .unwrap_or(chrono_tz::UTC);
        let local_time = self
            .local_time
            .or(existing.map(|c| c.local_time))
            .unwrap_or(defaults.local_time);
        let frequency = match (existing, self.frequency.is_empty()) {
            (Some(c), true) => c.frequency.clone(),
            (existing, _) => {
                let name = self
                    .frequency
                    .name
                    .clone()
                    .or_else(|| existing.map(|c| c.frequency.name().to_string()))
                    .ok_or_else(|| invalid("frequency is required"))?;
                self.frequency
                    .build(&name, now.with_timezone(&time_zone).date_naive())?
            }
        };
        Ok(Calendar {
            frequency,
            time_zone,
            local_time,
        })
    }
}

impl FrequencyEdit {
    /// The frequency `name` with these fields; a biweekly anchor and a monthly day default to
    /// `today`'s.
    fn build(&self, name: &str, today: NaiveDate) -> Result<Frequency, AppError> {
        self.refuse_foreign_fields(name)?;
        let day_of_week = |required_by: &str| {
            let day = self.day_of_week.ok_or_else(|| {
                invalid(format!("day_of_week (1-7) is required for {required_by}"))
            })?;
            weekday_from_iso(day).map_err(|e| invalid(e.to_string()))
        };
        match name {
            "daily" => Ok(Frequency::Daily),
            "weekly" => Ok(Frequency::Weekly {
                day_of_week: day_of_week("weekly")?,
            }),
            "biweekly" | "bi-weekly" => Ok(Frequency::Biweekly {
                day_of_week: day_of_week("biweekly")?,
                anchor: self.anchor_date.unwrap_or(today),
            }),
            "monthly" => {
                let day = self.day_of_month.unwrap_or_else(|| today.day());
                Ok(Frequency::Monthly {
                    day_of_month: DayOfMonth::new(day).map_err(|e| invalid(e.to_string()))?,
                })
            }
            "custom" => {
                let pattern = self
                    .cron
                    .as_deref()
                    .ok_or_else(|| invalid("cron is required for a custom frequency"))?;
                if pattern.split_whitespace().count() != CRON_FIELDS {
                    return Err(invalid(
                        "cron must have five fields: minute hour day-of-month month day-of-week",
                    ));
                }
                Ok(Frequency::Custom {
                    cron: Box::new(CronExpr::parse(pattern).map_err(|e| invalid(e.to_string()))?),
                })
            }
            other => Err(invalid(format!(
                "unknown frequency `{other}` (expected daily, weekly, biweekly, monthly or custom)"
            ))),
        }
    }

    /// Refuses a calendar field the frequency does not use, rather than dropping it silently.
    fn refuse_foreign_fields(&self, name: &str) -> Result<(), AppError> {
        let uses: &[&str] = match name {
            "weekly" => &["day_of_week"],
            "biweekly" | "bi-weekly" => &["day_of_week", "anchor_date"],
            "monthly" => &["day_of_month"],
            "custom" => &["cron"],
            _ => &[],
        };
        let given = [
            ("day_of_week", self.day_of_week.is_some()),
            ("day_of_month", self.day_of_month.is_some()),
            ("anchor_date", self.anchor_date.is_some()),
            ("cron", self.cron.is_some()),
        ];
        match given
            .iter()
            .find(|(field, present)| *present && !uses.contains(field))
        {
            Some((field, _)) => Err(invalid(format!(
                "{field} does not apply to a {name} schedule"
            ))),
            None => Ok(()),
        }
    }
}

/// Stripe methods pay a connected account (`acct_...`); bank transfers and manual payments
/// name the operator's reference for the barber's bank account, in the id alphabet.
fn destination(method: PaymentMethod, account: &str) -> Result<(), AppError> {
    match method {
        PaymentMethod::StripeStandard | PaymentMethod::StripeInstant => {
            input::connected_account(account).map_err(|e| invalid(e.to_string()))
        }
        PaymentMethod::BankTransfer | PaymentMethod::Manual => {
            BarberId::parse(account).map(drop).map_err(|e| {
                invalid(format!(
                    "connected_account_id (the bank account reference) {}",
                    e.reason
                ))
            })
        }
    }
}
