//! Instant payout limits (issue 32 item 4) against `payouts serve` on the project's Stripe
//! fake: an instant payout that would pass `[instant] per_barber_daily` or `platform_daily` is
//! paid as a standard transfer with the standard fee, saying why, never failed for it; one
//! Stripe refuses to pay instantly goes to the bank as a standard payout, its fee difference
//! given back with the next payout.

use std::time::{Duration, Instant};

use payout_tests::app::an_hour_ago;
use payout_tests::fake_stripe::{FakeStripe, Scenario};
use payout_tests::served::OnFakeStripe;
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_instant";

struct Shop(OnFakeStripe);

impl std::ops::Deref for Shop {
    type Target = OnFakeStripe;
    fn deref(&self) -> &OnFakeStripe {
        &self.0
    }
}

impl Shop {
    async fn open(instant: &str) -> Self {
        let fake = FakeStripe::start().await;
        let config = format!("[instant]\n{instant}\n");
        let binary = env!("CARGO_BIN_EXE_payouts");
        Self(OnFakeStripe::start(binary, fake, &config, WEBHOOK_SECRET))
    }

    /// A barber who takes instant payouts.
    async fn barber(&self, barber: &str) {
        let schedule = json!({"barber_id": barber, "frequency": "weekly", "day_of_week": 5,
            "connected_account_id": format!("acct_{barber}"),
            "preferred_payment_method": "stripe_instant"});
        self.send("/schedules", Some(schedule)).await;
    }

    /// A manual payout of a new earning of `amount`, once the rail has it; the payout.
    async fn payout(&self, barber: &str, earning: &str, amount: &str) -> Value {
        let earning = json!({"earning_id": earning, "barber_id": barber, "amount": amount,
            "occurred_at": an_hour_ago(), "service": "colour"});
        self.send("/earnings", Some(earning)).await;
        let manual = json!({"barber_id": barber, "reason": "asked for it now"});
        let payout = self.send("/payouts/manual", Some(manual)).await;
        let id = payout["id"].as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let payout = self.send(&format!("/payouts/{id}"), None).await;
            let status = payout["status"].as_str().unwrap_or_default();
            if ["completed", "in_transit", "failed"].contains(&status) || Instant::now() > deadline
            {
                return payout;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The instant payouts Stripe was asked for on `account`.
    fn instant_payouts(&self, account: &str) -> usize {
        self.fake
            .payouts()
            .iter()
            .filter(|(on, payout)| on == account && payout["method"] == "instant")
            .count()
    }
}

#[tokio::test]
async fn an_instant_payout_over_the_barbers_daily_cap_is_paid_standard_with_the_standard_fee() {
    let shop = Shop::open("per_barber_daily = \"300.00\"").await;
    shop.barber("quick").await;
    // $400 of services nets $280 less the instant fee: under the $300 cap.
    let first = shop.payout("quick", "quick-1", "400.00").await;
    assert_eq!(first["status"], "in_transit", "{first}");
    assert_eq!(first["method"], "stripe_instant", "{first}");
    assert_eq!(shop.instant_payouts("acct_quick"), 1);

    // Another $100 would bring the day's instant payouts over $300: standard, its fee and not
    // the instant one, and why.
    let second = shop.payout("quick", "quick-2", "100.00").await;
    assert_eq!(second["status"], "completed", "paid, not failed: {second}");
    assert_eq!(second["method"], "stripe_standard", "{second}");
    assert_eq!(second["fee_amount"], "0.50", "the standard fee: {second}");
    let note = second["method_note"].as_str().unwrap();
    assert!(
        note.contains("[instant] per_barber_daily = 300.00"),
        "{note}"
    );
    assert_eq!(
        shop.instant_payouts("acct_quick"),
        1,
        "no second instant payout"
    );
    let trail = second["audit_trail"][0]["reason"].as_str().unwrap();
    assert!(trail.contains("paid as a standard transfer"), "{trail}");
    let notices = shop.send("/notifications?barber_id=quick", None).await;
    assert!(
        notices
            .as_array()
            .unwrap()
            .iter()
            .any(|notice| notice["kind"] == "completed"
                && notice["message"]
                    .as_str()
                    .unwrap()
                    .contains("Not instant this time")),
        "{notices}"
    );
}

#[tokio::test]
async fn an_instant_payout_over_the_platforms_daily_cap_is_paid_standard() {
    let shop = Shop::open("platform_daily = \"100.00\"").await;
    shop.barber("first").await;
    shop.barber("second").await;
    let under = shop.payout("first", "first-1", "100.00").await;
    assert_eq!(under["method"], "stripe_instant", "{under}");
    let over = shop.payout("second", "second-1", "100.00").await;
    assert_eq!(over["method"], "stripe_standard", "{over}");
    assert_eq!(over["status"], "completed", "{over}");
    let note = over["method_note"].as_str().unwrap();
    assert!(note.contains("the platform's"), "{note}");
    assert_eq!(shop.instant_payouts("acct_second"), 0);
}

#[tokio::test]
async fn an_instant_payout_stripe_refuses_goes_standard_and_its_fee_difference_is_given_back() {
    let shop = Shop::open("").await;
    shop.barber("carded").await;
    for (account, code) in [
        ("acct_carded", "instant_payouts_unsupported"),
        ("acct_capped", "instant_payouts_limit_exceeded"),
    ] {
        shop.fake
            .set_scenario(account, Scenario::InstantError { code });
    }
    shop.barber("capped").await;

    // $100 of services: charged the instant fee ($1.50), refused as instant by Stripe, paid to
    // the bank as a standard payout (fee $0.50): in transit, not failed, and saying why.
    let refused = shop.payout("carded", "carded-1", "100.00").await;
    assert_eq!(refused["status"], "in_transit", "{refused}");
    assert_eq!(refused["fee_amount"], "1.50", "{refused}");
    let note = refused["method_note"].as_str().unwrap();
    assert!(note.contains("instant_payouts_unsupported"), "{note}");
    assert!(note.contains("$1.00"), "the difference given back: {note}");
    let made: Vec<_> = shop
        .fake
        .payouts()
        .into_iter()
        .filter(|(on, _)| on == "acct_carded")
        .map(|(_, payout)| payout)
        .collect();
    assert_eq!(made.len(), 1, "one payout, standard: {made:?}");
    assert_eq!(made[0]["method"], "standard");
    let notices = shop.send("/notifications?barber_id=carded", None).await;
    let told = notices
        .as_array()
        .unwrap()
        .iter()
        .find(|notice| notice["kind"] == "completed")
        .and_then(|notice| notice["message"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(told.contains("Not instant this time"), "{notices}");
    assert!(told.contains("usually within 2 business days"), "{told}");

    // Stripe reports the standard payout paid: completed.
    let id = refused["id"].as_str().unwrap();
    let object = json!({"id": made[0]["id"], "object": "payout", "status": "paid",
        "method": "standard", "metadata": made[0]["metadata"]});
    let status = shop
        .server
        .stripe_event(&shop.client, WEBHOOK_SECRET, "payout.paid", object)
        .await;
    assert_eq!(status, 200);
    let paid = shop.send(&format!("/payouts/{id}"), None).await;
    assert_eq!(paid["status"], "completed", "{paid}");

    // The next payout (Stripe still refusing) carries the $1.00 back as its own line.
    let next = shop.payout("carded", "carded-2", "100.00").await;
    let lines = next["deductions"].as_array().unwrap();
    let credit = lines
        .iter()
        .find(|line| line["kind"] == "fee_credit")
        .unwrap_or_else(|| panic!("a fee credit line: {next}"));
    assert_eq!(credit["amount"], "-1.00", "{next}");
    let net = |payout: &Value| payout["net_amount"].as_str().unwrap().to_string();
    assert_eq!(net(&refused), "68.50", "{refused}");
    assert_eq!(net(&next), "69.50", "{next}");

    // Over Stripe's own instant limit: the same.
    let capped = shop.payout("capped", "capped-1", "100.00").await;
    assert_eq!(capped["status"], "in_transit", "{capped}");
    let note = capped["method_note"].as_str().unwrap();
    assert!(note.contains("instant_payouts_limit_exceeded"), "{note}");
}
