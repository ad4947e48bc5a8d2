//! Stripe's rate limits (issue 34) against `payouts serve` on the project's Stripe fake with its
//! limits on, as a test key has them (25 requests a second per endpoint, 25 in all): a Friday
//! of 2,000 barbers due at one cut-off is paid once each, with fewer than 1 % of requests
//! refused, while some transfers lose their answers and recovery looks them up meanwhile.

use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use futures::StreamExt;
use payout_tests::app::an_hour_ago;
use payout_tests::fake_stripe::{FakeStripe, Limits, Scenario};
use payout_tests::served::OnFakeStripe;
use serde_json::{Value, json};

const BARBERS: usize = 2_000;
/// One barber in fifty loses the answer to their transfer: recovery looks it up.
const LOSES_ANSWERS_EVERY: usize = 50;

fn barber(n: usize) -> String {
    format!("friday{n:04}")
}

/// The next whole minute at least `ahead` away: time for the barbers to be set up.
fn cutoff_after(ahead: TimeDelta) -> DateTime<Utc> {
    (Utc::now() + ahead + TimeDelta::minutes(1))
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
}

#[tokio::test]
async fn two_thousand_barbers_due_at_once_are_paid_once_within_stripes_limits() {
    let fake = FakeStripe::start().await;
    fake.limit(Limits::SANDBOX);
    let config = "timeout = \"5s\"\n[retry]\ndelays = [\"1s\", \"2s\", \"3s\"]\n";
    let shop = OnFakeStripe::start(env!("CARGO_BIN_EXE_payouts"), fake, config, "whsec_limits");
    let cutoff = cutoff_after(TimeDelta::seconds(50));
    let started = Instant::now();
    futures::stream::iter(0..BARBERS)
        .for_each_concurrent(8, |n| {
            let shop = &shop;
            async move {
                let barber = barber(n);
                let account = format!("acct_{barber}");
                if n % LOSES_ANSWERS_EVERY == 0 {
                    shop.fake.set_scenario(&account, Scenario::LoseResponse);
                }
                let schedule = json!({"barber_id": barber, "frequency": "daily",
                    "time_zone": "UTC", "local_time": cutoff.format("%H:%M").to_string(),
                    "minimum_payout_amount": "1.00", "connected_account_id": account});
                shop.send("/schedules", Some(schedule)).await;
                let earning = json!({"earning_id": format!("{barber}-e1"), "barber_id": barber,
                    "amount": "60.00", "occurred_at": an_hour_ago(), "service": "haircut"});
                shop.send("/earnings", Some(earning)).await;
            }
        })
        .await;
    let set_up = started.elapsed();
    assert!(
        Utc::now() < cutoff,
        "set up in {set_up:?}, after the cut-off"
    );

    // At 25 transfers a second the night takes 80 s; a lost answer is looked up and adopted.
    let deadline = Instant::now() + Duration::from_secs(600);
    let paid = loop {
        let completed = count(&shop, "completed").await;
        if completed == BARBERS || Instant::now() > deadline {
            break completed;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert_eq!(paid, BARBERS, "every barber paid");

    let transfers = shop.fake.transfers();
    let mut destinations: Vec<&str> = transfers
        .iter()
        .map(|t| t["destination"].as_str().unwrap())
        .collect();
    destinations.sort_unstable();
    let before = destinations.len();
    destinations.dedup();
    assert_eq!(before, destinations.len(), "0 duplicate transfers");
    assert_eq!(destinations.len(), BARBERS);
    let (admitted, refused) = shop.fake.admitted_and_refused();
    let refused_percent = 100.0 * refused as f64 / (admitted + refused) as f64;
    println!(
        "{BARBERS} barbers set up in {set_up:?}, paid in {:?} after the cut-off: {admitted} \
         requests admitted, {refused} refused ({refused_percent:.2} %)",
        Utc::now() - cutoff
    );
    assert!(
        refused_percent < 1.0,
        "{refused} of {} refused",
        admitted + refused
    );
    let lookups = shop.fake.admitted("GET /v1/transfers");
    assert!(lookups > 0, "recovery looked transfers up meanwhile");
}

/// Payouts in `status`, counted page by page.
async fn count(shop: &OnFakeStripe, status: &str) -> usize {
    let mut counted = 0;
    let mut path = format!("/payouts?status={status}&limit=200");
    loop {
        let page: Value = shop.send(&path, None).await;
        counted += page["items"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/payouts?status={status}&limit=200&cursor={cursor}"),
            None => return counted,
        }
    }
}
