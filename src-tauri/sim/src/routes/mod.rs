//! One module per API resource; `api()` merges them into the `/v1` (and auth) surface.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::state::SharedSim;

pub mod account;
pub mod actions;
pub mod auth;
pub mod billing;
pub mod budget;
pub mod calls;
pub mod control;
pub mod coordination;
pub mod credits;
pub mod inbound;
pub mod messages;
pub mod notifications;
pub mod oauth;
pub mod oauth_token;

pub fn api() -> Router<SharedSim> {
    Router::new()
        .merge(auth::router())
        .merge(oauth::router())
        .merge(coordination::router())
        .merge(calls::router())
        .merge(inbound::router())
        .merge(notifications::router())
        .merge(actions::router())
        .merge(messages::router())
        .merge(credits::router())
        .merge(budget::router())
        .merge(account::router())
        .merge(billing::router())
        .nest("/_sim", control::router())
}

pub type Params = HashMap<String, String>;

/// An integer query parameter with a default and inclusive bounds; anything else is a 422.
pub fn int_param(q: &Params, name: &str, default: i64, min: i64, max: i64) -> ApiResult<i64> {
    match q.get(name).map(|s| s.trim()) {
        None | Some("") => Ok(default),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::validation(format!("`{name}` must be an integer between {min} and {max}."))
                .detail("field", name)),
        },
    }
}

/// A date filter given under either spelling (`date_from` or `from`), see reference §4 row 5.
pub fn date_param(q: &Params, names: &[&str]) -> ApiResult<Option<i64>> {
    for name in names {
        if let Some(raw) = q.get(*name).filter(|s| !s.trim().is_empty()) {
            return crate::clock::parse_iso(raw).map(Some).ok_or_else(|| {
                ApiError::validation(format!("`{name}` must be a date (YYYY-MM-DD) or an ISO-8601 time."))
                    .detail("field", *name)
            });
        }
    }
    Ok(None)
}

pub fn bool_param(q: &Params, name: &str) -> bool {
    q.get(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// A JSON body with an `ETag`; a matching `If-None-Match` gets 304 with no body (EXTENSION).
/// Under the production profile: plain JSON, no `ETag`, never a 304.
pub fn conditional_json(production: bool, headers: &HeaderMap, body: Value) -> Response {
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    if production {
        return ([(header::CONTENT_TYPE, "application/json")], bytes).into_response();
    }
    let tag = format!("\"{:016x}\"", fnv64(&bytes));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == tag || t == "*"));
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&tag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Applies limit/offset to a list and returns the page.
pub fn page<T: Clone>(items: &[T], limit: i64, offset: i64) -> Vec<T> {
    items.iter().skip(offset as usize).take(limit as usize).cloned().collect()
}
