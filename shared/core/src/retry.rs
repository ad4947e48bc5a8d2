//! Which failures are retried, and when.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// Why a payment attempt failed, as far as the retry policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The call did not answer in time: the transfer may or may not have happened.
    Timeout,
    /// The connection failed or was reset.
    Connection,
    /// 429 from the provider.
    RateLimited,
    /// 5xx or "temporarily unavailable": the outcome is unknown.
    ProviderUnavailable,
    InvalidPaymentMethod,
    AccountNotVerified,
    /// The destination cannot receive money (closed, missing, invalid, payouts disabled): the
    /// payout waits on hold, and so does every later one to it, until the account is fixed.
    AccountUnusable,
    InsufficientPermissions,
    InvalidAmount,
    /// An idempotency key replayed with different parameters: a bug on our side.
    IdempotencyConflict,
    /// Any other refusal by the provider (a 4xx it explains in its message).
    ProviderRejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    Retryable,
    Permanent,
}

impl FailureKind {
    pub fn class(self) -> FailureClass {
        match self {
            FailureKind::Timeout
            | FailureKind::Connection
            | FailureKind::RateLimited
            | FailureKind::ProviderUnavailable => FailureClass::Retryable,
            FailureKind::InvalidPaymentMethod
            | FailureKind::AccountNotVerified
            | FailureKind::AccountUnusable
            | FailureKind::InsufficientPermissions
            | FailureKind::InvalidAmount
            | FailureKind::IdempotencyConflict
            | FailureKind::ProviderRejected => FailureClass::Permanent,
        }
    }

    /// True when the provider refused the call for its rate, having done nothing: the payout
    /// waits and tries again without using a retry (backpressure, not failure).
    pub fn is_backpressure(self) -> bool {
        self == FailureKind::RateLimited
    }

    /// True when the provider may have made the transfer even though the call failed: the
    /// rail must be asked before the payout is retried or given up.
    pub fn outcome_unknown(self) -> bool {
        match self {
            FailureKind::Timeout | FailureKind::Connection | FailureKind::ProviderUnavailable => {
                true
            }
            FailureKind::RateLimited
            | FailureKind::InvalidPaymentMethod
            | FailureKind::AccountNotVerified
            | FailureKind::AccountUnusable
            | FailureKind::InsufficientPermissions
            | FailureKind::InvalidAmount
            | FailureKind::IdempotencyConflict
            | FailureKind::ProviderRejected => false,
        }
    }

    /// A reason an operator (and the barber) can act on.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::Timeout => "the payment provider did not answer in time",
            FailureKind::Connection => "the connection to the payment provider failed",
            FailureKind::RateLimited => "the payment provider is rate limiting requests",
            FailureKind::ProviderUnavailable => "the payment provider is temporarily unavailable",
            FailureKind::InvalidPaymentMethod => {
                "the barber's payment method is invalid; ask them to update it"
            }
            FailureKind::AccountNotVerified => {
                "the barber's payout account is not verified; they must finish onboarding"
            }
            FailureKind::AccountUnusable => {
                "the barber's payout account cannot receive money; they must update it"
            }
            FailureKind::InsufficientPermissions => {
                "the platform is not permitted to pay this account"
            }
            FailureKind::InvalidAmount => "the payout amount was refused as invalid",
            FailureKind::IdempotencyConflict => {
                "an idempotency key was reused with different parameters (a bug: escalate)"
            }
            FailureKind::ProviderRejected => {
                "the payment provider refused the payout; see the detail in the audit trail"
            }
        }
    }
}

/// What to do after a retryable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    RetryAfter(TimeDelta),
    GiveUp,
}

/// The delays between attempts: 5 min, 15 min, 1 h, then the payout fails for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub delays_seconds: Vec<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            delays_seconds: vec![5 * 60, 15 * 60, 60 * 60],
        }
    }
}

impl RetryPolicy {
    /// The decision after the `failures`-th consecutive retryable failure (1-based).
    pub fn after_failure(&self, failures: u32) -> RetryDecision {
        let index = usize::try_from(failures.saturating_sub(1)).unwrap_or(usize::MAX);
        match self.delays_seconds.get(index) {
            Some(&seconds) => RetryDecision::RetryAfter(TimeDelta::seconds(i64::from(seconds))),
            None => RetryDecision::GiveUp,
        }
    }

    /// Attempts a payout gets before it fails for good.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays_seconds.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_is_five_fifteen_sixty_then_final() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.after_failure(1),
            RetryDecision::RetryAfter(TimeDelta::minutes(5))
        );
        assert_eq!(
            policy.after_failure(2),
            RetryDecision::RetryAfter(TimeDelta::minutes(15))
        );
        assert_eq!(
            policy.after_failure(3),
            RetryDecision::RetryAfter(TimeDelta::hours(1))
        );
        assert_eq!(policy.after_failure(4), RetryDecision::GiveUp);
        assert_eq!(policy.max_attempts(), 4);
    }

    #[test]
    fn classification_matches_the_brief() {
        for kind in [
            FailureKind::Timeout,
            FailureKind::Connection,
            FailureKind::RateLimited,
            FailureKind::ProviderUnavailable,
        ] {
            assert_eq!(kind.class(), FailureClass::Retryable, "{kind:?}");
        }
        for kind in [
            FailureKind::InvalidPaymentMethod,
            FailureKind::AccountNotVerified,
            FailureKind::InsufficientPermissions,
            FailureKind::InvalidAmount,
            FailureKind::IdempotencyConflict,
            FailureKind::ProviderRejected,
        ] {
            assert_eq!(kind.class(), FailureClass::Permanent, "{kind:?}");
        }
    }
}
