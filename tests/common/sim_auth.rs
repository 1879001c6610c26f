//! The sign-in side of the sim's `/_sim/` control API (docs/sim.md): the secrets it issued, what
//! it saw of PKCE, and expiring or revoking every token. (Faults and the request log are in
//! `sim.rs`.)

use serde_json::{json, Value};

pub struct SimAuth {
    http: reqwest::Client,
    base: String,
}

impl SimAuth {
    pub fn new(base: &str) -> SimAuth {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build().expect("http client");
        SimAuth { http, base: base.trim_end_matches('/').to_string() }
    }

    async fn get(&self, path: &str) -> Value {
        let reply = self.http.get(format!("{}/_sim{path}", self.base)).send().await.expect("sim GET");
        assert!(reply.status().is_success(), "GET /_sim{path}: {}", reply.status());
        reply.json().await.expect("sim json")
    }

    async fn post(&self, path: &str) {
        let reply =
            self.http.post(format!("{}/_sim{path}", self.base)).json(&json!({})).send().await.expect("sim POST");
        assert!(reply.status().is_success(), "POST /_sim{path}: {}", reply.status());
    }

    /// Every secret the sim ever issued: access and refresh tokens and authorization codes.
    pub async fn issued_secrets(&self) -> Vec<String> {
        let tokens = self.get("/tokens").await;
        ["access_tokens", "refresh_tokens", "codes"]
            .iter()
            .flat_map(|key| tokens[*key].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(String::from))
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// What the OAuth extension saw: `{pkce_method, challenge_seen, verifier_seen}`.
    pub async fn oauth_seen(&self) -> Value {
        self.get("/oauth").await
    }

    /// Every access token issued so far expires now (refresh still works).
    pub async fn expire_tokens(&self) {
        self.post("/tokens/expire").await;
    }

    /// Every access and refresh token is revoked.
    pub async fn revoke_tokens(&self) {
        self.post("/tokens/revoke").await;
    }
}
