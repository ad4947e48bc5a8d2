//! For the barber and the shop's accountant: a barber's year by the month money was paid, the
//! tax-year report, and every payout of a window for the books, as JSON or streamed CSV.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Utc};
use payout_app::error::AppError;
use payout_app::payout_export::{self, ExportCursor, Layout};
use payout_app::services::Services;
use payout_app::year_summary::{self, BarberSummary, TaxYearPage};
use payout_core::ids::BarberId;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YearParams {
    /// The calendar year (default: this one, UTC).
    pub year: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaxYearParams {
    /// The calendar year (default: this one, UTC).
    pub year: Option<i32>,
    /// The barber id to go on after (`next_cursor`).
    pub cursor: Option<String>,
    /// Barbers read, 1 to 1000 (default 200); a page lists those of them paid in the year.
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Payouts created at or after (RFC 3339).
    pub from: DateTime<Utc>,
    /// Payouts created before (RFC 3339).
    pub to: DateTime<Utc>,
    /// `payouts` (the default: a row a payout) or `journal` (double-entry lines).
    pub layout: Option<String>,
}

fn year_or_this(state: &ApiState, year: Option<i32>) -> i32 {
    year.unwrap_or_else(|| state.clock.now().year())
}

/// A barber's year to date by the month money was paid (in the barber's time zone): gross,
/// tips, commission, bonus, deductions by kind, fees, net paid and payouts, each month and the
/// year. The barber or an operator.
#[utoipa::path(get, path = "/barbers/{id}/summary", params(("id" = String, Path), YearParams),
    security(("bearer" = [])), tag = "reports",
    responses((status = 200, body = BarberSummary), (status = 400, body = Problem),
               (status = 404, body = Problem)))]
pub async fn barber_summary(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<YearParams>,
) -> Result<Json<BarberSummary>, ApiError> {
    let barber = BarberId::parse(&id).map_err(|e| AppError::Invalid(e.to_string()))?;
    caller.may_see(&barber)?;
    let year = year_or_this(&state, params.year);
    Ok(Json(
        year_summary::barber_summary(&state.services, &barber, year).await?,
    ))
}

const TAX_YEAR_PAGE: u32 = 200;
const MAX_TAX_YEAR_PAGE: u32 = 1_000;

/// The tax year (operators): a row for each barber paid in the year with the net paid, the
/// tips and whether it reaches `[tax] reporting_threshold`, a page of barbers at a time.
#[utoipa::path(get, path = "/reports/tax-year", params(TaxYearParams),
    security(("bearer" = [])), tag = "reports",
    responses((status = 200, body = TaxYearPage), (status = 400, body = Problem),
               (status = 403, body = Problem)))]
pub async fn tax_year(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<TaxYearParams>,
) -> Result<Json<TaxYearPage>, ApiError> {
    caller.require_operator()?;
    let limit = match params.limit.unwrap_or(TAX_YEAR_PAGE) {
        n @ 1..=MAX_TAX_YEAR_PAGE => n as usize,
        _ => {
            return Err(AppError::Invalid(format!(
                "limit must be between 1 and {MAX_TAX_YEAR_PAGE}"
            ))
            .into());
        }
    };
    let after = params
        .cursor
        .as_deref()
        .map(|raw| BarberId::parse(raw).map_err(|e| AppError::Invalid(format!("cursor: {e}"))))
        .transpose()?;
    let year = year_or_this(&state, params.year);
    Ok(Json(
        year_summary::tax_year_page(&state.services, year, after.as_ref(), limit).await?,
    ))
}

/// A CSV response of `body`, to be saved as `filename`.
fn csv_download(filename: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A body written a page at a time by `page` from `start` until it says there is no more: a
/// long export is never held whole. A page that fails ends the body there (the client sees it
/// cut short, never a partial file passed off as whole), and is logged.
fn streamed<C, F, Fut>(services: Services, start: C, page: F) -> Body
where
    C: Send + 'static,
    F: Fn(Services, C) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(Vec<u8>, Option<C>), AppError>> + Send + 'static,
{
    let pages = futures::stream::try_unfold(Some(start), move |at| {
        let next = at.map(|at| page(services.clone(), at));
        async move {
            match next {
                None => Ok::<_, std::io::Error>(None),
                Some(next) => {
                    let (bytes, then) = next.await.map_err(|e| {
                        tracing::error!(error = %e, "a CSV export stopped");
                        std::io::Error::other(e.to_string())
                    })?;
                    Ok(Some((bytes, then)))
                }
            }
        }
    });
    Body::from_stream(pages)
}

/// The tax year as CSV (operators), every barber: `year,barber_id,display_name,currency,
/// payouts,net_paid,tips_paid,reaches_threshold`, streamed a page of barbers at a time.
#[utoipa::path(get, path = "/reports/tax-year.csv", params(YearParams),
    security(("bearer" = [])), tag = "reports",
    responses((status = 200, body = String, content_type = "text/csv"),
               (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn tax_year_csv(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<YearParams>,
) -> Result<Response, ApiError> {
    caller.require_operator()?;
    let year = year_or_this(&state, params.year);
    // Refused before the first byte: a bad year is a 400, not a cut-short body.
    year_summary::tax_year_page(&state.services, year, None, 1).await?;
    let limit = MAX_TAX_YEAR_PAGE as usize;
    let body = streamed(
        state.services.clone(),
        (true, None::<BarberId>),
        move |services, (first, after)| async move {
            let page = year_summary::tax_year_page(&services, year, after.as_ref(), limit).await?;
            let csv = year_summary::tax_year_csv(&page, first)?;
            let next = page
                .next_cursor
                .as_deref()
                .map(BarberId::parse)
                .transpose()
                .map_err(|e| AppError::Invalid(e.to_string()))?
                .map(|after| (false, Some(after)));
            Ok((csv, next))
        },
    );
    Ok(csv_download(&format!("tax-year-{year}.csv"), body))
}

/// Every payout created in `[from, to)` for the books (operators), streamed: a row a payout
/// with every line of its breakdown, or with `layout=journal` the paid payouts as double-entry
/// lines (`date,payout_id,account,debit,credit,currency,description`), each payout's balancing.
#[utoipa::path(get, path = "/payouts/export.csv", params(ExportParams),
    security(("bearer" = [])), tag = "reports",
    responses((status = 200, body = String, content_type = "text/csv"),
               (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn export_payouts(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    caller.require_operator()?;
    let layout: Layout = params.layout.as_deref().unwrap_or("payouts").parse()?;
    if params.from >= params.to {
        return Err(AppError::Invalid("from must be before to".into()).into());
    }
    let start = ExportCursor {
        from: params.from,
        to: params.to,
        after: None,
    };
    let body = streamed(
        state.services.clone(),
        start,
        move |services, at| async move { payout_export::next_page(&services, layout, &at).await },
    );
    let name = match layout {
        Layout::Payouts => "payouts",
        Layout::Journal => "journal",
    };
    let filename = format!(
        "{name}-{}-{}.csv",
        params.from.format("%Y%m%d"),
        params.to.format("%Y%m%d")
    );
    Ok(csv_download(&filename, body))
}
