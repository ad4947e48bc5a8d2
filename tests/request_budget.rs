//! What a read costs as the table grows (issue 30). Every GET route of the API runs on
//! DynamoDB and SQS (moto) behind a counting proxy, on a platform of `SMALL` and then `LARGE`
//! barbers, each with a schedule, an earning and a paid payout: each route's AWS calls and the
//! items they read stay within the route's budget and are the same at both sizes (a route that
//! merges an index's shards reads up to a page from each, so its items grow until the shards
//! fill: within its budget), and no route scans. Paged routes are asked for pages smaller than the small platform, so a page's cost is
//! what is compared. (moto copies the whole table for each transaction, so the sizes are
//! modest; what is proven is that the cost does not move with the table.)
//!
//! On SQLite (`payouts serve`), the same routes run at two sizes with every statement's cost
//! reported: the rows stepped through in full-table scans and the virtual machine's steps are
//! the same at both.
//!
//! The figures are printed (`cargo test --test request_budget -- --nocapture`) for
//! BENCHMARKS.md.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use chrono::Utc;
use parking_lot::Mutex;
use payout_app::payout_actions::manual_payout;
use payout_app::plan::PLANNER;
use payout_app::ports::SystemClock;
use payout_app::services::Services;
use payout_aws::counting_proxy::{Counter, Tally, start_proxy};
use payout_aws::lambda::AwsRuntime;
use payout_aws::stack::{StackNames, create_stack};
use payout_core::ids::PayoutId;
use payout_http::auth::AuthConfig;
use payout_http::{ApiState, BASE_PATH, router};
use payout_local::sqlite::Durability;
use payout_local::sqlite::statement_cost::StatementCost;
use payout_local::{FailurePlan, SimulatedRail, SqliteStore};
use payout_tests::app::{SECRET, barber, operator};
use payout_tests::moto::{Moto, sdk_config_at};
use payout_tests::world::World;
use tower::ServiceExt;

const SMALL: usize = 20;
const LARGE: usize = 200;
/// SQLite writes faster than moto: larger platforms.
const SQLITE_SMALL: usize = 50;
const SQLITE_LARGE: usize = 1_000;

/// A route, who asks, and the most AWS calls and items read it may cost at any size.
struct Route {
    path: String,
    token: Option<String>,
    calls: u64,
    items: u64,
    /// It merges the shards of an index (the due index's 32, the status index's 8), reading
    /// up to a page from each: its calls are the same at both sizes, and its items stay
    /// within the budget (shards x (page + 1)) while the shards fill.
    merges_shards: bool,
}

fn routes(payout: &str) -> Vec<Route> {
    let op = Some(operator());
    let today = Utc::now().date_naive();
    let year = chrono::Datelike::year(&today);
    let route = |path: String, token: &Option<String>, calls, items| Route {
        path,
        token: token.clone(),
        calls,
        items,
        merges_shards: false,
    };
    let merged = |path: &str, calls, items| Route {
        merges_shards: true,
        ..route(path.into(), &op, calls, items)
    };
    vec![
        route("/health".into(), &None, 10, 5),
        // The due index's shards (the planner's lag), 50 hours of kept totals.
        merged("/health/report", 50, 60),
        route("/schedules?limit=10".into(), &op, 1, 11),
        route("/schedules/budget0".into(), &op, 2, 2),
        route("/payouts?limit=10".into(), &op, 1, 11),
        route("/payouts?barber_id=budget0".into(), &op, 2, 3),
        // The dashboard's "Needs attention": the status index's 8 shards.
        merged("/payouts?status=failed&limit=10", 8, 88),
        merged("/payouts?status=completed&limit=10", 8, 88),
        route(format!("/payouts/{payout}"), &op, 3, 6),
        route("/payouts/preview?barber_id=budget0".into(), &op, 3, 3),
        // The due index's 32 shards, and the open balances of the page's 10 barbers.
        merged("/forecast?limit=10", 45, 400),
        merged(&format!("/bank-transfers/{today}"), 8, 8 * 501),
        route("/notifications?barber_id=budget0".into(), &op, 2, 2),
        // Thirty days of kept totals: 8 items a day.
        route("/analytics?days=30".into(), &op, 4, 240),
        route("/analytics?barber_id=budget0&days=30".into(), &op, 3, 3),
        route("/recommendations?barber_id=budget0".into(), &op, 3, 3),
        // The payout and the earnings its claim holds.
        route(format!("/payouts/{payout}/statement"), &op, 4, 8),
        // The schedule, then 13 buckets of kept totals (12 months and the year), 8 items each.
        route(format!("/barbers/budget0/summary?year={year}"), &op, 4, 4),
        // A page of 10 schedules, then each one's year: 8 items a barber.
        route(
            format!("/reports/tax-year?year={year}&limit=10"),
            &op,
            3,
            25,
        ),
        route("/me".into(), &Some(barber("budget0")), 2, 2),
    ]
}

type Spent = BTreeMap<(String, String), Tally>;

/// `barbers` barbers, each with a schedule, an earning and a paid payout, and one more
/// schedule after them (so the first barber's run is not the last due); the first payout.
async fn seed(p: &Services, barbers: usize) -> PayoutId {
    let now = Utc::now();
    let mut first_payout = None;
    for n in 0..barbers {
        let barber = World::open_barber(p, &format!("budget{n}"), Some("80.00"), now).await;
        let mut payout = manual_payout(p, &barber, "budget", "test", now)
            .await
            .unwrap();
        let read = payout.version;
        let attempt = payout.begin_attempt(now, "test").unwrap();
        p.store
            .update_payout(&payout, read, &attempt)
            .await
            .unwrap();
        let read = payout.version;
        let paid = payout
            .record_transfer(now, "test", format!("tr_{n}"), true, "paid")
            .unwrap();
        p.store.update_payout(&payout, read, &paid).await.unwrap();
        first_payout.get_or_insert(payout.id);
    }
    World::open_barber(p, "budgetz", None, now).await;
    p.store.record_heartbeat(PLANNER, now).await.unwrap();
    first_payout.unwrap()
}

/// The API on `services`, as `payouts serve` and the API function run it.
fn api(services: &Services) -> axum::Router {
    router(ApiState {
        services: services.clone(),
        clock: Arc::new(SystemClock),
        auth: AuthConfig::hs256(SECRET.as_bytes()),
        onboarding: None,
        stripe_webhook_secret: None,
    })
}

/// Asks `app` for `route`, as its caller; it answers 200.
async fn get(app: &axum::Router, route: &Route, barbers: usize) {
    let mut request = axum::http::Request::get(format!("{BASE_PATH}{}", route.path));
    if let Some(token) = &route.token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "{} at {barbers} barbers",
        route.path
    );
}

/// Each route's AWS operations on a platform of `barbers` barbers.
async fn costs(barbers: usize) -> Vec<(Route, Spent)> {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let resources = create_stack(&sdk, &StackNames::with_prefix("budget"), None)
        .await
        .unwrap();
    let rail = Arc::new(SimulatedRail::new(1, FailurePlan::default()));
    let seeding = AwsRuntime::new(&sdk, &resources, rail.clone(), "api");
    let p = &seeding.services;
    let first_payout = seed(p, barbers).await;

    // The API as its function runs it, every AWS call through the counting proxy.
    let counter = Counter::default();
    let proxy = start_proxy(moto.endpoint.clone(), counter.clone())
        .await
        .unwrap();
    let runtime = AwsRuntime::new(&sdk_config_at(&proxy).await, &resources, rail, "api");
    let app = api(&runtime.services);
    let mut spent = Vec::new();
    for route in routes(first_payout.as_str()) {
        counter.by_service.lock().clear();
        get(&app, &route, barbers).await;
        let cost = counter.by_service.lock().clone();
        spent.push((route, cost));
    }
    spent
}

fn total(spent: &Spent) -> Tally {
    let mut total = Tally::default();
    spent.values().for_each(|tally| total.add(tally));
    total
}

/// What a route spent, operation by operation: `DynamoDB Query 1 call 11 items`.
fn operations(spent: &Spent) -> Vec<String> {
    spent
        .iter()
        .map(|((service, op), tally)| {
            format!(
                "{service} {op} {} calls {} items",
                tally.requests, tally.items_read
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_get_route_costs_the_same_at_any_size_within_its_budget_and_never_scans() {
    let small = costs(SMALL).await;
    let large = costs(LARGE).await;
    println!(
        "| route | AWS calls | items read at {SMALL} / {LARGE} barbers | budget | operations |"
    );
    println!("|---|---:|---:|---:|---|");
    for ((route, at_small), (_, at_large)) in small.iter().zip(&large) {
        let spent_in_all = total(at_small);
        println!(
            "| `GET {}` | {} | {} / {} | {} calls, {} items | {} |",
            route.path,
            spent_in_all.requests,
            spent_in_all.items_read,
            total(at_large).items_read,
            route.calls,
            route.items,
            operations(at_small).join(", ")
        );
    }
    for ((route, at_small), (_, at_large)) in small.iter().zip(&large) {
        let path = route.path.split('?').next().unwrap_or_default();
        for (size, spent) in [(SMALL, at_small), (LARGE, at_large)] {
            let spent_in_all = total(spent);
            assert!(
                !spent.keys().any(|(_, operation)| operation == "Scan"),
                "{} at {size} barbers scans: {:?}",
                route.path,
                operations(spent)
            );
            assert!(
                spent_in_all.requests <= route.calls && spent_in_all.items_read <= route.items,
                "{} at {size} barbers: {} calls, {} items read, over its budget of {} and {}: {:?}",
                route.path,
                spent_in_all.requests,
                spent_in_all.items_read,
                route.calls,
                route.items,
                operations(spent)
            );
        }
        if route.merges_shards {
            let calls = |spent: &Spent| total(spent).requests;
            assert_eq!(
                calls(at_small),
                calls(at_large),
                "{path}: the calls grew with the table"
            );
        } else {
            assert_eq!(
                operations(at_small),
                operations(at_large),
                "{path}: the cost grew with the table"
            );
        }
    }
}

/// Each route's statements on SQLite with `barbers` barbers: rows stepped through in full-table
/// scans, and virtual machine steps (which grow with every row visited).
async fn sqlite_costs(barbers: usize) -> Vec<(String, i64, i64)> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("budget.db"), Durability::ProcessCrashSafe).unwrap(),
    );
    let world = World::with_store(
        store.clone(),
        dir,
        1,
        FailurePlan::default(),
        false,
        Duration::ZERO,
    );
    let first_payout = seed(&world.services, barbers).await;
    let app = api(&world.services);
    let costs: Arc<Mutex<Vec<StatementCost>>> = Arc::default();
    let sink = costs.clone();
    store
        .report_statement_costs(move |cost| sink.lock().push(cost))
        .unwrap();
    let mut spent = Vec::new();
    for route in routes(first_payout.as_str()) {
        costs.lock().clear();
        get(&app, &route, barbers).await;
        let ran = std::mem::take(&mut *costs.lock());
        let fullscan = ran.iter().map(|cost| cost.fullscan_steps).sum();
        let vm = ran.iter().map(|cost| cost.vm_steps).sum();
        spent.push((route.path, fullscan, vm));
    }
    spent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_get_route_reads_the_same_rows_of_sqlite_at_any_size() {
    let (small, large) = (
        sqlite_costs(SQLITE_SMALL).await,
        sqlite_costs(SQLITE_LARGE).await,
    );
    println!("| route | rows in full scans | VM steps |");
    println!("|---|---:|---:|");
    for (path, fullscan, vm) in &small {
        println!("| `GET {path}` | {fullscan} | {vm} |");
    }
    for ((path, scanned, steps), (_, scanned_large, steps_large)) in small.iter().zip(&large) {
        assert_eq!(
            (scanned, steps),
            (scanned_large, steps_large),
            "{path}: (rows in full scans, VM steps) at {SQLITE_SMALL} and {SQLITE_LARGE} barbers"
        );
    }
}
