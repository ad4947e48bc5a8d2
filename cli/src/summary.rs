//! The demo's human-readable summary.

use std::fmt::Write;
use std::time::Duration;

use payout_local::demo::DemoReport;

pub fn render(r: &DemoReport, elapsed: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Simulated {} barbers over {} weeks ({} to {}) in {:.2}s, seed {}",
        r.barbers,
        r.weeks,
        &r.simulated_from[..10],
        &r.simulated_to[..10],
        elapsed.as_secs_f64(),
        r.seed
    );
    let _ = writeln!(
        out,
        "\nEarnings: {} services, ${}",
        r.earnings, r.earnings_total
    );
    let _ = writeln!(
        out,
        "\nPaid {} payouts: completed, or in transit (the rail accepted them; bank and instant \
         payouts complete when they land).",
        r.payouts_paid
    );
    let _ = writeln!(out, "\nPayouts by status:");
    for (status, count) in &r.payouts_by_status {
        let _ = writeln!(out, "  {status:<16} {count:>8}");
    }
    let _ = writeln!(
        out,
        "\nPaid by method:        payouts          net         fees"
    );
    for (method, m) in &r.payouts_by_method {
        let _ = writeln!(
            out,
            "  {method:<18} {:>9} {:>12} {:>12}",
            m.payouts, m.net, m.fees
        );
    }
    let lines = [
        ("gross of payouts", &r.payout_gross_total),
        ("  shop share", &r.shop_share_total),
        ("  deductions", &r.deductions_total),
        ("  fees", &r.fees_total),
        ("  net to barbers", &r.net_total),
        ("net paid (store)", &r.net_paid_total),
        ("net paid (rail ledger)", &r.rail_paid_total),
        ("open earnings carried forward", &r.open_earnings_total),
        ("open deductions", &r.open_deductions_total),
        ("balances owed carried forward", &r.balance_owed_carried),
    ];
    let _ = writeln!(out, "\nMoney (USD):");
    for (label, value) in lines {
        let _ = writeln!(out, "  {label:<32} {value:>14}");
    }
    let _ = writeln!(
        out,
        "\nRetries: {}   failed for good: {}   still in flight: {}   below-minimum periods: {}   periods settled with a balance owed: {}",
        r.retries,
        r.payouts_failed,
        r.payouts_in_flight,
        r.below_minimum_periods,
        r.settled_with_balance_owed
    );
    let _ = writeln!(
        out,
        "Duplicate payments (rail ledger): {}   identities hold: {}",
        r.duplicate_payments,
        if r.identities_hold { "yes" } else { "NO" }
    );
    out
}
