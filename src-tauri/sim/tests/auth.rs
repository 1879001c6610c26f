//! Sign-in flows: the CLI loopback login (page, form, auto-approve, deny), refresh rotation with
//! grace, expiry and revocation, and the OAuth + PKCE extension.

mod common;

use base64::Engine;
use common::*;
use kallyai_sim::client::SignInForm;
use kallyai_sim::SimConfig;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn query_of(location: &str) -> Vec<(String, String)> {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    serde_urlencoded::from_str(q).unwrap()
}

fn param(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Drives a sign-in page like a browser: opens it, checks that its form posts to `action`,
/// presses `decision`; returns the redirect's target.
async fn submit_form(page_url: &str, action: &str, decision: &str) -> String {
    let form = SignInForm::open(page_url).await;
    assert_eq!(form.target.path(), action, "where the form posts");
    form.press(decision).await
}

#[tokio::test]
async fn cli_login_through_the_form_redirects_with_tokens_and_state() {
    let h = start().await;
    let page = format!("{}/v1/auth/cli?redirect_uri=http%3A//127.0.0.1%3A8740&state=st-123", h.url);
    let location = submit_form(&page, "/v1/auth/cli", "approve").await;
    assert!(location.starts_with("http://127.0.0.1:8740?"), "{location}");
    let q = query_of(&location);
    assert_eq!(param(&q, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&q, "expires_in").as_deref(), Some("3600"));
    let access = param(&q, "access_token").unwrap();
    assert!(param(&q, "refresh_token").is_some());
    let ok = h.get_as("/v1/credits/balance", &access).await;
    assert_eq!(ok.status(), StatusCode::OK);
    // The form cannot be replayed.
    let form = SignInForm::open(&page).await;
    assert_eq!(form.submit("approve").await.status(), StatusCode::FOUND);
    expect_error(form.submit("approve").await, 400, "invalid_request").await;
}

#[tokio::test]
async fn cli_login_keeps_path_and_existing_query_and_deny_sends_access_denied() {
    let h = start().await;
    let page =
        format!("{}/v1/auth/cli?redirect_uri={}&state=s1", h.url, "http%3A%2F%2Flocalhost%3A8976%2Fcallback%3Fx%3D1");
    let location = submit_form(&page, "/v1/auth/cli", "deny").await;
    assert!(location.starts_with("http://localhost:8976/callback?x=1&"), "{location}");
    let q = query_of(&location);
    assert_eq!(param(&q, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&q, "state").as_deref(), Some("s1"));
    assert!(param(&q, "access_token").is_none());
}

#[tokio::test]
async fn cli_login_rejects_non_loopback_redirects_without_redirecting() {
    let h = start().await;
    for bad in [
        "http://evil.example:8740",
        "https://127.0.0.1:8740",
        "http://127.0.0.1.evil.example/",
        "javascript:alert(1)",
        "",
    ] {
        let url = format!("{}/v1/auth/cli?redirect_uri={}&state=x", h.url, urlencode(bad));
        let html = h.client.get(&url).header(header::ACCEPT, "text/html").send().await.unwrap();
        assert_eq!(html.status(), StatusCode::BAD_REQUEST);
        assert!(html.headers().get(header::LOCATION).is_none());
        assert!(html.text().await.unwrap().contains("Cannot sign in"));
        let api = h.client.get(&url).send().await.unwrap();
        assert!(api.headers().get(header::LOCATION).is_none());
        expect_error(api, 400, "invalid_redirect_uri").await;
    }
    let ipv6 = h
        .client
        .get(format!("{}/v1/auth/cli?redirect_uri={}", h.url, urlencode("http://[::1]:9000")))
        .send()
        .await
        .unwrap();
    assert_eq!(ipv6.status(), StatusCode::OK);
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_string()
}

#[tokio::test]
async fn auto_approve_answers_the_get_with_the_redirect() {
    let h = start_with(SimConfig { auto_approve: true, token_ttl_secs: 120, ..Default::default() }).await;
    let resp = h
        .client
        .get(format!("{}/v1/auth/cli?redirect_uri=http%3A//127.0.0.1%3A8741&state=abc", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_string();
    let q = query_of(&location);
    assert_eq!(param(&q, "expires_in").as_deref(), Some("120"));
    assert_eq!(param(&q, "state").as_deref(), Some("abc"));
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_has_a_short_grace() {
    let h = start().await;
    let first: Value = h.refresh_with(&h.refresh).await.json().await.unwrap();
    for k in ["access_token", "refresh_token", "expires_in"] {
        assert!(!first[k].is_null(), "{k}");
    }
    assert_ne!(first["refresh_token"], json!(h.refresh), "rotated");
    // A racing refresher with the old token still succeeds inside the grace period.
    let racing = h.refresh_with(&h.refresh).await;
    assert_eq!(racing.status(), StatusCode::OK);
    h.ctl.advance(31.0).await;
    let late = h.refresh_with(&h.refresh).await;
    expect_error(late, 401, "token_expired").await;
    // The rotated one works.
    let next = h.refresh_with(&first["refresh_token"]).await;
    assert_eq!(next.status(), StatusCode::OK);
    let bogus = h.refresh_with("nope").await;
    expect_error(bogus, 401, "token_expired").await;
    let missing = h.client.post(format!("{}/v1/auth/refresh", h.url)).json(&json!({})).send().await.unwrap();
    expect_error(missing, 422, "validation_error").await;
}

#[tokio::test]
async fn missing_wrong_expired_and_revoked_tokens_get_401() {
    let h = start().await;
    let none = h.client.get(format!("{}/v1/credits/balance", h.url)).send().await.unwrap();
    assert!(none.headers().get(header::WWW_AUTHENTICATE).is_some());
    expect_error(none, 401, "missing_token").await;
    let wrong = h.get_as("/v1/credits/balance", "garbage").await;
    expect_error(wrong, 401, "token_expired").await;
    let basic = h
        .client
        .get(format!("{}/v1/credits/balance", h.url))
        .header(header::AUTHORIZATION, "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    expect_error(basic, 401, "missing_token").await;

    h.ctl.expire_tokens().await;
    expect_error(h.get("/v1/credits/balance").await, 401, "token_expired").await;
    let refreshed = h.refresh_with(&h.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK, "refresh still works after expiry");
    let fresh: Value = refreshed.json().await.unwrap();
    let ok = h.get_as("/v1/credits/balance", fresh["access_token"].as_str().unwrap()).await;
    assert_eq!(ok.status(), StatusCode::OK);

    h.ctl.revoke_tokens().await;
    let after = h.get_as("/v1/credits/balance", fresh["access_token"].as_str().unwrap()).await;
    expect_error(after, 401, "token_expired").await;
    let rt = h.refresh_with(&fresh["refresh_token"]).await;
    expect_error(rt, 401, "token_expired").await;
}

#[tokio::test]
async fn access_tokens_expire_with_the_configured_ttl_on_the_sim_clock() {
    let h = start_with(SimConfig { token_ttl_secs: 60, ..Default::default() }).await;
    assert_eq!(h.get("/v1/credits/balance").await.status(), StatusCode::OK);
    h.ctl.advance(61.0).await;
    expect_error(h.get("/v1/credits/balance").await, 401, "token_expired").await;
}

fn pkce_pair() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_url(h: &Harness, redirect: &str, challenge: Option<&str>) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "kallyai-desktop"),
        ("redirect_uri", redirect),
        ("state", "xyz"),
        ("scope", "calls:read credits:read"),
    ];
    if let Some(c) = challenge {
        pairs.push(("code_challenge", c));
        pairs.push(("code_challenge_method", "S256"));
    }
    format!("{}/v1/auth/authorize?{}", h.url, serde_urlencoded::to_string(pairs).unwrap())
}

#[tokio::test]
async fn oauth_metadata_describes_the_extension() {
    let h = start().await;
    let m: Value = h
        .client
        .get(format!("{}/.well-known/oauth-authorization-server", h.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], json!(h.url));
    assert_eq!(m["authorization_endpoint"], json!(format!("{}/v1/auth/authorize", h.url)));
    assert_eq!(m["token_endpoint"], json!(format!("{}/v1/auth/gpt/token", h.url)));
    assert_eq!(m["revocation_endpoint"], json!(format!("{}/v1/auth/revoke", h.url)));
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["token_endpoint_auth_methods_supported"], json!(["none", "client_secret_post"]));
    assert!(m["grant_types_supported"].as_array().unwrap().contains(&json!("refresh_token")));
    assert_eq!(m["response_types_supported"], json!(["code"]));
}

#[tokio::test]
async fn oauth_code_flow_with_pkce_through_the_form() {
    let h = start().await;
    let (verifier, challenge) = pkce_pair();
    let redirect = "http://127.0.0.1:53123/callback";
    let location = submit_form(&authorize_url(&h, redirect, Some(&challenge)), "/v1/auth/authorize", "approve").await;
    assert!(location.starts_with(redirect));
    let q = query_of(&location);
    assert_eq!(param(&q, "state").as_deref(), Some("xyz"));
    let code = param(&q, "code").unwrap();

    let token_url = format!("{}/v1/auth/gpt/token", h.url);
    let wrong = h
        .client
        .post(&token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("client_id", "kallyai-desktop"),
            ("code_verifier", "x".repeat(43).as_str()),
        ])
        .send()
        .await
        .unwrap();
    expect_oauth_error(wrong, 400, "invalid_grant").await;

    // A fresh code (the wrong verifier burned the first one: codes are single-use).
    let location = submit_form(&authorize_url(&h, redirect, Some(&challenge)), "/v1/auth/authorize", "approve").await;
    let code = param(&query_of(&location), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("client_id", "kallyai-desktop"),
        ("code_verifier", verifier.as_str()),
    ];
    let tok = h.client.post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(tok.status(), StatusCode::OK);
    assert_eq!(tok.headers()[header::CACHE_CONTROL], "no-store");
    let tok: Value = tok.json().await.unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    let access = tok["access_token"].as_str().unwrap();
    assert_eq!(h.get_as("/v1/credits/balance", access).await.status(), StatusCode::OK);

    let reuse = h.client.post(&token_url).form(&form).send().await.unwrap();
    expect_oauth_error(reuse, 400, "invalid_grant").await;

    let seen = h.ctl.oauth_seen().await;
    assert_eq!(seen.pkce_method.as_deref(), Some("S256"));
    assert!(seen.verifier_seen);

    // Refresh grant, form-encoded.
    let rt = tok["refresh_token"].as_str().unwrap();
    let refreshed: Value = h
        .client
        .post(&token_url)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "kallyai-desktop")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(refreshed["access_token"].is_string());
    assert_ne!(refreshed["refresh_token"], json!(rt));

    // Revocation: always 200; the token stops working.
    let new_access = refreshed["access_token"].as_str().unwrap();
    for token in [new_access, "unknown-token"] {
        let r = h
            .client
            .post(format!("{}/v1/auth/revoke", h.url))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let gone = h.get_as("/v1/credits/balance", new_access).await;
    expect_error(gone, 401, "token_expired").await;
}

#[tokio::test]
async fn oauth_refuses_missing_pkce_bad_redirects_and_expired_codes() {
    let h = start_with(SimConfig { auto_approve: true, ..Default::default() }).await;
    let no_pkce = h.client.get(authorize_url(&h, "kallyai://auth/callback", None)).send().await.unwrap();
    assert_eq!(no_pkce.status(), StatusCode::FOUND);
    let q = query_of(no_pkce.headers()[header::LOCATION].to_str().unwrap());
    assert_eq!(param(&q, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&q, "state").as_deref(), Some("xyz"));

    let (_, challenge) = pkce_pair();
    for bad in ["http://127.0.0.1:5000/other", "http://evil.example/callback", "kallyai://evil"] {
        let r = h.client.get(authorize_url(&h, bad, Some(&challenge))).send().await.unwrap();
        assert!(r.headers().get(header::LOCATION).is_none(), "{bad}");
        expect_error(r, 400, "invalid_redirect_uri").await;
    }
    let plain = format!("{}&code_challenge_method=plain", authorize_url(&h, "kallyai://auth/callback", None))
        .replace("&code_challenge_method=plain", &format!("&code_challenge={challenge}&code_challenge_method=plain"));
    let r = h.client.get(plain).send().await.unwrap();
    assert_eq!(
        param(&query_of(r.headers()[header::LOCATION].to_str().unwrap()), "error").as_deref(),
        Some("invalid_request")
    );

    let (verifier, challenge) = pkce_pair();
    let r = h.client.get(authorize_url(&h, "kallyai://auth/callback", Some(&challenge))).send().await.unwrap();
    let code = param(&query_of(r.headers()[header::LOCATION].to_str().unwrap()), "code").unwrap();
    h.ctl.advance(61.0).await;
    let late = h
        .client
        .post(format!("{}/v1/auth/gpt/token", h.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "kallyai://auth/callback"),
            ("client_id", "kallyai-desktop"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    expect_oauth_error(late, 400, "invalid_grant").await;
    let grant =
        h.client.post(format!("{}/v1/auth/gpt/token", h.url)).form(&[("grant_type", "password")]).send().await.unwrap();
    expect_oauth_error(grant, 400, "unsupported_grant_type").await;
}

#[tokio::test]
async fn cli_only_mode_hides_the_oauth_extension() {
    let h = start_with(SimConfig { oauth_flow: false, ..Default::default() }).await;
    for path in ["/.well-known/oauth-authorization-server", "/v1/auth/authorize?client_id=kallyai-desktop"] {
        expect_error(h.client.get(format!("{}{}", h.url, path)).send().await.unwrap(), 404, "not_found").await;
    }
    let revoke = h.client.post(format!("{}/v1/auth/revoke", h.url)).form(&[("token", "x")]).send().await.unwrap();
    expect_error(revoke, 404, "not_found").await;
    let cli =
        h.client.get(format!("{}/v1/auth/cli?redirect_uri=http%3A//127.0.0.1%3A8740", h.url)).send().await.unwrap();
    assert_eq!(cli.status(), StatusCode::OK);
}

#[tokio::test]
async fn no_secret_ever_reaches_the_request_log() {
    let h = start_with(SimConfig { auto_approve: true, ..Default::default() }).await;
    h.client
        .get(format!("{}/v1/auth/cli?redirect_uri=http%3A//127.0.0.1%3A8740&state=secretstate", h.url))
        .send()
        .await
        .unwrap();
    h.refresh_with(&h.refresh).await;
    h.get(&format!("/v1/credits/balance?access_token={}", h.token)).await;
    let log = json!(h.ctl.requests().await).to_string();
    let secrets = h.ctl.issued_secrets().await;
    assert!(secrets.len() >= 3);
    for s in secrets {
        assert!(!log.contains(&s), "a secret leaked into the request log");
    }
    assert!(!log.contains("secretstate"));
    assert!(log.contains("state=***"));
}
