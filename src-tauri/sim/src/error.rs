//! The one error shape the sim ever sends (reference §1.4, nested form):
//! `{"error":{"code","message","details":{"message",...},"correlation_id"}}`.
//! `ApiError` builds it; `envelope_safety_net` rewrites any other error response (axum's own
//! rejections, 404/405 from routing) into it, so no failure path can leak plain text.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// Marks a response whose body is already final (an envelope, or a deliberate HTML page).
#[derive(Clone, Copy)]
pub struct Final;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Map<String, Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.to_string(), message: message.into(), details: Map::new(), headers: Vec::new() }
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_error", message)
    }
    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// A generic error for a bare HTTP status (used by the safety net and fault injection).
    pub fn from_status(status: StatusCode, reason: Option<String>) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "The request could not be understood."),
            401 => ("missing_token", "Sign in first: no access token was sent."),
            404 => ("not_found", "There is no such endpoint."),
            405 => ("method_not_allowed", "This endpoint does not accept that HTTP method."),
            408 => ("request_timeout", "The request took too long to arrive."),
            413 => ("payload_too_large", "The request body is larger than the 256 KiB limit."),
            415 => ("unsupported_media_type", "The request body has an unsupported content type."),
            422 => ("validation_error", "The request body has the wrong shape."),
            429 => ("rate_limited", "Too many requests; try again later."),
            500 => ("internal_error", "The server failed to handle the request."),
            502 => ("bad_gateway", "An upstream service failed."),
            503 => ("service_unavailable", "The service is temporarily unavailable."),
            504 => ("gateway_timeout", "An upstream service timed out."),
            _ => ("", "The request failed."),
        };
        let code = if code.is_empty() { format!("http_{}", status.as_u16()) } else { code.to_string() };
        let mut err = Self::new(status, &code, message);
        if let Some(r) = reason.filter(|r| !r.trim().is_empty()) {
            err = err.detail("reason", r);
        }
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut details = self.details;
        details.insert("message".into(), Value::String(self.message.clone()));
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "details": details,
            "correlation_id": uuid::Uuid::new_v4().to_string(),
        }});
        let mut resp = (self.status, axum::Json(body)).into_response();
        for (k, v) in self.headers {
            resp.headers_mut().insert(k, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"kallyai\""));
        }
        resp.extensions_mut().insert(Final);
        resp
    }
}

/// Rewrites any error response that did not come from `ApiError` (routing 404/405, extractor
/// rejections) into the envelope, keeping the status and the original text as `details.reason`.
pub async fn envelope_safety_net(resp: Response) -> Response {
    let status = resp.status();
    if status.as_u16() < 400 || resp.extensions().get::<Final>().is_some() {
        return resp;
    }
    let reason = to_bytes(resp.into_body(), 4096).await.ok().and_then(|b| String::from_utf8(b.to_vec()).ok());
    ApiError::from_status(status, reason).into_response()
}

/// JSON body extractor whose rejections are envelopes: malformed JSON 400, wrong types or a
/// missing field 422, a body over the limit 413. An empty body counts as `{}` because several
/// endpoints are called with no body at all by the real CLIs.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            ApiError::from_status(status, Some(e.body_text()))
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let slice: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(slice).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::validation(format!("Invalid request body: {e}")),
        _ => ApiError::bad_request("invalid_json", format!("The body is not valid JSON: {e}")),
    })
}

/// Reads a form-encoded body (OAuth token and revocation endpoints).
pub struct FormBody(pub std::collections::HashMap<String, String>);

impl<S: Send + Sync> FromRequest<S> for FormBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::from_status(e.status(), Some(e.body_text())))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(FormBody)
            .map_err(|_| ApiError::bad_request("invalid_request", "The body is not form-encoded."))
    }
}

/// A deliberate non-JSON response (the sign-in pages) that the safety net must leave alone.
pub fn final_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.extensions_mut().insert(Final);
    resp
}
