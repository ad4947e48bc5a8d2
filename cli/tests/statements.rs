//! Payout statements (issue 33 item 2) against `payouts serve` on the project's Stripe fake:
//! the printable page and the CSV list every earning, the commission, each deduction, the fee
//! and the net, agree with the payout to the cent, escape what a barber's data could inject,
//! and a barber may fetch only their own (another's is 404).

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use payout_http::auth::Role;
use payout_tests::app::{SECRET, an_hour_ago, token};
use payout_tests::fake_stripe::FakeStripe;
use payout_tests::served::OnFakeStripe;
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub async fn shop() -> OnFakeStripe {
    let config = "[shop]\nname = \"Fade & Co\"\n";
    let binary = env!("CARGO_BIN_EXE_payouts");
    OnFakeStripe::start(
        binary,
        FakeStripe::start().await,
        config,
        "whsec_statements",
    )
}

/// A completed payout to `barber` of two services and a booth rent; its id.
async fn paid(shop: &OnFakeStripe, barber: &str) -> String {
    let schedule = json!({"barber_id": barber, "frequency": "weekly", "day_of_week": 5,
        "connected_account_id": format!("acct_{barber}"), "display_name": "Marco <b>M</b>",
        "auto_payout_enabled": false});
    shop.send("/schedules", Some(schedule)).await;
    let earnings = json!([
        {"earning_id": format!("{barber}-1"), "barber_id": barber, "amount": "45.00",
         "occurred_at": an_hour_ago(), "service": "Skin fade"},
        {"earning_id": format!("{barber}-2"), "barber_id": barber, "amount": "30.50",
         "occurred_at": an_hour_ago(), "service": "=HYPERLINK(\"http://evil\")"},
    ]);
    shop.send("/earnings", Some(earnings)).await;
    let rent = json!({"barber_id": barber, "kind": "booth_rent", "amount": "10.00",
        "description": "chair, week 49"});
    shop.send("/deductions", Some(rent)).await;
    paid_now(shop, barber).await
}

/// A manual payout of what `barber` has open, once completed: its id.
pub async fn paid_now(shop: &OnFakeStripe, barber: &str) -> String {
    let manual = json!({"barber_id": barber, "reason": "end of week"});
    let payout = shop.send("/payouts/manual", Some(manual)).await;
    let id = payout["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(15);
    while shop.send(&format!("/payouts/{id}"), None).await["status"] != "completed" {
        assert!(Instant::now() < deadline, "payout {id} never completed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    id
}

/// The statement CSV's rows, and their amounts' sum but the last (the net's own line).
pub fn statement_rows(csv: &str) -> (Vec<csv::StringRecord>, Decimal) {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let lines = rows[..rows.len() - 1]
        .iter()
        .map(|row| row[4].parse::<Decimal>().unwrap())
        .sum();
    (rows, lines)
}

pub async fn get(shop: &OnFakeStripe, path: &str, bearer: &str) -> (u16, String, String) {
    let response = shop
        .client
        .get(format!("{}{path}", shop.server.base))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

#[tokio::test]
async fn a_statement_lists_every_line_and_agrees_with_its_payout() {
    let shop = shop().await;
    let id = paid(&shop, "marco").await;
    let payout: Value = shop.send(&format!("/payouts/{id}"), None).await;
    let operator = shop.server.operator.clone();

    let (status, kind, page) = get(&shop, &format!("/payouts/{id}/statement"), &operator).await;
    assert_eq!(status, 200, "{page}");
    assert!(kind.starts_with("text/html"), "{kind}");
    for shown in [
        "Fade &amp; Co",
        "Marco &lt;b&gt;M",
        "Skin fade",
        "$45.00",
        "$30.50",
        "Booth rent: chair, week 49",
        "Stripe fee",
        &format!("${}", payout["net_amount"].as_str().unwrap()),
        payout["transfer_id"].as_str().unwrap(),
    ] {
        assert!(
            page.contains(shown),
            "{shown} missing from the page: {page}"
        );
    }
    assert!(!page.contains("<b>M</b>"), "the barber's name is escaped");
    assert!(!page.contains("has not been paid"), "paid: {page}");

    let (status, kind, csv) = get(&shop, &format!("/payouts/{id}/statement.csv"), &operator).await;
    assert_eq!(status, 200, "{csv}");
    assert!(kind.starts_with("text/csv"), "{kind}");
    let (rows, lines) = statement_rows(&csv);
    let kinds: Vec<&str> = rows.iter().map(|row| &row[1]).collect();
    assert_eq!(
        kinds,
        [
            "earning",
            "earning",
            "commission",
            "deduction",
            "fee",
            "net"
        ],
        "{csv}"
    );
    assert!(
        rows[1][3].starts_with("'="),
        "a formula is neutralised: {csv}"
    );
    let net: Decimal = payout["net_amount"].as_str().unwrap().parse().unwrap();
    assert_eq!(lines, net, "the lines add up to the net: {csv}");
    assert_eq!(rows[rows.len() - 1][4].parse::<Decimal>().unwrap(), net);
}

#[tokio::test]
async fn a_barber_fetches_their_own_statement_and_not_anothers() {
    let shop = shop().await;
    let id = paid(&shop, "lena").await;
    let own = token(Role::Barber, Some("lena"), TimeDelta::hours(1), SECRET);
    let other = token(Role::Barber, Some("marco"), TimeDelta::hours(1), SECRET);
    for path in [
        format!("/payouts/{id}/statement"),
        format!("/payouts/{id}/statement.csv"),
    ] {
        assert_eq!(get(&shop, &path, &own).await.0, 200, "{path}");
        let (status, _, body) = get(&shop, &path, &other).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("Skin fade"), "{body}");
    }
    let missing = "/payouts/po_1772834400_nobody/statement";
    assert_eq!(get(&shop, missing, &own).await.0, 404);
}
