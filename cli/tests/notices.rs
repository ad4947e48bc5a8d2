//! Notices for real from `payouts serve`: the brief's example payout ($667.25) paid, and its
//! completed notice received by an SMTP server (aiosmtpd) and an SMS provider (a fake of
//! Twilio's Messages API), each with every line of the breakdown.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use payout_tests::served::Served;
use payout_tests::sinks::{SmsFake, SmtpSink};
use reqwest::Client;
use serde_json::{Value, json};

const LINES: [&str; 5] = [
    "Gross earnings (60 services): $1,000.00",
    "Commission (72%): $720.00",
    "Booth rent: -$50.00",
    "Platform fee: -$2.75",
    "Net payout: $667.25",
];

/// Undoes quoted-printable soft line breaks, so a line of the body reads as it was sent.
fn unfolded(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=24", "$")
}

#[tokio::test]
async fn the_completed_notice_reaches_the_barber_by_email_and_sms() {
    let smtp = SmtpSink::start();
    let sms = SmsFake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("payouts.toml");
    std::fs::write(
        &config,
        format!(
            "[notifier.email]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
             from = \"Payouts <payouts@shop.example>\"\n\
             [notifier.sms]\napi_base = \"{}\"\naccount_sid = \"AC123\"\n\
             auth_token = \"token\"\nfrom = \"+15550000000\"\n\
             [shop]\ndashboard_url = \"https://payouts.shop.example/\"\n",
            smtp.port, sms.base
        ),
    )
    .unwrap();
    let server = Served::start(
        env!("CARGO_BIN_EXE_payouts"),
        &dir.path().join("notices.db"),
        &["--config", &config.display().to_string()],
        &[],
    );
    let client = Client::new();
    let schedule = json!({"barber_id": "123", "frequency": "weekly", "day_of_week": 5,
        "connected_account_id": "acct_barber123", "email": "barber@shop.example",
        "phone": "+15551234567", "sms_notifications": true});
    assert_eq!(server.post(&client, "/schedules", schedule).await, 201);
    let at = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let earnings: Vec<Value> = (0..60)
        .map(|n| {
            json!({"earning_id": format!("e{n}"), "barber_id": "123",
                "amount": if n < 40 { "16.00" } else { "18.00" }, "occurred_at": at,
                "service": "haircut"})
        })
        .collect();
    assert_eq!(
        server.post(&client, "/earnings", json!(earnings)).await,
        201
    );
    let rent = json!({"barber_id": "123", "kind": "booth_rent", "amount": "50.00",
        "description": "booth rent"});
    assert_eq!(server.post(&client, "/deductions", rent).await, 201);
    let manual = json!({"barber_id": "123", "reason": "end of week"});
    assert_eq!(server.post(&client, "/payouts/manual", manual).await, 201);

    // The barber hears of the new destination first, then of the payout.
    let completed = |text: &str| text.contains("Your payout is on its way");
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mails, texts) = loop {
        let mails: Vec<String> = smtp
            .messages()
            .iter()
            .map(|m| unfolded(m))
            .filter(|m| completed(m))
            .collect();
        let texts: Vec<_> = sms
            .messages()
            .into_iter()
            .filter(|t| completed(&t.form["Body"]))
            .collect();
        if (!mails.is_empty() && !texts.is_empty()) || Instant::now() > deadline {
            break (mails, texts);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(mails.len(), 1, "one completed email: {mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("To: barber@shop.example"), "{mail}");
    assert!(
        mail.contains("Subject: Your payout is on its way"),
        "{mail}"
    );
    assert_eq!(texts.len(), 1, "one completed SMS: {texts:?}");
    assert_eq!(texts[0].account, "AC123");
    assert_eq!(texts[0].form["To"], "+15551234567");
    assert_eq!(texts[0].form["From"], "+15550000000");
    // The link to the payout's page on the dashboard, which opens its statement.
    let link = "Your statement: https://payouts.shop.example/dashboard/payouts/pm_";
    assert!(mail.contains(link), "{mail}");
    assert!(
        texts[0].form["Body"].contains(link),
        "{}",
        texts[0].form["Body"]
    );
    for line in LINES {
        assert!(
            mail.contains(line),
            "`{line}` missing from the email:\n{mail}"
        );
        assert!(
            texts[0].form["Body"].contains(line),
            "`{line}` missing from the SMS: {}",
            texts[0].form["Body"]
        );
    }
}
