//! The statement and the summaries agree to the cent with the payouts they describe, over
//! generated ledgers: barbers with services, tips and booth rents, paid by hand in months of a
//! year on the SQLite store, then read back as statements, the barber's year and the tax year.

use std::collections::BTreeMap;

use chrono::{Datelike, TimeDelta};
use payout_app::execute::execute_payout;
use payout_app::ingest::{ingest_deduction, ingest_earnings};
use payout_app::payout_actions::manual_payout;
use payout_app::statement::statement;
use payout_app::year_summary::{PaidFigures, barber_summary, tax_year_page};
use payout_core::deduction::DeductionKind;
use payout_core::ids::{BarberId, DeductionId, EarningId};
use payout_core::ledger::{Deduction, EarningKind};
use payout_core::money::Money;
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;
use payout_local::FailurePlan;
use payout_tests::world::{World, utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// A period of one barber: services and tips (cents), a booth rent (cents) and the month
/// (1-12) it is paid in.
#[derive(Debug, Clone)]
struct Period {
    services: Vec<i64>,
    tips: Vec<i64>,
    rent: Option<i64>,
    month: u32,
}

fn period() -> impl Strategy<Value = Period> {
    (
        prop::collection::vec(1i64..50_000, 1..6),
        prop::collection::vec(1i64..5_000, 0..3),
        prop::option::of(1i64..40_000),
        1u32..=12,
    )
        .prop_map(|(services, tips, rent, month)| Period {
            services,
            tips,
            rent,
            month,
        })
}

/// Each barber's periods, paid in month order.
fn ledger() -> impl Strategy<Value = Vec<Vec<Period>>> {
    prop::collection::vec(prop::collection::vec(period(), 1..4), 1..4).prop_map(|barbers| {
        barbers
            .into_iter()
            .map(|mut periods| {
                periods.sort_by_key(|p| p.month);
                periods
            })
            .collect()
    })
}

/// The figures a month (or the year) should show: the sums over `payouts`.
fn expected(payouts: &[&Payout]) -> PaidFigures {
    let sum = |line: &dyn Fn(&Payout) -> Money| {
        payouts
            .iter()
            .map(|p| line(p).amount())
            .sum::<Decimal>()
            .round_dp(2)
            .to_string()
    };
    // A carried balance is no charge of its own; only payouts that moved money count.
    let charged = |p: &Payout| {
        p.breakdown
            .deductions
            .iter()
            .filter(|line| line.kind != DeductionKind::CarriedBalance)
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut deductions: BTreeMap<String, Decimal> = BTreeMap::new();
    for payout in payouts {
        for line in charged(payout) {
            *deductions
                .entry(line.kind.as_str().to_string())
                .or_default() += line.amount.amount();
        }
    }
    let text = |d: Decimal| {
        let mut d = d;
        d.rescale(2);
        d.to_string()
    };
    let fix = |s: String| text(s.parse().unwrap());
    PaidFigures {
        payouts: payouts
            .iter()
            .filter(|p| p.breakdown.net.is_positive())
            .count() as u64,
        gross: fix(sum(&|p| p.breakdown.gross)),
        tips: fix(sum(&|p| p.breakdown.tips_received())),
        tips_paid: fix(sum(&|p| p.breakdown.tips_paid())),
        commission: fix(sum(&|p| p.breakdown.commission)),
        bonus: fix(sum(&|p| p.breakdown.bonus)),
        deductions: deductions
            .into_iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(kind, amount)| (kind, text(amount)))
            .collect(),
        deductions_total: fix(sum(&|p| {
            charged(p)
                .iter()
                .fold(Money::zero(p.breakdown.net.currency()), |sum, line| {
                    sum.checked_add(line.amount).unwrap()
                })
        })),
        fees: fix(sum(&|p| p.breakdown.fee)),
        net_paid: fix(sum(&|p| {
            let net = p.breakdown.net;
            if net.is_positive() {
                net
            } else {
                Money::zero(net.currency())
            }
        })),
    }
}

async fn check(ledger: Vec<Vec<Period>>) {
    let world = World::new(7, FailurePlan::default(), false, std::time::Duration::ZERO);
    let p = &world.services;
    let year = 2026;
    let mut paid: BTreeMap<BarberId, Vec<Payout>> = BTreeMap::new();
    for (b, periods) in ledger.iter().enumerate() {
        let start = utc(year, 1, 1, 0, 0) - TimeDelta::days(2);
        let barber = World::open_barber(p, &format!("b{b}"), None, start).await;
        for (n, period) in periods.iter().enumerate() {
            // Noon UTC on the 10th: the same day in the barber's New York time.
            let now = utc(year, period.month, 10, 12, 0) + TimeDelta::minutes(n as i64);
            let at = now - TimeDelta::hours(1);
            let mut earnings = Vec::new();
            for (i, cents) in period.services.iter().enumerate() {
                let mut earning = World::earning(barber.as_str(), n * 100 + i, "1", at);
                earning.amount = Money::from_minor(*cents, earning.amount.currency());
                earnings.push(earning);
            }
            for (i, cents) in period.tips.iter().enumerate() {
                let mut tip = World::earning(barber.as_str(), n * 100 + 50 + i, "1", at);
                tip.id = EarningId::tip_of(&tip.id);
                tip.kind = EarningKind::Tip;
                tip.amount = Money::from_minor(*cents, tip.amount.currency());
                earnings.push(tip);
            }
            ingest_earnings(p.store.as_ref(), &earnings).await.unwrap();
            if let Some(cents) = period.rent {
                let rent = Deduction {
                    id: DeductionId::parse(format!("rent-{b}-{n}")).unwrap(),
                    barber_id: barber.clone(),
                    kind: DeductionKind::BoothRent,
                    amount: Money::from_minor(cents, earnings[0].amount.currency()),
                    description: "chair".into(),
                    recorded_at: at,
                    payable_from: None,
                };
                ingest_deduction(p.store.as_ref(), &rent).await.unwrap();
            }
            // A period whose rent passes the barber's share pays nothing: it stays open.
            let Ok(payout) = manual_payout(p, &barber, "period", "test", now).await else {
                continue;
            };
            execute_payout(p, &payout.id, "exec", now).await.unwrap();
            let payout = p.store.get_payout(&payout.id).await.unwrap().unwrap();
            assert_eq!(payout.status, PayoutStatus::Completed, "{payout:?}");
            paid.entry(barber.clone()).or_default().push(payout);
        }
    }

    for payouts in paid.values() {
        for payout in payouts {
            let statement = statement(p, payout.clone()).await.unwrap();
            let lines = statement.lines().unwrap();
            let (net, others) = lines.split_last().unwrap();
            let sum: Decimal = others.iter().map(|line| line.amount.amount()).sum();
            assert_eq!(sum, payout.breakdown.net.amount(), "{:?}", lines);
            assert_eq!(net.amount, payout.breakdown.net);
            let earned: Decimal = statement.earnings.iter().map(|e| e.amount.amount()).sum();
            assert_eq!(earned, payout.breakdown.earned().unwrap().amount());
        }
    }
    let report = tax_year_page(p, year, None, 100).await.unwrap();
    for (barber, payouts) in &paid {
        let summary = barber_summary(p, barber, year).await.unwrap();
        for month in &summary.months {
            let of_month: Vec<&Payout> = payouts
                .iter()
                .filter(|payout| {
                    let paid_at = payout.accepted_at.or(payout.completed_at).unwrap();
                    let local = paid_at.with_timezone(&payout.notifications.time_zone);
                    format!("{:04}-{:02}", local.year(), local.month()) == month.month
                })
                .collect();
            assert_eq!(
                month.figures,
                expected(&of_month),
                "{barber} {}",
                month.month
            );
        }
        let all: Vec<&Payout> = payouts.iter().collect();
        assert_eq!(summary.total, expected(&all), "{barber}");
        let row = report
            .rows
            .iter()
            .find(|row| row.barber_id == barber.as_str())
            .unwrap();
        assert_eq!(row.net_paid, summary.total.net_paid);
        assert_eq!(row.tips_paid, summary.total.tips_paid);
    }
    assert_eq!(report.rows.len(), paid.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn statements_and_summaries_agree_with_their_payouts(ledger in ledger()) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(check(ledger));
    }
}
