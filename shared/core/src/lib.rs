//! The pure payout domain: every number of the brief lives here, with no I/O and no clock.
//!
//! Time, ids and configuration are passed in, so everything in this crate is deterministic
//! and tested exhaustively (unit tests beside each module, property tests in `tests/`).
//!
//! - [`money`]: amounts with a currency, rounded once to the currency's minor unit.
//! - [`ids`]: barber, earning, deduction and payout identifiers.
//! - [`input`]: free text and contact details, checked before they are stored.
//! - [`rate`]: fractions such as commission rates and fee percentages.
//! - [`method`]: payment methods and their fees.
//! - [`commission`]: tiered commission and the volume bonus.
//! - [`deduction`]: booth rent, supply fees, other deductions and balances carried as owed.
//! - [`ledger`]: earnings and deductions as recorded.
//! - [`hold`]: earnings held after the service, and the rolling reserve of each payout.
//! - [`breakdown`]: a period's gross → commission → deductions → fee → net, and what to do with it.
//! - [`calendar`]: when a schedule runs next, in the barber's time zone.
//! - [`schedule`]: a barber's payout schedule.
//! - [`priority`]: which payouts go first, and which wait for off-peak.
//! - [`retry`]: failure classes and the 5 min / 15 min / 1 h retry ladder.
//! - [`pace`]: how fast the payment provider may be called.
//! - [`status`]: the payout state machine.
//! - [`payout`]: the payout record and its audited transitions.
//! - [`totals`]: the counts and sums kept up to date with every payout change.

pub mod breakdown;
pub mod calendar;
pub mod commission;
pub mod deduction;
pub mod hold;
pub mod ids;
pub mod input;
pub mod ledger;
pub mod method;
pub mod money;
pub mod pace;
pub mod payout;
pub mod priority;
pub mod rate;
pub mod retry;
pub mod schedule;
pub mod status;
mod text;
pub mod totals;

pub use breakdown::{PayoutBreakdown, PayoutPolicy, PeriodActivity, SettlementDecision};
pub use money::{Currency, Money, MoneyError};
