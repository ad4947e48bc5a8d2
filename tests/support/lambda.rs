//! A Lambda function as Lambda runs it: the real bootstrap binary, started with
//! `AWS_LAMBDA_RUNTIME_API` pointing at a Runtime API this module serves on 127.0.0.1, kept warm
//! across invocations, each invocation handed out with its request id and deadline
//! (`Lambda-Runtime-Deadline-Ms`) and its response or error read back. A function that answers
//! after its deadline fails the test, as Lambda would have killed it.
//!
//! The bootstraps are the workspace's debug builds (`target/debug/payout-*`, built by
//! `scripts/test` with `cargo build --workspace --bins`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

/// What a function answered: its response, or the error it reported.
pub type Answer = Result<Value, Value>;

struct Invocation {
    event: Value,
    deadline_ms: i64,
    answer: oneshot::Sender<Answer>,
}

#[derive(Clone)]
struct RuntimeApi {
    waiting: Arc<Mutex<mpsc::Receiver<Invocation>>>,
    pending: Arc<parking_lot::Mutex<HashMap<String, oneshot::Sender<Answer>>>>,
    init_error: Arc<parking_lot::Mutex<Option<Value>>>,
}

async fn next(State(api): State<RuntimeApi>) -> axum::response::Response {
    let Some(invocation) = api.waiting.lock().await.recv().await else {
        // The test is over; the function waits here until it is killed.
        return std::future::pending().await;
    };
    let request_id = format!("req-{}", uuid_like());
    api.pending
        .lock()
        .insert(request_id.clone(), invocation.answer);
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id),
        (
            "lambda-runtime-deadline-ms",
            invocation.deadline_ms.to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:payouts".to_string(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-67a0c2f0-0123456789abcdef01234567;Sampled=0".to_string(),
        ),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    }
    (headers, axum::Json(invocation.event)).into_response()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{:012x}", NEXT.fetch_add(1, Ordering::SeqCst))
}

fn answered(api: &RuntimeApi, id: &str, answer: Answer) -> StatusCode {
    match api.pending.lock().remove(id) {
        Some(waiting) => {
            let _ = waiting.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into()))
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answered(&api, &id, Ok(json(&body)))
}

async fn error(State(api): State<RuntimeApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answered(&api, &id, Err(json(&body)))
}

async fn failed_init(State(api): State<RuntimeApi>, body: Bytes) -> StatusCode {
    *api.init_error.lock() = Some(json(&body));
    StatusCode::ACCEPTED
}

/// A workspace binary built next to this test's own executable.
pub fn bootstrap(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join(name);
    assert!(
        binary.exists(),
        "{} not built: run ./scripts/test, or `cargo build --workspace --bins` first",
        binary.display()
    );
    binary
}

pub struct LambdaFunction {
    pub name: String,
    child: Child,
    invocations: mpsc::Sender<Invocation>,
    init_error: Arc<parking_lot::Mutex<Option<Value>>>,
    server: tokio::task::JoinHandle<()>,
}

/// The test clock's variables (`scripts/test-clock` runs tests under libfaketime at fixed
/// instants): a function's clean environment keeps them, so it reads the same time as the test.
fn clock_override() -> impl Iterator<Item = (String, String)> {
    std::env::vars().filter(|(name, _)| {
        name == "LD_PRELOAD" || name == "NO_FAKE_STAT" || name.starts_with("FAKETIME")
    })
}

impl LambdaFunction {
    /// Starts the bootstrap `binary` with `env` (and Lambda's own variables) against a fresh
    /// Runtime API; it initialises and waits for its first event.
    pub async fn start(binary: &str, env: &[(String, String)]) -> Self {
        let (invocations, waiting) = mpsc::channel(1);
        let api = RuntimeApi {
            waiting: Arc::new(Mutex::new(waiting)),
            pending: Arc::default(),
            init_error: Arc::default(),
        };
        let init_error = api.init_error.clone();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(failed_init))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let mut child = Command::new(bootstrap(binary))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(clock_override())
            .envs([
                ("AWS_LAMBDA_RUNTIME_API", addr.to_string().as_str()),
                ("AWS_LAMBDA_FUNCTION_NAME", binary),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
                (
                    "AWS_LAMBDA_LOG_GROUP_NAME",
                    &format!("/aws/lambda/{binary}"),
                ),
                (
                    "AWS_LAMBDA_LOG_STREAM_NAME",
                    "2026/11/27/[$LATEST]0123456789abcdef",
                ),
                ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
                ("LAMBDA_TASK_ROOT", "/var/task"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} starts: {e}"));
        for (stream, pipe) in [
            (
                "out",
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
            (
                "err",
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
        ] {
            let name = binary.to_string();
            if let Some(pipe) = pipe {
                std::thread::spawn(move || {
                    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                        eprintln!("{name} {stream}: {line}");
                    }
                });
            }
        }
        Self {
            name: binary.to_string(),
            child,
            invocations,
            init_error,
            server,
        }
    }

    /// Invokes the function with `event` and `timeout` to run (its deadline); what it answered.
    /// Panics when it reports an init error, dies, or has not answered by its deadline.
    pub async fn invoke(&mut self, event: Value, timeout: Duration) -> Answer {
        let (answer, answered) = oneshot::channel();
        let deadline_ms = Utc::now().timestamp_millis() + timeout.as_millis() as i64;
        self.invocations
            .send(Invocation {
                event,
                deadline_ms,
                answer,
            })
            .await
            .unwrap();
        // A little slack for the answer's trip back; Lambda would have killed it by then.
        let waited = tokio::time::timeout(timeout + Duration::from_millis(500), answered).await;
        if let Some(error) = self.init_error.lock().clone() {
            panic!("{} failed its init: {error}", self.name);
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited: {status}", self.name);
        }
        match waited {
            Ok(answer) => answer.expect("the Runtime API keeps the invocation"),
            Err(_) => panic!("{} outlived its deadline of {timeout:?}", self.name),
        }
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
    }
}
