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

/// What a figure counts, for its HELP line.
fn help(name: &str) -> &'static str {
    match name {
        "PayoutsAttempted" => "Payout attempts sent to the payment rail.",
        "PayoutsSucceeded" => "Payouts the payment rail accepted.",
        "PayoutsFailed" => "Payouts failed for good (no retry left, or not retryable).",
        "PayoutsRetried" => "Payout attempts that failed and were scheduled again.",
        "PayoutsHeldBack" => "Payouts held back by the rail's pace (a 429 or the rate limit).",
        "AmountPaid" => {
            "Net amount the rail accepted, in minor units (cents) of the payout currency."
        }
        "ProcessingTime" => "Time from a payout's creation to the rail's acceptance.",
        "PlannerLag" => "How late the planner ran after a schedule was due.",
        "PlanningFailures" => "Barbers whose planning failed (each left alone for a backoff).",
        "NotificationsFailed" => "Notice delivery attempts that failed (retried).",
        "NotificationsAbandoned" => "Notices given up after every retry.",
        "WebhooksReceived" => "Stripe webhook deliveries received.",
        "WebhooksRejected" => "Stripe webhook deliveries refused (bad signature or body).",
        "WebhooksFailed" => "Stripe webhook deliveries that failed to apply.",
        "EventsPublished" => "Payout events delivered to the platform's endpoints.",
        "EventsPublishFailed" => "Payout event deliveries that failed (retried).",
        "EventsExpired" => "Payout events given up after events.expire_after.",
        _ => "A figure of the payout scheduler.",
    }
}

/// The exposition text of `figures`: each with its HELP and TYPE lines, named after
/// Prometheus' conventions (a unit suffix, `_total` on counters).
pub fn render<'a>(figures: impl IntoIterator<Item = (&'a str, Cumulative)>) -> String {
    let mut text = String::new();
    for (raw, figure) in figures {
        let name = snake(raw);
        let help = help(raw);
        // Writing to a String cannot fail.
        let _ = match figure.unit {
            Unit::Milliseconds => writeln!(
                text,
                "# HELP {name}_milliseconds {help}\n# TYPE {name}_milliseconds summary\n\
                 {name}_milliseconds_sum {}\n{name}_milliseconds_count {}",
                figure.sum, figure.samples
            ),
            Unit::Count => writeln!(
                text,
                "# HELP {name}_total {help}\n# TYPE {name}_total counter\n{name}_total {}",
                figure.sum
            ),
            Unit::None => writeln!(
                text,
                "# HELP {name}_cents_total {help}\n# TYPE {name}_cents_total counter\n\
                 {name}_cents_total {}",
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
            "# HELP payouts_succeeded_total Payouts the payment rail accepted.\n\
             # TYPE payouts_succeeded_total counter\npayouts_succeeded_total 12\n\
             # HELP payouts_processing_time_milliseconds Time from a payout's creation to the rail's acceptance.\n\
             # TYPE payouts_processing_time_milliseconds summary\n\
             payouts_processing_time_milliseconds_sum 900\n\
             payouts_processing_time_milliseconds_count 3\n"
        );
        let money = render([(
            "AmountPaid",
            Cumulative {
                unit: Unit::None,
                sum: 64725,
                samples: 1,
            },
        )]);
        assert!(money.ends_with("# TYPE payouts_amount_paid_cents_total counter\npayouts_amount_paid_cents_total 64725\n"), "{money}");
    }
}
