//! `payouts import earnings FILE.csv --api URL`: a CSV of earnings (a header naming the JSON
//! fields, then a row an earning) sent to a running API's `POST /earnings` a page of rows at a
//! time, with a progress bar; every row's outcome reported by its line in the file.

use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Rows a request carries: the API's most.
const PAGE: usize = payout_app::ingest::MAX_BATCH;

/// What the import did, row by row.
#[derive(Debug, Default)]
pub struct Imported {
    pub created: usize,
    pub duplicates: usize,
    /// Each refused row: its line in the file and why.
    pub errors: Vec<(u64, String)>,
    /// Lines left unsent after an all-or-nothing page failed.
    pub unsent_from: Option<u64>,
}

/// A page of the file: its rows as CSV under the header, and each row's line in the file.
struct Page {
    csv: Vec<u8>,
    lines: Vec<u64>,
}

fn pages(file: &Path) -> anyhow::Result<(Vec<Page>, usize)> {
    let mut reader =
        csv::Reader::from_path(file).with_context(|| format!("cannot read {}", file.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("{}: line 1", file.display()))?
        .clone();
    let mut pages = Vec::new();
    let mut rows = 0;
    let mut writer: Option<(csv::Writer<Vec<u8>>, Vec<u64>)> = None;
    for record in reader.records() {
        let record = record.with_context(|| format!("{}", file.display()))?;
        let (page, lines) = writer.get_or_insert_with(|| {
            let mut page = csv::Writer::from_writer(Vec::new());
            page.write_record(&header).expect("writing to memory");
            (page, Vec::new())
        });
        page.write_record(&record)?;
        lines.push(record.position().map_or(0, |p| p.line()));
        rows += 1;
        if lines.len() == PAGE {
            let (page, lines) = writer.take().expect("just written");
            pages.push(Page {
                csv: page.into_inner()?,
                lines,
            });
        }
    }
    if let Some((page, lines)) = writer {
        pages.push(Page {
            csv: page.into_inner()?,
            lines,
        });
    }
    Ok((pages, rows))
}

/// Sends `file` to `api` (`.../api/v1/payout-scheduler`) as `token`, all or nothing per page
/// (stopping at the first page refused) or, with `row_by_row`, every row that can be.
pub async fn earnings(
    file: &Path,
    api: &str,
    token: &str,
    row_by_row: bool,
) -> anyhow::Result<Imported> {
    let (pages, rows) = pages(file)?;
    anyhow::ensure!(rows > 0, "{} has a header but no rows", file.display());
    let progress = ProgressBar::new(rows as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, {eta} left")
            .expect("a valid template"),
    );
    let client = reqwest::Client::new();
    let url = format!(
        "{}/earnings?mode={}",
        api.trim_end_matches('/'),
        if row_by_row { "rows" } else { "all" }
    );
    let mut imported = Imported::default();
    for page in pages {
        let response = client
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(page.csv)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .with_context(|| format!("{url} answered {status} without JSON"))?;
        let Some(outcomes) = answer["rows"].as_array() else {
            // The request itself was refused (a bad header, a bad token): nothing was written.
            let detail = answer["detail"].as_str().unwrap_or("no detail");
            anyhow::ensure!(
                status != reqwest::StatusCode::NOT_FOUND,
                "{url}: {status}: is --api the API's base address (ending in \
                 /api/v1/payout-scheduler)?"
            );
            anyhow::bail!(
                "{url} refused the rows from line {}: {status}: {detail}",
                page.lines[0]
            );
        };
        for (line, outcome) in page.lines.iter().zip(outcomes) {
            match outcome["outcome"].as_str() {
                Some("created") => imported.created += 1,
                Some("duplicate") => imported.duplicates += 1,
                Some("error") => imported.errors.push((
                    *line,
                    outcome["error"].as_str().unwrap_or("refused").to_string(),
                )),
                _ => {}
            }
        }
        progress.inc(page.lines.len() as u64);
        if !status.is_success() {
            imported.unsent_from = Some(page.lines[0]);
            break;
        }
    }
    progress.finish_and_clear();
    Ok(imported)
}
