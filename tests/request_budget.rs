//! What a read costs as the table grows (issue 30). The API's public `/health`, polled by
//! anybody's uptime monitor, runs on DynamoDB and SQS (moto) behind a counting proxy, with 20
//! and then 300 barbers in the table: its AWS calls and the items they read stay within a fixed
//! budget, the same at both sizes, and it never scans. (moto copies the whole table for each
//! transaction, so the larger table is of schedules, which are written one by one.)

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use chrono::{TimeDelta, Utc, Weekday};
use payout_app::config::file::AuthSection;
use payout_app::plan::PLANNER;
use payout_app::ports::SystemClock;
use payout_aws::counting_proxy::{Counter, Tally, start_proxy};
use payout_aws::lambda::AwsRuntime;
use payout_aws::stack::{StackNames, create_stack};
use payout_http::auth::{AuthConfig, ClaimMapping};
use payout_http::{ApiState, router};
use payout_local::{FailurePlan, SimulatedRail};
use payout_tests::moto::{Moto, sdk_config_at};
use payout_tests::world::World;
use tower::ServiceExt;

/// The most AWS calls the public health check may make, whatever the table holds.
const HEALTH_CALLS: u64 = 10;
/// The most items its reads may examine.
const HEALTH_ITEMS: u64 = 5;

/// Each AWS operation `GET /health` made with `barbers` barbers in the table.
async fn health_cost(barbers: usize) -> BTreeMap<(String, String), Tally> {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let resources = create_stack(&sdk, &StackNames::with_prefix("budget"), None)
        .await
        .unwrap();
    let rail = Arc::new(SimulatedRail::new(1, FailurePlan::default()));
    let seeding = AwsRuntime::new(&sdk, &resources, rail.clone(), "api");
    let p = &seeding.services;
    let now = Utc::now();
    for n in 0..barbers {
        let barber = format!("budget{n}");
        let schedule = World::weekly_schedule(&barber, Weekday::Fri, now - TimeDelta::days(30));
        assert!(p.store.insert_schedule(&schedule).await.unwrap());
    }
    p.store.record_heartbeat(PLANNER, now).await.unwrap();

    // The API as its function runs it, every AWS call through the counting proxy.
    let counter = Counter::default();
    let proxy = start_proxy(moto.endpoint.clone(), counter.clone())
        .await
        .unwrap();
    let runtime = AwsRuntime::new(&sdk_config_at(&proxy).await, &resources, rail, "api");
    let app = router(ApiState {
        services: runtime.services.clone(),
        clock: Arc::new(SystemClock),
        auth: AuthConfig::authorizer(ClaimMapping::from(&AuthSection::default())),
        onboarding: None,
        stripe_webhook_secret: None,
    });
    let request = axum::http::Request::get("/api/v1/payout-scheduler/health")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200, "the planner ran a moment ago");
    counter.by_service.lock().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_health_check_costs_the_same_at_any_size_and_never_scans() {
    let small = health_cost(20).await;
    let large = health_cost(300).await;
    for (size, spent) in [(20, &small), (300, &large)] {
        let mut total = Tally::default();
        spent.values().for_each(|tally| total.add(tally));
        assert!(
            total.requests <= HEALTH_CALLS,
            "{size} barbers: {} calls: {spent:?}",
            total.requests
        );
        assert!(
            total.items_read <= HEALTH_ITEMS,
            "{size} barbers: {} items read",
            total.items_read
        );
        assert!(
            !spent.keys().any(|(_, operation)| operation == "Scan"),
            "{size} barbers: a Scan"
        );
    }
    let calls = |spent: &BTreeMap<(String, String), Tally>| -> Vec<(String, u64, u64)> {
        spent
            .iter()
            .map(|((service, op), tally)| {
                (format!("{service} {op}"), tally.requests, tally.items_read)
            })
            .collect()
    };
    assert_eq!(calls(&small), calls(&large), "the cost grew with the table");
}
