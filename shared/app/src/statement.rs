//! A payout's statement: what it paid and why, line by line, for the barber and the shop's
//! accountant. Every earning it claims (date, service, amount), the commission and bonus, each
//! deduction, the fee and the net, the method and the provider's reference: a printable HTML
//! page and the same lines as CSV. Read from the payout and the earnings it claims (one query
//! on the claim's index), so it agrees with the payout to the cent.

use chrono::{DateTime, Utc};
use minijinja::context;
use payout_core::ledger::{Earning, EarningKind};
use payout_core::method::PaymentMethod;
use payout_core::money::Money;
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;

use crate::bank_export::spreadsheet_safe;
use crate::error::AppError;
use crate::notify::{deduction_label, method_label};
use crate::services::Services;

/// What a statement shows.
#[derive(Debug, Clone)]
pub struct Statement {
    pub shop: String,
    pub barber_name: String,
    pub payout: Payout,
    pub earnings: Vec<Earning>,
}

/// One line of a statement, as the CSV has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// `earning`, `tip`, `commission`, `tips_kept`, `bonus`, `deduction`, `fee` or `net`.
    pub kind: &'static str,
    /// When the service was performed (earnings only).
    pub date: Option<DateTime<Utc>>,
    pub description: String,
    /// What the line is worth, signed as it counts towards the net (earnings at their gross,
    /// which the commission line brings to the barber's share).
    pub amount: Money,
}

/// The statement of `payout` (which the caller may see).
pub async fn statement(p: &Services, payout: Payout) -> Result<Statement, AppError> {
    let earnings = p.store.earnings_of_payout(&payout.id).await?;
    let barber_name = p
        .store
        .get_schedule(&payout.barber_id)
        .await?
        .and_then(|schedule| schedule.notifications.display_name)
        .unwrap_or_else(|| payout.barber_id.to_string());
    Ok(Statement {
        shop: p.config.shop_name.clone(),
        barber_name,
        payout,
        earnings,
    })
}

impl Statement {
    /// The period's lines: each earning and tip, the shop's commission (what the barber does
    /// not keep of the gross), the shop's share of the tips, the bonus, each deduction, the
    /// fee; then the net. They add up to it.
    pub fn lines(&self) -> Result<Vec<StatementLine>, AppError> {
        let b = &self.payout.breakdown;
        let line = |kind, description: String, amount| StatementLine {
            kind,
            date: None,
            description,
            amount,
        };
        let mut lines: Vec<StatementLine> = self
            .earnings
            .iter()
            .map(|earning| match earning.kind {
                EarningKind::Service => StatementLine {
                    kind: "earning",
                    date: Some(earning.occurred_at),
                    description: earning.service.clone(),
                    amount: earning.amount,
                },
                EarningKind::Tip => StatementLine {
                    kind: "tip",
                    date: Some(earning.occurred_at),
                    description: format!("tip: {}", earning.service),
                    amount: earning.amount,
                },
            })
            .collect();
        let kept_by_shop = b.gross.checked_sub(b.commission)?;
        lines.push(line(
            "commission",
            format!(
                "the shop's share (the barber's commission is {})",
                b.commission_rate
            ),
            minus(kept_by_shop),
        ));
        if let Some(tips) = b.tips.filter(|tips| tips.paid != tips.received) {
            lines.push(line(
                "tips_kept",
                format!("the shop's share of the tips (yours is {})", tips.share),
                minus(tips.received.checked_sub(tips.paid)?),
            ));
        }
        if b.bonus.is_positive() {
            lines.push(line("bonus", "volume bonus".into(), b.bonus));
        }
        for deduction in &b.deductions {
            let label = deduction_label(deduction);
            let description = match deduction.description.trim() {
                said if said.is_empty() || label.contains(said) => label,
                said => format!("{label}: {said}"),
            };
            lines.push(line("deduction", description, minus(deduction.amount)));
        }
        let (method, _) = method_label(self.payout.method);
        lines.push(line("fee", format!("{method} fee"), minus(b.fee)));
        lines.push(line("net", "net payout".into(), b.net));
        Ok(lines)
    }

    /// The statement as CSV: a header, then each line; text a spreadsheet would run as a
    /// formula is neutralised.
    pub fn csv(&self) -> Result<String, AppError> {
        let failed = |e: &dyn std::fmt::Display| AppError::Invalid(format!("statement: {e}"));
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record([
                "payout_id",
                "line",
                "date",
                "description",
                "amount",
                "currency",
            ])
            .map_err(|e| failed(&e))?;
        for line in self.lines()? {
            let date = line.date.map(|at| at.to_rfc3339()).unwrap_or_default();
            writer
                .write_record([
                    self.payout.id.as_str(),
                    line.kind,
                    &date,
                    &spreadsheet_safe(&line.description),
                    &line.amount.amount().to_string(),
                    line.amount.currency().code(),
                ])
                .map_err(|e| failed(&e))?;
        }
        let bytes = writer.into_inner().map_err(|e| failed(&e))?;
        String::from_utf8(bytes).map_err(|e| failed(&e))
    }

    /// The statement as a printable HTML page (escaped by the template engine).
    pub fn html(&self) -> Result<String, AppError> {
        let p = &self.payout;
        let b = &p.breakdown;
        let lines = self.lines()?;
        let rows: Vec<_> = lines
            .iter()
            .map(|line| {
                context! {
                    kind => line.kind,
                    date => line.date.map(|at| at.format("%Y-%m-%d").to_string()),
                    description => &line.description,
                    amount => line.amount.formatted(),
                }
            })
            .collect();
        let period_start = self.earnings.first().map(|e| e.occurred_at);
        let period = match period_start {
            Some(start) => format!(
                "{} to {}",
                start.format("%Y-%m-%d"),
                p.cutoff.format("%Y-%m-%d")
            ),
            None => format!("to {}", p.cutoff.format("%Y-%m-%d")),
        };
        template()
            .render(context! {
                shop => &self.shop,
                barber => &self.barber_name,
                named => self.barber_name != p.barber_id.as_str(),
                barber_id => p.barber_id.as_str(),
                payout_id => p.id.as_str(),
                period => period,
                status => p.status.as_str().replace('_', " "),
                paid => paid(p),
                owed => b.net.is_negative().then(|| b.net.negate().formatted()),
                failure => &p.failure_reason,
                method => method_label(p.paid_by()).0,
                method_note => &p.method_note,
                // Only a provider's transfer is a reference to look up; an offline handover's
                // id is the payout's own.
                reference => matches!(
                    p.paid_by(),
                    PaymentMethod::StripeStandard | PaymentMethod::StripeInstant
                )
                .then_some(&p.transfer_id),
                services => b.service_count,
                gross => b.gross.formatted(),
                tips => b.tips.map(|tips| tips.received.formatted()),
                rate => b.commission_rate.to_string(),
                commission => b.commission.formatted(),
                net => b.net.formatted(),
                lines => rows,
                reserve_until => b.reserve_until.map(|at| at.format("%Y-%m-%d").to_string()),
            })
            .map_err(|e| AppError::Invalid(format!("statement: {e}")))
    }
}

/// `amount` taken from the net: negated, a zero staying zero (never `-0.00`).
fn minus(amount: Money) -> Money {
    match amount.amount().is_zero() {
        true => Money::zero(amount.currency()),
        false => amount.negate(),
    }
}

/// Whether the payout's money has left: in transit or arrived.
fn paid(payout: &Payout) -> bool {
    matches!(
        payout.status,
        PayoutStatus::InTransit | PayoutStatus::Completed
    )
}

fn template() -> minijinja::Template<'static, 'static> {
    static ENV: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_template(
            "statement.html",
            include_str!("../templates/statement.html"),
        )
        .expect("the bundled statement template is valid");
        env
    })
    .get_template("statement.html")
    .expect("registered above")
}
