//! The sim's `/_sim/` control API as the inbound-call tests use it: ring and end calls, inject
//! faults, switch the event stream, read the request log (docs/sim.md).

use serde_json::{json, Value};

pub struct SimCalls {
    http: reqwest::Client,
    base: String,
}

/// One call to ring: who calls, and a transcript that grows one line per `line_interval_ms`.
/// An empty transcript keeps the call live until the test ends it.
#[derive(Clone, Debug)]
pub struct Ring {
    pub caller_name: String,
    pub caller_number: String,
    pub summary: String,
    pub transcript: Vec<(String, String)>,
    pub line_interval_ms: u64,
}

impl Ring {
    /// A call that stays live (no script) until ended.
    pub fn live(caller_name: &str) -> Ring {
        Ring {
            caller_name: caller_name.into(),
            caller_number: "+15550100200".into(),
            summary: format!("{caller_name} wants to move Thursday's appointment"),
            transcript: vec![],
            line_interval_ms: 1500,
        }
    }
}

impl SimCalls {
    pub fn new(base: &str) -> SimCalls {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build().expect("http client");
        SimCalls { http, base: base.trim_end_matches('/').to_string() }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let reply = self.http.post(format!("{}/_sim{path}", self.base)).json(&body).send().await.expect("sim request");
        let status = reply.status();
        let text = reply.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST /_sim{path} -> {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Rings an inbound call; returns its id.
    pub async fn ring(&self, ring: &Ring) -> String {
        let transcript: Vec<Value> =
            ring.transcript.iter().map(|(speaker, content)| json!({"speaker": speaker, "content": content})).collect();
        let reply = self
            .post(
                "/calls/ring",
                json!({
                    "caller_number": ring.caller_number,
                    "caller_name": ring.caller_name,
                    "summary": ring.summary,
                    "transcript": transcript,
                    "line_interval_ms": ring.line_interval_ms,
                }),
            )
            .await;
        reply["id"].as_str().expect("call id").to_string()
    }

    /// Ends a live call the way the other side hangs up (`completed` or `missed`).
    pub async fn end(&self, call_id: &str, outcome: &str) {
        self.post(&format!("/calls/{call_id}/end"), json!({"outcome": outcome})).await;
    }

    pub async fn fault(&self, fault: Value) {
        self.post("/faults", fault).await;
    }

    pub async fn clear_faults(&self) {
        self.http.delete(format!("{}/_sim/faults", self.base)).send().await.expect("clear faults");
    }

    /// Turns the SSE event stream on or off (off: new streams get 503 and open ones end).
    pub async fn stream(&self, enabled: bool) {
        self.post("/stream", json!({"enabled": enabled})).await;
    }

    /// `stream/info` keeps saying the stream is there, but the events route answers its JSON
    /// log even to `Accept: text/event-stream` (as production's documented log does).
    pub async fn stream_answers_json(&self) {
        self.post("/stream", json!({"enabled": true, "sse": false})).await;
    }

    /// Every request the sim served (not the `/_sim/` ones), oldest first.
    pub async fn requests(&self) -> Vec<Value> {
        let reply: Value = self
            .http
            .get(format!("{}/_sim/requests", self.base))
            .send()
            .await
            .expect("sim requests")
            .json()
            .await
            .expect("requests json");
        reply["requests"].as_array().cloned().unwrap_or_default()
    }

    /// The requests with this method whose path ends with `suffix`.
    pub async fn requests_to(&self, method: &str, suffix: &str) -> Vec<Value> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r["method"] == method && r["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
            .collect()
    }

    /// A session for the seeded user without a browser (to read the API as the app does).
    pub async fn access_token(&self) -> String {
        self.post("/session", json!({})).await["access_token"].as_str().expect("access token").to_string()
    }

    /// `GET path` on the public API as the seeded user.
    pub async fn api_get(&self, path: &str) -> Value {
        let token = self.access_token().await;
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("api request")
            .json()
            .await
            .expect("api json")
    }
}
