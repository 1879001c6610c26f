//! The production profile serves only what the reference documents for production; the default
//! profile keeps every extension. `/_sim/reset {profile}` switches between them at run time.

mod common;

use common::*;
use kallyai_sim::{Profile, Seed, SimConfig};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

async fn production() -> Harness {
    start_with(SimConfig { profile: Profile::Production, ..SimConfig::default() }).await
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

async fn balance(h: &Harness) -> f64 {
    h.get_json("/v1/credits/balance").await["credits_remaining"].as_f64().unwrap()
}

#[tokio::test]
async fn production_has_no_oauth_extension_only_web_404_pages() {
    let h = production().await;
    let meta = h.client.get(format!("{}/.well-known/oauth-authorization-server", h.url)).send().await.unwrap();
    assert_eq!(meta.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&meta).starts_with("text/html"), "{}", content_type(&meta));
    assert!(meta.text().await.unwrap().contains("<html"));
    for path in ["/v1/auth/revoke", "/oauth/token", "/oauth/revoke", "/oauth/authorize"] {
        let resp =
            h.client.post(format!("{}{path}", h.url)).form(&[("token", h.refresh.as_str())]).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(content_type(&resp).starts_with("text/html"), "{path}");
    }
    // The refresh token was not revoked by the (absent) revocation endpoint.
    assert_eq!(h.refresh_with(&h.refresh).await.status(), StatusCode::OK);
}

/// Reference §2.2 documents the code flow for the confidential GPT client in production, without
/// PKCE; the public desktop client and PKCE are the extension.
#[tokio::test]
async fn production_keeps_the_documented_gpt_code_flow_only() {
    let h = start_with(SimConfig { profile: Profile::Production, auto_approve: true, ..SimConfig::default() }).await;
    let authorize = |client: &str, redirect: &str| {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("code_challenge", &"a".repeat(43)),
            ("code_challenge_method", "S256"),
        ])
        .unwrap();
        h.client.get(format!("{}/v1/auth/authorize?{query}", h.url)).send()
    };
    let desktop = authorize("kallyai-desktop", "http://127.0.0.1:5/callback").await.unwrap();
    assert!(desktop.headers().get(header::LOCATION).is_none());
    expect_error(desktop, 400, "invalid_client").await;

    let gpt = authorize("kallyai-gpt", "https://chat.example/callback").await.unwrap();
    let location = gpt.headers()[header::LOCATION].to_str().unwrap().to_string();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    let code = pairs.into_iter().find(|(k, _)| k == "code").map(|(_, v)| v).expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://chat.example/callback"),
        ("client_id", "kallyai-gpt"),
        ("client_secret", "sim-gpt-secret"),
    ];
    let tokens: Value =
        h.client.post(format!("{}/v1/auth/gpt/token", h.url)).form(&form).send().await.unwrap().json().await.unwrap();
    assert!(tokens["access_token"].is_string(), "no code_verifier needed: PKCE is ignored, {tokens}");

    let public = h
        .client
        .post(format!("{}/v1/auth/gpt/token", h.url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", h.refresh.as_str()),
            ("client_id", "kallyai-desktop"),
        ])
        .send()
        .await
        .unwrap();
    expect_oauth_error(public, 401, "invalid_client").await;
}

#[tokio::test]
async fn production_keeps_the_cli_sign_in() {
    let h = production().await;
    let page = h.client.get(format!("{}/v1/auth/cli?redirect_uri=http://127.0.0.1:5/cb&state=s", h.url)).send();
    let page = page.await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form"));
}

#[tokio::test]
async fn production_has_no_stream_info_and_no_profile_endpoint() {
    let h = production().await;
    expect_error(h.get("/v1/inbound/stream/info").await, 404, "not_found").await;
    expect_error(h.get("/v1/users/me").await, 404, "not_found").await;
    // Not even a 401 hints that they exist.
    let anonymous = h.client.get(format!("{}/v1/inbound/stream/info", h.url)).send().await.unwrap();
    expect_error(anonymous, 404, "not_found").await;
}

#[tokio::test]
async fn production_events_are_always_the_json_log() {
    let h = production().await;
    h.ctl.ring(&Ring::new("+34911222333")).await;
    let resp =
        h.req(Method::GET, "/v1/inbound/events").header(header::ACCEPT, "text/event-stream").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(content_type(&resp).starts_with("application/json"), "{}", content_type(&resp));
    let log: Value = resp.json().await.unwrap();
    assert!(log["events"].as_array().unwrap().iter().any(|e| e["type"] == "call_ringing"), "{log}");
    // Live calls are polled from the list; the pending list has only its three documented groups.
    let live = h.get_json("/v1/inbound/calls?status=active").await;
    assert_eq!(live["total"], 1);
    let pending = h.get_json("/v1/notifications/pending").await;
    assert!(pending.get("inbound").is_none(), "{pending}");
    for group in ["actions", "goals", "inbox"] {
        assert!(pending[group]["items"].is_array(), "{group}");
    }
}

#[tokio::test]
async fn production_ignores_idempotency_keys_a_replayed_ask_runs_and_is_charged_again() {
    let h = production().await;
    let before = balance(&h).await;
    let send = || {
        h.req(Method::POST, "/v1/coordination/message")
            .header("Idempotency-Key", "ask-1")
            .json(&json!({"message": "Search for the best dentist nearby"}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotency-key").is_none() && first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    assert!(second.headers().get("idempotency-key").is_none() && second.headers().get("idempotent-replayed").is_none());
    let second: Value = second.json().await.unwrap();
    assert_ne!(first["message_id"], second["message_id"], "the replay ran again");
    assert_ne!(first["goal_id"], second["goal_id"]);
    assert_eq!(balance(&h).await, before - 1.0, "charged twice (0.5 each)");
    // Even a key no server would accept is simply ignored.
    let odd = h
        .req(Method::POST, "/v1/coordination/message")
        .header("Idempotency-Key", "x".repeat(300))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), StatusCode::OK);
}

#[tokio::test]
async fn production_ignores_idempotency_keys_on_calls_too() {
    let h = production().await;
    let body = json!({"submission": {"task_description": "Book a table for two tonight at nine",
                                     "respondent_phone": "+34915550123", "business_name": "Casa Lucio"}});
    let make = || h.req(Method::POST, "/v1/calls").header("Idempotency-Key", "call-1").json(&body).send();
    let before = balance(&h).await;
    let first: Value = make().await.unwrap().json().await.unwrap();
    let second: Value = make().await.unwrap().json().await.unwrap();
    assert_ne!(first["call_id"], second["call_id"]);
    let cost = first["credits_used"].as_f64().unwrap();
    assert!(cost > 0.0);
    assert_eq!(balance(&h).await, before - 2.0 * cost);
}

#[tokio::test]
async fn production_sends_no_etag_and_never_304() {
    let h = production().await;
    for path in ["/v1/inbound/calls?status=active", "/v1/notifications/pending", "/v1/credits/balance"] {
        let resp = h.req(Method::GET, path).header(header::IF_NONE_MATCH, "*").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert!(resp.headers().get(header::ETAG).is_none(), "{path}");
        assert!(content_type(&resp).starts_with("application/json"), "{path}");
        let _: Value = resp.json().await.unwrap();
    }
}

#[tokio::test]
async fn production_still_takes_faults_and_control_calls() {
    let h = production().await;
    h.ctl.fault(&Fault::status("/v1/credits/balance", 503).count(1)).await;
    expect_error(h.get("/v1/credits/balance").await, 503, "service_unavailable").await;
    assert_eq!(h.get("/v1/credits/balance").await.status(), StatusCode::OK);
    assert_eq!(h.ctl.requests().await.len(), 2);
}

#[tokio::test]
async fn reset_switches_the_profile_and_keeps_it_when_omitted() {
    let h = start().await;
    let metadata = || h.client.get(format!("{}/.well-known/oauth-authorization-server", h.url)).send();
    assert_eq!(metadata().await.unwrap().status(), StatusCode::OK);
    assert_eq!(h.get("/v1/users/me").await.status(), StatusCode::OK);

    h.ctl.reset(None, Some(Profile::Production)).await;
    assert_eq!(metadata().await.unwrap().status(), StatusCode::NOT_FOUND);
    h.ctl.reset(Some(Seed::Empty), None).await;
    assert_eq!(metadata().await.unwrap().status(), StatusCode::NOT_FOUND, "same profile when omitted");
    let token = h.session_token().await;
    let me = h.get_as("/v1/users/me", &token).await;
    assert_eq!(me.status(), StatusCode::NOT_FOUND);

    h.ctl.reset(None, Some(Profile::Default)).await;
    assert_eq!(metadata().await.unwrap().status(), StatusCode::OK);
    let bad = h.client.post(format!("{}/_sim/reset", h.url)).json(&json!({"profile": "staging"})).send().await;
    expect_error(bad.unwrap(), 422, "validation_error").await;
}
