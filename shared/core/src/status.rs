//! The payout state machine. Every state and every edge is spelled out: a new state has to be
//! placed here deliberately, it never falls into a catch-all.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::text_conversions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PayoutStatus {
    /// Computed, waiting for its start time.
    Scheduled,
    /// Computed, waiting for a second operator to approve it (`[approvals]`); no job runs it.
    AwaitingApproval,
    /// A job for it is (or should be) on the queue.
    Queued,
    /// An attempt is recorded and the rail may have been called.
    Processing,
    /// A retryable failure; the next attempt is due at `next_attempt_at`.
    RetryScheduled,
    /// Its destination cannot be paid (the provider disabled payouts, or the account is
    /// closed): not attempted, no job runs it, until the account is ready again (resumed by
    /// itself) or an operator retries or cancels it.
    OnHold,
    /// The rail accepted it; settlement is confirmed later (bank file, instant payout).
    InTransit,
    Completed,
    /// Failed for good: needs an operator (retry or cancel).
    Failed,
    /// Cancelled by an operator; its earnings went back to the open balance.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a payout cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: PayoutStatus,
    pub to: PayoutStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown payout status `{0}`")]
pub struct UnknownStatus(pub String);

impl PayoutStatus {
    pub const ALL: [PayoutStatus; 10] = [
        PayoutStatus::Scheduled,
        PayoutStatus::AwaitingApproval,
        PayoutStatus::Queued,
        PayoutStatus::Processing,
        PayoutStatus::RetryScheduled,
        PayoutStatus::OnHold,
        PayoutStatus::InTransit,
        PayoutStatus::Completed,
        PayoutStatus::Failed,
        PayoutStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Scheduled => "scheduled",
            PayoutStatus::AwaitingApproval => "awaiting_approval",
            PayoutStatus::Queued => "queued",
            PayoutStatus::Processing => "processing",
            PayoutStatus::RetryScheduled => "retry_scheduled",
            PayoutStatus::OnHold => "on_hold",
            PayoutStatus::InTransit => "in_transit",
            PayoutStatus::Completed => "completed",
            PayoutStatus::Failed => "failed",
            PayoutStatus::Cancelled => "cancelled",
        }
    }

    /// True when no executor will act on the payout again without an operator.
    pub fn is_settled_for_executor(self) -> bool {
        match self {
            PayoutStatus::AwaitingApproval
            | PayoutStatus::OnHold
            | PayoutStatus::InTransit
            | PayoutStatus::Completed
            | PayoutStatus::Failed
            | PayoutStatus::Cancelled => true,
            PayoutStatus::Scheduled
            | PayoutStatus::Queued
            | PayoutStatus::Processing
            | PayoutStatus::RetryScheduled => false,
        }
    }

    pub fn can_move_to(self, to: PayoutStatus) -> bool {
        use PayoutStatus as S;
        match self {
            S::Scheduled => matches!(to, S::Queued | S::Processing | S::Cancelled),
            // Approved (queued) or rejected (cancelled), by an operator only.
            S::AwaitingApproval => matches!(to, S::Queued | S::Cancelled),
            S::Queued => matches!(
                to,
                S::Processing | S::Completed | S::InTransit | S::OnHold | S::Cancelled
            ),
            // Processing -> Processing is a new attempt after a crashed one was reconciled;
            // -> OnHold when the provider refused the destination (no money moved).
            S::Processing => matches!(
                to,
                S::Processing
                    | S::InTransit
                    | S::Completed
                    | S::RetryScheduled
                    | S::OnHold
                    | S::Failed
            ),
            S::RetryScheduled => matches!(
                to,
                S::Processing
                    | S::Completed
                    | S::InTransit
                    | S::Queued
                    | S::OnHold
                    | S::Failed
                    | S::Cancelled
            ),
            // Resumed when the account is ready again (or by an operator), or cancelled.
            S::OnHold => matches!(to, S::Queued | S::Cancelled),
            S::InTransit => matches!(to, S::Completed | S::Failed),
            // A provider's failure report is final for its attempt: only an operator moves it
            // on (retry, cancel). Not even a late `payout.paid`: Stripe reports a payout paid
            // before it fails, never after, so a paid event after a failure is out of order.
            S::Failed => matches!(to, S::Queued | S::Cancelled),
            S::Completed | S::Cancelled => false,
        }
    }

    /// The edges only an operator's action takes, besides the machine's: what a failed
    /// payout's transfer left in the barber's Stripe balance paid out again (in transit until
    /// Stripe reports it paid), or settled by other means (completed). The pipeline never takes
    /// them: a provider's failure report is final for the pipeline.
    pub fn can_be_moved_by_operator_to(self, to: PayoutStatus) -> bool {
        self.can_move_to(to)
            || (self == PayoutStatus::Failed
                && matches!(to, PayoutStatus::InTransit | PayoutStatus::Completed))
    }

    pub fn check_move_to(self, to: PayoutStatus) -> Result<(), IllegalTransition> {
        if self.can_move_to(to) {
            Ok(())
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

impl FromStr for PayoutStatus {
    type Err = UnknownStatus;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        PayoutStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| UnknownStatus(raw.to_string()))
    }
}

text_conversions!(PayoutStatus, as_str);

#[cfg(test)]
mod tests {
    use super::*;
    use PayoutStatus as S;

    #[test]
    fn completed_and_cancelled_are_final() {
        for to in PayoutStatus::ALL {
            assert!(!S::Completed.can_move_to(to), "completed -> {to}");
            assert!(!S::Cancelled.can_move_to(to), "cancelled -> {to}");
        }
    }

    #[test]
    fn a_failed_payout_never_goes_back_in_transit() {
        for to in [S::InTransit, S::Completed, S::Processing] {
            assert!(S::Failed.check_move_to(to).is_err(), "failed -> {to}");
        }
    }

    #[test]
    fn money_in_flight_cannot_be_cancelled() {
        assert!(S::Processing.check_move_to(S::Cancelled).is_err());
        assert!(S::InTransit.check_move_to(S::Cancelled).is_err());
        assert!(S::Queued.check_move_to(S::Cancelled).is_ok());
        assert!(S::Failed.check_move_to(S::Cancelled).is_ok());
    }

    #[test]
    fn a_payout_awaiting_approval_is_only_approved_or_rejected() {
        for to in PayoutStatus::ALL {
            assert_eq!(
                S::AwaitingApproval.can_move_to(to),
                matches!(to, S::Queued | S::Cancelled),
                "awaiting approval -> {to}"
            );
            assert!(
                !to.can_move_to(S::AwaitingApproval),
                "{to} -> awaiting approval"
            );
        }
    }

    #[test]
    fn a_payout_on_hold_moves_no_money_until_it_is_resumed() {
        for to in PayoutStatus::ALL {
            assert_eq!(
                S::OnHold.can_move_to(to),
                matches!(to, S::Queued | S::Cancelled),
                "on hold -> {to}"
            );
        }
        assert!(S::OnHold.is_settled_for_executor());
        assert!(!S::InTransit.can_move_to(S::OnHold), "money on its way");
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in PayoutStatus::ALL {
            assert_eq!(status.as_str().parse::<PayoutStatus>(), Ok(status));
        }
    }
}
