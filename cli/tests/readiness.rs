//! Paying only ready accounts (issue 32 item 3) against `payouts serve` on the project's Stripe
//! fake: a payout to an account whose payouts Stripe disabled waits on hold without a request
//! to Stripe, its barber told once; one refused for a closed account waits on hold rather than
//! failing, and restricts the account for the next; Stripe's `account.updated` saying payouts
//! are enabled again (or an operator's retry) pays each held payout once.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

use payout_tests::app::an_hour_ago;
use payout_tests::fake_stripe::{FakeStripe, Scenario};
use payout_tests::served::OnFakeStripe;
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_readiness";

struct Shop {
    on: OnFakeStripe,
    events: std::sync::atomic::AtomicU32,
}

impl std::ops::Deref for Shop {
    type Target = OnFakeStripe;
    fn deref(&self) -> &OnFakeStripe {
        &self.on
    }
}

impl Shop {
    async fn open() -> Self {
        let fake = FakeStripe::start().await;
        Self {
            on: OnFakeStripe::start(env!("CARGO_BIN_EXE_payouts"), fake, "", WEBHOOK_SECRET),
            events: std::sync::atomic::AtomicU32::new(0),
        }
    }

    async fn barber(&self, barber: &str) {
        let schedule = json!({"barber_id": barber, "frequency": "weekly", "day_of_week": 5,
            "connected_account_id": format!("acct_{barber}"),
            "email": format!("{barber}@shop.example")});
        self.send("/schedules", Some(schedule)).await;
    }

    /// A manual payout of a new $100.00 earning; its id.
    async fn payout(&self, barber: &str, earning: &str) -> String {
        let earning = json!({"earning_id": earning, "barber_id": barber, "amount": "100.00",
            "occurred_at": an_hour_ago(), "service": "haircut"});
        self.send("/earnings", Some(earning)).await;
        let manual = json!({"barber_id": barber, "reason": "asked for early"});
        let payout = self.send("/payouts/manual", Some(manual)).await;
        payout["id"].as_str().unwrap().to_string()
    }

    /// Stripe's `account.updated` for `account` as the fake holds it, created now.
    async fn account_updated(&self, account: &str) {
        self.account_updated_at(account, Utc::now()).await;
    }

    /// The same, created at `created`: Stripe sends its events in no set order.
    async fn account_updated_at(&self, account: &str, created: DateTime<Utc>) {
        let n = self
            .events
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let status = self
            .server
            .stripe_event_at(
                &self.client,
                WEBHOOK_SECRET,
                (&format!("evt_account_{n}"), created),
                "account.updated",
                self.fake.account(account),
            )
            .await;
        assert_eq!(status, 200, "account.updated for {account}");
    }

    /// The payout once it is in one of `states` (or the last seen after 15 s).
    async fn reaches(&self, id: &str, states: &[&str]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let payout = self.send(&format!("/payouts/{id}"), None).await;
            if states.contains(&payout["status"].as_str().unwrap_or_default())
                || Instant::now() > deadline
            {
                return payout;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn notices(&self, barber: &str, kind: &str) -> usize {
        let notices = self
            .send(&format!("/notifications?barber_id={barber}"), None)
            .await;
        notices
            .as_array()
            .unwrap()
            .iter()
            .filter(|sent| sent["kind"] == kind)
            .count()
    }

    /// Transfers the fake made to `account`, by payout.
    fn paid_payouts(&self, account: &str) -> Vec<String> {
        self.fake
            .transfers()
            .iter()
            .filter(|transfer| transfer["destination"] == account)
            .map(|transfer| transfer["transfer_group"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test]
async fn payouts_to_an_account_stripe_disabled_wait_on_hold_and_are_paid_once_it_is_ready() {
    let shop = Shop::open().await;
    shop.barber("nine").await;
    shop.fake
        .disable_payouts("acct_nine", "requirements.past_due");
    shop.account_updated("acct_nine").await;

    let first = shop.payout("nine", "nine-1").await;
    let held = shop.reaches(&first, &["on_hold"]).await;
    assert_eq!(held["status"], "on_hold", "{held}");
    let reason = held["failure_reason"].as_str().unwrap();
    assert!(reason.contains("requirements.past_due"), "{reason}");
    let second = shop.payout("nine", "nine-2").await;
    assert_eq!(
        shop.reaches(&second, &["on_hold"]).await["status"],
        "on_hold"
    );
    assert_eq!(
        shop.fake.transfer_requests("acct_nine"),
        0,
        "nothing is attempted at Stripe while payouts are disabled"
    );
    assert_eq!(
        shop.notices("nine", "account_action_needed").await,
        1,
        "the barber is told once, however many payouts wait"
    );
    let page = shop.send("/payouts?status=on_hold", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");

    shop.fake.enable_payouts("acct_nine");
    shop.account_updated("acct_nine").await;
    for id in [&first, &second] {
        let paid = shop.reaches(id, &["completed"]).await;
        assert_eq!(paid["status"], "completed", "{paid}");
    }
    let mut paid = shop.paid_payouts("acct_nine");
    paid.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(paid, expected, "each held payout paid once");

    // Stripe's "disabled", created before its "enabled" but delivered after it: a late word
    // that changes nothing; the next payout is paid.
    shop.fake
        .disable_payouts("acct_nine", "requirements.past_due");
    shop.account_updated_at("acct_nine", Utc::now() - TimeDelta::minutes(10))
        .await;
    shop.fake.enable_payouts("acct_nine");
    let third = shop.payout("nine", "nine-3").await;
    let paid = shop.reaches(&third, &["completed", "on_hold"]).await;
    assert_eq!(paid["status"], "completed", "{paid}");
}

#[tokio::test]
async fn a_barber_moved_to_another_account_has_the_payouts_held_for_the_old_one_paid_to_the_new() {
    let shop = Shop::open().await;
    shop.barber("move").await;
    shop.fake.disable_payouts("acct_move", "rejected.other");
    shop.account_updated("acct_move").await;
    let held = shop.payout("move", "move-1").await;
    assert_eq!(shop.reaches(&held, &["on_hold"]).await["status"], "on_hold");

    // The barber opened a new account; an operator points the schedule at it.
    shop.server
        .put(
            &shop.client,
            "/schedules/move",
            json!({"connected_account_id": "acct_movenew"}),
        )
        .await;
    let cancelled = shop.reaches(&held, &["cancelled"]).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let moved = shop
        .send(
            "/payouts/manual",
            Some(json!({"barber_id": "move", "reason": "after the move"})),
        )
        .await;
    let id = moved["id"].as_str().unwrap();
    let paid = shop.reaches(id, &["completed"]).await;
    assert_eq!(paid["status"], "completed", "{paid}");
    assert_eq!(paid["gross_amount"], "100.00", "the held earnings: {paid}");
    assert_eq!(shop.paid_payouts("acct_movenew").len(), 1);
    assert!(shop.paid_payouts("acct_move").is_empty());
}

#[tokio::test]
async fn a_payout_refused_for_a_closed_account_waits_on_hold_and_the_next_is_not_attempted() {
    let shop = Shop::open().await;
    shop.barber("ten").await;
    shop.fake.set_scenario(
        "acct_ten",
        Scenario::Error {
            status: 400,
            code: Some("account_closed"),
            kind: "invalid_request_error",
        },
    );
    let refused = shop.payout("ten", "ten-1").await;
    let held = shop.reaches(&refused, &["on_hold", "failed"]).await;
    assert_eq!(held["status"], "on_hold", "not failed: {held}");
    assert!(
        held["failure_reason"]
            .as_str()
            .unwrap()
            .contains("account_closed"),
        "{held}"
    );
    let requests = shop.fake.transfer_requests("acct_ten");
    let next = shop.payout("ten", "ten-2").await;
    assert_eq!(shop.reaches(&next, &["on_hold"]).await["status"], "on_hold");
    assert_eq!(
        shop.fake.transfer_requests("acct_ten"),
        requests,
        "the next payout is not attempted blindly"
    );

    // The barber fixed the account; the operator retries one payout, vouching for it: that
    // one is paid, and the planner's next run resumes the other.
    shop.fake.clear_scenario("acct_ten");
    shop.send(&format!("/payouts/{refused}/retry"), Some(json!({})))
        .await;
    for id in [&refused, &next] {
        let paid = shop.reaches(id, &["completed"]).await;
        assert_eq!(paid["status"], "completed", "{paid}");
    }
    assert_eq!(shop.paid_payouts("acct_ten").len(), 2);
}
