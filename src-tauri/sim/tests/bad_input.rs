//! Every failure class answers with the nested envelope, and a property test throws arbitrary
//! methods, paths, headers and bodies at the sim: no panic, every answer a success or an envelope.

mod common;

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn every_failure_class_is_an_envelope() {
    let h = start().await;
    expect_error(h.get("/v1/nothing/here").await, 404, "not_found").await;
    expect_error(h.get("/_sim/nothing").await, 404, "not_found").await;
    expect_error(h.req(Method::PUT, "/v1/credits/balance").send().await.unwrap(), 405, "method_not_allowed").await;
    let bad_json = h
        .req(Method::POST, "/v1/coordination/message")
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"message\": ")
        .send()
        .await
        .unwrap();
    expect_error(bad_json, 400, "invalid_json").await;
    expect_error(
        h.post("/v1/coordination/message", json!({"message": ["not", "a", "string"]})).await,
        422,
        "validation_error",
    )
    .await;
    expect_error(h.post("/v1/coordination/message", json!([1, 2])).await, 422, "validation_error").await;
    expect_error(h.post("/v1/calls", json!({"submission": "nope"})).await, 422, "validation_error").await;
    let big = "x".repeat(300 * 1024);
    expect_error(h.post("/v1/coordination/message", json!({"message": big})).await, 413, "payload_too_large").await;
    expect_error(h.post("/v1/calls", json!({"submission": {"task_description": big}})).await, 413, "payload_too_large")
        .await;
    expect_error(h.get("/v1/calls/%FF%FE").await, 400, "bad_request").await;
    expect_error(h.get("/v1/coordination/goals?offset=-1").await, 422, "validation_error").await;
    // The OAuth token endpoint answers in RFC 6749's shape instead (tests/oauth_errors.rs).
    let form = h.client.post(format!("{}/v1/auth/gpt/token", h.url)).body("%%%=&&").send().await.unwrap();
    expect_oauth_error(form, 400, "invalid_request").await;
}

#[tokio::test]
async fn garbage_on_the_socket_does_not_hurt_the_server() {
    let h = start().await;
    let addr = h.sim.addr();
    for garbage in [
        &b"\x00\x01\x02 nonsense\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /v1/calls HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    ] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(garbage).await.unwrap();
        // Half-close so the server sees the end of our input and finishes the connection.
        let _ = s.shutdown().await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
            .await
            .expect("the server answers or closes");
        // hyper answers broken framing with a bare 400 or closes; either is fine, the server lives on.
        if !buf.is_empty() {
            assert!(buf.starts_with(b"HTTP/1.1 4"), "{}", String::from_utf8_lossy(&buf));
        }
    }
    assert_eq!(h.get("/v1/credits/balance").await.status(), StatusCode::OK);
}

const PATHS: &[&str] = &[
    "/v1/auth/cli",
    "/v1/auth/refresh",
    "/v1/auth/authorize",
    "/v1/auth/gpt/token",
    "/v1/auth/revoke",
    "/.well-known/oauth-authorization-server",
    "/v1/coordination/message",
    "/v1/coordination/history",
    "/v1/coordination/conversations",
    "/v1/coordination/goals",
    "/v1/coordination/goals/batch-archive",
    "/v1/calls",
    "/v1/inbound/calls",
    "/v1/inbound/events",
    "/v1/inbound/stream/info",
    "/v1/notifications/pending",
    "/v1/credits/balance",
    "/v1/credits/history",
    "/v1/credits/costs",
    "/v1/credits/breakdown",
    "/v1/credits/plans",
    "/v1/goals/estimate",
    "/v1/subscriptions/status",
    "/v1/users/me/statistics",
    "/v1/users/me/subscription",
    "/v1/stripe/billing-portal",
    "/v1/messages/mark-read",
    "/v1/messages/inbox",
    "/v1/messages/conversation",
    "/v1/actions/email",
    "/v1/actions/log",
    "/v1/actions",
];
const SUFFIXES: &[&str] = &[
    "",
    "/{id}",
    "/{id}/transcript",
    "/{id}/takeover",
    "/{id}/reject",
    "/{id}/transfer",
    "/{id}/approve-step",
    "/{id}/cancel",
    "/{id}/budget",
    "/{id}/archive",
    "/{id}/undo",
    "/{id}/approve",
    "/{id}/x/y",
];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::hash_map(
                prop_oneof![
                    Just("message".to_string()),
                    Just("conversation_id".to_string()),
                    Just("refresh_token".to_string()),
                    Just("submission".to_string()),
                    Just("target_number".to_string()),
                    Just("type".to_string()),
                    "[a-z_]{1,12}".prop_map(String::from)
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::None),
        json_value().prop_map(Body::Json),
        prop::collection::vec(any::<u8>(), 0..256).prop_map(Body::Bytes)
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (prop::sample::select(PATHS), prop::sample::select(SUFFIXES), prop_oneof![Just(uuid::Uuid::new_v4().to_string()), "[a-zA-Z0-9%._~-]{0,20}".prop_map(String::from)], "(\\?[a-z_]{1,10}=[a-zA-Z0-9%+-]{0,12}(&[a-z_]{1,10}=[a-zA-Z0-9%+-]{0,12}){0,3})?")
            .prop_map(|(p, s, id, q)| format!("{p}{}{q}", s.replace("{id}", &id))),
        1 => "(/[a-zA-Z0-9%._~-]{0,12}){1,5}".prop_map(String::from),
    ]
}

#[test]
fn fuzz_no_panic_and_every_answer_is_success_or_envelope() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let h = rt.block_on(start());
    let started = Instant::now();
    let budget = Duration::from_secs(60);
    let mut runner = TestRunner::new(Config {
        cases: std::env::var("KALLYAI_FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::sample::select(METHODS),
        path(),
        body(),
        any::<bool>(),
        prop::option::of(prop::sample::select(&["text/event-stream", "application/json", "*/*"][..])),
    );
    let result = runner.run(&strategy, |(method, path, body, with_auth, accept)| {
        if started.elapsed() > budget {
            return Ok(()); // time bound: the remaining cases pass untried
        }
        rt.block_on(async {
            let url = format!("{}{}", h.url, path);
            let Ok(parsed) = reqwest::Url::parse(&url) else { return Ok(()) };
            let mut req = h.client.request(Method::from_bytes(method.as_bytes()).unwrap(), parsed);
            if with_auth {
                req = req.bearer_auth(&h.token);
            }
            if let Some(a) = accept {
                req = req.header(header::ACCEPT, a);
            }
            req = match body {
                Body::None => req,
                Body::Json(v) => req.json(&v),
                Body::Bytes(b) => req.body(b),
            };
            let resp = req
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .map_err(|e| TestCaseError::fail(format!("{method} {path}: {e}")))?;
            let status = resp.status();
            let is_sse = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.starts_with("text/event-stream"));
            if status.as_u16() < 400 || method == "HEAD" || is_sse {
                return Ok(()); // success, redirect, 304, or a stream we do not drain
            }
            let text = resp.text().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let v: Value = serde_json::from_str(&text)
                .map_err(|_| TestCaseError::fail(format!("{method} {path} -> {status}: not JSON: {text}")))?;
            let envelope = v["error"]["code"].as_str().is_some_and(|c| !c.is_empty())
                && v["error"]["message"].as_str().is_some_and(|m| !m.is_empty())
                && v["error"]["details"].is_object()
                && v["error"]["correlation_id"].is_string();
            // The OAuth token and revocation endpoints answer RFC 6749 §5.2 errors.
            let oauth_path = ["/v1/auth/gpt/token", "/v1/auth/revoke"].iter().any(|p| path.starts_with(p));
            let rfc6749 = v["error"].as_str().is_some_and(|c| !c.is_empty()) && v["error_description"].is_string();
            let ok = envelope || (oauth_path && rfc6749);
            prop_assert!(ok, "{} {} -> {}: {}", method, path, status, text);
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Still alive and sane after the barrage.
    rt.block_on(async {
        assert_eq!(h.client.get(format!("{}/v1/credits/costs", h.url)).send().await.unwrap().status(), StatusCode::OK);
        h.ctl.issued_secrets().await;
    });
}
