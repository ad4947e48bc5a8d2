//! Paying only ready accounts. A destination the provider will not pay (Stripe disabled its
//! payouts, or refused it as closed, missing or invalid) is restricted: payouts to it wait on
//! hold instead of being attempted and failing, its barber is told once per restriction, and
//! once the provider says payouts are enabled again the held payouts resume by themselves.
//!
//! Resuming is a sweep, not a reaction only: the webhook lifts the restriction and sweeps at
//! once, and every planner run sweeps again, so a payout held by an executor that read the
//! restriction just before it was lifted (and that the webhook's sweep missed) is resumed by
//! the next run rather than left on hold for good.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use payout_core::method::PaymentMethod;
use payout_core::payout::Payout;
use payout_core::status::PayoutStatus;

use crate::error::AppError;
use crate::lifecycle;
use crate::notify::notify_payouts_held;
use crate::ports::{AccountRestriction, PayoutQuery, WriteOutcome};
use crate::services::Services;

/// The held payouts a sweep reads at a time.
const SWEEP_PAGE: usize = 200;

/// The account `payout` pays at the provider, when it pays through one (Stripe).
pub fn provider_account(payout: &Payout) -> Option<&str> {
    match payout.method {
        PaymentMethod::StripeStandard | PaymentMethod::StripeInstant => {
            payout.destination.as_deref()
        }
        PaymentMethod::BankTransfer | PaymentMethod::Manual => None,
    }
}

/// The restrictions of the accounts `payouts` pay, by account: one read for the lot, none when
/// no payout pays through the provider.
pub async fn restrictions_of<'a>(
    p: &Services,
    payouts: impl IntoIterator<Item = &'a Payout>,
) -> Result<HashMap<String, AccountRestriction>, AppError> {
    let accounts: Vec<String> = payouts
        .into_iter()
        .filter_map(provider_account)
        .map(str::to_string)
        .collect();
    if accounts.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(p.store
        .account_restrictions(&accounts)
        .await?
        .into_iter()
        .map(|restriction| (restriction.account.clone(), restriction))
        .collect())
}

/// Records that the provider will not pay `account` (`reason`), as it said at `as_of`; `None`
/// when it has said something newer since. An account already restricted keeps its first
/// reason.
pub async fn restrict(
    p: &Services,
    account: &str,
    reason: &str,
    now: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Option<AccountRestriction>, AppError> {
    let restriction = p
        .store
        .restrict_account(account, reason, now, as_of)
        .await?;
    match &restriction {
        Some(restriction) => {
            tracing::warn!(account, reason = %restriction.reason, "destination restricted: payouts to it wait on hold")
        }
        None => tracing::info!(account, %as_of, "an older word about the account: ignored"),
    }
    Ok(restriction)
}

/// Holds `payout` (its barber locked by the caller, read at its current version) because of
/// `restriction`: the barber is told first (once per restriction), then the hold is recorded.
pub async fn hold(
    p: &Services,
    mut payout: Payout,
    restriction: &AccountRestriction,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<WriteOutcome, AppError> {
    notify_payouts_held(p, &payout, &restriction.reason, restriction.since, now).await;
    let read_version = payout.version;
    let event = payout.hold(now, actor, &restriction.reason)?;
    let change = lifecycle::Change {
        payout,
        read_version,
        event,
        notice: None,
        figures: lifecycle::Figures::Uncounted,
    };
    lifecycle::record(p, change, now).await
}

/// Lifts `account`'s restriction, as the provider said at `as_of`, and resumes the payouts
/// held for it; how many resumed (none, with no sweep, when nothing was lifted: the planner's
/// runs sweep anyway).
pub async fn lift(
    p: &Services,
    account: &str,
    as_of: DateTime<Utc>,
    actor: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let Some(lifted) = p.store.lift_account_restriction(account, as_of).await? else {
        return Ok(0);
    };
    tracing::info!(account, reason = %lifted.reason, %actor, "destination ready again");
    resume_ready(p, actor, why, now).await
}

/// Queues again every payout on hold whose account is no longer restricted; how many.
pub async fn resume_ready(
    p: &Services,
    actor: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut query = PayoutQuery {
        status: Some(PayoutStatus::OnHold),
        ..PayoutQuery::default()
    };
    let mut resumed = 0;
    loop {
        let held = p.store.list_payouts(&query, SWEEP_PAGE).await?;
        let Some(last) = held.last() else {
            return Ok(resumed);
        };
        query.after = Some((last.created_at, last.id.clone()));
        let full = held.len() == SWEEP_PAGE;
        let restricted = restrictions_of(p, &held).await?;
        for mut payout in held {
            if provider_account(&payout).is_some_and(|account| restricted.contains_key(account)) {
                continue;
            }
            let read_version = payout.version;
            let event = payout.resume(now, actor, why)?;
            if lifecycle::queue_now(p, &payout, read_version, event, now).await?
                == WriteOutcome::Written
            {
                tracing::info!(payout_id = %payout.id, "held payout resumed");
                resumed += 1;
            }
        }
        if !full {
            return Ok(resumed);
        }
    }
}
