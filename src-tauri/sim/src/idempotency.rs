//! `Idempotency-Key` (EXTENSION) on the keyed routes, `POST /v1/coordination/message` and
//! `POST /v1/calls`: the handlers store their first successful answer per key and replay it.
//! Every answer a keyed handler gives to a keyed request echoes the key (`Idempotency-Key:
//! <key>`), so a client learns from the response itself that this server honours keys; a replay
//! also says `Idempotent-Replayed: true`. Under the production profile keys are ignored and
//! nothing is echoed, as on a server without the extension.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::state::{SharedSim, Sim};

const HEADER: &str = "idempotency-key";
const KEYED_ROUTES: [(&str, &str); 2] = [("POST", "/v1/coordination/message"), ("POST", "/v1/calls")];

/// The key a keyed route honours; always none under the production profile.
pub fn key(sim: &Sim, headers: &HeaderMap) -> ApiResult<Option<String>> {
    if sim.production() {
        return Ok(None);
    }
    parse(headers)
}

fn parse(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get(HEADER) {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().map_err(|_| ApiError::validation("Idempotency-Key must be visible ASCII."))?.trim();
            if key.is_empty() || key.len() > 255 {
                return Err(ApiError::validation("Idempotency-Key must be 1 to 255 characters."));
            }
            Ok(Some(key.to_string()))
        }
    }
}

/// A stored answer to a repeated key, marked so clients and tests can tell.
pub fn replayed(status: u16, body: Value) -> Response {
    let mut resp = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), Json(body)).into_response();
    resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

/// Echoes a valid key on whatever the keyed handler answered (first run or replay, any status).
/// It sits inside fault injection: an injected answer did not come from the handler, so it
/// carries no echo.
pub async fn echo(State(sim): State<SharedSim>, req: Request, next: Next) -> Response {
    let keyed = KEYED_ROUTES.iter().any(|(m, p)| req.method().as_str() == *m && req.uri().path() == *p);
    let echoed = if keyed { key(&sim, req.headers()).ok().flatten() } else { None };
    let mut resp = next.run(req).await;
    if let Some(v) = echoed.and_then(|k| HeaderValue::from_str(&k).ok()) {
        resp.headers_mut().insert(HEADER, v);
    }
    resp
}
