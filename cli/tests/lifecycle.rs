//! The payout's life at its seams, against `payouts serve` paying through the project's Stripe
//! fake with the planner (and reconciliation) every second: a payout Stripe failed stays
//! failed, a slow answer is recorded when it came, a provider lookup that hangs holds up no
//! planning, and retries pending when the process is killed are made after its restart.

use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use payout_tests::app::an_hour_ago;
use payout_tests::fake_stripe::{FakeStripe, Scenario};
use payout_tests::served::Served;
use reqwest::Client;
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_lifecycle";

/// A 3 s rail timeout, retries after `retry` (seconds): the seams show within seconds.
fn config(retry: u32) -> String {
    format!(
        "[rail]\nkind = \"stripe\"\ntimeout = \"3s\"\n[retry]\ndelays = [\"{retry}s\", \"{retry}s\", \"{retry}s\"]\n"
    )
}

struct Shop {
    fake: FakeStripe,
    server: Served,
    client: Client,
    dir: tempfile::TempDir,
}

impl Shop {
    async fn open(retry_seconds: u32) -> Self {
        Self::open_with(retry_seconds, "").await
    }

    /// With `more` configuration after the rail's and the retries'.
    async fn open_with(retry_seconds: u32, more: &str) -> Self {
        let fake = FakeStripe::start().await;
        let dir = tempfile::tempdir().unwrap();
        let config = config(retry_seconds) + more;
        std::fs::write(dir.path().join("payouts.toml"), config).unwrap();
        let server = Self::serve(&dir, &fake);
        Self {
            fake,
            server,
            client: Client::new(),
            dir,
        }
    }

    fn serve(dir: &tempfile::TempDir, fake: &FakeStripe) -> Served {
        Served::on_stripe(
            env!("CARGO_BIN_EXE_payouts"),
            &dir.path().join("lifecycle.db"),
            &dir.path().join("payouts.toml"),
            &fake.base_url,
            WEBHOOK_SECRET,
            &[],
        )
    }

    /// `kill -9`, then `serve` again on the same files.
    fn crash_and_restart(&mut self) {
        self.server.crash();
        self.server = Self::serve(&self.dir, &self.fake);
    }

    async fn send(&self, path: &str, body: Option<Value>) -> Value {
        self.server.send(&self.client, path, body).await
    }

    /// `barber` paid by `method` on account `acct_{barber}`, with two services; an operator
    /// asks for the payout now. Its id.
    async fn manual_payout(&self, barber: &str, method: &str) -> String {
        let schedule = json!({"barber_id": barber, "frequency": "weekly", "day_of_week": 5,
            "connected_account_id": format!("acct_{barber}"), "preferred_payment_method": method});
        self.send("/schedules", Some(schedule)).await;
        let earnings: Vec<Value> = (0..2)
            .map(|n| {
                json!({"earning_id": format!("{barber}-e{n}"), "barber_id": barber,
                    "amount": "40.00", "occurred_at": an_hour_ago(), "service": "haircut"})
            })
            .collect();
        self.send("/earnings", Some(json!(earnings))).await;
        let manual = json!({"barber_id": barber, "reason": "end of day"});
        let payout = self.send("/payouts/manual", Some(manual)).await;
        payout["id"].as_str().unwrap().to_string()
    }

    /// Stripe's signed `payout.failed` (the bank closed the account) for the instant payout of
    /// `id`, applied: the payout is failed. Delivered again after a 409 (the payout changed
    /// while the event was applied), as Stripe redelivers.
    async fn instant_payout_failed(&self, id: &str) {
        let object = json!({"id": format!("po_of_{id}"), "object": "payout", "status": "failed",
            "method": "instant", "failure_code": "account_closed", "metadata": {"payout_id": id}});
        let mut status = 0;
        for _ in 0..50 {
            status = self
                .server
                .stripe_event(
                    &self.client,
                    WEBHOOK_SECRET,
                    "payout.failed",
                    object.clone(),
                )
                .await;
            if status != 409 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, 200);
        self.reaches(id, &["failed"]).await;
    }

    /// The payout and its audit trail once its status is one of `statuses` (30 s at most).
    async fn reaches(&self, id: &str, statuses: &[&str]) -> Value {
        let mut detail = Value::Null;
        for _ in 0..300 {
            detail = self.send(&format!("/payouts/{id}"), None).await;
            if statuses.contains(&detail["status"].as_str().unwrap_or_default()) {
                return detail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("payout {id} never reached {statuses:?}: {detail}");
    }
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// The first audit event of `detail` that moved the payout to `status`.
fn moved_to<'a>(detail: &'a Value, status: &str) -> &'a Value {
    detail["audit_trail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["to"] == status)
        .unwrap_or_else(|| panic!("never {status}: {detail}"))
}

#[tokio::test]
async fn an_instant_payout_stripe_failed_stays_failed_through_reconciliation() {
    let shop = Shop::open(1).await;
    let id = shop.manual_payout("instant1", "stripe_instant").await;
    shop.reaches(&id, &["in_transit"]).await;

    // The bank refused the instant payout; the transfer to the connected account stands.
    shop.instant_payout_failed(&id).await;

    // Several planner ticks and reconciliation sweeps later it is still failed: the transfer
    // Stripe still holds is not taken for a payment, and nothing is asked of Stripe again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let detail = shop.send(&format!("/payouts/{id}"), None).await;
    assert_eq!(detail["status"], "failed", "{detail}");
    assert_eq!(shop.fake.transfers().len(), 1);
    assert_eq!(
        shop.fake.payouts().len(),
        1,
        "one instant payout, never another"
    );
    let trail = detail["audit_trail"].as_array().unwrap();
    assert_eq!(
        trail.iter().filter(|e| e["to"] == "in_transit").count(),
        1,
        "{detail}"
    );

    // Nor can an operator revive it: its transfer stands, so a retry would send nothing new,
    // and a cancel would pay its earnings again.
    for action in ["retry", "cancel"] {
        let path = format!("/payouts/{id}/{action}");
        let status = shop.server.post(&shop.client, &path, json!({})).await;
        assert_eq!(status, 409, "{action}");
    }
    let detail = shop.send(&format!("/payouts/{id}"), None).await;
    assert_eq!(detail["status"], "failed", "{detail}");
}

#[tokio::test]
async fn what_a_failed_instant_payout_left_behind_is_shown_and_settled_by_an_operator() {
    let shop = Shop::open(1).await;
    let again = shop.manual_payout("leftover1", "stripe_instant").await;
    let by_hand = shop.manual_payout("leftover2", "stripe_instant").await;
    for id in [&again, &by_hand] {
        shop.reaches(id, &["in_transit"]).await;
        shop.instant_payout_failed(id).await;
    }

    // The operator sees where the money is and what may be done about it.
    let detail = shop.send(&format!("/payouts/{again}"), None).await;
    let left = detail["left_behind"].clone();
    assert_eq!(left["transfer_id"], detail["transfer_id"], "{detail}");
    assert_eq!(left["amount"], detail["net_amount"], "{detail}");
    assert_eq!(
        left["actions"],
        json!(["pay_out_instant", "pay_out_standard", "settled_by_hand"])
    );

    // Paid out again from the barber's Stripe balance, to their bank: no new transfer, one
    // new standard payout on their account for the net, keyed so a second click pays once.
    let action = json!({"action": "pay_out_standard"});
    let path = format!("/payouts/{again}/left-behind");
    let paid_out = shop.send(&path, Some(action.clone())).await;
    assert_eq!(paid_out["status"], "in_transit", "{paid_out}");
    assert!(paid_out.get("left_behind").is_none(), "{paid_out}");
    assert_eq!(shop.server.post(&shop.client, &path, action).await, 409);
    assert_eq!(
        shop.fake.transfers().len(),
        2,
        "one transfer per payout, no more"
    );
    let payouts = shop.fake.payouts();
    let (account, standard) = payouts.last().unwrap();
    assert_eq!(account, "acct_leftover1");
    assert_eq!(standard["method"], "standard", "{standard}");
    let net_cents: i64 = left["amount"]
        .as_str()
        .unwrap()
        .replace('.', "")
        .parse()
        .unwrap();
    assert_eq!(standard["amount"], json!(net_cents), "{standard}");
    assert_eq!(payouts.len(), 3, "two instant payouts and the standard one");
    // Stripe reports the new payout paid: the payout is completed.
    let object = json!({"id": "po_standard_again", "object": "payout", "status": "paid",
        "method": "standard", "metadata": {"payout_id": again}});
    let status = shop
        .server
        .stripe_event(&shop.client, WEBHOOK_SECRET, "payout.paid", object)
        .await;
    assert_eq!(status, 200);
    shop.reaches(&again, &["completed"]).await;

    // The other reached the barber by other means: recorded with its reference.
    let path = format!("/payouts/{by_hand}/left-behind");
    let missing = json!({"action": "settled_by_hand"});
    assert_eq!(shop.server.post(&shop.client, &path, missing).await, 400);
    let unknown = json!({"action": "refund_everything"});
    assert_eq!(shop.server.post(&shop.client, &path, unknown).await, 400);
    let settled = json!({"action": "settled_by_hand", "reference": "withdrawn by the barber"});
    let detail = shop.send(&path, Some(settled)).await;
    assert_eq!(detail["status"], "completed", "{detail}");
    let detail = shop.send(&format!("/payouts/{by_hand}"), None).await;
    let last = detail["audit_trail"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["from"], "failed");
    assert!(
        last["actor"].as_str().unwrap().starts_with("operator"),
        "{last}"
    );
    assert_eq!(shop.fake.payouts().len(), 3, "nothing paid out for it");
}

#[tokio::test]
async fn an_instant_payout_stripe_failed_while_its_answer_was_unknown_stays_failed() {
    let shop = Shop::open(1).await;
    // Stripe makes the transfer and the instant payout, the answer is lost, and every lookup
    // hangs: the payout waits, its outcome unknown here.
    shop.fake
        .set_scenario("acct_instant2", Scenario::LoseResponse);
    shop.fake.hang_lookups(Some(Duration::from_secs(60)));
    let id = shop.manual_payout("instant2", "stripe_instant").await;
    shop.reaches(&id, &["retry_scheduled", "processing"]).await;

    // Stripe reports the instant payout failed: final for that attempt.
    shop.instant_payout_failed(&id).await;

    // Lookups answer again: the executor and reconciliation find the transfer, and leave the
    // failed payout failed.
    shop.fake.hang_lookups(None);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let detail = shop.send(&format!("/payouts/{id}"), None).await;
    assert_eq!(detail["status"], "failed", "{detail}");
}

#[tokio::test]
async fn an_instant_payout_paid_before_its_answer_was_known_completes_on_redelivery() {
    let shop = Shop::open(1).await;
    // The transfer and the instant payout are made, the answer is lost, and lookups hang.
    shop.fake
        .set_scenario("acct_early1", Scenario::LoseResponse);
    shop.fake.hang_lookups(Some(Duration::from_secs(60)));
    let id = shop.manual_payout("early1", "stripe_instant").await;
    shop.reaches(&id, &["retry_scheduled", "processing"]).await;

    // Stripe says the instant payout arrived before anything here knows it was made: refused
    // unrecorded, so that Stripe delivers it again.
    let object = json!({"id": format!("po_of_{id}"), "object": "payout", "status": "paid",
        "method": "instant", "metadata": {"payout_id": id}});
    let paid = || {
        shop.server
            .stripe_event(&shop.client, WEBHOOK_SECRET, "payout.paid", object.clone())
    };
    assert_eq!(paid().await, 409);

    // Lookups answer again: the transfer is adopted (in transit), and Stripe's redelivery of
    // the same event completes it.
    shop.fake.hang_lookups(None);
    shop.reaches(&id, &["in_transit"]).await;
    assert_eq!(paid().await, 200);
    let detail = shop.reaches(&id, &["completed"]).await;
    assert_eq!(shop.fake.transfers().len(), 1, "{detail}");
}

#[tokio::test]
async fn a_slow_answer_is_recorded_when_it_came_not_when_the_job_was_picked_up() {
    let shop = Shop::open(1).await;
    // Stripe makes the transfer, then takes 2 s to answer (inside the 3 s timeout).
    shop.fake.set_scenario(
        "acct_slow1",
        Scenario::HangAfterCommit(Duration::from_secs(2)),
    );
    let id = shop.manual_payout("slow1", "stripe").await;
    let detail = shop.reaches(&id, &["completed"]).await;

    let attempted = at(&moved_to(&detail, "processing")["at"]);
    let completed = at(&moved_to(&detail, "completed")["at"]);
    let took = completed - attempted;
    assert!(
        took >= chrono::TimeDelta::milliseconds(1900),
        "the answer took 2 s, recorded as {took}: {detail}"
    );
    assert_eq!(at(&detail["accepted_at"]), completed);
    assert_eq!(at(&detail["completed_at"]), completed);
}

#[tokio::test]
async fn a_provider_lookup_that_hangs_holds_up_no_planning() {
    let shop = Shop::open(1).await;
    // Stripe makes the transfer and the answer is lost: the payout waits for a retry whose
    // outcome is unknown, which reconciliation looks up at Stripe.
    // Every lookup hangs from the start.
    shop.fake.set_scenario("acct_lost1", Scenario::LoseResponse);
    shop.fake.hang_lookups(Some(Duration::from_secs(60)));
    let id = shop.manual_payout("lost1", "stripe").await;
    shop.reaches(&id, &["retry_scheduled", "processing"]).await;

    // The planner keeps its one-second rhythm while every lookup hangs.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let health = shop.send("/health/report", None).await;
        let last_run = at(&health["last_planner_run"]);
        let silence = at(&health["checked_at"]) - last_run;
        assert!(
            silence <= chrono::TimeDelta::seconds(5),
            "the planner has not run for {silence}: {health}"
        );
    }

    // Once Stripe answers again, the lost answer's transfer is adopted: paid once.
    shop.fake.hang_lookups(None);
    let detail = shop.reaches(&id, &["completed"]).await;
    assert_eq!(shop.fake.transfers().len(), 1, "{detail}");
}

#[tokio::test]
async fn retries_pending_at_a_crash_are_made_after_the_restart_at_their_time() {
    // The shortest lease the configuration allows (the rail's 3 s timeout plus 30 s): a payout
    // killed in flight waits for it.
    let mut shop = Shop::open_with(5, "[executor]\nlock_lease = \"34s\"\n").await;
    let barbers: Vec<String> = (0..6).map(|n| format!("retry{n}")).collect();
    let mut ids = Vec::new();
    for barber in &barbers {
        // One 5xx, then Stripe pays: each payout waits 5 s for its retry.
        shop.fake.set_scenario(
            &format!("acct_{barber}"),
            Scenario::Transient {
                status: 500,
                times: 1,
            },
        );
        ids.push(shop.manual_payout(barber, "stripe").await);
    }
    for id in &ids {
        shop.reaches(id, &["retry_scheduled"]).await;
    }
    // One payout in flight: Stripe makes its transfer and takes 2 s to answer.
    shop.fake.set_scenario(
        "acct_inflight",
        Scenario::HangAfterCommit(Duration::from_secs(2)),
    );
    let in_flight = shop.manual_payout("inflight", "stripe").await;
    shop.reaches(&in_flight, &["processing"]).await;
    // Killed three times, a second apart, the first with the transfer in flight and every
    // retry pending; each retry falls due a few seconds after the last restart, when the
    // in-process queue that held its job is long gone.
    for _ in 0..3 {
        shop.crash_and_restart();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let restarted = Utc::now();
    // The payout killed in flight waits out its lease, then its transfer is adopted.
    let mut detail = Value::Null;
    for _ in 0..90 {
        detail = shop.send(&format!("/payouts/{in_flight}"), None).await;
        if detail["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(detail["status"], "completed", "{detail}");
    assert!(at(&detail["completed_at"]) - restarted <= chrono::TimeDelta::seconds(60));
    for id in &ids {
        let detail = shop.reaches(id, &["completed"]).await;
        let due = at(&detail["audit_trail"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|event| event["to"] == "retry_scheduled")
            .unwrap()["at"])
            + chrono::TimeDelta::seconds(5);
        let completed = at(&detail["completed_at"]);
        assert!(
            completed - due.max(restarted) <= chrono::TimeDelta::seconds(10),
            "{id} was due at {due}, restarted at {restarted}, paid at {completed}"
        );
    }
    assert_eq!(
        shop.fake.transfers().len(),
        barbers.len() + 1,
        "each paid once"
    );
}

/// How many barbers come due at the same cut-off while their schedules are being edited.
const RACING_BARBERS: usize = 40;

#[tokio::test]
async fn schedule_edits_racing_the_planner_never_put_a_cut_off_back() {
    let shop = Shop::open(1).await;
    // A daily cut-off at the next minute at least 8 s away (the barbers take a second or two
    // to set up), in UTC.
    let soon = Utc::now() + chrono::TimeDelta::seconds(8);
    let cutoff =
        soon.duration_trunc(chrono::TimeDelta::minutes(1)).unwrap() + chrono::TimeDelta::minutes(1);
    let barbers: Vec<String> = (0..RACING_BARBERS)
        .map(|n| format!("racing{n:02}"))
        .collect();
    for barber in &barbers {
        let schedule = json!({"barber_id": barber, "frequency": "daily", "time_zone": "UTC",
            "local_time": cutoff.format("%H:%M").to_string(), "minimum_payout_amount": "0",
            "connected_account_id": format!("acct_{barber}")});
        let created = shop.send("/schedules", Some(schedule)).await;
        assert_eq!(at(&created["next_run_at"]), cutoff, "{created}");
        let earning = json!([{"earning_id": format!("{barber}-e0"), "barber_id": barber,
            "amount": "40.00", "occurred_at": an_hour_ago(), "service": "haircut"}]);
        shop.send("/earnings", Some(earning)).await;
    }

    // From 2 s before the cut-off to 4 s after, each barber's email is changed again and
    // again while the planner (every second) plans the cut-off and moves the calendar on.
    let storm_start = (cutoff - chrono::TimeDelta::seconds(2) - Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(storm_start).await;
    let storm_end = cutoff + chrono::TimeDelta::seconds(4);
    let edits = barbers.iter().map(|barber| {
        let shop = &shop;
        async move {
            let (mut edits, mut put_back) = (0, Vec::new());
            while Utc::now() < storm_end {
                edits += 1;
                let email = json!({"email": format!("{barber}-{edits}@example.com")});
                shop.server
                    .put(&shop.client, &format!("/schedules/{barber}"), email)
                    .await;
                // A payout's creation moves its calendar on in the same commit: a schedule
                // read after its payout was seen, still at the cut-off, was put back.
                let payouts = shop
                    .send(&format!("/payouts?barber_id={barber}"), None)
                    .await;
                let planned = !payouts["items"].as_array().unwrap().is_empty();
                let schedule = shop.send(&format!("/schedules/{barber}"), None).await;
                if planned && at(&schedule["next_run_at"]) == cutoff {
                    put_back.push(edits);
                }
            }
            (barber, edits, put_back)
        }
    });
    let outcomes = futures::future::join_all(edits).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut put_back = Vec::new();
    for (barber, edits, restored) in outcomes {
        if !restored.is_empty() {
            put_back.push(format!("{barber} after edits {restored:?}"));
        }
        let schedule = shop.send(&format!("/schedules/{barber}"), None).await;
        assert_eq!(
            at(&schedule["next_run_at"]),
            cutoff + chrono::TimeDelta::days(1),
            "{schedule}"
        );
        assert_eq!(
            schedule["email"],
            format!("{barber}-{edits}@example.com"),
            "the last edit stands: {schedule}"
        );
        let payouts = shop
            .send(&format!("/payouts?barber_id={barber}"), None)
            .await;
        assert_eq!(payouts["items"].as_array().unwrap().len(), 1, "{payouts}");
    }
    assert!(put_back.is_empty(), "cut-offs put back: {put_back:?}");
}
