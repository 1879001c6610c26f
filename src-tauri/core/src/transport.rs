//! One HTTP exchange: build the request, send it once, read the whole answer.
//! Retries, tokens and decoding live in `client.rs`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, ETAG, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::auth::AccessToken;
use crate::config::Config;
use crate::error::{codes, parse_retry_after, ApiError};
use crate::idempotency::IdempotencyKey;

const IDEMPOTENCY_KEY: reqwest::header::HeaderName = reqwest::header::HeaderName::from_static("idempotency-key");

/// A request as the API modules describe it.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub method: Method,
    /// Path segments after the base, e.g. `["v1", "calls", id]`; each is percent-encoded.
    pub segments: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// Send `Authorization: Bearer` (false only for the public endpoints).
    pub auth: bool,
    pub idempotency_key: Option<IdempotencyKey>,
    pub if_none_match: Option<String>,
    pub accept: &'static str,
    /// Other headers the request needs (e.g. `Last-Event-ID`); never a secret.
    pub headers: Vec<(&'static str, String)>,
}

impl Request {
    pub fn new(method: Method, segments: &[&str]) -> Self {
        Self {
            method,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            auth: true,
            idempotency_key: None,
            if_none_match: None,
            accept: "application/json",
            headers: Vec::new(),
        }
    }
    pub fn get(segments: &[&str]) -> Self {
        Self::new(Method::GET, segments)
    }
    pub fn post(segments: &[&str]) -> Self {
        Self::new(Method::POST, segments)
    }
    pub fn public(mut self) -> Self {
        self.auth = false;
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }
    pub fn query_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }
    pub fn idempotent(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }
    pub fn if_none_match(mut self, etag: Option<&str>) -> Self {
        self.if_none_match = etag.map(str::to_string);
        self
    }
    pub fn accept(mut self, accept: &'static str) -> Self {
        self.accept = accept;
        self
    }
    pub fn header_opt(mut self, name: &'static str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.headers.push((name, v.to_string()));
        }
        self
    }
    /// A read: sending it again changes nothing on the server (writes: see `retry::may_resend`).
    pub fn is_read(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
    pub fn describe(&self) -> String {
        format!("{} /{}", self.method, self.segments.join("/"))
    }
}

/// A complete answer (any status).
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: u16,
    pub etag: Option<String>,
    pub retry_after: Option<Duration>,
    /// The `Idempotency-Key` the server echoed (its sign that it honours keys; see `retry.rs`).
    pub idempotency_key: Option<String>,
    pub body: Vec<u8>,
}

/// The shared HTTP connection pool plus the settings every request uses.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    config: Arc<Config>,
}

impl Transport {
    pub fn new(config: Config) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // Redirects would carry the Authorization header to wherever they point.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::client(codes::INVALID_REQUEST, e.without_url().to_string()))?;
        Ok(Self { http, config: Arc::new(config) })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn url(&self, req: &Request) -> Result<Url, ApiError> {
        let mut url = self.config.url("/");
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ApiError::client(codes::INVALID_REQUEST, "the API base cannot take a path"))?;
            path.pop_if_empty();
            for s in &req.segments {
                if s.is_empty() || s == "." || s == ".." {
                    return Err(ApiError::client(codes::INVALID_REQUEST, "an id in the request path is empty"));
                }
                path.push(s);
            }
        }
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(req.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// Sends `req` once and reads the whole answer. `timeout` overrides the configured one.
    pub async fn send_once(
        &self,
        req: &Request,
        token: Option<&AccessToken>,
        timeout: Option<Duration>,
    ) -> Result<RawResponse, ApiError> {
        let resp = self.open(req, token, timeout).await?;
        read_whole(resp).await
    }

    /// Sends `req` once and returns as soon as the status and headers are in (for streams).
    pub async fn open(
        &self,
        req: &Request,
        token: Option<&AccessToken>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, ApiError> {
        let url = self.url(req)?;
        let mut builder = self.http.request(req.method.clone(), url).header(ACCEPT, req.accept);
        for (name, value) in &req.headers {
            builder = builder.header(*name, value.as_str());
        }
        if let Some(t) = token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {}", t.expose()));
        }
        if let Some(k) = &req.idempotency_key {
            builder = builder.header(IDEMPOTENCY_KEY, k.as_str());
        }
        if let Some(tag) = &req.if_none_match {
            builder = builder.header("If-None-Match", tag.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        if let Some(t) = timeout {
            builder = builder.timeout(t);
        }
        builder.send().await.map_err(transport_error)
    }
}

/// The most of an answer that is read: far above anything KallyAI sends (a page of calls is a few
/// KiB), low enough that a broken or hostile server cannot fill the memory of a tray app.
pub(crate) const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Reads a response to the end, at most [`MAX_BODY_BYTES`]. A success that is longer is refused
/// (`decode`); an error answer is cut there (its status says what happened; the envelope, if it
/// was readable, is at its start).
pub(crate) async fn read_whole(mut resp: reqwest::Response) -> Result<RawResponse, ApiError> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let too_large =
        || ApiError::client(codes::DECODE, format!("the answer is larger than {} MiB", MAX_BODY_BYTES >> 20));
    let success = (200..300).contains(&status);
    if success && resp.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            if success {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk[..MAX_BODY_BYTES - body.len()]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawResponse {
        status,
        etag: header_str(&headers, ETAG),
        retry_after: header_str(&headers, RETRY_AFTER).and_then(|v| parse_retry_after(&v, SystemTime::now())),
        idempotency_key: header_str(&headers, IDEMPOTENCY_KEY),
        body,
    })
}

fn header_str(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Maps a reqwest failure to a client-side code. The URL is dropped from the text: it names the
/// server and path only, but errors should not carry more than the user needs.
pub(crate) fn transport_error(e: reqwest::Error) -> ApiError {
    let code = if e.is_timeout() {
        codes::TIMEOUT
    } else if e.is_connect() {
        codes::OFFLINE
    } else if e.is_builder() {
        codes::INVALID_REQUEST
    } else {
        codes::CONNECTION_LOST
    };
    ApiError::client(code, error_chain(&e.without_url()))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A 2xx answer's JSON (an empty body reads as `{}`), or a `decode` error naming the request.
pub(crate) fn decode<T: DeserializeOwned>(req: &Request, body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body)
        .map_err(|e| ApiError::client(codes::DECODE, format!("{}: unexpected answer: {e}", req.describe())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(req: &Request) -> Result<String, ApiError> {
        let t = Transport::new(Config::new("http://127.0.0.1:9/base").unwrap()).unwrap();
        t.url(req).map(|u| u.to_string())
    }

    #[test]
    fn ids_are_escaped_into_one_segment() {
        let req = Request::get(&["v1", "calls", "a/b?c#d e"]).query("limit", 5).query_opt("x", None::<u32>);
        assert_eq!(url_of(&req).unwrap(), "http://127.0.0.1:9/base/v1/calls/a%2Fb%3Fc%23d%20e?limit=5");
    }

    #[test]
    fn empty_or_dot_ids_are_refused() {
        for bad in ["", ".", ".."] {
            let err = url_of(&Request::get(&["v1", "calls", bad])).unwrap_err();
            assert_eq!(err.code(), codes::INVALID_REQUEST);
        }
    }

    #[test]
    fn gets_are_reads_and_posts_are_not() {
        assert!(Request::get(&["v1"]).is_read());
        assert!(!Request::post(&["v1"]).idempotent(IdempotencyKey::new()).is_read());
    }
}
