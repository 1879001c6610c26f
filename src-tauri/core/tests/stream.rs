//! The live event stream against the sim: ringing, transcript lines and the end of a call arrive
//! as core `Event`s; a reconnect with `Last-Event-ID` resumes without repeats; a disabled stream
//! says so with a `Retry-After`.

mod common;

use std::time::Duration;

use common::Sim;
use kallyai_core::Event;
use kallyai_core::{EventStream, StreamMessage};
use serde_json::json;

/// Reads messages until `done` says stop, within a deadline.
async fn read_until(stream: &mut EventStream, mut done: impl FnMut(&StreamMessage) -> bool) -> Vec<StreamMessage> {
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(m) = stream.next().await {
            let m = m.expect("stream message");
            let stop = done(&m);
            seen.push(m);
            if stop {
                return;
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "deadline passed; saw {seen:?}");
    seen
}

async fn current_event_id(client: &kallyai_core::Client) -> String {
    let info = client.inbound().stream_info().await.unwrap();
    assert!(info.enabled);
    info.raw["last_event_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_call_streams_as_events() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let mut stream = client.inbound().stream(Some(&current_event_id(&client).await)).await.unwrap();
    let ring = sim
        .control(
            "POST",
            "/_sim/calls/ring",
            json!({"caller_number": "+34600555444", "caller_name": "Marta", "is_vip": true,
                   "transcript": [{"speaker": "HUMAN", "content": "Hola"}, {"speaker": "AI", "content": "Dígame"}],
                   "line_interval_ms": 20}),
        )
        .await;
    let id = ring["id"].as_str().unwrap().to_string();
    let seen = read_until(&mut stream, |m| matches!(m.to_event(), Some(Event::CallEnded { .. }))).await;
    let events: Vec<Event> = seen.iter().filter_map(StreamMessage::to_event).collect();
    assert!(
        events.contains(&Event::CallRinging {
            call_id: id.clone(),
            caller_number: "+34600555444".into(),
            caller_name: Some("Marta".into()),
            is_vip: true,
            summary: None,
        }),
        "{events:?}"
    );
    let lines: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::TranscriptLine { call_id, content, .. } if *call_id == id => Some(content.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(lines, vec!["Hola", "Dígame"]);
    assert!(
        matches!(events.last(), Some(Event::CallEnded { call_id, outcome }) if *call_id == id && outcome == "completed")
    );
    assert!(stream.last_event_id().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_event_id_resumes_without_repeats() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let start = current_event_id(&client).await;
    let mut stream = client.inbound().stream(Some(&start)).await.unwrap();
    sim.control("POST", "/_sim/credits", json!({"credits_remaining": 100})).await;
    let seen = read_until(&mut stream, |m| m.event == "credits_changed").await;
    let resume_at = stream.last_event_id().unwrap().to_string();
    assert_eq!(seen.last().unwrap().id.as_deref(), Some(resume_at.as_str()));
    drop(stream);

    // Missed while disconnected:
    sim.control("POST", "/_sim/credits", json!({"credits_remaining": 90})).await;
    sim.control("POST", "/_sim/credits", json!({"credits_remaining": 80})).await;
    let mut stream = client.inbound().stream(Some(&resume_at)).await.unwrap();
    let seen = read_until(
        &mut stream,
        |m| matches!(m.to_event(), Some(Event::CreditsChanged { credits_remaining, .. }) if credits_remaining == 80.0),
    )
    .await;
    let credits: Vec<f64> = seen
        .iter()
        .filter_map(|m| match m.to_event() {
            Some(Event::CreditsChanged { credits_remaining, .. }) => Some(credits_remaining),
            _ => None,
        })
        .collect();
    assert_eq!(credits, vec![90.0, 80.0], "resumed stream must start after {resume_at}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_stream_is_an_error_with_retry_after() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.control("POST", "/_sim/stream", json!({"enabled": false})).await;
    let err = client.inbound().stream(None).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.code(), "stream_disabled");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_refreshes_an_expired_token_once() {
    let sim = Sim::start().await;
    let events = kallyai_core::EventBus::default();
    let (client, _session) = sim.session_client(&events).await;
    sim.control("POST", "/_sim/tokens/expire", json!({})).await;
    let _stream = client.inbound().stream(None).await.unwrap();
    assert_eq!(sim.requests_to("POST", "/v1/auth/refresh").await.len(), 1);
}
