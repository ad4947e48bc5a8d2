//! Tips (issue 33 item 1) against `payouts serve` on the project's Stripe fake: the brief's
//! example with a $40 tip left with its last booking (the tip paid whole, the rate, the bonus
//! and the fee still of the services alone: net $707.25), shown in the payout, its statement
//! and the analytics; then the booking refunded, which takes back its commission and its tip.

use chrono::{TimeDelta, Utc};
use payout_tests::served::OnFakeStripe;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::statements::{get, paid_now, shop, statement_rows};

fn completed(booking: &str, amount: &str, tip: Option<&str>, kind: &str) -> Value {
    let mut detail = json!({"booking_id": booking, "barber_id": "123", "amount": amount,
        "currency": "USD", "occurred_at": (Utc::now() - TimeDelta::hours(1)).to_rfc3339(),
        "service": "haircut", "version": 1});
    if let Some(tip) = tip {
        detail["tip"] = json!(tip);
    }
    json!({"detail-type": kind, "detail": detail})
}

/// The shop, with barber 123 paid by Stripe when asked.
async fn barber_123() -> OnFakeStripe {
    let shop = shop().await;
    let schedule = json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5,
        "connected_account_id": "acct_123", "auto_payout_enabled": false});
    shop.send("/schedules", Some(schedule)).await;
    shop
}

#[tokio::test]
async fn a_tip_is_paid_whole_outside_the_commission_and_refunded_with_its_booking() {
    let shop = barber_123().await;
    let at = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let earnings: Vec<Value> = (0..59)
        .map(|n| {
            json!({"earning_id": format!("e{n}"), "barber_id": "123",
                "amount": if n < 40 { "16.00" } else { "18.00" }, "occurred_at": at,
                "service": "haircut"})
        })
        .collect();
    shop.send("/earnings", Some(json!(earnings))).await;
    // The 60th service, with its tip, as the booking platform sends it.
    let event = completed("b60", "18.00", Some("40.00"), "ServiceCompleted");
    assert_eq!(
        shop.send("/events", Some(event.clone())).await["outcome"],
        "recorded"
    );
    assert_eq!(
        shop.send("/events", Some(event)).await["outcome"],
        "duplicate"
    );
    let rent = json!({"barber_id": "123", "kind": "booth_rent", "amount": "50.00",
        "description": "booth rent"});
    shop.send("/deductions", Some(rent)).await;

    let id = paid_now(&shop, "123").await;
    let payout = shop.send(&format!("/payouts/{id}"), None).await;
    for (field, expected) in [
        ("gross_amount", json!("1000.00")),
        ("service_count", json!(60)),
        ("commission_amount", json!("720.00")),
        ("tips_amount", json!("40.00")),
        ("tips_paid_amount", json!("40.00")),
        ("fee_amount", json!("2.75")),
        ("net_amount", json!("707.25")),
        ("shop_share_amount", json!("280.00")),
    ] {
        assert_eq!(payout[field], expected, "{field}: {payout}");
    }
    let transfers = shop.fake.transfers();
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    assert_eq!(transfers[0]["amount"], 70_725, "{transfers:?}");

    let operator = shop.server.operator.clone();
    let (_, _, csv) = get(&shop, &format!("/payouts/{id}/statement.csv"), &operator).await;
    let (rows, lines) = statement_rows(&csv);
    let tips: Vec<_> = rows.iter().filter(|row| &row[1] == "tip").collect();
    assert_eq!(tips.len(), 1, "{csv}");
    assert_eq!(&tips[0][3], "tip: haircut");
    assert_eq!(&tips[0][4], "40.00");
    assert_eq!(
        lines,
        Decimal::new(70_725, 2),
        "the lines add up to the net: {csv}"
    );
    let analytics = shop.send("/analytics?days=1", None).await;
    assert_eq!(analytics["totals"]["tips"], "40.00", "{analytics}");
    assert_eq!(analytics["totals"]["gross"], "1000.00", "{analytics}");

    // The booking refunded: its commission at the payout's 72 % ($12.96) and its whole tip.
    let refund = completed("b60", "18.00", None, "ServiceRefunded");
    let applied = shop.send("/events", Some(refund.clone())).await;
    assert_eq!(applied["outcome"], "clawed_back", "{applied}");
    assert_eq!(applied["amount"], "52.96", "{applied}");
    assert_eq!(
        shop.send("/events", Some(refund)).await["outcome"],
        "duplicate"
    );
    let preview = shop.send("/payouts/preview?barber_id=123", None).await;
    let owed: Vec<&Value> = preview["deductions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["kind"] == "refund")
        .collect();
    assert_eq!(owed.len(), 1, "{preview}");
    assert_eq!(owed[0]["amount"], "52.96", "{preview}");
}

#[tokio::test]
async fn an_open_tip_is_voided_with_its_booking() {
    let shop = barber_123().await;
    let event = completed("b1", "30.00", Some("6.00"), "ServiceCompleted");
    shop.send("/events", Some(event)).await;
    let open = shop.send("/payouts/preview?barber_id=123", None).await;
    assert_eq!(open["tips_amount"], "6.00", "{open}");
    assert_eq!(open["service_count"], 1, "{open}");
    let refund = completed("b1", "30.00", None, "ServiceRefunded");
    assert_eq!(
        shop.send("/events", Some(refund)).await["outcome"],
        "voided"
    );
    // A tip comes with its booking's completion only: one added afterwards could outlive the
    // refund. Nor may intake take an id kept for the events' tips.
    let later = completed("b1", "30.00", Some("25.00"), "ServiceCompleted");
    assert_eq!(shop.server.post(&shop.client, "/events", later).await, 409);
    let untipped = completed("b2", "30.00", None, "ServiceCompleted");
    shop.send("/events", Some(untipped)).await;
    let tipped = completed("b2", "30.00", Some("5.00"), "ServiceCompleted");
    assert_eq!(shop.server.post(&shop.client, "/events", tipped).await, 409);
    let squatter = json!({"earning_id": "tip_b3", "barber_id": "123", "amount": "500.00",
        "occurred_at": Utc::now().to_rfc3339(), "service": "haircut"});
    assert_eq!(
        shop.server.post(&shop.client, "/earnings", squatter).await,
        400
    );
    let booked = completed("tip_b3", "30.00", None, "ServiceCompleted");
    assert_eq!(shop.server.post(&shop.client, "/events", booked).await, 400);
    let after = shop.send("/payouts/preview?barber_id=123", None).await;
    assert_eq!(after["tips_amount"], "0.00", "{after}");
    assert_eq!(after["gross_amount"], "30.00", "only b2 is open: {after}");
}
