//! The live event stream against the sim: ringing, transcript lines and the end of a call arrive
//! as typed `StreamEvent`s; a reconnect with `Last-Event-ID` resumes without repeats; a disabled
//! stream says so with a `Retry-After`; an answer that is not an event stream is `not_a_stream`;
//! silence past the idle timeout is an error.

mod common;

use std::time::Duration;

use common::{Ring, Sim, Stream};
use kallyai_core::stream::NOT_A_STREAM;
use kallyai_core::{EventStream, StreamEvent, StreamMessage};

/// The sim beats every 15 s by default: three missed beats.
const IDLE: Duration = Duration::from_secs(45);

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
    let mut stream = client.inbound().stream(Some(&current_event_id(&client).await), IDLE).await.unwrap();
    let ring = Ring::new("+34600555444").caller_name("Marta").vip(true);
    let id = sim.ctl.ring(&ring.transcript([("HUMAN", "Hola"), ("AI", "Dígame")]).line_interval_ms(20)).await;
    let seen = read_until(&mut stream, |m| matches!(m.decode(), StreamEvent::CallEnded { .. })).await;
    let events: Vec<StreamEvent> = seen.iter().map(StreamMessage::decode).collect();
    let call = events
        .iter()
        .find_map(|e| match e {
            StreamEvent::CallRinging(call) if call.id.as_deref() == Some(id.as_str()) => Some(call),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no ringing: {events:?}"));
    assert_eq!(
        (call.caller_number.as_deref(), call.caller_name.as_deref(), call.is_vip),
        (Some("+34600555444"), Some("Marta"), true)
    );
    let lines: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TranscriptLine { call_id, index, content, .. } if *call_id == id => {
                Some((*index, content.as_deref()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(lines, vec![(Some(0), Some("Hola")), (Some(1), Some("Dígame"))]);
    assert!(matches!(events.last(), Some(StreamEvent::CallEnded { call_id, outcome })
        if *call_id == id && outcome.as_deref() == Some("completed")));
    assert!(stream.last_event_id().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_event_id_resumes_without_repeats() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let start = current_event_id(&client).await;
    let mut stream = client.inbound().stream(Some(&start), IDLE).await.unwrap();
    sim.ctl.set_credits(100.0).await;
    let seen = read_until(&mut stream, |m| m.event == "credits_changed").await;
    let resume_at = stream.last_event_id().unwrap().to_string();
    assert_eq!(seen.last().unwrap().id.as_deref(), Some(resume_at.as_str()));
    drop(stream);

    // Missed while disconnected:
    sim.ctl.set_credits(90.0).await;
    sim.ctl.set_credits(80.0).await;
    let mut stream = client.inbound().stream(Some(&resume_at), IDLE).await.unwrap();
    let seen = read_until(
        &mut stream,
        |m| matches!(m.decode(), StreamEvent::CreditsChanged { credits_remaining, .. } if credits_remaining == 80.0),
    )
    .await;
    let credits: Vec<f64> = seen
        .iter()
        .filter_map(|m| match m.decode() {
            StreamEvent::CreditsChanged { credits_remaining, .. } => Some(credits_remaining),
            _ => None,
        })
        .collect();
    assert_eq!(credits, vec![90.0, 80.0], "resumed stream must start after {resume_at}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_stream_is_an_error_with_retry_after() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.ctl.stream(&Stream::off()).await;
    let err = client.inbound().stream(None, IDLE).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.code(), "stream_disabled");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_refreshes_an_expired_token_once() {
    let sim = Sim::start().await;
    let events = kallyai_core::EventBus::default();
    let (client, _session) = sim.session_client(&events).await;
    sim.ctl.expire_tokens().await;
    let _stream = client.inbound().stream(None, IDLE).await.unwrap();
    assert_eq!(sim.ctl.requests_to("POST", "/v1/auth/refresh").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_is_not_an_event_stream_is_not_a_stream() {
    // The production profile answers the JSON activity log whatever the client accepts.
    let production =
        Sim::start_with(kallyai_sim::SimConfig { profile: kallyai_sim::Profile::Production, ..Default::default() })
            .await;
    let err = production.client().await.inbound().stream(None, IDLE).await.unwrap_err();
    assert_eq!(err.code(), NOT_A_STREAM, "{err}");
    // So does a server whose stream/info promises a stream it does not serve.
    let sim = Sim::start().await;
    sim.ctl.stream(&Stream::on().sse(false)).await;
    let client = sim.client().await;
    assert!(client.inbound().stream_info().await.unwrap().enabled);
    let err = client.inbound().stream(None, IDLE).await.unwrap_err();
    assert_eq!(err.code(), NOT_A_STREAM, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_a_quiet_stream_alive_and_silence_ends_it() {
    let sim = Sim::start().await;
    sim.ctl.stream(&Stream::on().heartbeat_secs(1)).await;
    let client = sim.client().await;
    // No message for 3 s, but a heartbeat every second: still open.
    let mut beating = client.inbound().stream(None, Duration::from_millis(2500)).await.unwrap();
    let quiet = tokio::time::timeout(Duration::from_secs(3), beating.next()).await;
    assert!(quiet.is_err(), "the stream stayed open without messages: {quiet:?}");
    // An idle timeout shorter than the beat: the silence counts as a dead stream.
    let mut silent = client.inbound().stream(None, Duration::from_millis(300)).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), silent.next()).await.unwrap().unwrap().unwrap_err();
    assert_eq!(err.code(), "timeout");
}
