//! Stripe's errors as the retry policy sees them: account and amount problems are permanent,
//! with a reason an operator can act on; rate limits, 5xx, lock timeouts, timeouts and broken
//! connections are retryable (and, when the outcome is unknown, reconciled before a retry).

use payout_app::ports::RailError;
use payout_app::webhooks::ACCOUNT_UNUSABLE_CODES;
use payout_core::retry::FailureKind;
use stripe::StripeError;

/// The failure kind of a Stripe error code, when the code alone decides it.
pub fn kind_of_code(code: &str) -> Option<FailureKind> {
    if ACCOUNT_UNUSABLE_CODES.contains(&code) {
        return Some(FailureKind::AccountUnusable);
    }
    Some(match code {
        "account_invalid" | "account_not_verified" => FailureKind::AccountNotVerified,
        "insufficient_permissions" | "platform_account_required" => {
            FailureKind::InsufficientPermissions
        }
        "amount_too_small"
        | "amount_too_large"
        | "invalid_amount"
        | "balance_insufficient"
        | "insufficient_funds" => FailureKind::InvalidAmount,
        "bank_account_unusable"
        | "bank_account_declined"
        | "debit_not_authorized"
        | "instant_payouts_unsupported"
        | "instant_payouts_config_disabled"
        | "instant_payouts_currency_disabled"
        | "instant_payouts_limit_exceeded"
        | "invalid_card_type" => FailureKind::InvalidPaymentMethod,
        "lock_timeout" => FailureKind::ProviderUnavailable,
        "rate_limit" => FailureKind::RateLimited,
        "idempotency_key_in_use" => FailureKind::RateLimited,
        _ => return None,
    })
}

/// Maps an error returned by async-stripe.
pub fn map_error(error: StripeError) -> RailError {
    match error {
        StripeError::Stripe(api, status) => {
            let code = api.code.as_ref().map(|c| c.as_str().to_string());
            let kind = code
                .as_deref()
                .and_then(kind_of_code)
                .unwrap_or(match status {
                    429 => FailureKind::RateLimited,
                    403 => FailureKind::InsufficientPermissions,
                    s if s >= 500 => FailureKind::ProviderUnavailable,
                    // An idempotency error means we replayed a key with other parameters.
                    _ if api.type_.as_str() == "idempotency_error" => {
                        FailureKind::IdempotencyConflict
                    }
                    _ => FailureKind::ProviderRejected,
                });
            RailError {
                kind,
                message: format!(
                    "stripe {status} {}: {}",
                    code.unwrap_or_else(|| api.type_.as_str().to_string()),
                    api.message.unwrap_or_default()
                ),
            }
        }
        StripeError::Timeout => RailError {
            kind: FailureKind::Timeout,
            message: "stripe did not answer in time".into(),
        },
        StripeError::ClientError(message) => RailError {
            kind: FailureKind::Connection,
            message: format!("stripe connection: {message}"),
        },
        // A body we cannot read (a 5xx page from a proxy, say): the outcome is unknown.
        StripeError::JSONDeserialize(message) => RailError {
            kind: FailureKind::ProviderUnavailable,
            message: format!("unreadable stripe response: {message}"),
        },
        StripeError::ConfigError(message) => RailError {
            kind: FailureKind::InsufficientPermissions,
            message: format!("stripe client configuration: {message}"),
        },
    }
}
