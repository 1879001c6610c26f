//! The credits side of the sim's `/_sim/` control API (docs/sim.md): set the balance (the sim
//! emits `credits_changed`), read it back, and count the app's balance reads in the request log.

use serde_json::{json, Value};

pub struct SimCredits {
    http: reqwest::Client,
    base: String,
}

impl SimCredits {
    pub fn new(base: &str) -> SimCredits {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build().expect("http client");
        SimCredits { http, base: base.trim_end_matches('/').to_string() }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}/_sim{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.expect("sim request");
        let status = reply.status();
        let text = reply.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} /_sim{path} -> {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Sets what is left (and the period's allocation, when given); returns the balance object.
    pub async fn set(&self, remaining: f64, allocated: Option<f64>) -> Value {
        let mut body = json!({ "credits_remaining": remaining });
        if let Some(allocated) = allocated {
            body["credits_allocated"] = json!(allocated);
        }
        self.send(reqwest::Method::POST, "/credits", Some(body)).await
    }

    /// The balance as the sim holds it now (an empty change changes nothing).
    pub async fn balance(&self) -> Value {
        self.send(reqwest::Method::POST, "/credits", Some(json!({}))).await
    }

    /// Every request the sim answered, oldest first: `{seq, method, path, status, ...}`.
    pub async fn requests(&self) -> Vec<Value> {
        let log = self.send(reqwest::Method::GET, "/requests", None).await;
        log["requests"].as_array().cloned().unwrap_or_default()
    }

    /// How many requests for `method path` the sim answered with `status` (any status if None).
    pub async fn count(&self, method: &str, path: &str, status: Option<u64>) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r["method"] == method && r["path"] == path)
            .filter(|r| status.is_none_or(|s| r["status"].as_u64() == Some(s)))
            .count()
    }
}

/// The tray's first line for a balance object as the sim returns it, in English:
/// "458 credits left · Pro · renews 1 Mar" (the sentence the issue asks for).
pub fn expected_tray_line(balance: &Value) -> String {
    let remaining = balance["credits_remaining"].as_f64().expect("credits_remaining is a number");
    let amount = if remaining.fract().abs() < 0.05 {
        format!("{}", remaining.round() as i64)
    } else {
        format!("{remaining:.1}")
    };
    let mut parts = vec![format!("{amount} credits left")];
    if let Some(plan) = balance["plan_type"].as_str().filter(|p| !p.is_empty()) {
        let mut chars = plan.chars();
        parts.push(chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default());
    }
    if let Some(end) = balance["period_end"].as_str() {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let month: usize = end[5..7].parse().expect("period_end month");
        let day: u32 = end[8..10].parse().expect("period_end day");
        parts.push(format!("renews {day} {}", MONTHS[month - 1]));
    }
    parts.join(" · ")
}
