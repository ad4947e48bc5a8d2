//! Holds and reserves (issue 32 item 1) against `payouts serve` on the project's Stripe fake:
//! an earning is paid only once its schedule's `hold_days` have passed since the service, a new
//! barber's first payout waits `[holds] first_payout_after_days` after their first service, and
//! a rolling reserve is kept, a refund taken from it, and the rest released a month later. The
//! holds end seconds after the test starts (a service dated a day ago, plus a few seconds), so
//! the release is seen as it happens on the real clock; the month passes by restarting
//! `serve` on the same database with its clock 31 days ahead (libfaketime).

use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use payout_tests::app::barber;
use payout_tests::fake_stripe::FakeStripe;
use payout_tests::served::OnFakeStripe;
use serde_json::{Value, json};

// The schedules pay by manual payouts only: serve's planner, running every second, would
// otherwise close a Friday cut-off the clock crosses (a month later, one is overdue) in a race
// with the payout the test asks for.

/// How long after the test's start the held services are released.
const RELEASE_IN: TimeDelta = TimeDelta::seconds(6);

async fn shop(config: &str) -> OnFakeStripe {
    let fake = FakeStripe::start().await;
    OnFakeStripe::start(env!("CARGO_BIN_EXE_payouts"), fake, config, "whsec_holds")
}

async fn earning(shop: &OnFakeStripe, barber: &str, id: &str, amount: &str, at: DateTime<Utc>) {
    let earning = json!({"earning_id": id, "barber_id": barber, "amount": amount,
        "occurred_at": at.to_rfc3339(), "service": "fade"});
    shop.send("/earnings", Some(earning)).await;
}

/// An earning of `amount` for a service a day before [`RELEASE_IN`] from now, which a day's
/// hold (or wait) releases then; the release.
async fn released_soon(shop: &OnFakeStripe, barber: &str, id: &str, amount: &str) -> DateTime<Utc> {
    let release = (Utc::now() + RELEASE_IN).trunc_subsecs(0);
    earning(shop, barber, id, amount, release - TimeDelta::days(1)).await;
    release
}

fn manual(barber: &str) -> Value {
    json!({"barber_id": barber, "reason": "asked for it now"})
}

/// The status of an operator's request for a manual payout of `barber`.
async fn manual_status(shop: &OnFakeStripe, barber: &str) -> u16 {
    shop.server
        .post(&shop.client, "/payouts/manual", manual(barber))
        .await
}

/// The status of `token`'s change of the `held` schedule to `edit`.
async fn schedule_edit(shop: &OnFakeStripe, token: &str, edit: Value) -> u16 {
    shop.client
        .put(format!("{}/schedules/held", shop.server.base))
        .bearer_auth(token)
        .json(&edit)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A manual payout for `barber`, once Stripe has paid it.
async fn paid_now(shop: &OnFakeStripe, barber: &str) -> Value {
    let payout = shop.send("/payouts/manual", Some(manual(barber))).await;
    let id = payout["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let payout = shop.send(&format!("/payouts/{id}"), None).await;
        if payout["status"] == "completed" || Instant::now() > deadline {
            return payout;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sleeps until `at` has passed.
async fn until(at: DateTime<Utc>) {
    let left = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(500)).await;
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_held_earning_is_paid_once_its_hold_has_passed_and_not_before() {
    let shop = shop("[schedules]\ndefault_hold_days = 1\n").await;
    let schedule = json!({"barber_id": "held", "frequency": "weekly", "day_of_week": 5, "auto_payout_enabled": false,
        "connected_account_id": "acct_held"});
    let created = shop.send("/schedules", Some(schedule)).await;
    assert_eq!(created["hold_days"], 1, "the default hold: {created}");
    let now = Utc::now();
    earning(
        &shop,
        "held",
        "held-old",
        "100.00",
        now - TimeDelta::days(2),
    )
    .await;
    let release = released_soon(&shop, "held", "held-new", "50.00").await;

    let preview = shop.send("/payouts/preview?barber_id=held", None).await;
    assert_eq!(preview["gross_amount"], "100.00", "{preview}");
    assert_eq!(preview["held"]["gross_amount"], "50.00", "{preview}");
    assert_eq!(preview["held"]["service_count"], 1, "{preview}");
    assert_eq!(
        at(&preview["held"]["next_release_at"]),
        release,
        "{preview}"
    );

    let first = paid_now(&shop, "held").await;
    assert_eq!(first["status"], "completed", "{first}");
    assert_eq!(
        first["gross_amount"], "100.00",
        "only the released service: {first}"
    );
    let early = manual_status(&shop, "held").await;
    assert_eq!(
        early, 409,
        "the held service is not paid before its release"
    );
    let preview = shop.send("/payouts/preview?barber_id=held", None).await;
    assert_eq!(preview["decision"], "earnings_held", "{preview}");

    until(release).await;
    let second = paid_now(&shop, "held").await;
    assert_eq!(second["status"], "completed", "{second}");
    assert_eq!(second["gross_amount"], "50.00", "released: {second}");

    // Only an operator sets what is kept back.
    let status = schedule_edit(&shop, &barber("held"), json!({"hold_days": 0})).await;
    assert_eq!(status, 403);
    let out_of_range = schedule_edit(
        &shop,
        &payout_tests::app::operator(),
        json!({"hold_days": 31}),
    )
    .await;
    assert_eq!(out_of_range, 400);
    let days_alone = schedule_edit(
        &shop,
        &payout_tests::app::operator(),
        json!({"reserve_days": 10}),
    )
    .await;
    assert_eq!(
        days_alone, 400,
        "days of a reserve the schedule does not keep"
    );
    // A deduction may not take the id the system gives a reserve's release.
    let posing = json!({"barber_id": "held", "kind": "other", "amount": "1.00",
        "description": "posing", "deduction_id": "reserve-release_pm_1_held"});
    let posing = shop.server.post(&shop.client, "/deductions", posing).await;
    assert_eq!(posing, 400);
}

#[tokio::test]
async fn a_new_barbers_first_payout_waits_after_their_first_service() {
    let shop = shop("[holds]\nfirst_payout_after_days = 1\n").await;
    let schedule = json!({"barber_id": "fresh", "frequency": "weekly", "day_of_week": 5, "auto_payout_enabled": false,
        "connected_account_id": "acct_fresh"});
    shop.send("/schedules", Some(schedule)).await;
    let release = released_soon(&shop, "fresh", "fresh-1", "80.00").await;

    let preview = shop.send("/payouts/preview?barber_id=fresh", None).await;
    assert_eq!(preview["decision"], "first_payout_waits", "{preview}");
    assert_eq!(at(&preview["first_payout_waits_until"]), release);
    let early = manual_status(&shop, "fresh").await;
    assert_eq!(early, 409, "the first payout waits");

    until(release).await;
    let first = paid_now(&shop, "fresh").await;
    assert_eq!(first["status"], "completed", "{first}");
    assert_eq!(first["gross_amount"], "80.00", "{first}");
    // Paid once: the next service is paid at once.
    earning(&shop, "fresh", "fresh-2", "40.00", Utc::now()).await;
    let next = paid_now(&shop, "fresh").await;
    assert_eq!(next["gross_amount"], "40.00", "{next}");
}

/// A completed service (or its refund) as the booking platform sends it.
async fn platform_event(shop: &OnFakeStripe, kind: &str, booking: &str, amount: &str) -> Value {
    let detail = json!({"booking_id": booking, "barber_id": "kept", "amount": amount,
        "currency": "USD", "occurred_at": (Utc::now() - TimeDelta::hours(1)).to_rfc3339(),
        "service": "beard trim", "version": 1});
    shop.send(
        "/events",
        Some(json!({"detail-type": kind, "detail": detail})),
    )
    .await
}

fn money(value: &Value) -> rust_decimal::Decimal {
    value.as_str().unwrap().parse().unwrap()
}

/// The payout's deduction line of `kind`, as an amount.
fn line(payout: &Value, kind: &str) -> Option<rust_decimal::Decimal> {
    payout["deductions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["kind"] == kind)
        .map(|line| money(&line["amount"]))
}

#[tokio::test]
async fn a_reserve_is_kept_released_a_month_later_and_a_refund_is_taken_from_it() {
    let mut shop = shop("").await;
    let schedule = json!({"barber_id": "kept", "frequency": "weekly", "day_of_week": 5, "auto_payout_enabled": false,
        "connected_account_id": "acct_kept", "reserve_percent": 10, "reserve_days": 30});
    let created = shop.send("/schedules", Some(schedule)).await;
    assert_eq!(created["reserve_percent"], 10, "{created}");
    platform_event(&shop, "ServiceCompleted", "kept-1", "580.00").await;
    platform_event(&shop, "ServiceCompleted", "kept-2", "20.00").await;

    let first = paid_now(&shop, "kept").await;
    assert_eq!(first["status"], "completed", "{first}");
    let kept = line(&first, "reserve").expect("a reserve line");
    assert!(kept > rust_decimal::Decimal::ZERO, "{first}");
    let until = at(&first["reserve_until"]);
    let split: rust_decimal::Decimal = ["shop_share_amount", "deductions_total", "fee_amount"]
        .iter()
        .map(|field| money(&first[field]))
        .sum::<rust_decimal::Decimal>()
        + money(&first["net_amount"]);
    assert_eq!(split, money(&first["gross_amount"]), "gross splits whole");
    let preview = shop.send("/payouts/preview?barber_id=kept", None).await;
    assert_eq!(money(&preview["reserve"]["kept_amount"]), kept, "{preview}");
    assert_eq!(at(&preview["reserve"]["next_release_at"]), until);

    // A service refunded after its payout is taken from the reserve, not from the next payout.
    let refund = platform_event(&shop, "ServiceRefunded", "kept-2", "20.00").await;
    let owed = money(&refund["amount"]);
    assert!(owed < kept, "the refund fits the reserve: {refund}");
    let nothing = manual_status(&shop, "kept").await;
    assert_eq!(
        nothing, 409,
        "nothing owed now: the refund waits for the reserve"
    );
    let preview = shop.send("/payouts/preview?barber_id=kept", None).await;
    assert_eq!(money(&preview["reserve"]["kept_amount"]), kept - owed);

    // A month later (the server restarted with its clock 31 days ahead), the reserve less the
    // refund is paid, and nothing of it is kept again.
    shop.restart_days_later(31);
    let released = paid_now(&shop, "kept").await;
    assert_eq!(released["status"], "completed", "{released}");
    assert_eq!(
        line(&released, "reserve_release"),
        Some(-kept),
        "{released}"
    );
    assert_eq!(line(&released, "refund"), Some(owed), "{released}");
    assert_eq!(line(&released, "reserve"), None, "{released}");
    assert_eq!(
        money(&released["net_amount"]),
        kept - owed - money(&released["fee_amount"]),
        "{released}"
    );
}
