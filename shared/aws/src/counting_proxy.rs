//! A counting proxy on 127.0.0.1 in front of an AWS emulator: every request is forwarded, and
//! counted by service and operation with the DynamoDB capacity units it used (reported, or
//! estimated where the emulator reports none) and the items it read.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use parking_lot::Mutex;
use serde_json::Value;

#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
    /// Items a DynamoDB read examined (a Query's or Scan's `ScannedCount`, one per item got).
    pub items_read: u64,
    /// Events an EventBridge `PutEvents` put (billed per event).
    pub events_put: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.read_units += other.read_units;
        self.write_units += other.write_units;
        self.items_read += other.items_read;
        self.events_put += other.events_put;
    }
}

/// What went through the proxy, by (service, operation).
#[derive(Clone, Default)]
pub struct Counter {
    pub by_service: Arc<Mutex<BTreeMap<(String, String), Tally>>>,
}

impl Counter {
    /// Everything counted so far.
    pub fn total(&self) -> Tally {
        let mut total = Tally::default();
        self.by_service.lock().values().for_each(|t| total.add(t));
        total
    }
}

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    counter: Counter,
}

/// Which service and operation a request is: the JSON protocols name it in `X-Amz-Target`,
/// SNS's query protocol in the `Action` form field.
fn operation(headers: &HeaderMap, body: &[u8]) -> (String, String) {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or((target, ""));
        let service = if service.starts_with("DynamoDB") {
            "DynamoDB"
        } else if service.starts_with("AmazonSQS") {
            "SQS"
        } else {
            service
        };
        return (service.to_string(), op.to_string());
    }
    let form = String::from_utf8_lossy(body);
    let action = form
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown");
    ("SNS".to_string(), action.to_string())
}

/// Capacity units of a DynamoDB response that reports them (the proxy asks for them); a
/// total without a read/write split is a read's for the reading operations.
fn consumed(op: &str, response: &Value) -> (f64, f64) {
    let reads_only = matches!(
        op,
        "GetItem" | "BatchGetItem" | "Query" | "Scan" | "TransactGetItems"
    );
    let entries: Vec<&Value> = match response.get("ConsumedCapacity") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    entries.iter().fold((0.0, 0.0), |(read, write), entry| {
        let total = entry["CapacityUnits"].as_f64().unwrap_or_default();
        let reads = entry["ReadCapacityUnits"].as_f64();
        let writes = entry["WriteCapacityUnits"].as_f64();
        match (reads, writes) {
            (None, None) if reads_only => (read + total, write),
            (None, None) => (read, write + total),
            (r, w) => (read + r.unwrap_or_default(), write + w.unwrap_or_default()),
        }
    })
}

/// The items a read examined: a Query's or Scan's `ScannedCount`, a GetItem's one, a batch
/// get's answers.
fn items_read(response: &Value) -> u64 {
    if let Some(scanned) = response["ScannedCount"].as_u64() {
        return scanned;
    }
    if response.get("Item").is_some() {
        return 1;
    }
    response["Responses"].as_object().map_or(0, |tables| {
        tables
            .values()
            .filter_map(Value::as_array)
            .map(|items| items.len() as u64)
            .sum()
    })
}

/// Units when the emulator reports none: one per item written (two in a transaction), half a
/// read unit per eventually consistent read request (per key asked of a batch get), one per
/// consistent one.
fn estimated(op: &str, request: &Value) -> (f64, f64) {
    match op {
        "PutItem" | "UpdateItem" | "DeleteItem" => (0.0, 1.0),
        "TransactWriteItems" => (
            0.0,
            2.0 * request["TransactItems"].as_array().map_or(0, Vec::len) as f64,
        ),
        "BatchWriteItem" => (
            0.0,
            request["RequestItems"].as_object().map_or(0, |tables| {
                tables
                    .values()
                    .filter_map(Value::as_array)
                    .map(Vec::len)
                    .sum()
            }) as f64,
        ),
        // Every key asked is a read, found or not; half a unit unless consistent.
        "BatchGetItem" => (
            request["RequestItems"].as_object().map_or(0.0, |tables| {
                tables
                    .values()
                    .map(|asked| {
                        let keys = asked["Keys"].as_array().map_or(0, Vec::len) as f64;
                        let consistent = asked["ConsistentRead"].as_bool() == Some(true);
                        keys * if consistent { 1.0 } else { 0.5 }
                    })
                    .sum()
            }),
            0.0,
        ),
        _ if request["ConsistentRead"].as_bool() == Some(true) => (1.0, 0.0),
        _ => (0.5, 0.0),
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), StatusCode> {
    let (service, op) = operation(&headers, &body);
    let request_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = proxy
        .client
        .request(method, format!("{}{path}", proxy.upstream))
        .body(body.clone());
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let response = forwarded
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::OK);
    let mut out_headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            out_headers.insert(name.clone(), value.clone());
        }
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let (mut read, mut write, mut items) = (0.0, 0.0, 0);
    if service == "DynamoDB" {
        let response: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        items = items_read(&response);
        let reported = consumed(&op, &response);
        let estimate = estimated(&op, &request_json);
        // moto reports nothing for most operations, and one unit for a whole BatchWriteItem
        // whatever it writes: no fewer write units than items written are counted.
        (read, write) = if reported == (0.0, 0.0) {
            estimate
        } else if op == "BatchGetItem" {
            // moto reports a unit per item whether the read was consistent or not.
            estimate
        } else {
            (reported.0, reported.1.max(estimate.1))
        };
    }
    let events = if op == "PutEvents" {
        request_json["Entries"].as_array().map_or(0, Vec::len) as u64
    } else {
        0
    };
    let mut tallies = proxy.counter.by_service.lock();
    let tally = tallies.entry((service, op)).or_default();
    tally.events_put += events;
    tally.requests += 1;
    tally.read_units += read;
    tally.write_units += write;
    tally.items_read += items;
    Ok((status, out_headers, bytes))
}

/// Starts the proxy in front of `upstream`; returns its endpoint.
pub async fn start_proxy(upstream: String, counter: Counter) -> std::io::Result<String> {
    let proxy = Arc::new(Proxy {
        upstream,
        client: reqwest::Client::new(),
        counter,
    });
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}
