//! `GET /metrics`: the process's figures since it started, in Prometheus' text format, for
//! whoever monitors the machine `payouts serve` runs on. The same figures the Lambdas write as
//! CloudWatch EMF lines; counts only, no barber's data, so no token is asked for. Where the
//! figures live elsewhere (CloudWatch) the route answers 404.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use payout_app::ports::{Cumulative, Unit};

use crate::ApiState;

/// `PayoutsSucceeded` -> `payouts_succeeded`, prefixed `payouts_` once.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    match out.strip_prefix("payouts_") {
        Some(rest) => format!("payouts_{rest}"),
        None => format!("payouts_{out}"),
    }
}

/// The exposition text of `figures`.
pub fn render<'a>(figures: impl IntoIterator<Item = (&'a str, Cumulative)>) -> String {
    let mut text = String::new();
    for (name, figure) in figures {
        let name = snake(name);
        // Writing to a String cannot fail.
        let _ = match figure.unit {
            Unit::Milliseconds => writeln!(
                text,
                "# TYPE {name}_milliseconds summary\n{name}_milliseconds_sum {}\n{name}_milliseconds_count {}",
                figure.sum, figure.samples
            ),
            Unit::Count | Unit::None => writeln!(
                text,
                "# TYPE {name}_total counter\n{name}_total {}",
                figure.sum
            ),
        };
    }
    text
}

pub async fn metrics(State(state): State<ApiState>) -> Response {
    match state.services.metrics.since_start() {
        Some(figures) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            render(figures),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_counters_and_durations_summaries() {
        let text = render([
            (
                "PayoutsSucceeded",
                Cumulative {
                    unit: Unit::Count,
                    sum: 12,
                    samples: 3,
                },
            ),
            (
                "ProcessingTime",
                Cumulative {
                    unit: Unit::Milliseconds,
                    sum: 900,
                    samples: 3,
                },
            ),
        ]);
        assert_eq!(
            text,
            "# TYPE payouts_succeeded_total counter\npayouts_succeeded_total 12\n\
             # TYPE payouts_processing_time_milliseconds summary\n\
             payouts_processing_time_milliseconds_sum 900\n\
             payouts_processing_time_milliseconds_count 3\n"
        );
    }
}
