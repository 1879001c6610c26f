//! The token and revocation endpoints answer errors as RFC 6749 §5.2 / RFC 7009 objects
//! (`{"error": "invalid_grant", "error_description": "…"}`), which every OAuth library parses,
//! and the envelope safety net leaves them alone.

mod common;

use base64::Engine;
use common::*;
use kallyai_sim::SimConfig;
use reqwest::{header, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:53124/callback";

async fn auto_approving() -> Harness {
    start_with(SimConfig { auto_approve: true, ..SimConfig::default() }).await
}

fn pkce_pair() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A fresh authorization code for the desktop client (the sim approves at once).
async fn code_for(h: &Harness, challenge: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", "kallyai-desktop"),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let resp = h.client.get(format!("{}/v1/auth/authorize?{query}", h.url)).send().await.unwrap();
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_string();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    pairs.into_iter().find(|(k, _)| k == "code").map(|(_, v)| v).expect("a code in the redirect")
}

async fn token(h: &Harness, form: &[(&str, &str)]) -> Response {
    h.client.post(format!("{}/v1/auth/gpt/token", h.url)).form(form).send().await.unwrap()
}

async fn revoke(h: &Harness, form: &[(&str, &str)]) -> Response {
    h.client.post(format!("{}/v1/auth/revoke", h.url)).form(form).send().await.unwrap()
}

#[tokio::test]
async fn code_exchange_errors_are_rfc6749_objects() {
    let h = auto_approving().await;
    let (verifier, challenge) = pkce_pair();
    let exchange = |code: String, verifier: String| {
        let h = &h;
        async move {
            token(
                h,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("client_id", "kallyai-desktop"),
                    ("code_verifier", &verifier),
                ],
            )
            .await
        }
    };
    let bad_code = exchange("sim_code_nonsense".into(), verifier.clone()).await;
    expect_oauth_error(bad_code, 400, "invalid_grant").await;

    let code = code_for(&h, &challenge).await;
    let (other_verifier, _) = pkce_pair();
    expect_oauth_error(exchange(code, other_verifier).await, 400, "invalid_grant").await;

    let code = code_for(&h, &challenge).await;
    let missing_verifier = token(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", "kallyai-desktop"),
        ],
    )
    .await;
    expect_oauth_error(missing_verifier, 400, "invalid_grant").await;

    let code = code_for(&h, &challenge).await;
    let no_redirect =
        token(&h, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &verifier)]).await;
    let v = expect_oauth_error(no_redirect, 400, "invalid_request").await;
    assert!(v["error_description"].as_str().unwrap().contains("redirect_uri"), "{v}");
    // The right verifier on a code still unused works: errors above did not break the flow.
    let code = code_for(&h, &challenge).await;
    let ok: Value = exchange(code, verifier).await.json().await.unwrap();
    assert!(ok["access_token"].is_string(), "{ok}");
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let h = start().await;
    let no_grant = token(&h, &[("client_id", "kallyai-desktop")]).await;
    expect_oauth_error(no_grant, 400, "invalid_request").await;
    let no_code = token(&h, &[("grant_type", "authorization_code"), ("redirect_uri", REDIRECT)]).await;
    expect_oauth_error(no_code, 400, "invalid_request").await;
    let no_refresh = token(&h, &[("grant_type", "refresh_token")]).await;
    expect_oauth_error(no_refresh, 400, "invalid_request").await;
    let twice = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", "a"), ("refresh_token", "b")]).await;
    expect_oauth_error(twice, 400, "invalid_request").await;
    let json_body = h
        .client
        .post(format!("{}/v1/auth/gpt/token", h.url))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"grant_type\": \"refresh_token\"")
        .send()
        .await
        .unwrap();
    expect_oauth_error(json_body, 400, "invalid_request").await;
}

#[tokio::test]
async fn grant_client_and_scope_errors_use_their_own_codes() {
    let h = start().await;
    let password = token(&h, &[("grant_type", "password"), ("username", "a"), ("password", "b")]).await;
    expect_oauth_error(password, 400, "unsupported_grant_type").await;
    let credentials = token(
        &h,
        &[("grant_type", "client_credentials"), ("client_id", "kallyai-gpt"), ("client_secret", "sim-gpt-secret")],
    );
    expect_oauth_error(credentials.await, 400, "unauthorized_client").await;
    let unknown =
        token(&h, &[("grant_type", "refresh_token"), ("refresh_token", &h.refresh), ("client_id", "evil")]).await;
    expect_oauth_error(unknown, 401, "invalid_client").await;
    let wrong_secret = token(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.refresh),
            ("client_id", "kallyai-gpt"),
            ("client_secret", "no"),
        ],
    )
    .await;
    expect_oauth_error(wrong_secret, 401, "invalid_client").await;
    let bad_scope =
        token(&h, &[("grant_type", "refresh_token"), ("refresh_token", &h.refresh), ("scope", "calls:read root")])
            .await;
    expect_oauth_error(bad_scope, 400, "invalid_scope").await;
    let bogus = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", "sim_rt_bogus")]).await;
    expect_oauth_error(bogus, 400, "invalid_grant").await;
    // None of the refusals above used the refresh token up.
    let narrowed: Value =
        token(&h, &[("grant_type", "refresh_token"), ("refresh_token", &h.refresh), ("scope", "calls:read")])
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(narrowed["scope"], "calls:read", "{narrowed}");
}

#[tokio::test]
async fn an_unknown_scope_goes_back_to_the_client_as_invalid_scope() {
    let h = auto_approving().await;
    let (_, challenge) = pkce_pair();
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", "kallyai-desktop"),
        ("redirect_uri", REDIRECT),
        ("scope", "calls:read everything"),
        ("state", "s1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let resp = h.client.get(format!("{}/v1/auth/authorize?{query}", h.url)).send().await.unwrap();
    let location = resp.headers()[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with(REDIRECT) && location.contains("error=invalid_scope"), "{location}");
    assert!(location.contains("state=s1") && !location.contains("code="), "{location}");
}

#[tokio::test]
async fn revocation_follows_rfc7009() {
    let h = auto_approving().await;
    let unknown = revoke(&h, &[("token", "never-issued")]).await;
    assert_eq!(unknown.status(), StatusCode::OK, "an unknown token is not an error");
    expect_oauth_error(revoke(&h, &[]).await, 400, "invalid_request").await;
    expect_oauth_error(revoke(&h, &[("token", "x"), ("client_id", "evil")]).await, 401, "invalid_client").await;
    let (_, challenge) = pkce_pair();
    let code = code_for(&h, &challenge).await;
    expect_oauth_error(revoke(&h, &[("token", &code)]).await, 400, "unsupported_token_type").await;

    let hinted = revoke(&h, &[("token", &h.refresh), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(hinted.status(), StatusCode::OK);
    let refreshed = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", &h.refresh)]).await;
    expect_oauth_error(refreshed, 400, "invalid_grant").await;
}
