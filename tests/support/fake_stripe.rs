//! The project's own fake Stripe server (docs/testing.md, "The Stripe fake"): the endpoints the
//! rail calls, in Stripe's JSON shapes and error bodies, with idempotent replay of saved responses (errors
//! included), 400 on a key reused with other parameters, error injection per connected account,
//! accounts whose payouts Stripe disabled (and their `account` object, as `account.updated`
//! carries it), Stripe's rate limits per endpoint and in all when a test sets them, and a
//! ledger the tests read. Serves on a free 127.0.0.1 port for the life of the test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde_json::{Value, json};

/// How the fake answers for a connected account.
#[derive(Debug, Clone)]
pub enum Scenario {
    /// Answer with this status and Stripe error `code` (`None` for a bare api_error).
    Error {
        status: u16,
        code: Option<&'static str>,
        kind: &'static str,
    },
    /// Make the transfer, then answer 500: the caller cannot know it was paid.
    LoseResponse,
    /// Answer `times` more transfer requests with this status (429 is Stripe's rate limit,
    /// any other an api_error), then pay normally.
    Transient { status: u16, times: u32 },
    /// Instant payouts on the account are refused with this code (standard ones are made).
    InstantError { code: &'static str },
    /// Make the next transfer, then hold the answer this long (a call that commits and hangs);
    /// later transfers are answered at once.
    HangAfterCommit(std::time::Duration),
}

/// Stripe's rate limits as the fake enforces them, requests a second: each endpoint's and the
/// account's in all. Each is a token bucket holding a second's worth, as Stripe's limiter
/// is, so a client paced at the limit is never refused and a burst beyond it is.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_endpoint: f64,
    pub total: f64,
}

impl Limits {
    /// Stripe's published defaults for a sandbox (`sk_test_` keys): 25 a second per endpoint
    /// and 25 in all.
    pub const SANDBOX: Limits = Limits {
        per_endpoint: 25.0,
        total: 25.0,
    };
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: std::time::Instant,
}

impl Bucket {
    /// Refilled at `rate` up to `rate`, then one token taken if there is one.
    fn admits(&mut self, rate: f64, now: std::time::Instant) -> bool {
        let refill = now.duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(rate);
        self.at = now;
        self.tokens >= 1.0
    }
}

/// The limiter: a bucket per endpoint and one for the total; refusals counted.
#[derive(Default)]
struct Limiter {
    limits: Option<Limits>,
    buckets: HashMap<&'static str, Bucket>,
    total: Option<Bucket>,
    admitted: HashMap<&'static str, u64>,
    refused: u64,
}

impl Limiter {
    /// Whether a request of `endpoint` is within the limits now (taking its tokens if so).
    fn admit(&mut self, endpoint: &'static str) -> bool {
        let Some(limits) = self.limits else {
            *self.admitted.entry(endpoint).or_default() += 1;
            return true;
        };
        let now = std::time::Instant::now();
        let full = |rate: f64| Bucket {
            tokens: rate,
            at: now,
        };
        let mut one = *self
            .buckets
            .entry(endpoint)
            .or_insert_with(|| full(limits.per_endpoint));
        let mut all = self.total.unwrap_or_else(|| full(limits.total));
        let admitted = one.admits(limits.per_endpoint, now) & all.admits(limits.total, now);
        if admitted {
            one.tokens -= 1.0;
            all.tokens -= 1.0;
            *self.admitted.entry(endpoint).or_default() += 1;
        } else {
            self.refused += 1;
        }
        self.buckets.insert(endpoint, one);
        self.total = Some(all);
        admitted
    }
}

/// Stripe's answer to a request over its rate limits.
fn rate_limited() -> Response {
    respond(
        429,
        error_body(
            "invalid_request_error",
            Some("rate_limit"),
            "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
        ),
    )
}

#[derive(Default)]
struct Ledger {
    limiter: Limiter,
    transfers: Vec<Value>,
    payouts: Vec<(String, Value)>,
    saved: HashMap<String, (String, u16, Value)>,
    scenarios: HashMap<String, Scenario>,
    /// Connected accounts whose payouts Stripe disabled, with its `disabled_reason`.
    disabled: HashMap<String, String>,
    /// Transfer requests per destination, replays included.
    transfer_requests: HashMap<String, u64>,
    requests: u64,
    /// Every lookup of transfers is held this long before it is answered.
    lookups_hang: Option<std::time::Duration>,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub base_url: String,
    ledger: Arc<Mutex<Ledger>>,
    server: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        if Arc::strong_count(&self.server) == 1 {
            self.server.abort();
        }
    }
}

fn error_body(kind: &str, code: Option<&str>, message: &str) -> Value {
    let mut error = json!({"type": kind, "message": message});
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            code.replace('_', "-")
        ));
    }
    json!({"error": error})
}

fn respond(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

fn metadata(params: &[(String, String)]) -> Value {
    let mut map = serde_json::Map::new();
    for (key, value) in params {
        if let Some(name) = key
            .strip_prefix("metadata[")
            .and_then(|k| k.strip_suffix(']'))
        {
            map.insert(name.to_string(), json!(value));
        }
    }
    Value::Object(map)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Replays the saved response of a key, refuses a key reused with other parameters, or runs
/// `create` and saves its response.
fn idempotent(
    ledger: &mut Ledger,
    headers: &HeaderMap,
    scope: &str,
    params: &[(String, String)],
    create: impl FnOnce(&mut Ledger) -> (u16, Value),
) -> Response {
    ledger.requests += 1;
    let mut canonical: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    canonical.sort();
    let canonical = format!("{scope}|{}", canonical.join("&"));
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(key) = &key
        && let Some((saved_params, status, body)) = ledger.saved.get(key)
    {
        if *saved_params != canonical {
            return respond(
                400,
                error_body(
                    "idempotency_error",
                    None,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                ),
            );
        }
        return respond(*status, body.clone());
    }
    let (status, body) = create(ledger);
    if let Some(key) = key {
        ledger.saved.insert(key, (canonical, status, body.clone()));
    }
    respond(status, body)
}

async fn create_transfer(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    let (response, hang) = {
        let mut ledger = ledger.lock().unwrap();
        if !ledger.limiter.admit("POST /v1/transfers") {
            return rate_limited();
        }
        let destination = param(&params, "destination").unwrap_or_default();
        let hang = match ledger.scenarios.get(destination) {
            Some(Scenario::HangAfterCommit(hang)) => Some(*hang),
            _ => None,
        };
        if hang.is_some() {
            ledger.scenarios.remove(destination);
        }
        (transfer(&mut ledger, &headers, &params), hang)
    };
    if let Some(hang) = hang {
        tokio::time::sleep(hang).await;
    }
    response
}

fn transfer(ledger: &mut Ledger, headers: &HeaderMap, params: &[(String, String)]) -> Response {
    let destination = param(params, "destination").unwrap_or_default().to_string();
    *ledger
        .transfer_requests
        .entry(destination.clone())
        .or_default() += 1;
    let scenario = ledger.scenarios.get(&destination).cloned();
    let disabled = ledger.disabled.contains_key(&destination);
    idempotent(ledger, headers, "transfer", params, |ledger| {
        if disabled {
            let message = "Payouts have been disabled on the connected account.";
            return (
                400,
                error_body(
                    "invalid_request_error",
                    Some("payouts_not_allowed"),
                    message,
                ),
            );
        }
        match &scenario {
            Some(Scenario::Error { status, code, kind }) => {
                let message = format!("simulated {}", code.unwrap_or(kind));
                return (*status, error_body(kind, *code, &message));
            }
            Some(Scenario::Transient { status, times }) if *times > 0 => {
                let (kind, code) = match status {
                    429 => ("rate_limit_error", Some("rate_limit")),
                    _ => ("api_error", None),
                };
                ledger.scenarios.insert(
                    destination.clone(),
                    Scenario::Transient {
                        status: *status,
                        times: times - 1,
                    },
                );
                return (
                    *status,
                    error_body(kind, code, "simulated transient failure"),
                );
            }
            _ => {}
        }
        let id = format!("tr_fake_{:04}", ledger.transfers.len() + 1);
        let transfer = json!({
            "id": id, "object": "transfer",
            "amount": param(params, "amount").and_then(|a| a.parse::<i64>().ok()).unwrap_or(0),
            "amount_reversed": 0, "balance_transaction": null, "created": 1_772_834_400,
            "currency": param(params, "currency").unwrap_or("usd"),
            "description": param(params, "description"), "destination": destination,
            "destination_payment": null, "livemode": false, "metadata": metadata(params),
            "reversals": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/transfers/{id}/reversals")},
            "reversed": false, "source_transaction": null, "source_type": "card",
            "transfer_group": param(params, "transfer_group"),
        });
        ledger.transfers.push(transfer.clone());
        match scenario {
            Some(Scenario::LoseResponse) => (
                500,
                error_body("api_error", None, "simulated lost response"),
            ),
            _ => (200, transfer),
        }
    })
}

async fn list_transfers(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (hang, admitted) = {
        let mut ledger = ledger.lock().unwrap();
        (
            ledger.lookups_hang,
            ledger.limiter.admit("GET /v1/transfers"),
        )
    };
    if !admitted {
        return rate_limited();
    }
    if let Some(hang) = hang {
        tokio::time::sleep(hang).await;
    }
    let ledger = ledger.lock().unwrap();
    let data: Vec<&Value> = ledger
        .transfers
        .iter()
        .filter(|t| {
            query
                .get("transfer_group")
                .is_none_or(|g| t["transfer_group"] == json!(g))
        })
        .collect();
    Json(json!({"object": "list", "data": data, "has_more": false, "url": "/v1/transfers"}))
        .into_response()
}

async fn create_payout(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    let mut ledger = ledger.lock().unwrap();
    if !ledger.limiter.admit("POST /v1/payouts") {
        return rate_limited();
    }
    let Some(account) = headers
        .get("stripe-account")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return respond(
            400,
            error_body(
                "invalid_request_error",
                Some("parameter_missing"),
                "Stripe-Account header required",
            ),
        );
    };
    let scenario = ledger.scenarios.get(&account).cloned();
    idempotent(
        &mut ledger,
        &headers,
        &format!("payout|{account}"),
        &params,
        |ledger| {
            let instant = param(&params, "method") == Some("instant");
            if let (Some(Scenario::InstantError { code }), true) = (scenario, instant) {
                return (
                    400,
                    error_body(
                        "invalid_request_error",
                        Some(code),
                        "simulated instant payout refusal",
                    ),
                );
            }
            let payout = json!({
                "id": format!("po_fake_{:04}", ledger.payouts.len() + 1), "object": "payout",
                "amount": param(&params, "amount").and_then(|a| a.parse::<i64>().ok()).unwrap_or(0),
                "arrival_date": 1_772_834_400, "automatic": false, "balance_transaction": null,
                "created": 1_772_834_400, "currency": param(&params, "currency").unwrap_or("usd"),
                "description": null, "destination": null, "failure_balance_transaction": null,
                "failure_code": null, "failure_message": null, "livemode": false,
                "metadata": metadata(&params), "method": param(&params, "method").unwrap_or("standard"),
                "original_payout": null, "reconciliation_status": "not_applicable", "reversed_by": null,
                "source_type": "card", "statement_descriptor": null, "status": "pending", "type": "card",
            });
            ledger.payouts.push((account.clone(), payout.clone()));
            (200, payout)
        },
    )
}

/// The payouts of the connected account named by the `Stripe-Account` header, newest first,
/// created at or after `created[gte]` when it is given.
async fn list_payouts(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut ledger = ledger.lock().unwrap();
    if !ledger.limiter.admit("GET /v1/payouts") {
        return rate_limited();
    }
    let account = headers
        .get("stripe-account")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let since = query
        .get("created[gte]")
        .and_then(|at| at.parse::<i64>().ok())
        .unwrap_or(i64::MIN);
    let data: Vec<&Value> = ledger
        .payouts
        .iter()
        .rev()
        .filter(|(on, payout)| on == account && payout["created"].as_i64() >= Some(since))
        .map(|(_, payout)| payout)
        .collect();
    Json(json!({"object": "list", "data": data, "has_more": false, "url": "/v1/payouts"}))
        .into_response()
}

async fn create_account_link(Form(params): Form<Vec<(String, String)>>) -> Response {
    let Some(account) = param(&params, "account") else {
        return respond(
            400,
            error_body(
                "invalid_request_error",
                Some("parameter_missing"),
                "Missing required param: account.",
            ),
        );
    };
    if param(&params, "type") != Some("account_onboarding") {
        return respond(
            400,
            error_body(
                "invalid_request_error",
                Some("parameter_invalid"),
                "Invalid type.",
            ),
        );
    }
    respond(
        200,
        json!({
            "object": "account_link", "created": 1_772_834_400, "expires_at": 1_772_834_700,
            "url": format!("https://connect.stripe.com/setup/e/{account}/fake"),
        }),
    )
}

impl FakeStripe {
    pub async fn start() -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let app = Router::new()
            .route("/v1/transfers", post(create_transfer).get(list_transfers))
            .route("/v1/payouts", post(create_payout).get(list_payouts))
            .route("/v1/account_links", post(create_account_link))
            .with_state(ledger.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base_url,
            ledger,
            server: Arc::new(server),
        }
    }

    /// Enforces `limits` on every later request, as Stripe does (429 with its error body).
    pub fn limit(&self, limits: Limits) {
        self.ledger.lock().unwrap().limiter.limits = Some(limits);
    }

    /// Requests of `endpoint` (`"GET /v1/transfers"`) admitted so far.
    pub fn admitted(&self, endpoint: &str) -> u64 {
        let ledger = self.ledger.lock().unwrap();
        ledger.limiter.admitted.get(endpoint).copied().unwrap_or(0)
    }

    /// Requests admitted (of every endpoint) and refused for the rate limits so far.
    pub fn admitted_and_refused(&self) -> (u64, u64) {
        let ledger = self.ledger.lock().unwrap();
        (
            ledger.limiter.admitted.values().sum(),
            ledger.limiter.refused,
        )
    }

    pub fn set_scenario(&self, account: &str, scenario: Scenario) {
        self.ledger
            .lock()
            .unwrap()
            .scenarios
            .insert(account.to_string(), scenario);
    }

    /// Holds every later lookup of transfers `hang` before answering (`None`: at once again).
    pub fn hang_lookups(&self, hang: Option<std::time::Duration>) {
        self.ledger.lock().unwrap().lookups_hang = hang;
    }

    pub fn clear_scenario(&self, account: &str) {
        self.ledger.lock().unwrap().scenarios.remove(account);
    }

    pub fn transfers(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().transfers.clone()
    }

    /// Stripe disables payouts to `account` (`reason`, its `requirements.disabled_reason`):
    /// transfers to it are refused with `payouts_not_allowed` until they are enabled again.
    pub fn disable_payouts(&self, account: &str, reason: &str) {
        let mut ledger = self.ledger.lock().unwrap();
        ledger
            .disabled
            .insert(account.to_string(), reason.to_string());
    }

    pub fn enable_payouts(&self, account: &str) {
        self.ledger.lock().unwrap().disabled.remove(account);
    }

    /// The connected account as Stripe's `account.updated` event carries it.
    pub fn account(&self, account: &str) -> Value {
        let ledger = self.ledger.lock().unwrap();
        let reason = ledger.disabled.get(account);
        json!({
            "id": account, "object": "account", "type": "express",
            "charges_enabled": true, "details_submitted": true,
            "payouts_enabled": reason.is_none(),
            "requirements": {
                "currently_due": if reason.is_some() { json!(["external_account"]) } else { json!([]) },
                "disabled_reason": reason,
                "past_due": [],
            },
        })
    }

    /// Transfer requests made for `account`, replays included.
    pub fn transfer_requests(&self, account: &str) -> u64 {
        let ledger = self.ledger.lock().unwrap();
        ledger.transfer_requests.get(account).copied().unwrap_or(0)
    }

    /// Payouts (instant and standard) with the connected account they were created on.
    pub fn payouts(&self) -> Vec<(String, Value)> {
        self.ledger.lock().unwrap().payouts.clone()
    }
}
