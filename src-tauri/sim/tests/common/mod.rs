//! Shared test harness: a real sim on 127.0.0.1:0, a reqwest client that talks HTTP to it as an
//! API client does, and the client of its control API (`h.ctl`).
#![allow(dead_code)]

use std::time::Duration;

use kallyai_sim::client::{self, Control};
/// The control API's request shapes, for every test file (`use common::*`; each uses a subset).
#[allow(unused_imports)]
pub use kallyai_sim::client::{Fault, Ring, Stream};
use kallyai_sim::{SimConfig, SimServer};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

pub struct Harness {
    pub sim: SimServer,
    pub url: String,
    pub client: reqwest::Client,
    pub ctl: Control,
    pub token: String,
    pub refresh: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

pub async fn start() -> Harness {
    start_with(SimConfig::default()).await
}

pub async fn start_with(config: SimConfig) -> Harness {
    let sim = client::start_local(config).await;
    let ctl = sim.control();
    let session = ctl.session().await;
    Harness { url: sim.url(), sim, client: client(), ctl, token: session.access_token, refresh: session.refresh_token }
}

impl Harness {
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{}", self.url, path)).bearer_auth(&self.token)
    }
    pub async fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().await.expect("GET")
    }
    /// `GET path` with `token` as the bearer (not the harness's own).
    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.client.get(format!("{}{}", self.url, path)).bearer_auth(token).send().await.expect("GET")
    }
    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.json().await.expect("json")
    }
    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.req(Method::POST, path).json(&body).send().await.expect("POST")
    }
    pub async fn post_json(&self, path: &str, body: Value) -> Value {
        let resp = self.post(path, body).await;
        let status = resp.status();
        let v: Value = resp.json().await.expect("json");
        assert!(status.is_success(), "POST {path} -> {status}: {v}");
        v
    }
    /// `POST /v1/auth/refresh {refresh_token}` (no bearer, as a client refreshing does).
    pub async fn refresh_with(&self, refresh_token: impl serde::Serialize) -> Response {
        let body = serde_json::json!({"refresh_token": refresh_token});
        self.client.post(format!("{}/v1/auth/refresh", self.url)).json(&body).send().await.expect("refresh")
    }
    /// A fresh access token (for tests that jump past the first token's lifetime).
    pub async fn session_token(&self) -> String {
        self.ctl.session().await.access_token
    }
}

/// Asserts the nested error envelope of reference §1.4 and returns it.
pub async fn expect_error(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for expected {code}");
    let v: Value = resp.json().await.expect("error body is JSON");
    assert_envelope(&v);
    assert_eq!(v["error"]["code"], code, "{v}");
    v
}

/// Asserts an RFC 6749 §5.2 error (`{"error": "<code>", "error_description": "…"}`, a flat
/// string `error`, not the KallyAI envelope) and returns it.
pub async fn expect_oauth_error(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for expected {code}");
    let content_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(content_type.starts_with("application/json"), "{content_type}");
    assert_eq!(resp.headers().get(reqwest::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    let v: Value = resp.json().await.expect("error body is JSON");
    assert_eq!(v["error"].as_str(), Some(code), "{v}");
    assert!(v["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    assert!(v.get("correlation_id").is_none() && v["error"].get("code").is_none(), "not an envelope: {v}");
    v
}

pub fn assert_envelope(v: &Value) {
    let e = &v["error"];
    assert!(e["code"].as_str().is_some_and(|c| !c.is_empty()), "code in {v}");
    let msg = e["message"].as_str().expect("message");
    assert!(!msg.is_empty());
    assert_eq!(e["details"]["message"].as_str(), Some(msg), "details.message in {v}");
    let cid = e["correlation_id"].as_str().expect("correlation_id");
    assert!(uuid::Uuid::parse_str(cid).is_ok());
}

pub fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

pub fn is_iso(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T')
}
