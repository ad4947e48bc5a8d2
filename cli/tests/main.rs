//! The `payouts` binary driven as a user runs it, one test binary:
//!
//! - [`demo`]: `payouts demo --json`, no duplicate payment, every cent conserved.
//! - [`books`]: a barber's year and the tax year, payouts out as CSV and journal lines, earnings
//!   in as CSV and through `payouts import earnings`.
//! - [`approvals`]: payouts waiting for a second operator: who may approve, paid once.
//! - [`config`]: configuration checked and shown; `serve`'s refusals.
//! - [`first_hour`]: the README's quick start run as written, and a first hour's mistakes.
//! - [`hostile`]: an attacker's probe against `payouts serve`.
//! - [`notices`]: the completed notice by email (SMTP sink) and SMS (provider fake).
//! - [`readiness`]: payouts to an account Stripe will not pay wait on hold, paid once it is
//!   ready.
//! - [`holds`]: an earning is paid once its schedule's hold has passed, a new barber's first
//!   payout waits, a reserve is kept, a refund taken from it and the rest released a month on.
//! - [`instant`]: an instant payout over a daily cap is paid standard, with the standard fee.
//! - [`priority`]: low priority waits only on a loaded system, and at most `max_wait`.
//! - [`rate_limits`]: 2,000 barbers due at once paid once within Stripe's rate limits.
//! - [`operations`]: a stop signal mid-batch, a second server refused, backup and restore.
//! - [`statements`]: a payout's statement as a page and as CSV, a barber's own only.
//! - [`sign_in`]: `payouts serve` with an OIDC issuer's keys: which tokens pass.
//! - [`tips`]: the brief's example with a tip (net $707.25), refunded with its booking.
//! - [`stripe`]: `payouts serve` on Stripe (the project's fake) through its faults, paying once.
//! - [`webhooks_out`]: payout events to a webhook receiver, signed, redelivered after a 500.
//! - [`crash`]: `payouts serve` killed mid-batch and restarted pays each payout once.
//! - [`lifecycle`]: the payout's life at its seams on Stripe: a failed payout stays failed, a
//!   slow answer is recorded when it came, a hung lookup holds up no planning.

mod approvals;
mod books;
mod config;
mod crash;
mod demo;
mod first_hour;
mod holds;
mod hostile;
mod instant;
mod lifecycle;
mod notices;
mod operations;
mod priority;
mod rate_limits;
mod readiness;
mod sign_in;
mod statements;
mod stripe;
mod tips;
mod webhooks_out;
