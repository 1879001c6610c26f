//! Test harness: a real kallyai-sim on 127.0.0.1:0 and a plain HTTP client for its `/_sim/`
//! control API (never through kallyai-core, so a core bug cannot hide a sim fact).
#![allow(dead_code)]

pub mod trace_capture;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kallyai_core::auth::{
    AccessToken, AuthApi, MemoryStore, RefreshToken, Session, StaticToken, TokenSet, TokenSource,
};
use kallyai_core::{Client, Config, EventBus, RetryPolicy};
use kallyai_sim::{SimConfig, SimServer};
use serde_json::{json, Value};

pub struct Sim {
    pub server: SimServer,
    pub url: String,
    http: reqwest::Client,
}

/// Retries fast so fault tests take milliseconds; `Retry-After` up to 5 s is honoured.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    }
}

impl Sim {
    pub async fn start() -> Self {
        Self::start_with(SimConfig::default()).await
    }

    pub async fn start_with(config: SimConfig) -> Self {
        let server = kallyai_sim::start("127.0.0.1:0".parse().unwrap(), config).await.expect("sim starts");
        let url = server.url();
        Self { server, url, http: reqwest::Client::new() }
    }

    pub fn config(&self) -> Config {
        Config::new(&self.url)
            .unwrap()
            .with_timeouts(Duration::from_secs(10), Duration::from_secs(2), Duration::from_secs(5))
            .with_retry(fast_retry())
    }

    /// `POST /_sim/session`: a fresh token triple for the seeded user.
    pub async fn tokens(&self) -> TokenSet {
        let v = self.control("POST", "/_sim/session", json!({})).await;
        TokenSet::from_grant(
            AccessToken::new(v["access_token"].as_str().unwrap()),
            Some(RefreshToken::new(v["refresh_token"].as_str().unwrap())),
            v["expires_in"].as_u64(),
        )
    }

    /// A client holding a fixed access token (no refresh).
    pub async fn client(&self) -> Client {
        let tokens = self.tokens().await;
        Client::new(self.config(), Arc::new(StaticToken::new(tokens.access))).unwrap()
    }

    pub fn client_with(&self, config: Config, tokens: Arc<dyn TokenSource>) -> Client {
        Client::new(config, tokens).unwrap()
    }

    /// A signed-in `Session` and a client using it, both publishing on `events`.
    pub async fn session_client(&self, events: &EventBus) -> (Client, Arc<Session>) {
        let session = Arc::new(
            Session::new(AuthApi::new(self.config()).unwrap(), Arc::new(MemoryStore::new()))
                .with_events(events.clone()),
        );
        session.sign_in(self.tokens().await).await.unwrap();
        let client = Client::with_events(self.config(), session.clone(), events.clone()).unwrap();
        (client, session)
    }

    pub async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = self.http.request(method, format!("{}{}", self.url, path)).json(&body).send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    pub async fn fault(&self, spec: Value) {
        self.control("POST", "/_sim/faults", spec).await;
    }

    pub async fn clear_faults(&self) {
        self.control("DELETE", "/_sim/faults", json!({})).await;
    }

    pub async fn clear_requests(&self) {
        self.control("DELETE", "/_sim/requests", json!({})).await;
    }

    /// The request log, without `/_sim/` entries.
    pub async fn requests(&self) -> Vec<Value> {
        let v = self.control("GET", "/_sim/requests", json!({})).await;
        v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["path"].as_str().unwrap_or("").starts_with("/_sim"))
            .cloned()
            .collect()
    }

    /// Logged requests with this method and exact path.
    pub async fn requests_to(&self, method: &str, path: &str) -> Vec<Value> {
        self.requests().await.into_iter().filter(|r| r["method"] == method && r["path"] == path).collect()
    }

    /// Every token the sim ever issued (to grep output for leaks).
    pub async fn issued_secrets(&self) -> Vec<String> {
        let v = self.control("GET", "/_sim/tokens", json!({})).await;
        ["access_tokens", "refresh_tokens", "codes"]
            .iter()
            .flat_map(|k| v[*k].as_array().cloned().unwrap_or_default())
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    }
}

/// Polls `cond` until it holds or `deadline` passes (no fixed sleeps in tests).
pub async fn wait_for<F, Fut>(deadline: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + deadline;
    // A poll cadence, not a guess at how long something takes: the deadline bounds the wait.
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    loop {
        ticks.tick().await;
        if cond().await {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
    }
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &std::path::Path, needle: &str, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            files_containing(&path, needle, found);
        } else if meta.is_file() && meta.len() < 64 * 1024 * 1024 {
            let bytes = std::fs::read(&path).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path.display().to_string());
            }
        }
    }
}
