//! Fault injection through `/_sim/faults`: every kind, probability, count and method filters,
//! plus the request log.

mod common;

use std::time::{Duration, Instant};

use common::*;
use kallyai_sim::{Profile, SimConfig};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn latency_delays_but_answers() {
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/credits/*", "latency").latency_ms(300).count(1)).await;
    let t = Instant::now();
    assert_eq!(h.get("/v1/credits/balance").await.status(), StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    h.get("/v1/credits/balance").await;
    assert!(t.elapsed() < Duration::from_millis(300), "count 1 fires once");
}

#[tokio::test]
async fn status_faults_send_enveloped_5xx_once_per_count() {
    let h = start().await;
    h.ctl.fault(&Fault::status("/v1/notifications/pending", 503).count(2)).await;
    expect_error(h.get("/v1/notifications/pending").await, 503, "service_unavailable").await;
    expect_error(h.get("/v1/notifications/pending").await, 503, "service_unavailable").await;
    assert_eq!(h.get("/v1/notifications/pending").await.status(), StatusCode::OK);
    h.ctl.fault(&Fault::status("/v1/calls", 502)).await;
    expect_error(h.get("/v1/calls").await, 502, "bad_gateway").await;
    expect_error(h.get("/v1/calls").await, 502, "bad_gateway").await;
    assert_eq!(h.get("/v1/calls/x").await.status(), StatusCode::NOT_FOUND, "the glob has no star: exact path only");
    assert_eq!(h.ctl.faults().await.len(), 1);
    h.ctl.clear_faults().await;
    assert_eq!(h.get("/v1/calls").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_sends_429_with_retry_after() {
    let h = start().await;
    h.ctl.fault(&Fault::new("*", "rate_limit").retry_after_secs(7).count(1)).await;
    let r = h.get("/v1/credits/balance").await;
    assert_eq!(r.headers()[header::RETRY_AFTER], "7");
    let e = expect_error(r, 429, "rate_limited").await;
    assert_eq!(e["error"]["details"]["retry_after_secs"], 7);
}

#[tokio::test]
async fn drop_before_closes_without_running_the_handler() {
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/coordination/message", "drop_before").method("POST").count(1)).await;
    let before = h.get_json("/v1/coordination/conversations").await["total"].clone();
    let r =
        h.req(Method::POST, "/v1/coordination/message").json(&json!({"message": "Search for a florist"})).send().await;
    assert!(r.is_err(), "the connection was dropped: {r:?}");
    assert_eq!(h.get_json("/v1/coordination/conversations").await["total"], before, "nothing happened");
    assert!(h.ctl.requests().await.iter().any(|r| r["fault"] == "drop_before"));
}

#[tokio::test]
async fn drop_after_runs_the_handler_then_closes() {
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/coordination/message", "drop_after").count(1)).await;
    let before = h.get_json("/v1/coordination/conversations").await["total"].as_u64().unwrap();
    let r =
        h.req(Method::POST, "/v1/coordination/message").json(&json!({"message": "Search for a florist"})).send().await;
    assert!(r.is_err(), "no answer arrives: {r:?}");
    assert_eq!(
        h.get_json("/v1/coordination/conversations").await["total"].as_u64().unwrap(),
        before + 1,
        "the ask happened"
    );
}

async fn remaining(h: &Harness) -> f64 {
    h.get_json("/v1/credits/balance").await["credits_remaining"].as_f64().unwrap()
}

#[tokio::test]
async fn status_after_runs_the_handler_then_answers_an_error() {
    for profile in [Profile::Default, Profile::Production] {
        let h = start_with(SimConfig { profile, ..SimConfig::default() }).await;
        let fault = Fault::new("/v1/coordination/message", "status_after").method("POST").count(1);
        let fault = h.ctl.fault(&fault).await;
        assert_eq!(fault["status"], 504, "504 by default");
        let before = remaining(&h).await;
        let ask = || {
            h.req(Method::POST, "/v1/coordination/message")
                .header("Idempotency-Key", "ask-after")
                .json(&json!({"message": "Search for a florist nearby"}))
                .send()
        };
        let r = ask().await.unwrap();
        assert!(r.headers().get("idempotency-key").is_none(), "{profile:?}: the handler's answer never left");
        expect_error(r, 504, "gateway_timeout").await;
        // Yet the ask happened: it is in the history and it was charged.
        let history = h.get_json("/v1/coordination/history").await;
        let asked = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "user" && m["content"] == "Search for a florist nearby")
            .count();
        assert_eq!(asked, 1, "{profile:?}: {history}");
        assert_eq!(remaining(&h).await, before - 0.5, "{profile:?}");
        let entry = h.ctl.requests().await.into_iter().find(|r| r["path"] == "/v1/coordination/message");
        let entry = entry.expect("the ask is logged");
        assert_eq!((entry["status"].clone(), entry["fault"].clone()), (json!(504), json!("status_after")));

        // Sending it again: the default profile replays the stored answer, production runs it again.
        let again = ask().await.unwrap();
        assert_eq!(again.status(), StatusCode::OK);
        if profile == Profile::Default {
            assert_eq!(again.headers()["idempotent-replayed"], "true");
            assert_eq!(remaining(&h).await, before - 0.5, "not charged twice");
        } else {
            assert!(again.headers().get("idempotent-replayed").is_none());
            assert_eq!(remaining(&h).await, before - 1.0, "production charges the resend");
        }
    }
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/calls", "status_after").method("POST").with_status(502).count(1)).await;
    let body = json!({"submission": {"task_description": "Book a table for two tonight at nine",
                                     "respondent_phone": "+34915550123"}});
    let calls = h.get_json("/v1/calls").await["total"].as_u64().unwrap();
    expect_error(h.post("/v1/calls", body).await, 502, "bad_gateway").await;
    assert_eq!(h.get_json("/v1/calls").await["total"].as_u64().unwrap(), calls + 1, "the call was made");
}

#[tokio::test]
async fn malformed_sends_200_with_broken_json() {
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/credits/balance", "malformed").count(1)).await;
    let r = h.get("/v1/credits/balance").await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(h.get("/v1/credits/balance").await.json::<Value>().await.is_ok());
}

#[tokio::test]
async fn slow_body_trickles_the_real_body() {
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/credits/balance", "slow_body").latency_ms(20).count(1)).await;
    let t = Instant::now();
    let r = h.get("/v1/credits/balance").await;
    let body: Value = r.json().await.unwrap();
    let chunks = serde_json::to_vec(&body).unwrap().len() / 16;
    assert!(t.elapsed() >= Duration::from_millis(20 * chunks as u64 / 2), "took {:?}", t.elapsed());
    assert_eq!(body["plan_type"], "pro");
}

#[tokio::test]
async fn probability_and_method_filters() {
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/calls*", "status").probability(0.0)).await;
    h.ctl.fault(&Fault::status("/v1/credits/*", 500).method("POST")).await;
    for _ in 0..20 {
        assert_eq!(h.get("/v1/calls").await.status(), StatusCode::OK);
    }
    assert_eq!(h.get("/v1/credits/balance").await.status(), StatusCode::OK, "GET is not POST");
    h.ctl.fault(&Fault::new("/v1/inbound/*", "status").probability(0.5)).await;
    let mut failures = 0;
    for _ in 0..60 {
        if h.get("/v1/inbound/calls").await.status() == StatusCode::INTERNAL_SERVER_ERROR {
            failures += 1;
        }
    }
    assert!((5..=55).contains(&failures), "about half fail: {failures}");
}

#[tokio::test]
async fn bad_fault_requests_are_refused() {
    let h = start().await;
    for body in [
        json!({"route": "*", "kind": "explode"}),
        json!({"route": "*", "kind": "status", "status": 200}),
        json!({"route": "*", "kind": "status", "probability": 2}),
        json!({"route": "*", "kind": "latency", "count": 0}),
        json!({"kind": "latency"}),
    ] {
        let r = h.client.post(format!("{}/_sim/faults", h.url)).json(&body).send().await.unwrap();
        expect_error(r, 422, "validation_error").await;
    }
}

#[tokio::test]
async fn request_log_records_what_was_sent_and_redacts_secrets() {
    let h = start().await;
    let conv = h.post_json("/v1/coordination/conversations", json!(null)).await["id"].as_str().unwrap().to_string();
    h.req(Method::POST, "/v1/coordination/message")
        .header("Idempotency-Key", "idem-1")
        .json(&json!({"message": "hi", "conversation_id": conv}))
        .send()
        .await
        .unwrap();
    h.client.get(format!("{}/v1/credits/balance?refresh_token=abc&limit=3", h.url)).send().await.unwrap();
    let reqs = h.ctl.requests().await;
    let msg = reqs.iter().find(|r| r["path"] == "/v1/coordination/message").unwrap();
    assert_eq!(msg["method"], "POST");
    assert_eq!(msg["status"], 200);
    assert_eq!(msg["auth"], true);
    assert_eq!(msg["idempotency_key"], "idem-1");
    assert_eq!(msg["conversation_id"], json!(conv));
    assert!(is_iso(&msg["at"]) && msg["seq"].is_u64());
    let bal = reqs.iter().find(|r| r["path"] == "/v1/credits/balance").unwrap();
    assert_eq!(bal["auth"], false);
    assert_eq!(bal["status"], 401);
    assert_eq!(bal["query"], "refresh_token=***&limit=3");
    assert!(!reqs.iter().any(|r| r["path"].as_str().unwrap().starts_with("/_sim")), "control calls are not logged");
    h.ctl.clear_requests().await;
    assert!(h.ctl.requests().await.is_empty());
}

#[tokio::test]
async fn body_faults_leave_the_event_stream_alone_and_drop_after_cuts_it_at_once() {
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/inbound/events", "malformed").count(1)).await;
    let sse =
        h.req(Method::GET, "/v1/inbound/events").header(header::ACCEPT, "text/event-stream").send().await.unwrap();
    assert_eq!(sse.status(), StatusCode::OK);
    assert!(sse.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream"));
    drop(sse);
    h.ctl.fault(&Fault::new("/v1/inbound/events", "drop_after").count(1)).await;
    let t = Instant::now();
    let r = h.req(Method::GET, "/v1/inbound/events").header(header::ACCEPT, "text/event-stream").send().await;
    assert!(r.is_err(), "dropped: {r:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "not stuck waiting for an endless body");
}

#[tokio::test]
async fn a_retry_after_drop_after_with_the_same_key_gets_the_stored_reply() {
    let h = start().await;
    h.ctl.fault(&Fault::new("/v1/coordination/message", "drop_after").count(1)).await;
    let send = || {
        h.req(Method::POST, "/v1/coordination/message")
            .header("Idempotency-Key", "retry-1")
            .json(&json!({"message": "Search for a florist"}))
            .send()
    };
    assert!(send().await.is_err(), "first attempt: the answer is lost");
    let retry = send().await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let reply: Value = retry.json().await.unwrap();
    let conv = reply["conversation_id"].as_str().unwrap();
    let hist = h.get_json(&format!("/v1/coordination/history?conversation_id={conv}")).await;
    assert_eq!(hist["total"], 2, "one ask, one answer");
}
