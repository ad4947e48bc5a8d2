//! The operator's dashboard and a barber's own view under `/dashboard`: a small static app
//! (`shared/http/dashboard/`: HTML, JS and CSS, no build step, no library) whose every figure
//! and action comes from this API with the token signed in, so the API's authorisation is the
//! dashboard's. The page itself holds no data and needs no token; it is served with a strict
//! content security policy (scripts and styles from this origin only, no framing).

use axum::Json;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::Caller;

const INDEX: &str = include_str!("../dashboard/index.html");
const SCRIPT: &str = include_str!("../dashboard/app.js");
const STYLE: &str = include_str!("../dashboard/app.css");
const ICON: &str = include_str!("../dashboard/favicon.svg");

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                      connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn file(content_type: &'static str, cache: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
}

async fn index() -> impl IntoResponse {
    file("text/html; charset=utf-8", "no-cache", INDEX)
}

/// Every page of the app is the same document; the script reads the path. The site's root
/// sends a person who typed only the host to the dashboard.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/dashboard") }))
        .route("/dashboard", get(index))
        .route("/dashboard/{*page}", get(index))
        .route(
            "/dashboard/assets/app.js",
            get(|| async { file("text/javascript; charset=utf-8", "no-cache", SCRIPT) }),
        )
        .route(
            "/dashboard/assets/app.css",
            get(|| async { file("text/css; charset=utf-8", "no-cache", STYLE) }),
        )
        .route(
            "/dashboard/assets/favicon.svg",
            get(|| async { file("image/svg+xml", "max-age=86400", ICON) }),
        )
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeView {
    pub subject: String,
    /// operator or barber.
    pub role: String,
    /// A barber's own id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barber_id: Option<String>,
}

/// Who the token says the caller is (what the dashboard shows and hides).
#[utoipa::path(get, path = "/me", security(("bearer" = [])), tag = "operations",
    responses((status = 200, body = MeView), (status = 401, body = crate::error::Problem)))]
pub async fn me(caller: Caller) -> Json<MeView> {
    Json(MeView {
        subject: caller.subject().to_string(),
        role: match caller.own_barber() {
            Some(_) => "barber",
            None => "operator",
        }
        .to_string(),
        barber_id: caller.own_barber().map(ToString::to_string),
    })
}
