//! Each contract suite's list of checks, written once: `store_contract_suite!(with_store)`
//! expands into one `#[tokio::test]` per check, each run inside `with_store`, the adapter's own
//! function that makes a fresh adapter, hands it to the check and cleans up after it.

/// One `#[tokio::test]` per check of `$suite`, each given a fresh adapter by `$with`.
#[doc(hidden)]
#[macro_export]
macro_rules! contract_tests {
    ($with:ident, $suite:ident: $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $with(async |adapter| $crate::$suite::$name(adapter).await).await;
            }
        )*
    };
}

/// The store contract suite; `$with: impl AsyncFnOnce(&dyn Store)`.
#[macro_export]
macro_rules! store_contract_suite {
    ($with:ident) => {
        $crate::contract_tests!($with, contract:
            lock_is_exclusive_until_its_lease_expires,
            earnings_are_idempotent_by_id_and_content,
            payout_creation_is_conditional_and_claims_earnings,
            payout_updates_are_conditional_on_version,
            cancel_returns_earnings_to_the_open_balance,
            due_schedules_page_in_order_and_advance_conditionally,
            the_due_index_shards_split_it_exactly,
            schedules_are_created_once,
            schedule_writes_are_conditional_on_version,
            advance_notices_come_due_once_per_barber,
            notifications_are_recorded_once,
            pending_notices_come_due_until_settled,
            planning_failures_count_until_cleared,
            account_restrictions_keep_their_first_reason_until_lifted,
            webhook_events_are_recorded_once,
            payouts_list_in_order_by_filters_and_cursor,
            heartbeats_keep_the_latest,
            a_period_beyond_one_transaction_is_claimed_and_released_whole,
            totals_are_kept_with_every_payout_change,
            a_voided_earning_leaves_the_balance_for_good,
            a_claimed_earning_is_not_voided_and_names_its_payout,
            payout_events_wait_in_the_outbox_until_published,
            open_activities_agree_with_open_activity,
            a_payout_claims_only_released_earnings,
            a_reserve_is_released_from_its_date_and_withdrawn_with_its_payout,
            a_payout_paid_standard_instead_opens_its_fee_credit_once,
            a_payouts_earnings_are_the_ones_it_claims,
            batch_attempts_lock_record_and_unlock_each_member_alone,
            a_page_of_periods_closes_each_member_alone,
        );
    };
}

/// The queue contract suite; `$with: impl AsyncFnOnce(&dyn JobQueue)`.
#[macro_export]
macro_rules! queue_contract_suite {
    ($with:ident) => {
        $crate::contract_tests!($with, queue_contract:
            a_job_is_delivered_then_gone_once_acknowledged,
            a_deferred_job_comes_back_at_its_time,
            a_job_for_later_waits_and_depth_counts,
            an_urgent_job_is_delivered_first,
        );
    };
}

/// The rail contract suite; `$with: impl AsyncFnOnce(&dyn PaymentRail)`.
#[macro_export]
macro_rules! rail_contract_suite {
    ($with:ident) => {
        $crate::contract_tests!($with, rail_contract:
            a_transfer_is_idempotent_by_its_key,
            a_paid_payout_is_found_and_an_unpaid_one_is_not,
        );
    };
}

/// The notifier contract suite; `$with: impl AsyncFnOnce(&Wired)`, a notifier and the inbox
/// that reads back what it delivered.
#[macro_export]
macro_rules! notifier_contract_suite {
    ($with:ident) => {
        $crate::contract_tests!($with, notifier_contract:
            a_notice_reaches_each_of_its_channels_once,
            a_message_arrives_exactly_as_sent,
        );
    };
}
