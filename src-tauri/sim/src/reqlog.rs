//! The request log behind `GET /_sim/requests`: what a client sent, never a secret. Query values
//! that can carry secrets are replaced by `***`; bodies are not logged.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::clock::iso;
use crate::error::ApiError;
use crate::faults::FaultApplied;
use crate::state::{LoggedRequest, SharedSim};

pub const BODY_LIMIT: usize = 256 * 1024;
const SECRET_KEYS: [&str; 8] =
    ["access_token", "refresh_token", "code", "code_verifier", "token", "state", "client_secret", "id_token"];

pub fn redact_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    match serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
        Ok(pairs) => {
            let clean: Vec<(String, String)> = pairs
                .into_iter()
                .map(|(k, v)| if SECRET_KEYS.contains(&k.as_str()) { (k, "***".to_string()) } else { (k, v) })
                .collect();
            serde_urlencoded::to_string(clean).unwrap_or_else(|_| "***".into())
        }
        Err(_) => "***".into(),
    }
}

fn query_value(query: &str, key: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).ok()?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

pub async fn record(State(sim): State<SharedSim>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let auth = req.headers().get(header::AUTHORIZATION).is_some();
    let idempotency_key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut conversation_id = query_value(&query, "conversation_id");
    let req = if method == "POST" && path == "/v1/coordination/message" {
        // Peek at the body for conversation_id, then hand the same bytes on.
        let (parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
            return ApiError::from_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE, None).into_response();
        };
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            conversation_id = v.get("conversation_id").and_then(Value::as_str).map(str::to_string).or(conversation_id);
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    tracing::debug!(%method, %path, "request");
    let resp = next.run(req).await;
    let fault = resp.extensions().get::<FaultApplied>().map(|f| f.0.clone());
    let entry = LoggedRequest {
        seq: 0,
        method,
        path,
        query: redact_query(&query),
        status: resp.status().as_u16(),
        auth,
        idempotency_key,
        conversation_id,
        fault,
        at: sim.now(),
    };
    sim.lock().log_request(entry);
    resp
}

pub fn entry_json(r: &LoggedRequest) -> Value {
    json!({"seq": r.seq, "method": r.method, "path": r.path, "query": r.query, "status": r.status,
           "auth": r.auth, "idempotency_key": r.idempotency_key, "conversation_id": r.conversation_id,
           "fault": r.fault, "at": iso(r.at)})
}

#[cfg(test)]
mod tests {
    use super::redact_query;

    #[test]
    fn secrets_are_starred() {
        let q = redact_query("access_token=abc&limit=5&state=xyz&code=c1");
        assert_eq!(q, "access_token=***&limit=5&state=***&code=***");
    }
}
