//! The client of the `/_sim/` control API (docs/sim.md, "Control API"): the one way tests,
//! demos and `kallyai-sim ctl` drive a running sim. Behind the `client` feature (default on).
//! [`SignInForm`] is a person on the sim's sign-in pages.
//!
//! [`ControlRequest`] says once, for every control call, its method, path and body;
//! [`Control::send`] sends one and returns what the sim answered (`ctl` prints it); the typed
//! methods of [`Control`] are for tests: a call the sim refuses fails the test on the spot, with
//! the method, path, status and the sim's answer in the message.

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{Profile, Seed, SimConfig, SimServer};

mod sign_in_form;
pub use sign_in_form::SignInForm;

/// One request to the control API. Built by the constructors below, one per call.
#[derive(Clone, Debug)]
pub struct ControlRequest {
    pub method: Method,
    /// Below `/_sim`, e.g. `/calls/ring`.
    pub path: String,
    pub body: Option<Value>,
}

impl ControlRequest {
    fn new(method: Method, path: impl Into<String>, body: Option<Value>) -> Self {
        Self { method, path: path.into(), body }
    }

    fn post(path: impl Into<String>, body: impl Serialize) -> Self {
        Self::new(Method::POST, path, Some(json!(body)))
    }

    /// A fresh world; `None` keeps the sim's current seed or profile. Names as the sim takes
    /// them (`Seed::name`, `Profile::name`): the sim judges them (`ctl` passes what it is given).
    pub fn reset(seed: Option<&str>, profile: Option<&str>) -> Self {
        let mut body = json!({});
        if let Some(seed) = seed {
            body["seed"] = json!(seed);
        }
        if let Some(profile) = profile {
            body["profile"] = json!(profile);
        }
        Self::post("/reset", body)
    }

    /// A signed-in session for the seeded user, without a browser.
    pub fn session() -> Self {
        Self::post("/session", json!({}))
    }

    /// Every secret the sim ever issued.
    pub fn tokens() -> Self {
        Self::new(Method::GET, "/tokens", None)
    }

    /// What the sim holds now of what expires or is capped, and its limits.
    pub fn retention() -> Self {
        Self::new(Method::GET, "/retention", None)
    }

    pub fn expire_tokens() -> Self {
        Self::new(Method::POST, "/tokens/expire", None)
    }

    pub fn revoke_tokens() -> Self {
        Self::new(Method::POST, "/tokens/revoke", None)
    }

    /// What the OAuth extension saw of PKCE.
    pub fn oauth() -> Self {
        Self::new(Method::GET, "/oauth", None)
    }

    pub fn add_fault(fault: &Fault) -> Self {
        Self::post("/faults", fault)
    }

    pub fn faults() -> Self {
        Self::new(Method::GET, "/faults", None)
    }

    pub fn clear_faults() -> Self {
        Self::new(Method::DELETE, "/faults", None)
    }

    pub fn requests() -> Self {
        Self::new(Method::GET, "/requests", None)
    }

    pub fn clear_requests() -> Self {
        Self::new(Method::DELETE, "/requests", None)
    }

    pub fn ring(ring: &Ring) -> Self {
        Self::post("/calls/ring", ring)
    }

    /// Ends a live call; `None` leaves the outcome to the sim (`completed`).
    pub fn end_call(id: &str, outcome: Option<&str>) -> Self {
        let body = match outcome {
            Some(outcome) => json!({"outcome": outcome}),
            None => json!({}),
        };
        Self::post(format!("/calls/{id}/end"), body)
    }

    pub fn advance(seconds: f64) -> Self {
        Self::post("/clock/advance", json!({"seconds": seconds}))
    }

    pub fn credits(credits: &Credits) -> Self {
        Self::post("/credits", credits)
    }

    pub fn stream(stream: &Stream) -> Self {
        Self::post("/stream", stream)
    }

    pub fn clear_events() -> Self {
        Self::new(Method::DELETE, "/events", None)
    }

    pub fn next_reply(text: &str) -> Self {
        Self::post("/assistant/next-reply", json!({"text": text}))
    }

    /// The next reply is `text` repeated `times` times (at most 4 MiB in all).
    pub fn next_reply_repeated(text: &str, times: usize) -> Self {
        Self::post("/assistant/next-reply", json!({"text": text, "repeat": times}))
    }

    /// A message from `from` arrives in the inbox (`channel`: email, sms or whatsapp).
    pub fn receive_message(channel: &str, from: &str, subject: &str, body: &str) -> Self {
        Self::post("/messages", json!({"channel": channel, "from": from, "subject": subject, "body": body}))
    }

    /// The next answered ask is refused with `code`; `None` leaves the estimate to the sim.
    pub fn next_refusal(code: &str, credits_estimated: Option<f64>) -> Self {
        let mut body = json!({"code": code});
        if let Some(credits) = credits_estimated {
            body["credits_estimated"] = json!(credits);
        }
        Self::post("/assistant/next-refusal", body)
    }
}

/// A fault rule (`POST /_sim/faults`): `kind` and the options the sim documents for it.
#[derive(Clone, Debug, Serialize)]
pub struct Fault {
    pub route: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl Fault {
    /// A fault of `kind` (`latency`, `status`, `status_after`, `rate_limit`, `drop_before`,
    /// `drop_after`, `malformed`, `slow_body`) on every request whose path matches `route`.
    pub fn new(route: &str, kind: &str) -> Self {
        Self {
            route: route.into(),
            kind: kind.into(),
            method: None,
            status: None,
            latency_ms: None,
            retry_after_secs: None,
            probability: None,
            count: None,
        }
    }

    /// Kind `status`: the route answers `status` without running its handler.
    pub fn status(route: &str, status: u16) -> Self {
        Self::new(route, "status").with_status(status)
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = Some(ms);
        self
    }

    pub fn retry_after_secs(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn probability(mut self, probability: f64) -> Self {
        self.probability = Some(probability);
        self
    }

    /// Fires this many times, then the rule is gone.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }
}

/// An inbound call to ring (`POST /_sim/calls/ring`); what is left `None` is the sim's default.
#[derive(Clone, Debug, Serialize)]
pub struct Ring {
    pub caller_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_vip: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `Some(vec![])`: no script, the call stays live until it is ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<Line>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_interval_ms: Option<u64>,
}

/// One line of a ringing call's transcript.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub speaker: String,
    pub content: String,
}

impl Ring {
    pub fn new(caller_number: &str) -> Self {
        Self {
            caller_number: caller_number.into(),
            caller_name: None,
            is_vip: None,
            summary: None,
            transcript: None,
            line_interval_ms: None,
        }
    }

    pub fn caller_name(mut self, name: &str) -> Self {
        self.caller_name = Some(name.into());
        self
    }

    pub fn vip(mut self, vip: bool) -> Self {
        self.is_vip = Some(vip);
        self
    }

    pub fn summary(mut self, summary: &str) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// The script, `(speaker, content)` a line, revealed one line per `line_interval_ms`.
    pub fn transcript<S: Into<String>>(mut self, lines: impl IntoIterator<Item = (S, S)>) -> Self {
        let lines =
            lines.into_iter().map(|(speaker, content)| Line { speaker: speaker.into(), content: content.into() });
        self.transcript = Some(lines.collect());
        self
    }

    /// No script: the call stays live until it is ended.
    pub fn no_script(mut self) -> Self {
        self.transcript = Some(Vec::new());
        self
    }

    pub fn line_interval_ms(mut self, ms: u64) -> Self {
        self.line_interval_ms = Some(ms);
        self
    }
}

/// A balance change (`POST /_sim/credits`); `None` leaves that figure as it is.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Credits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits_remaining: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits_allocated: Option<f64>,
}

/// The event stream's switch (`POST /_sim/stream`).
#[derive(Clone, Debug, Serialize)]
pub struct Stream {
    pub enabled: bool,
    /// `false`: `stream/info` keeps saying enabled, the events route answers its JSON log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sse: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_secs: Option<u64>,
}

impl Stream {
    pub fn on() -> Self {
        Self { enabled: true, sse: None, heartbeat_secs: None }
    }

    /// Off: new streams get 503 and open ones end (clients poll).
    pub fn off() -> Self {
        Self { enabled: false, sse: None, heartbeat_secs: None }
    }

    pub fn sse(mut self, sse: bool) -> Self {
        self.sse = Some(sse);
        self
    }

    pub fn heartbeat_secs(mut self, secs: u64) -> Self {
        self.heartbeat_secs = Some(secs);
        self
    }
}

/// A session as `POST /_sim/session` hands it out.
#[derive(Clone, Debug, Deserialize)]
pub struct SessionTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// What the OAuth extension saw (`GET /_sim/oauth`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct OAuthSeen {
    pub pkce_method: Option<String>,
    pub challenge_seen: bool,
    pub verifier_seen: bool,
}

/// What the sim answered a control request with.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// The body as sent (JSON, or empty for 204).
    pub body: String,
}

impl Reply {
    /// The body as JSON; `Null` when it is empty.
    pub fn json(&self) -> Value {
        if self.body.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("the sim answered {e}: {}", self.body))
    }
}

/// Why a control request did not succeed.
#[derive(Debug)]
pub enum ControlError {
    /// No answer: the sim is not there, or did not answer in time.
    Unreachable(reqwest::Error),
    /// The sim refused the request with this status and body.
    Refused(Reply),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable(e) => write!(f, "no answer: {e}"),
            Self::Refused(reply) => write!(f, "HTTP {}: {}", reply.status, reply.body),
        }
    }
}

impl std::error::Error for ControlError {}

/// A client of one sim's control API.
#[derive(Clone, Debug)]
pub struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    /// For the sim at `base` (`http://127.0.0.1:PORT`, a trailing slash is fine).
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client without TLS always builds");
        Self { http, base: base.trim_end_matches('/').to_string() }
    }

    /// The sim's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one control request: the sim's answer if it is a success, else why not. A body
    /// goes as JSON with `Content-Type: application/json` (the sim refuses any other).
    pub async fn send(&self, request: &ControlRequest) -> Result<Reply, ControlError> {
        let mut http = self.http.request(request.method.clone(), format!("{}/_sim{}", self.base, request.path));
        if let Some(body) = &request.body {
            http = http.json(body);
        }
        let answer = http.send().await.map_err(ControlError::Unreachable)?;
        let status = answer.status();
        let body = answer.text().await.map_err(ControlError::Unreachable)?;
        let reply = Reply { status: status.as_u16(), body };
        if status.is_success() {
            Ok(reply)
        } else {
            Err(ControlError::Refused(reply))
        }
    }

    /// Sends `request` and returns the answer's JSON; a refusal fails the test here.
    pub async fn call(&self, request: ControlRequest) -> Value {
        match self.send(&request).await {
            Ok(reply) => reply.json(),
            Err(e) => panic!("{} /_sim{}: {e}", request.method, request.path),
        }
    }

    /// A fresh world; `None` keeps the sim's current seed or profile.
    pub async fn reset(&self, seed: Option<Seed>, profile: Option<Profile>) {
        self.call(ControlRequest::reset(seed.map(Seed::name), profile.map(Profile::name))).await;
    }

    /// A fresh session for the seeded user.
    pub async fn session(&self) -> SessionTokens {
        serde_json::from_value(self.call(ControlRequest::session()).await).expect("a session")
    }

    /// Every secret the sim ever issued (access and refresh tokens, authorization codes), to
    /// look for where none may be.
    pub async fn issued_secrets(&self) -> Vec<String> {
        let tokens = self.call(ControlRequest::tokens()).await;
        ["access_tokens", "refresh_tokens", "codes"]
            .iter()
            .flat_map(|key| tokens[*key].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(String::from))
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// `{held: {pending_sign_ins, codes, access_tokens, refresh_tokens, idempotency_keys},
    /// limits: {…}}`: what the sim keeps now (expired entries already dropped).
    pub async fn retention(&self) -> Value {
        self.call(ControlRequest::retention()).await
    }

    /// Every access token issued so far expires now (refresh still works).
    pub async fn expire_tokens(&self) {
        self.call(ControlRequest::expire_tokens()).await;
    }

    /// Every access and refresh token is revoked.
    pub async fn revoke_tokens(&self) {
        self.call(ControlRequest::revoke_tokens()).await;
    }

    pub async fn oauth_seen(&self) -> OAuthSeen {
        serde_json::from_value(self.call(ControlRequest::oauth()).await).expect("what the OAuth extension saw")
    }

    /// Adds a fault rule; returns it as the sim holds it (with its `id`).
    pub async fn fault(&self, fault: &Fault) -> Value {
        self.call(ControlRequest::add_fault(fault)).await
    }

    pub async fn faults(&self) -> Vec<Value> {
        self.call(ControlRequest::faults()).await["faults"].as_array().cloned().unwrap_or_default()
    }

    pub async fn clear_faults(&self) {
        self.call(ControlRequest::clear_faults()).await;
    }

    /// Every request the sim answered (never the `/_sim/` ones), oldest first:
    /// `{seq, method, path, query, status, auth, idempotency_key, conversation_id, fault, at}`.
    pub async fn requests(&self) -> Vec<Value> {
        self.call(ControlRequest::requests()).await["requests"].as_array().cloned().unwrap_or_default()
    }

    /// The logged requests with this method and path (the query is not part of the path).
    pub async fn requests_to(&self, method: &str, path: &str) -> Vec<Value> {
        self.requests().await.into_iter().filter(|r| r["method"] == method && r["path"] == path).collect()
    }

    pub async fn clear_requests(&self) {
        self.call(ControlRequest::clear_requests()).await;
    }

    /// Rings an inbound call; returns its id.
    pub async fn ring(&self, ring: &Ring) -> String {
        self.call(ControlRequest::ring(ring)).await["id"].as_str().expect("the call's id").to_string()
    }

    /// Ends a live call the way the other side hangs up (`completed` or `missed`; `None`: the
    /// sim's default).
    pub async fn end_call(&self, id: &str, outcome: Option<&str>) {
        self.call(ControlRequest::end_call(id, outcome)).await;
    }

    /// Moves the sim's clock forward (goal steps, live calls and token lifetimes follow).
    pub async fn advance(&self, seconds: f64) {
        self.call(ControlRequest::advance(seconds)).await;
    }

    /// Sets what is left (the sim emits `credits_changed`); returns the balance object.
    pub async fn set_credits(&self, remaining: f64) -> Value {
        self.call(ControlRequest::credits(&Credits { credits_remaining: Some(remaining), credits_allocated: None }))
            .await
    }

    /// The balance as the sim holds it now (an empty change changes nothing).
    pub async fn balance(&self) -> Value {
        self.call(ControlRequest::credits(&Credits::default())).await
    }

    pub async fn stream(&self, stream: &Stream) {
        self.call(ControlRequest::stream(stream)).await;
    }

    /// Empties the event log (ids keep counting).
    pub async fn clear_events(&self) {
        self.call(ControlRequest::clear_events()).await;
    }

    /// The assistant's next reply is exactly `text`, whatever was asked.
    pub async fn next_reply(&self, text: &str) {
        self.call(ControlRequest::next_reply(text)).await;
    }

    /// The assistant's next reply is `text` repeated `times` times.
    pub async fn next_reply_repeated(&self, text: &str, times: usize) {
        self.call(ControlRequest::next_reply_repeated(text, times)).await;
    }

    /// A message arrives in the inbox, unread; returns its id.
    pub async fn receive_message(&self, channel: &str, from: &str, subject: &str, body: &str) -> String {
        let answer = self.call(ControlRequest::receive_message(channel, from, subject, body)).await;
        answer["id"].as_str().expect("the message's id").to_string()
    }

    /// The next answered ask is refused with `code` (`budget_approval_required`,
    /// `soft_cap_reached` or `budget_exceeded`), uncharged, its goal waiting in that state.
    pub async fn next_refusal(&self, code: &str, credits_estimated: Option<f64>) {
        self.call(ControlRequest::next_refusal(code, credits_estimated)).await;
    }

    /// `GET path` on the public API as the seeded user (a fresh session each time), to read
    /// the world the way a client does.
    /// `POST path` with `body` as the demo user (a user acting on another device).
    pub async fn api_post(&self, path: &str, body: &Value) -> Value {
        let token = self.session().await.access_token;
        let answer = self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(body).send().await;
        let answer = answer.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        answer.json().await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    pub async fn api_get(&self, path: &str) -> Value {
        let token = self.session().await.access_token;
        let answer = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await;
        let answer = answer.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        answer.json().await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

impl SimServer {
    /// A client of this sim's control API.
    pub fn control(&self) -> Control {
        Control::new(&self.url())
    }
}

/// A sim for one test: in-process on an ephemeral loopback port (fails the test if it cannot
/// listen). Tests talk HTTP to it as to any server; `control()` drives it.
pub async fn start_local(config: SimConfig) -> SimServer {
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    crate::start(loopback, config).await.expect("the sim listens on loopback")
}
