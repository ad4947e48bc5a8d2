//! The OpenAPI 3.1 document: what no route says (title, security scheme, shared schemas, problem
//! media type); the paths come from the routes themselves (`crate::router`), bound once.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, RefOr};
use utoipa::{Modify, OpenApi};

use crate::{error, wire};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Error responses are problem details: document them with the media type they are sent with.
struct ProblemMediaType;

impl Modify for ProblemMediaType {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let is_problem = |content: &RefOr<Content>| {
            matches!(content, RefOr::T(Content { schema: Some(RefOr::Ref(r)), .. })
                if r.ref_location.ends_with("/Problem"))
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if let Some(content) = response.content.get("application/json")
                        && is_problem(content)
                    {
                        let content = response
                            .content
                            .shift_remove("application/json")
                            .expect("just found");
                        response
                            .content
                            .insert("application/problem+json".to_string(), content);
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Payout scheduler", description = "Barber payouts: schedules, earnings, payouts, analytics."),
    components(schemas(error::Problem, wire::ScheduleBody, wire::ScheduleView, wire::DestinationChangeView, wire::EarningsBody,
        wire::EarningView, wire::EarningsBatchView, wire::DeductionBody, wire::DeductionView,
        wire::PayoutView, wire::PayoutDetail)),
    modifiers(&BearerAuth),
)]
pub(crate) struct ApiDoc;

/// The document of `paths`, problem responses given the media type they are sent with.
pub(crate) fn finish(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    ProblemMediaType.modify(&mut document);
    document
}
