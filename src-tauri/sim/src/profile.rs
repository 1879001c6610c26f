//! The production profile's gate: paths that exist only as sim EXTENSIONS answer what production
//! answers for them, before any extractor runs (so no 401 or 400 can hint that they exist).
//! Behaviour that differs inside a served route (the event log, `Idempotency-Key`, ETags) is
//! decided by the route itself through `State::production`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{final_response, ApiError};
use crate::state::SharedSim;

/// The OAuth extension's own paths (RFC 8414 metadata, RFC 7009 revocation): production's web
/// front serves none of them. The code flow of reference §2.2 stays (see `routes::oauth`).
const OAUTH_PATHS: [&str; 2] = ["/.well-known/oauth-authorization-server", "/v1/auth/revoke"];
/// API paths no public source documents for production.
const API_EXTENSIONS: [&str; 2] = ["/v1/inbound/stream/info", "/v1/users/me"];

pub async fn production_gate(State(sim): State<SharedSim>, req: Request, next: Next) -> Response {
    if !sim.production() {
        return next.run(req).await;
    }
    let path = req.uri().path();
    if OAUTH_PATHS.contains(&path) || path.starts_with("/oauth/") {
        return web_not_found();
    }
    if API_EXTENSIONS.contains(&path) {
        return ApiError::from_status(StatusCode::NOT_FOUND, None).into_response();
    }
    next.run(req).await
}

/// What a web front answers for a path it does not serve: an HTML page, not the API envelope.
fn web_not_found() -> Response {
    final_response(
        StatusCode::NOT_FOUND,
        "text/html; charset=utf-8",
        "<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>\
<p>The requested URL was not found on this server.</p></body></html>"
            .into(),
    )
}
