//! The JSON contract: request bodies as clients send them and records as clients see them.
//! Domain types never cross the wire directly, so the contract changes only here.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use payout_core::calendar::{Calendar, Frequency};
use payout_core::deduction::DeductionLine;
use payout_core::ledger::{Deduction, Earning};
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::payout::{AuditEvent, Payout};
use payout_core::schedule::{PayoutSchedule, ScheduleState};
use payout_core::status::PayoutStatus;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A decimal amount sent as a string (`"12.50"`) or a JSON number (`12.5`); never a float
/// inside: the number's text is parsed as a decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(value_type = String, example = "12.50")]
pub struct Amount(pub Decimal);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DecimalText;
        impl serde::de::Visitor<'_> for DecimalText {
            type Value = String;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a decimal amount, as a string (\"12.50\") or a number")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<String, E> {
                Ok(text.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<String, E> {
                Ok(number.to_string())
            }
            fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<String, E> {
                Ok(number.to_string())
            }
            // serde_json writes a float back as the shortest text that reads as the same
            // float: the digits the client sent, for any amount with up to 15 of them.
            fn visit_f64<E: serde::de::Error>(self, number: f64) -> Result<String, E> {
                Ok(serde_json::Number::from_f64(number)
                    .map_or_else(|| number.to_string(), |n| n.to_string()))
            }
        }
        let text = deserializer.deserialize_any(DecimalText)?;
        Decimal::from_str_exact(text.trim())
            .or_else(|_| Decimal::from_scientific(text.trim()))
            .map(Amount)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a decimal amount; expected one like \"12.50\""
                ))
            })
    }
}

/// An id sent as a string or as a whole number (`"barber_id": 123`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(value_type = String, example = "123")]
pub struct IdText(pub String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        payout_core::ids::text_or_whole_number(deserializer).map(IdText)
    }
}

pub fn money_text(money: Money) -> String {
    money.amount().to_string()
}

/// A schedule as created (`POST`) or changed (`PUT`, every field optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Required on create; must match the path on update when given.
    pub barber_id: Option<IdText>,
    /// daily, weekly, biweekly, monthly or custom.
    #[schema(example = "weekly")]
    pub frequency: Option<String>,
    /// 1 (Monday) to 7 (Sunday); weekly and biweekly.
    #[schema(example = 5, minimum = 1, maximum = 7)]
    pub day_of_week: Option<u32>,
    /// 1 to 31, clamped to the month's last day; monthly.
    #[schema(minimum = 1, maximum = 31)]
    pub day_of_month: Option<u32>,
    /// A date in a paying week; biweekly (default: the week of creation).
    pub anchor_date: Option<NaiveDate>,
    /// Five-field cron expression in the schedule's time zone; custom.
    pub cron: Option<String>,
    /// IANA time zone (default UTC).
    #[schema(example = "America/New_York")]
    pub time_zone: Option<String>,
    /// Local time of day of the cut-off, HH:MM (default 17:00).
    #[schema(example = "17:00")]
    pub local_time: Option<String>,
    pub minimum_payout_amount: Option<Amount>,
    /// ISO 4217 code (default USD).
    pub currency: Option<String>,
    pub auto_payout_enabled: Option<bool>,
    pub email_notifications: Option<bool>,
    pub sms_notifications: Option<bool>,
    /// stripe (standard), stripe_instant, bank_transfer or manual.
    #[schema(example = "stripe")]
    pub preferred_payment_method: Option<String>,
    pub advance_notice_hours: Option<u32>,
    /// What notices call the barber ("Hi Marco"), up to 80 characters; "" removes it.
    #[schema(example = "Marco")]
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The barber's Stripe connected account (acct_...).
    pub connected_account_id: Option<String>,
    /// new, regular or top (priority scoring).
    pub standing: Option<String>,
    /// active or paused.
    pub status: Option<String>,
    /// Days after the service an earning becomes payable, 0-30 (default
    /// `[schedules] default_hold_days`). Operators only.
    pub hold_days: Option<u32>,
    /// Share of each payout's net kept back as a rolling reserve, 0-50 (0 removes it).
    /// Operators only.
    pub reserve_percent: Option<u32>,
    /// Days a reserve is kept before a payout releases it, 1-365 (default 30). Operators only.
    pub reserve_days: Option<u32>,
}

/// A calendar as its wire fields; the ones its frequency does not use are null.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarFields {
    pub frequency: String,
    pub day_of_week: Option<u32>,
    pub day_of_month: Option<u32>,
    pub anchor_date: Option<NaiveDate>,
    pub cron: Option<String>,
    pub time_zone: String,
    pub local_time: String,
}

impl From<&Calendar> for CalendarFields {
    fn from(c: &Calendar) -> Self {
        let (day_of_week, day_of_month, anchor_date, cron) = match &c.frequency {
            Frequency::Daily => (None, None, None, None),
            Frequency::Weekly { day_of_week } => {
                (Some(day_of_week.number_from_monday()), None, None, None)
            }
            Frequency::Biweekly {
                day_of_week,
                anchor,
            } => (
                Some(day_of_week.number_from_monday()),
                None,
                Some(*anchor),
                None,
            ),
            Frequency::Monthly { day_of_month } => {
                (None, Some(u32::from(*day_of_month)), None, None)
            }
            Frequency::Custom { cron } => (None, None, None, Some(cron.as_str().to_string())),
        };
        Self {
            frequency: c.frequency.name().to_string(),
            day_of_week,
            day_of_month,
            anchor_date,
            cron,
            time_zone: c.time_zone.name().to_string(),
            local_time: c.local_time.format("%H:%M").to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleView {
    pub barber_id: String,
    #[serde(flatten)]
    pub calendar: CalendarFields,
    pub minimum_payout_amount: String,
    pub currency: String,
    pub auto_payout_enabled: bool,
    pub email_notifications: bool,
    pub sms_notifications: bool,
    pub preferred_payment_method: String,
    pub advance_notice_hours: u32,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub connected_account_id: Option<String>,
    pub standing: String,
    pub status: String,
    pub recurring_deductions: Vec<DeductionView>,
    /// Days after the service an earning becomes payable.
    pub hold_days: u32,
    /// The rolling reserve kept of each payout's net, when the schedule keeps one.
    pub reserve_percent: Option<u32>,
    pub reserve_days: Option<u32>,
    pub next_run_at: DateTime<Utc>,
    /// Who changed where the money goes, and when (latest 20, oldest first).
    pub destination_changes: Vec<DestinationChangeView>,
    /// Why the planner could not plan this barber, when it could not (read one schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planning_failure: Option<payout_app::health::PlanningFailureView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DestinationChangeView {
    pub at: DateTime<Utc>,
    /// `operator:<subject>` or `barber:<id>`.
    pub actor: String,
    pub preferred_payment_method: String,
    pub previous_payment_method: Option<String>,
    pub connected_account_id: Option<String>,
    pub previous_connected_account_id: Option<String>,
}

impl From<&PayoutSchedule> for ScheduleView {
    fn from(s: &PayoutSchedule) -> Self {
        Self {
            barber_id: s.barber_id.to_string(),
            calendar: CalendarFields::from(&s.calendar),
            minimum_payout_amount: money_text(s.minimum_payout),
            currency: s.currency.to_string(),
            auto_payout_enabled: s.auto_payout_enabled,
            email_notifications: s.notifications.email_notifications,
            sms_notifications: s.notifications.sms_notifications,
            preferred_payment_method: s.method.to_string(),
            advance_notice_hours: s.notifications.advance_notice_hours,
            display_name: s.notifications.display_name.clone(),
            email: s.notifications.email.clone(),
            phone: s.notifications.phone.clone(),
            connected_account_id: s.connected_account.clone(),
            standing: s.standing.to_string(),
            status: match s.state {
                ScheduleState::Active => "active",
                ScheduleState::Paused => "paused",
            }
            .to_string(),
            recurring_deductions: s
                .recurring_deductions
                .iter()
                .map(|r| DeductionView {
                    deduction_id: r.id.to_string(),
                    barber_id: s.barber_id.to_string(),
                    kind: r.kind.to_string(),
                    amount: money_text(r.amount),
                    currency: r.amount.currency().to_string(),
                    description: r.description.clone(),
                    recurring: true,
                    recorded_at: None,
                })
                .collect(),
            hold_days: s.holds.hold_days.days(),
            reserve_percent: s.holds.reserve.map(|r| r.percent()),
            reserve_days: s.holds.reserve.map(|r| r.days()),
            next_run_at: s.next_run_at,
            destination_changes: s
                .destination_changes
                .iter()
                .map(|c| DestinationChangeView {
                    at: c.at,
                    actor: c.actor.clone(),
                    preferred_payment_method: c.method.to_string(),
                    previous_payment_method: c.previous_method.map(|m| m.to_string()),
                    connected_account_id: c.account.clone(),
                    previous_connected_account_id: c.previous_account.clone(),
                })
                .collect(),
            planning_failure: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarningBody {
    pub earning_id: IdText,
    pub barber_id: IdText,
    /// Positive; at most the currency's decimals.
    pub amount: Amount,
    /// ISO 4217 (default USD).
    pub currency: Option<String>,
    /// When the service was performed, RFC 3339 (`2026-12-05T14:30:00Z`).
    #[serde(deserialize_with = "payout_core::input::rfc3339")]
    pub occurred_at: DateTime<Utc>,
    /// What was performed (`haircut`).
    pub service: String,
    /// `service` (the default) or `tip`: a tip a client left for the service, paid at
    /// `[commission] tip_share` and counted in no tier, service count or volume bonus.
    #[serde(default)]
    pub kind: Option<String>,
}

/// One earning, or a batch of up to 500 (all or nothing).
#[derive(Debug, Clone, ToSchema)]
// For the OpenAPI schema (one of the two); reading is the `Deserialize` below.
#[serde(untagged)]
pub enum EarningsBody {
    Batch(Vec<EarningBody>),
    One(EarningBody),
}

/// An array is a batch, an object one earning; an error names the field and, in a batch, the
/// earning's index (`[3].occurred_at: ...`), where an untagged enum would only say that
/// nothing matched.
impl<'de> Deserialize<'de> for EarningsBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let at = |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            match path.as_str() {
                "." => D::Error::custom(inner),
                _ => D::Error::custom(format!("{path}: {inner}")),
            }
        };
        match value {
            serde_json::Value::Array(_) => serde_path_to_error::deserialize(value)
                .map(EarningsBody::Batch)
                .map_err(at),
            serde_json::Value::Object(_) => serde_path_to_error::deserialize(value)
                .map(EarningsBody::One)
                .map_err(at),
            other => Err(D::Error::custom(format!(
                "expected an earning (an object) or a batch of them (an array), found {}",
                match other {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Number(_) => "a number",
                    _ => "a string",
                }
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EarningView {
    pub earning_id: String,
    pub barber_id: String,
    pub amount: String,
    pub currency: String,
    pub occurred_at: DateTime<Utc>,
    pub service: String,
    /// service or tip.
    pub kind: String,
    pub recorded_at: DateTime<Utc>,
    /// created, or duplicate when this id was recorded before with the same content.
    pub outcome: String,
}

impl EarningView {
    pub fn new(e: &Earning, outcome: &str) -> Self {
        Self {
            earning_id: e.id.to_string(),
            barber_id: e.barber_id.to_string(),
            amount: money_text(e.amount),
            currency: e.amount.currency().to_string(),
            occurred_at: e.occurred_at,
            service: e.service.clone(),
            kind: e.kind.as_str().to_string(),
            recorded_at: e.recorded_at,
            outcome: outcome.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EarningsBatchView {
    pub earnings: Vec<EarningView>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeductionBody {
    /// Optional idempotency id; one is derived from the content when absent.
    pub deduction_id: Option<IdText>,
    pub barber_id: IdText,
    /// booth_rent, supply_fee or other.
    pub kind: String,
    pub amount: Amount,
    pub currency: Option<String>,
    #[serde(default)]
    pub description: String,
    /// When true, charged at every scheduled period from now on.
    #[serde(default)]
    pub recurring: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeductionView {
    pub deduction_id: String,
    pub barber_id: String,
    pub kind: String,
    pub amount: String,
    pub currency: String,
    pub description: String,
    pub recurring: bool,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl From<&Deduction> for DeductionView {
    fn from(d: &Deduction) -> Self {
        Self {
            deduction_id: d.id.to_string(),
            barber_id: d.barber_id.to_string(),
            kind: d.kind.to_string(),
            amount: money_text(d.amount),
            currency: d.amount.currency().to_string(),
            description: d.description.clone(),
            recurring: false,
            recorded_at: Some(d.recorded_at),
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualPayoutBody {
    pub barber_id: IdText,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingBody {
    /// Required: where the provider sends the barber when onboarding is done.
    #[schema(example = "https://shop.example/barbers/123/payouts/done")]
    pub return_url: String,
    /// Required: where it sends them when the link has expired (a page that asks for a new
    /// one).
    #[schema(example = "https://shop.example/barbers/123/payouts/onboard")]
    pub refresh_url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnboardingView {
    pub barber_id: String,
    pub account_id: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// The bank's or the operator's reference for the payment.
    pub reference: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeductionLineView {
    pub deduction_id: String,
    pub kind: String,
    pub amount: String,
    pub description: String,
}

impl From<&DeductionLine> for DeductionLineView {
    fn from(line: &DeductionLine) -> Self {
        Self {
            deduction_id: line.id.to_string(),
            kind: line.kind.to_string(),
            amount: money_text(line.amount),
            description: line.description.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayoutView {
    pub id: String,
    pub barber_id: String,
    /// awaiting_approval, on_hold, scheduled, queued, processing, retry_scheduled, in_transit,
    /// completed, failed, cancelled.
    pub status: String,
    /// How it is paid: stripe_standard, stripe_instant, bank_transfer or manual.
    pub method: String,
    /// Why the money did not go by the barber's own method: an instant payout that would pass
    /// an `[instant]` daily cap is paid as a standard transfer with the standard fee (`method`
    /// is then `stripe_standard`); one Stripe refused to pay instantly went to the bank as a
    /// standard payout, the fee difference given back in the next payout (`fee_credit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method_note: Option<String>,
    /// The barber's connected account the payout pays, as it was when the payout was planned.
    pub destination: Option<String>,
    pub gross_amount: String,
    pub service_count: u32,
    /// A fraction, e.g. "0.72".
    pub commission_rate: String,
    pub commission_amount: String,
    pub bonus_amount: String,
    /// The tips clients left in the period (not in `gross_amount`), and what of them the
    /// barber is paid (`[commission] tip_share`).
    pub tips_amount: String,
    pub tips_paid_amount: String,
    pub deductions: Vec<DeductionLineView>,
    pub deductions_total: String,
    pub fee_amount: String,
    pub net_amount: String,
    pub shop_share_amount: String,
    pub currency: String,
    pub trigger: String,
    pub cutoff: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When the rail accepted the transfer (processing time ends here).
    pub accepted_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    pub attempts: u32,
    pub transfer_id: Option<String>,
    /// What a failed payout left at the provider, and what an operator may do about it
    /// (`POST /payouts/{id}/left-behind`); absent unless the payout failed after its transfer
    /// was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_behind: Option<LeftBehindView>,
    /// When the reserve this payout keeps (its `reserve` deduction line) is released: the
    /// first payout after it gives it back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_until: Option<DateTime<Utc>>,
}

/// A failed payout's transfer that stands at the provider: a failed instant payout leaves the
/// money in the barber's Stripe balance, not in their bank and not back in the platform's.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeftBehindView {
    pub transfer_id: String,
    pub amount: String,
    pub held_in: String,
    /// pay_out_instant, pay_out_standard, settled_by_hand (with a reference).
    pub actions: Vec<String>,
}

impl LeftBehindView {
    fn of(p: &Payout) -> Option<Self> {
        let on_stripe = matches!(
            p.method,
            PaymentMethod::StripeStandard | PaymentMethod::StripeInstant
        );
        let transfer_id = p.transfer_id.clone()?;
        (p.status == PayoutStatus::Failed && on_stripe).then(|| Self {
            transfer_id,
            amount: money_text(p.breakdown.net),
            held_in: "the barber's Stripe balance".to_string(),
            actions: ["pay_out_instant", "pay_out_standard", "settled_by_hand"]
                .map(String::from)
                .to_vec(),
        })
    }
}

/// What to do with what a failed payout left at the provider.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeftBehindBody {
    /// pay_out_instant, pay_out_standard or settled_by_hand.
    pub action: String,
    /// How it reached the barber (settled_by_hand only).
    #[serde(default)]
    pub reference: Option<String>,
}

impl From<&Payout> for PayoutView {
    fn from(p: &Payout) -> Self {
        let b = &p.breakdown;
        Self {
            id: p.id.to_string(),
            barber_id: p.barber_id.to_string(),
            status: p.status.to_string(),
            method: p.method.to_string(),
            method_note: p.method_note.clone(),
            destination: p.destination.clone(),
            gross_amount: money_text(b.gross),
            service_count: b.service_count,
            commission_rate: b.commission_rate.fraction().to_string(),
            commission_amount: money_text(b.commission),
            bonus_amount: money_text(b.bonus),
            tips_amount: money_text(b.tips_received()),
            tips_paid_amount: money_text(b.tips_paid()),
            deductions: b.deductions.iter().map(DeductionLineView::from).collect(),
            deductions_total: money_text(b.deductions_total),
            fee_amount: money_text(b.fee),
            net_amount: money_text(b.net),
            shop_share_amount: money_text(b.shop_share),
            currency: b.gross.currency().to_string(),
            trigger: match &p.trigger {
                payout_core::payout::PayoutTrigger::Scheduled => "scheduled".to_string(),
                payout_core::payout::PayoutTrigger::Manual { .. } => "manual".to_string(),
            },
            cutoff: p.cutoff,
            created_at: p.created_at,
            accepted_at: p.accepted_at,
            completed_at: p.completed_at,
            next_attempt_at: p.next_attempt_at,
            failure_reason: p.failure_reason.clone(),
            attempts: p.attempts,
            transfer_id: p.transfer_id.clone(),
            left_behind: LeftBehindView::of(p),
            reserve_until: p.breakdown.reserve_until,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEventView {
    pub at: DateTime<Utc>,
    pub from: Option<String>,
    pub to: String,
    pub actor: String,
    pub reason: String,
}

impl From<&AuditEvent> for AuditEventView {
    fn from(e: &AuditEvent) -> Self {
        Self {
            at: e.at,
            from: e.from.map(|s| s.to_string()),
            to: e.to.to_string(),
            actor: e.actor.clone(),
            reason: e.reason.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayoutDetail {
    #[serde(flatten)]
    pub payout: PayoutView,
    pub audit_trail: Vec<AuditEventView>,
}

/// A page of results; pass `next_cursor` as `cursor` for the next page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PayoutListParams {
    pub barber_id: Option<String>,
    pub status: Option<String>,
    pub method: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BarberParam {
    pub barber_id: String,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsParams {
    /// Omit (operators only) for the whole marketplace.
    pub barber_id: Option<String>,
    /// 1 to 366 (default 30).
    pub days: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TestNotificationParams {
    /// completed, failed or retry_scheduled (default completed).
    pub notification_type: Option<String>,
}

/// Parses a text field of a request into a domain value, naming the field on failure.
pub fn parse_field<T: FromStr>(field: &str, raw: &str) -> Result<T, payout_app::AppError>
where
    T::Err: std::fmt::Display,
{
    raw.parse::<T>()
        .map_err(|error| payout_app::AppError::Invalid(format!("{field}: {error}")))
}
