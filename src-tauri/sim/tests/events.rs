//! The live event extension: JSON log, SSE stream with ids, `Last-Event-ID` resume, on/off switch.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

struct SseReader {
    stream: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>,
    buf: String,
}

#[derive(Debug)]
struct Frame {
    id: Option<u64>,
    event: String,
    data: Value,
}

impl SseReader {
    async fn open(h: &Harness, last_event_id: Option<u64>) -> SseReader {
        let mut req = h.req(Method::GET, "/v1/inbound/events").header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream"));
        SseReader { stream: Box::pin(resp.bytes_stream()), buf: String::new() }
    }

    /// The next event frame (comments/keep-alives skipped), or None when the stream ends.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..pos + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if event.is_empty() && data.is_empty() {
                    continue;
                }
                return Some(Frame { id, event, data: serde_json::from_str(&data).unwrap() });
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("an event within 10 s")?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk.ok()?));
        }
    }

    async fn next_of(&mut self, kind: &str) -> Frame {
        loop {
            let f = self.next().await.expect("stream open");
            if f.event == kind {
                return f;
            }
        }
    }
}

#[tokio::test]
async fn sse_streams_events_with_ids_and_resumes_after_last_event_id() {
    let h = start().await;
    let mut sse = SseReader::open(&h, None).await;
    let id = h.ctl.ring(&Ring::new("+34600111222").caller_name("Ana").line_interval_ms(1000)).await;
    let ringing = sse.next_of("call_ringing").await;
    assert_eq!(ringing.data["call"]["id"], json!(id));
    assert_eq!(ringing.data["type"], "call_ringing");
    let first_line = sse.next_of("transcript_line").await;
    assert_eq!(first_line.data["call_id"], json!(id));
    assert_eq!(first_line.data["entry"]["speaker"], "AI");
    let seen = first_line.id.unwrap();
    assert!(seen > ringing.id.unwrap());
    drop(sse);

    // While nobody listens, more happens.
    h.ctl.advance(1.0).await;
    h.ctl.end_call(&id, None).await;
    h.ctl.set_credits(100.0).await;

    let mut resumed = SseReader::open(&h, Some(seen)).await;
    let next = resumed.next().await.unwrap();
    assert_eq!(next.id, Some(seen + 1), "nothing skipped, nothing repeated");
    let second_line = resumed.next_of("transcript_line").await;
    assert_eq!(second_line.data["index"], 1);
    let ended = resumed.next_of("call_ended").await;
    assert_eq!(ended.data["status"], "completed");
    let credits = resumed.next_of("credits_changed").await;
    assert_eq!(credits.data["credits_remaining"], 100.0);
    let email =
        h.get_json("/v1/notifications/pending").await["actions"]["items"][0]["id"].as_str().unwrap().to_string();
    h.post_json(&format!("/v1/actions/email/{email}/cancel"), json!(null)).await;
    let changed = resumed.next_of("notification_changed").await;
    assert!(changed.data["total_pending"].is_u64());
}

#[tokio::test]
async fn json_event_log_and_stream_info() {
    let h = start().await;
    h.ctl.ring(&Ring::new("+34600111222")).await;
    let log = h.get_json("/v1/inbound/events").await;
    let events = log["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["type"] == "call_ringing"));
    for e in events {
        assert!(e["id"].is_string() && is_iso(&e["created_at"]));
    }
    let last: u64 = log["last_event_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(h.get_json(&format!("/v1/inbound/events?after={last}")).await["total"], 0);
    assert!(h.get_json("/v1/inbound/events?type=call_ringing").await["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["type"] == "call_ringing"));
    assert_eq!(h.get_json("/v1/inbound/events?from=2999-01-01").await["total"], 0);

    let info = h.get_json("/v1/inbound/stream/info").await;
    assert_eq!(info["enabled"], true);
    assert_eq!(info["path"], "/v1/inbound/events");
    assert_eq!(info["resume"], "Last-Event-ID");
    assert_eq!(info["event_types"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn switching_the_stream_off_ends_streams_and_refuses_new_ones() {
    let h = start().await;
    let mut sse = SseReader::open(&h, None).await;
    h.ctl.stream(&Stream::off()).await;
    assert!(sse.next().await.is_none(), "the open stream ends");
    assert_eq!(h.get_json("/v1/inbound/stream/info").await["enabled"], false);
    let r = h.req(Method::GET, "/v1/inbound/events").header(header::ACCEPT, "text/event-stream").send().await.unwrap();
    assert!(r.headers().get(header::RETRY_AFTER).is_some());
    expect_error(r, 503, "stream_disabled").await;
    assert_eq!(h.get("/v1/inbound/events").await.status(), StatusCode::OK, "the JSON log still answers");
    h.ctl.stream(&Stream::on()).await;
    SseReader::open(&h, None).await;
    expect_error(
        h.client
            .get(format!("{}/v1/inbound/events", h.url))
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .unwrap(),
        401,
        "missing_token",
    )
    .await;
}

#[tokio::test]
async fn a_stream_advertised_but_not_served_and_a_chosen_heartbeat() {
    let h = start().await;
    let mut sse = SseReader::open(&h, None).await;
    h.ctl.stream(&Stream::on().sse(false).heartbeat_secs(2)).await;
    assert!(sse.next().await.is_none(), "the open stream ends");
    let info = h.get_json("/v1/inbound/stream/info").await;
    assert_eq!((info["enabled"].clone(), info["heartbeat_secs"].clone()), (json!(true), json!(2)));
    let r = h.req(Method::GET, "/v1/inbound/events").header(header::ACCEPT, "text/event-stream").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    assert!(r.json::<Value>().await.unwrap()["events"].is_array(), "the JSON log, not a stream");
    // Served again: a quiet stream beats every two seconds.
    h.ctl.stream(&Stream::on().sse(true)).await;
    let mut sse = SseReader::open(&h, None).await;
    let beat = tokio::time::timeout(Duration::from_secs(5), sse.stream.next()).await.expect("a heartbeat within 5 s");
    assert!(String::from_utf8_lossy(&beat.unwrap().unwrap()).starts_with(':'), "a keep-alive comment");
    let bad = h.client.post(format!("{}/_sim/stream", h.url)).json(&json!({"enabled": true, "heartbeat_secs": 0}));
    expect_error(bad.send().await.unwrap(), 422, "validation_error").await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let h = start().await;
    let mut sse = SseReader::open(&h, None).await;
    let sim = h.sim;
    tokio::time::timeout(Duration::from_secs(8), sim.shutdown()).await.expect("shutdown is prompt");
    assert!(sse.next().await.is_none());
}
