//! `POST /earnings` with `Content-Type: text/csv`: a header row naming the JSON fields
//! (`earning_id,barber_id,amount,currency,occurred_at,service,kind`; `currency` and `kind`
//! optional), then an earning a row, each recorded as the JSON route records it. The answer
//! gives every row's outcome by its line in the file: `created`, `duplicate`, `error` (with
//! why), or `not_written` when another row's error stopped an all-or-nothing request.

use std::collections::HashMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use payout_app::error::{AppError, types_in_words};
use payout_app::ingest::{MAX_BATCH, check_earnings, content_hash, refusal};
use payout_app::ports::IntakeOutcome;
use payout_app::services::Services;
use payout_core::ledger::Earning;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ledger::earning;
use crate::wire::{EarningBody, EarningView, EarningsBatchView};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IntakeParams {
    /// For a CSV body: `all` (the default: every row is recorded, or none) or `rows` (each
    /// row that can be is recorded; the others are answered with their error).
    pub mode: Option<String>,
}

/// One row's outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowOutcome {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub earning_id: Option<String>,
    /// created, duplicate, error or not_written.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a CSV request did, row by row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsvIntakeView {
    /// all or rows.
    pub mode: String,
    pub created: usize,
    pub duplicates: usize,
    pub errors: usize,
    pub rows: Vec<RowOutcome>,
}

/// What `POST /earnings` answers: the earning sent alone, a batch's, or a CSV's rows (a CSV
/// refused for its rows is answered so too, with 400 or 409).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EarningsAnswer {
    One(EarningView),
    Batch(EarningsBatchView),
    Rows(CsvIntakeView),
}

/// A row read: its line and the earning it is, or why it is none.
struct Row {
    line: u64,
    earning_id: Option<String>,
    earning: Result<Earning, String>,
}

/// The rows of `body`, each checked as the JSON route checks an earning.
fn read_rows(services: &Services, body: &[u8], now: DateTime<Utc>) -> Result<Vec<Row>, AppError> {
    let body = std::str::from_utf8(body)
        .map_err(|e| AppError::Invalid(format!("the CSV is not UTF-8: {e}")))?;
    // Spreadsheets save CRLF lines; read as LF, every row keeps its line number.
    let body = body.replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| AppError::Invalid(format!("line 1: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some((_, twice)) = header
        .iter()
        .enumerate()
        .find(|(i, name)| header[..*i].contains(name))
    {
        return Err(AppError::Invalid(format!(
            "line 1: the column `{twice}` is named twice"
        )));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            AppError::Invalid(format!("line {line}: {e}"))
        })?;
        if rows.len() == MAX_BATCH {
            return Err(AppError::Invalid(format!(
                "a CSV request holds 1 to {MAX_BATCH} rows; send a longer file in pages \
                 (payouts import earnings does)"
            )));
        }
        let line = record.position().map_or(0, |p| p.line());
        let fields: serde_json::Map<String, serde_json::Value> = header
            .iter()
            .zip(record.iter())
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.clone(), serde_json::Value::from(value)))
            .collect();
        let earning_id = fields
            .get("earning_id")
            .and_then(|id| id.as_str())
            .map(str::to_string);
        let earning = match record.len() == header.len() {
            true => Ok(serde_json::Value::from(fields)),
            false => Err(format!(
                "{} fields where the header names {}",
                record.len(),
                header.len()
            )),
        }
        .and_then(|fields| {
            serde_path_to_error::deserialize::<_, EarningBody>(fields).map_err(|e| {
                let field = e.path().to_string();
                let why = types_in_words(&e.into_inner().to_string());
                match field.as_str() {
                    "." => why,
                    field => format!("{field}: {why}"),
                }
            })
        })
        .and_then(|body| earning(&body, now).map_err(|e| e.to_string()))
        .and_then(|earning| {
            check_earnings(&services.config.intake, std::slice::from_ref(&earning), now)
                .map(|()| earning)
                .map_err(|e| e.to_string())
        });
        rows.push(Row {
            line,
            earning_id,
            earning,
        });
    }
    if rows.is_empty() {
        return Err(AppError::Invalid(
            "the CSV has a header but no rows".to_string(),
        ));
    }
    Ok(rows)
}

/// Records the CSV `body`'s earnings, all or nothing unless `mode` is `rows`.
pub async fn post_csv(
    services: &Services,
    body: &[u8],
    mode: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Response, AppError> {
    let all_or_nothing = match mode.unwrap_or("all") {
        "all" => true,
        "rows" => false,
        other => {
            return Err(AppError::Invalid(format!(
                "mode: `{other}` is not a mode (all or rows)"
            )));
        }
    };
    let mut rows = read_rows(services, body, now)?;
    let store = services.store.as_ref();
    let mut currencies = HashMap::new();
    for row in &mut rows {
        if let Ok(earning) = &row.earning
            && let Some(refused) = refusal(store, earning, &mut currencies).await?
        {
            row.earning = Err(refused);
        }
    }
    let mut outcomes: Vec<Result<&'static str, String>> = rows
        .iter()
        .map(|row| {
            row.earning
                .as_ref()
                .map(|_| "not_written")
                .map_err(Clone::clone)
        })
        .collect();
    let refused = outcomes.iter().any(Result::is_err);
    let mut status = StatusCode::BAD_REQUEST;
    if !(refused && all_or_nothing) {
        // A conflict anywhere writes nothing of a batch, so in row mode the batch is sent
        // again without the conflicting rows.
        let mut writable: Vec<usize> = (0..rows.len()).filter(|i| outcomes[*i].is_ok()).collect();
        loop {
            let earnings: Vec<Earning> = writable
                .iter()
                .filter_map(|i| rows[*i].earning.as_ref().ok().cloned())
                .collect();
            let hashes: Vec<String> = earnings
                .iter()
                .map(|e| content_hash(&e.canonical_content()))
                .collect();
            let written = store.insert_earnings(&earnings, &hashes).await?;
            let conflicts: Vec<usize> = writable
                .iter()
                .zip(&written)
                .filter(|(_, outcome)| **outcome == IntakeOutcome::Conflict)
                .map(|(i, _)| *i)
                .collect();
            for i in &conflicts {
                outcomes[*i] = Err("recorded before with different content".to_string());
            }
            if conflicts.is_empty() {
                for (i, outcome) in writable.iter().zip(&written) {
                    outcomes[*i] = Ok(match outcome {
                        IntakeOutcome::Created => "created",
                        _ => "duplicate",
                    });
                }
                status = if written.iter().all(|o| *o == IntakeOutcome::Created) && !refused {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                break;
            }
            if all_or_nothing {
                status = StatusCode::CONFLICT;
                break;
            }
            writable.retain(|i| !conflicts.contains(i));
        }
    }
    let count = |wanted: &str| {
        outcomes
            .iter()
            .filter(|o| o.as_deref() == Ok(wanted))
            .count()
    };
    let view = CsvIntakeView {
        mode: if all_or_nothing { "all" } else { "rows" }.to_string(),
        created: count("created"),
        duplicates: count("duplicate"),
        errors: outcomes.iter().filter(|o| o.is_err()).count(),
        rows: rows
            .iter()
            .zip(outcomes)
            .map(|(row, outcome)| {
                let (outcome, error) = match outcome {
                    Ok(outcome) => (outcome.to_string(), None),
                    Err(error) => ("error".to_string(), Some(error)),
                };
                RowOutcome {
                    line: row.line,
                    earning_id: row.earning_id.clone(),
                    outcome,
                    error,
                }
            })
            .collect(),
    };
    Ok((status, Json(EarningsAnswer::Rows(view))).into_response())
}
