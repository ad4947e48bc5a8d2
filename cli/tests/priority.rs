//! Low priority waits by load (issue 32 item 5) against `payouts serve` paying through the
//! project's Stripe fake: a small scheduled payout on an idle system starts at its cut-off;
//! planned within `rate_limited_within` of a 429 it waits `max_wait`, and no longer.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use payout_tests::app::an_hour_ago;
use payout_tests::fake_stripe::{FakeStripe, Scenario};
use payout_tests::served::OnFakeStripe;
use serde_json::{Value, json};

const MAX_WAIT: i64 = 20;

/// `payouts serve` on the Stripe fake, low priority deferred by `MAX_WAIT` under load.
fn open(fake: FakeStripe) -> OnFakeStripe {
    let config = format!("hold_after_429 = \"300ms\"\n[priority]\nmax_wait = \"{MAX_WAIT}s\"\n");
    let binary = env!("CARGO_BIN_EXE_payouts");
    OnFakeStripe::start(binary, fake, &config, "whsec_priority")
}

/// What the tests do as the shop.
trait Shop {
    async fn small_daily(&self, barber: &str, cutoff: DateTime<Utc>);
    async fn earn(&self, barber: &str, amount: &str);
    async fn completed(&self, barber: &str, within: Duration) -> Value;
}

impl Shop for OnFakeStripe {
    /// A barber paid daily at `cutoff` (UTC), owed $30.00: a low-priority payout.
    async fn small_daily(&self, barber: &str, cutoff: DateTime<Utc>) {
        let schedule = json!({"barber_id": barber, "frequency": "daily", "time_zone": "UTC",
            "local_time": cutoff.format("%H:%M").to_string(), "minimum_payout_amount": "1.00",
            "connected_account_id": format!("acct_{barber}")});
        self.send("/schedules", Some(schedule)).await;
        self.earn(barber, "30.00").await;
    }

    async fn earn(&self, barber: &str, amount: &str) {
        let earning = json!({"earning_id": format!("{barber}-e1"), "barber_id": barber,
            "amount": amount, "occurred_at": an_hour_ago(), "service": "haircut"});
        self.send("/earnings", Some(earning)).await;
    }

    /// The barber's payout once it has completed (or the last seen after `within`).
    async fn completed(&self, barber: &str, within: Duration) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let payouts = self
                .send(&format!("/payouts?barber_id={barber}"), None)
                .await;
            let payout = payouts["items"][0].clone();
            if payout["status"] == "completed" || std::time::Instant::now() > deadline {
                return payout;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The next whole minute at least 8 s away: time for the barbers to be set up.
fn next_cutoff() -> DateTime<Utc> {
    (Utc::now() + TimeDelta::seconds(8))
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
        + TimeDelta::minutes(1)
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn on_an_idle_system_a_low_priority_payout_starts_at_its_cut_off() {
    let shop = open(FakeStripe::start().await);
    let cutoff = next_cutoff();
    shop.small_daily("idle", cutoff).await;

    let payout = shop.completed("idle", Duration::from_secs(90)).await;
    assert_eq!(payout["status"], "completed", "{payout}");
    assert_eq!(payout["trigger"], "scheduled", "{payout}");
    let created = at(&payout["created_at"]);
    assert!(
        at(&payout["completed_at"]) - created < TimeDelta::seconds(10),
        "paid at once, whatever the hour: {payout}"
    );
}

#[tokio::test]
async fn planned_just_after_a_429_a_low_priority_payout_waits_max_wait_and_no_longer() {
    let fake = FakeStripe::start().await;
    fake.set_scenario(
        "acct_noisy",
        Scenario::Transient {
            status: 429,
            times: 2,
        },
    );
    let shop = open(fake);
    let cutoff = next_cutoff();
    shop.small_daily("low", cutoff).await;
    // An operator's payout meets Stripe's rate limit twice before it is paid: the rail is
    // saturated, and the scheduled run at the cut-off comes well within five minutes of it.
    let schedule = json!({"barber_id": "noisy", "frequency": "weekly", "day_of_week": 5,
        "connected_account_id": "acct_noisy"});
    shop.send("/schedules", Some(schedule)).await;
    shop.earn("noisy", "200.00").await;
    shop.send(
        "/payouts/manual",
        Some(json!({"barber_id": "noisy", "reason": "asked for early"})),
    )
    .await;
    let noisy = shop.completed("noisy", Duration::from_secs(20)).await;
    assert_eq!(noisy["status"], "completed", "{noisy}");

    let payout = shop
        .completed("low", Duration::from_secs(90 + MAX_WAIT as u64))
        .await;
    assert_eq!(payout["status"], "completed", "{payout}");
    let created = at(&payout["created_at"]);
    let starts = created + TimeDelta::seconds(MAX_WAIT);
    let id = payout["id"].as_str().unwrap();
    let payout = shop.send(&format!("/payouts/{id}"), None).await;
    let reason = payout["audit_trail"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("low priority, deferred: starts at"),
        "{reason}"
    );
    let completed = at(&payout["completed_at"]);
    assert!(
        completed >= starts && completed - starts < TimeDelta::seconds(10),
        "waited max_wait ({MAX_WAIT} s) and no longer: created {created}, completed {completed}"
    );
}
