//! The Stripe Connect payment rail on async-stripe. Stripe's types stay in this crate; the rest
//! of the system sees `PaymentRail`, `TransferReceipt` and `RailError`.
//!
//! - [`rail`]: standard payouts (a Transfer to the connected account) and instant payouts (the
//!   Transfer, then an instant Payout on the connected account), each request with its own
//!   idempotency key, and the lookup by `transfer_group` that reconciliation relies on.
//! - [`errors`]: Stripe's responses mapped onto the retry policy.

pub mod errors;
pub mod rail;

pub use rail::{DEFAULT_TIMEOUT, StripeConfig, StripeRail};
