//! The sim's `/_sim/` control API as the quick-ask tests use it (docs/sim.md): credits, a
//! canned next reply, and the asks it received (`POST /v1/coordination/message` in its log).

use serde_json::{json, Value};

use super::sim_calls::SimCalls;

pub const MESSAGE_PATH: &str = "/v1/coordination/message";

pub struct SimAsk {
    http: reqwest::Client,
    base: String,
    pub calls: SimCalls,
}

impl SimAsk {
    pub fn new(base: &str) -> SimAsk {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build().expect("http client");
        SimAsk { http, base: base.trim_end_matches('/').to_string(), calls: SimCalls::new(base) }
    }

    async fn post(&self, path: &str, body: Value) {
        let reply = self.http.post(format!("{}/_sim{path}", self.base)).json(&body).send().await.expect("sim request");
        let status = reply.status();
        assert!(status.is_success(), "POST /_sim{path} -> {status}: {}", reply.text().await.unwrap_or_default());
    }

    /// Sets the balance (0: every ask is refused with 402 `quota_exceeded`).
    pub async fn set_credits(&self, remaining: f64) {
        self.post("/credits", json!({"credits_remaining": remaining})).await;
    }

    /// The assistant's next reply is exactly `text`.
    pub async fn next_reply(&self, text: &str) {
        self.post("/assistant/next-reply", json!({"text": text})).await;
    }

    /// The next ask creates its goal but is refused with `code` (budget_approval_required,
    /// soft_cap_reached or budget_exceeded), uncharged, the goal waiting in that state.
    pub async fn next_refusal(&self, code: &str, credits_estimated: f64) {
        self.post("/assistant/next-refusal", json!({"code": code, "credits_estimated": credits_estimated})).await;
    }

    /// Every ask the sim received (including refused and faulted ones), oldest first.
    pub async fn asks(&self) -> Vec<Value> {
        self.calls.requests_to("POST", MESSAGE_PATH).await
    }

    /// The asks whose handler ran (not stopped by a fault before it): answered, refused, or
    /// answered and then cut off (`drop_after`).
    pub async fn handled_asks(&self) -> Vec<Value> {
        self.asks().await.into_iter().filter(|r| r["fault"].is_null() || r["fault"] == "drop_after").collect()
    }

    /// The conversations on the server, newest first as the API lists them.
    pub async fn conversations(&self) -> Vec<Value> {
        self.calls.api_get("/v1/coordination/conversations").await["conversations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// What the user said in `conversation_id`, in order (the server's history).
    pub async fn user_messages(&self, conversation_id: &str) -> Vec<String> {
        let history = self.calls.api_get(&format!("/v1/coordination/history?conversation_id={conversation_id}")).await;
        history["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str().map(String::from))
            .collect()
    }
}
