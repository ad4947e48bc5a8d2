//! What the barber and the shop's accountant read (issue 33 items 3 to 5), against
//! `payouts serve`: a barber's year by the month it was paid and the tax-year report agree
//! with the payout they count; every payout out as CSV, and as journal lines that balance to
//! zero over a `payouts demo` month; earnings in as CSV, a bad row named by its line, and a
//! 50,000-row file through `payouts import earnings`.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use chrono::{Datelike, TimeDelta, Utc};
use payout_http::auth::Role;
use payout_tests::app::{SECRET, token};
use payout_tests::served::Served;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::statements::{get, paid_now, shop};

#[tokio::test]
async fn a_barbers_year_and_the_tax_year_count_what_was_paid() {
    let shop = shop().await;
    let schedule = json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5,
        "connected_account_id": "acct_123", "display_name": "=cmd|' /C calc'!A0",
        "auto_payout_enabled": false});
    shop.send("/schedules", Some(schedule)).await;
    let at = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let earnings = json!([
        {"earning_id": "s1", "barber_id": "123", "amount": "1500.00", "occurred_at": at,
         "service": "colour"},
        {"earning_id": "s1-tip", "barber_id": "123", "amount": "40.00", "occurred_at": at,
         "service": "colour", "kind": "tip"},
    ]);
    shop.send("/earnings", Some(earnings)).await;
    let rent = json!({"barber_id": "123", "kind": "booth_rent", "amount": "50.00",
        "description": "chair"});
    shop.send("/deductions", Some(rent)).await;
    let id = paid_now(&shop, "123").await;
    let payout = shop.send(&format!("/payouts/{id}"), None).await;
    let year = Utc::now().year();

    let summary = shop
        .send(&format!("/barbers/123/summary?year={year}"), None)
        .await;
    let month = format!("{year:04}-{:02}", Utc::now().month());
    let months = summary["months"].as_array().unwrap();
    assert_eq!(months.len(), 12, "{summary}");
    let this = months.iter().find(|m| m["month"] == month).unwrap();
    for figures in [this, &summary["total"]] {
        assert_eq!(figures["payouts"], 1, "{summary}");
        assert_eq!(figures["gross"], payout["gross_amount"], "{summary}");
        assert_eq!(figures["tips"], "40.00", "{summary}");
        assert_eq!(
            figures["commission"], payout["commission_amount"],
            "{summary}"
        );
        assert_eq!(figures["deductions"]["booth_rent"], "50.00", "{summary}");
        assert_eq!(figures["fees"], payout["fee_amount"], "{summary}");
        assert_eq!(figures["net_paid"], payout["net_amount"], "{summary}");
    }
    let others: u64 = months.iter().map(|m| m["payouts"].as_u64().unwrap()).sum();
    assert_eq!(others, 1, "only this month has a payout: {summary}");

    let own = token(Role::Barber, Some("123"), TimeDelta::hours(1), SECRET);
    let other = token(Role::Barber, Some("456"), TimeDelta::hours(1), SECRET);
    let path = format!("/barbers/123/summary?year={year}");
    assert_eq!(get(&shop, &path, &own).await.0, 200);
    assert_eq!(get(&shop, &path, &other).await.0, 404);
    assert_eq!(get(&shop, "/reports/tax-year", &own).await.0, 403);
    assert_eq!(
        get(&shop, "/barbers/123/summary?year=99999", &own).await.0,
        400
    );

    let report = shop
        .send(&format!("/reports/tax-year?year={year}"), None)
        .await;
    assert_eq!(report["reporting_threshold"], "2000", "{report}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["net_paid"], payout["net_amount"], "{report}");
    assert_eq!(rows[0]["tips_paid"], "40.00", "{report}");
    // $1,500 at 70 % and the tip, less rent and fee: over $1,000 but under $2,000.
    assert_eq!(rows[0]["reaches_threshold"], false, "{report}");
    let operator = shop.server.operator.clone();
    let (status, kind, csv) = get(
        &shop,
        &format!("/reports/tax-year.csv?year={year}"),
        &operator,
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    assert!(kind.starts_with("text/csv"), "{kind}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "year,barber_id,display_name,currency,payouts,net_paid,tips_paid,reaches_threshold"
    );
    assert!(
        lines[1].contains(",'=cmd|"),
        "a formula is neutralised: {csv}"
    );
    assert!(lines[1].ends_with(&format!(
        ",{},40.00,no",
        payout["net_amount"].as_str().unwrap()
    )));

    // The payouts for the books: every line of the breakdown, and the journal.
    let window = format!(
        "from={}&to={}",
        (Utc::now() - TimeDelta::days(1)).format("%Y-%m-%dT%H:%M:%SZ"),
        (Utc::now() + TimeDelta::days(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let (status, _, csv) = get(&shop, &format!("/payouts/export.csv?{window}"), &operator).await;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    let column = |name: &str| &rows[0][header.iter().position(|h| h == name).unwrap()];
    assert_eq!(column("payout_id"), id);
    assert_eq!(column("tips"), "40.00");
    assert_eq!(column("deduction_booth_rent"), "50.00");
    assert_eq!(column("net"), payout["net_amount"].as_str().unwrap());
    let (_, _, journal) = get(
        &shop,
        &format!("/payouts/export.csv?{window}&layout=journal"),
        &operator,
    )
    .await;
    assert_eq!(
        balances(&journal).values().copied().sum::<Decimal>(),
        Decimal::ZERO
    );
    assert!(journal.contains(",cash,,"), "{journal}");
    assert_eq!(
        get(&shop, "/payouts/export.csv?from=x", &operator).await.0,
        400
    );
}

/// Each payout's debits less its credits, from journal lines; every one must be zero.
fn balances(journal: &str) -> BTreeMap<String, Decimal> {
    let mut reader = csv::Reader::from_reader(journal.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "date",
            "payout_id",
            "account",
            "debit",
            "credit",
            "currency",
            "description"
        ]
    );
    let mut balances: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in reader.records().map(Result::unwrap) {
        let amount = |field: &str| field.parse::<Decimal>().unwrap_or_default();
        *balances.entry(row[1].to_string()).or_default() += amount(&row[3]) - amount(&row[4]);
    }
    for (payout, balance) in &balances {
        assert_eq!(
            *balance,
            Decimal::ZERO,
            "payout {payout}'s lines do not balance"
        );
    }
    balances
}

#[tokio::test]
async fn the_journal_of_a_demo_month_balances_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let demo = Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args(["demo", "--barbers", "60", "--weeks", "4", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let server = Served::start(env!("CARGO_BIN_EXE_payouts"), &db, &[], &[]);
    let response = reqwest::Client::new()
        .get(format!(
            "{}/payouts/export.csv?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&layout=journal",
            server.base
        ))
        .bearer_auth(&server.operator)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let journal = response.text().await.unwrap();
    let payouts = balances(&journal);
    assert!(payouts.len() > 100, "a month of payouts: {}", payouts.len());
}

#[tokio::test]
async fn earnings_come_in_as_csv_with_each_bad_row_named_by_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(
        env!("CARGO_BIN_EXE_payouts"),
        &dir.path().join("csv.db"),
        &[],
        &[],
    );
    let client = reqwest::Client::new();
    let schedule = json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5});
    assert_eq!(server.post(&client, "/schedules", schedule).await, 201);
    let at = (Utc::now() - TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let body = format!(
        "earning_id,barber_id,amount,occurred_at,service,kind\n\
         e1,123,45.00,{at},haircut,\n\
         e2,123,-5,{at},haircut,\n\
         e3,999,10.00,{at},beard,\n\
         e4,123,5.00,{at},haircut,tip\n\
         e5,123,10.00,yesterday,\"shave, hot towel\",\n"
    );
    let csv = |mode: &'static str, body: String| {
        let request = client
            .post(format!("{}/earnings?mode={mode}", server.base))
            .bearer_auth(&server.operator)
            .header("content-type", "text/csv")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, all) = csv("all", body.clone()).await;
    assert_eq!(status, 400, "{all}");
    let outcome = |answer: &Value, line: u64| {
        let row = answer["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["line"] == line)
            .unwrap()
            .clone();
        (
            row["outcome"].as_str().unwrap().to_string(),
            row["error"].clone(),
        )
    };
    assert_eq!(outcome(&all, 2).0, "not_written", "{all}");
    assert_eq!(outcome(&all, 3).0, "error", "{all}");
    assert!(
        outcome(&all, 3)
            .1
            .as_str()
            .unwrap()
            .contains("greater than zero"),
        "{all}"
    );
    assert!(
        outcome(&all, 4)
            .1
            .as_str()
            .unwrap()
            .contains("no payout schedule"),
        "{all}"
    );
    assert!(
        outcome(&all, 6).1.as_str().unwrap().contains("occurred_at"),
        "{all}"
    );
    let preview = server
        .send(&client, "/payouts/preview?barber_id=123", None)
        .await;
    assert_eq!(
        preview["decision"], "nothing_open",
        "nothing written: {preview}"
    );

    let (status, rows) = csv("rows", body.clone()).await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(
        (rows["created"].clone(), rows["errors"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(outcome(&rows, 5).0, "created", "the tip: {rows}");
    let preview = server
        .send(&client, "/payouts/preview?barber_id=123", None)
        .await;
    assert_eq!(preview["gross_amount"], "45.00", "{preview}");
    assert_eq!(preview["tips_amount"], "5.00", "{preview}");
    let (status, again) = csv("rows", body.clone()).await;
    assert_eq!(
        (status, again["duplicates"].clone()),
        (200, json!(2)),
        "{again}"
    );

    // A spreadsheet's CRLF lines keep their numbers; a short row is that row's error; a column
    // named twice refuses the file.
    let (status, crlf) = csv(
        "rows",
        format!(
            "earning_id,barber_id,amount,occurred_at,service\r\n\
         e6,123,12.00,{at},trim\r\n\
         e7,123\r\n"
        ),
    )
    .await;
    assert_eq!(status, 200, "{crlf}");
    assert_eq!(outcome(&crlf, 2).0, "created", "{crlf}");
    assert!(
        outcome(&crlf, 3).1.as_str().unwrap().contains("2 fields"),
        "{crlf}"
    );
    let (status, twice) = csv(
        "rows",
        format!(
            "earning_id,barber_id,amount,amount,occurred_at,service\ne8,123,1.00,9000.00,{at},x\n"
        ),
    )
    .await;
    assert_eq!(status, 400, "{twice}");
    assert!(
        twice["detail"].as_str().unwrap().contains("named twice"),
        "{twice}"
    );
}

#[tokio::test]
async fn fifty_thousand_rows_go_through_payouts_import() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(
        env!("CARGO_BIN_EXE_payouts"),
        &dir.path().join("import.db"),
        &[],
        &[],
    );
    let client = reqwest::Client::new();
    for barber in 0..50 {
        let schedule = json!({"barber_id": format!("b{barber}"), "frequency": "monthly",
            "day_of_month": 1});
        assert_eq!(server.post(&client, "/schedules", schedule).await, 201);
    }
    let at = (Utc::now() - TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let mut file = String::from("earning_id,barber_id,amount,occurred_at,service\n");
    for n in 0..50_000 {
        file.push_str(&format!(
            "e{n},b{},{}.50,{at},haircut\n",
            n % 50,
            20 + n % 30
        ));
    }
    file.push_str(&format!("bad,b1,0,{at},haircut\n"));
    let path = dir.path().join("earnings.csv");
    std::fs::write(&path, file).unwrap();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_payouts"))
        .args(["import", "earnings"])
        .arg(&path)
        .args(["--api", &server.base, "--row-by-row"])
        .env("PAYOUTS_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("payouts import: 50,001 rows in {elapsed:?}: {stdout}");
    assert!(
        !output.status.success(),
        "a refused row fails the import: {stdout}"
    );
    assert!(
        stdout.contains("50000 created, 0 already recorded, 1 refused"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 50002: "),
        "the bad row by its line: {stdout}"
    );
}
