//! Hardening: the sim listens on loopback only unless `--allow-remote`; `/_sim/` answers only
//! loopback `Host`s, no foreign `Origin` and JSON bodies; and what strangers can make it keep
//! (pending sign-ins, tokens, idempotent answers) expires on the sim's clock and is capped.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use kallyai_sim::client::SignInForm;
use kallyai_sim::{check_bind_addr, Limits, SimConfig};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_kallyai-sim");

fn port(h: &Harness) -> u16 {
    h.sim.addr().port()
}

/// `GET /_sim/retention`: what the sim holds now, and its limits.
async fn held(h: &Harness) -> Value {
    h.ctl.retention().await["held"].clone()
}

#[tokio::test]
async fn the_control_api_answers_loopback_hosts_only() {
    let h = start().await;
    let p = port(&h);
    let issued_before = h.ctl.issued_secrets().await.len();
    for host in [
        format!("evil.example:{p}"),
        "evil.example".to_string(),
        format!("127.0.0.1.evil.example:{p}"),
        format!("localhost.evil.example:{p}"),
        format!("192.168.1.10:{p}"),
        format!("[::2]:{p}"),
    ] {
        let get = h.client.get(format!("{}/_sim/tokens", h.url)).header(header::HOST, &host).send().await.unwrap();
        let v = expect_error(get, 403, "forbidden").await;
        assert!(v["error"]["message"].as_str().unwrap().contains("127.0.0.1"), "{v}");
        // A rebound page minting a session: refused before anything happens.
        let post = h
            .client
            .post(format!("{}/_sim/session", h.url))
            .header(header::HOST, &host)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect_error(post, 403, "forbidden").await;
    }
    assert_eq!(h.ctl.issued_secrets().await.len(), issued_before, "no token was minted for a foreign Host");
    for host in [format!("127.0.0.1:{p}"), format!("localhost:{p}"), format!("[::1]:{p}"), "localhost".into()] {
        let get = h.client.get(format!("{}/_sim/faults", h.url)).header(header::HOST, &host).send().await.unwrap();
        assert_eq!(get.status(), StatusCode::OK, "Host: {host}");
    }
    // The public API does not care about the Host (a remote client may name the sim anything).
    let api = h.req(Method::GET, "/v1/credits/balance").header(header::HOST, "sim.example").send().await.unwrap();
    assert_eq!(api.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_control_api_refuses_web_pages_of_other_origins() {
    let h = start().await;
    // A page elsewhere posting without a body (no preflight in a browser): refused.
    for origin in ["https://evil.example", "null", "http://127.0.0.1.evil.example", "http://localhost:1/x"] {
        let post = h.client.post(format!("{}/_sim/tokens/revoke", h.url)).header(header::ORIGIN, origin).send();
        expect_error(post.await.unwrap(), 403, "forbidden").await;
    }
    assert_eq!(h.get("/v1/credits/balance").await.status(), StatusCode::OK, "nothing was revoked");
    let local =
        h.client.get(format!("{}/_sim/faults", h.url)).header(header::ORIGIN, format!("http://127.0.0.1:{}", port(&h)));
    assert_eq!(local.send().await.unwrap().status(), StatusCode::OK, "a loopback page may");
}

#[tokio::test]
async fn control_bodies_must_be_json() {
    let h = start().await;
    let url = format!("{}/_sim/assistant/next-reply", h.url);
    let body = r#"{"text": "<b>pwned</b>"}"#;
    for content_type in
        [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data"), None]
    {
        let mut post = h.client.post(&url).body(body);
        if let Some(t) = content_type {
            post = post.header(header::CONTENT_TYPE, t);
        }
        let v = expect_error(post.send().await.unwrap(), 415, "unsupported_media_type").await;
        assert!(v["error"]["message"].as_str().unwrap().contains("application/json"), "{v}");
    }
    // Not applied: the next ask gets the assistant's own reply.
    let reply = h.post_json("/v1/coordination/message", json!({"message": "What can you do?"})).await;
    assert_ne!(reply["response"], "<b>pwned</b>");
    // JSON with parameters, any case: fine.
    let post = h.client.post(&url).header(header::CONTENT_TYPE, "Application/JSON; charset=utf-8").body(body);
    assert_eq!(post.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    // No body at all needs no Content-Type (as the control client sends bodiless calls).
    let expire = h.client.post(format!("{}/_sim/tokens/expire", h.url)).send().await.unwrap();
    assert_eq!(expire.status(), StatusCode::NO_CONTENT);
    let clear = h.client.delete(format!("{}/_sim/requests", h.url)).send().await.unwrap();
    assert_eq!(clear.status(), StatusCode::NO_CONTENT);
    // The typed client sends JSON on every call with a body.
    h.ctl.next_reply("plain").await;
    h.ctl.advance(1.0).await;
    h.ctl.clear_faults().await;
}

#[test]
fn only_loopback_addresses_without_allow_remote() {
    for ok in ["127.0.0.1:0", "127.8.9.10:80", "[::1]:0", "[::ffff:127.0.0.1]:0"] {
        let addr: SocketAddr = ok.parse().unwrap();
        assert_eq!(check_bind_addr(addr, false), Ok(()), "{ok}");
    }
    for remote in ["0.0.0.0:0", "[::]:0", "192.168.1.2:8080", "10.0.0.1:1", "[fe80::1]:1"] {
        let addr: SocketAddr = remote.parse().unwrap();
        let msg = check_bind_addr(addr, false).unwrap_err();
        assert!(msg.contains("--allow-remote") && msg.contains(remote), "{msg}");
        assert_eq!(msg.matches(". ").count(), 0, "one sentence: {msg}");
        assert_eq!(check_bind_addr(addr, true), Ok(()));
    }
}

#[tokio::test]
async fn the_library_refuses_0_0_0_0_unless_allowed() {
    let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let Err(e) = kallyai_sim::start(any, SimConfig::default()).await else { panic!("0.0.0.0 was accepted") };
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(e.to_string().contains("--allow-remote"), "{e}");

    let sim = kallyai_sim::start(any, SimConfig { allow_remote: true, ..SimConfig::default() }).await.unwrap();
    let base = format!("http://127.0.0.1:{}", sim.addr().port());
    let ctl = kallyai_sim::client::Control::new(&base);
    let token = ctl.session().await.access_token;
    let balance = client().get(format!("{base}/v1/credits/balance")).bearer_auth(token).send().await.unwrap();
    assert_eq!(balance.status(), StatusCode::OK);
    sim.shutdown().await;
}

/// The first stdout line of the binary started with `args`, and the child (killed by the caller).
fn first_line(args: &[&str]) -> (std::process::Child, String) {
    let mut child =
        Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn sim");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
    (child, line)
}

#[test]
fn the_binary_refuses_0_0_0_0_unless_allow_remote() {
    let out = Command::new(BIN).args(["--addr", "0.0.0.0:0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("kallyai-sim: 0.0.0.0:0 is not a loopback address") && err.contains("--allow-remote"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "it did not start");

    for (args, prefix) in [
        (&["--addr", "0.0.0.0:0", "--allow-remote"][..], "listening on http://0.0.0.0:"),
        (&["--addr", "localhost:0"][..], "listening on http://127.0.0.1:"),
    ] {
        let (mut child, line) = first_line(args);
        // `ctl` drives it over loopback whatever address it listens on.
        let url = line.trim().strip_prefix("listening on ").map(|u| u.replace("0.0.0.0", "127.0.0.1"));
        let ctl = url.map(|url| Command::new(BIN).args(["ctl", "--url", &url, "retention"]).output().unwrap());
        let _ = child.kill();
        let _ = child.wait();
        assert!(line.starts_with(prefix), "{args:?}: {line:?}");
        let ctl = ctl.unwrap();
        assert!(ctl.status.success(), "{}", String::from_utf8_lossy(&ctl.stderr));
        let answer: Value = serde_json::from_slice(&ctl.stdout).unwrap();
        assert_eq!(answer["limits"]["pending_sign_ins"], 1000, "{answer}");
    }
}

#[tokio::test]
async fn a_pending_sign_in_expires_after_ten_minutes() {
    let h = start().await;
    let page = format!("{}/v1/auth/cli?redirect_uri=http%3A//127.0.0.1%3A8740&state=s", h.url);
    let late = SignInForm::open(&page).await;
    let in_time = SignInForm::open(&page).await;
    let _abandoned = SignInForm::open(&page).await;
    assert_eq!(held(&h).await["pending_sign_ins"], 3);
    h.ctl.advance(599.0).await;
    let location = in_time.press("approve").await;
    assert!(location.contains("access_token="), "{location}");
    assert_eq!(held(&h).await["pending_sign_ins"], 2);
    h.ctl.advance(2.0).await;
    assert_eq!(held(&h).await["pending_sign_ins"], 0, "both dropped after 10 minutes");
    let v = expect_error(late.submit("approve").await, 400, "invalid_request").await;
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"), "{v}");
}

#[tokio::test]
async fn pending_sign_ins_are_capped_oldest_first() {
    let limits = Limits { pending_sign_ins: 2, ..Limits::default() };
    let h = start_with(SimConfig { limits, ..SimConfig::default() }).await;
    let page = format!("{}/v1/auth/cli?redirect_uri=http%3A//127.0.0.1%3A8740", h.url);
    let mut forms = Vec::new();
    for _ in 0..5 {
        forms.push(SignInForm::open(&page).await);
        assert!(held(&h).await["pending_sign_ins"].as_u64().unwrap() <= 2);
    }
    for old in &forms[..3] {
        expect_error(old.submit("approve").await, 400, "invalid_request").await;
    }
    for newest in &forms[3..] {
        assert!(newest.press("approve").await.contains("access_token="));
    }
}

/// `POST /v1/coordination/message` with `key`, with a fresh token (the clock jumps past lifetimes).
async fn ask(h: &Harness, key: &str) -> reqwest::Response {
    let token = h.session_token().await;
    let body = json!({"message": "What can you do?"});
    let req = h.client.post(format!("{}/v1/coordination/message", h.url)).bearer_auth(token);
    let resp = req.header("Idempotency-Key", key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp
}

fn replayed(resp: &reqwest::Response) -> bool {
    resp.headers().get("idempotent-replayed").is_some()
}

#[tokio::test]
async fn idempotent_answers_are_kept_for_a_day() {
    let h = start().await;
    assert!(!replayed(&ask(&h, "day-1").await));
    h.ctl.advance(86_000.0).await;
    assert!(replayed(&ask(&h, "day-1").await), "kept within 24 h");
    assert_eq!(held(&h).await["idempotency_keys"], 1);
    h.ctl.advance(401.0).await;
    assert_eq!(held(&h).await["idempotency_keys"], 0, "dropped after 24 h");
    let again = ask(&h, "day-1").await;
    assert!(!replayed(&again), "a key older than a day runs again");
    assert_eq!(again.headers()["idempotency-key"], "day-1");
}

#[tokio::test]
async fn idempotent_answers_are_capped_oldest_first() {
    let limits = Limits { idempotency_keys: 2, ..Limits::default() };
    let h = start_with(SimConfig { limits, ..SimConfig::default() }).await;
    for key in ["k1", "k2", "k3"] {
        ask(&h, key).await;
    }
    assert_eq!(held(&h).await["idempotency_keys"], 2);
    assert!(replayed(&ask(&h, "k3").await));
    assert!(replayed(&ask(&h, "k2").await));
    assert!(!replayed(&ask(&h, "k1").await), "the oldest was evicted");
}

#[tokio::test]
async fn dead_tokens_are_dropped_after_the_grace() {
    let h = start_with(SimConfig { token_ttl_secs: 60, ..SimConfig::default() }).await;
    let before = held(&h).await;
    assert_eq!((before["access_tokens"].as_u64(), before["refresh_tokens"].as_u64()), (Some(1), Some(1)));
    h.ctl.advance(61.0).await;
    let v = expect_error(h.get("/v1/credits/balance").await, 401, "token_expired").await;
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"), "{v}");
    // A rotated refresh token stays for its 30 s grace, then for the dead-token grace.
    let rotated = h.refresh_with(&h.refresh).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let fresh: Value = rotated.json().await.unwrap();
    h.ctl.revoke_tokens().await;
    assert_eq!(held(&h).await["refresh_tokens"], 2);
    h.ctl.advance(3700.0).await;
    let v = expect_error(h.get("/v1/credits/balance").await, 401, "token_expired").await;
    assert!(v["error"]["message"].as_str().unwrap().contains("not valid"), "dropped: {v}");
    let after = held(&h).await;
    assert_eq!(after["access_tokens"], 0, "{after}");
    assert_eq!(after["refresh_tokens"], 0, "revoked and rotated ones are gone: {after}");
    expect_error(h.refresh_with(&fresh["refresh_token"]).await, 401, "token_expired").await;
}

#[tokio::test]
async fn tokens_are_capped_oldest_first() {
    let limits = Limits { tokens: 3, ..Limits::default() };
    let h = start_with(SimConfig { limits, ..SimConfig::default() }).await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(h.ctl.session().await);
    }
    let v = expect_error(h.get("/v1/credits/balance").await, 401, "token_expired").await;
    assert!(v["error"]["message"].as_str().unwrap().contains("not valid"), "the first was evicted: {v}");
    expect_error(h.refresh_with(&h.refresh).await, 401, "token_expired").await;
    for s in &sessions {
        assert_eq!(h.get_as("/v1/credits/balance", &s.access_token).await.status(), StatusCode::OK);
    }
    let tokens = h.ctl.call(kallyai_sim::client::ControlRequest::tokens()).await;
    assert_eq!(tokens["access_tokens"].as_array().unwrap().len(), 3, "{tokens}");
    assert_eq!(tokens["refresh_tokens"].as_array().unwrap().len(), 3);
    let held = held(&h).await;
    assert_eq!((held["access_tokens"].as_u64(), held["refresh_tokens"].as_u64()), (Some(3), Some(3)));
}
