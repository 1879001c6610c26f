//! The live event stream (`GET /v1/inbound/events` with `Accept: text/event-stream`, a sim
//! extension): Server-Sent Events read with the `eventsource-stream` parser, `Last-Event-ID`
//! resume, an idle timeout that counts heartbeats, and the one typed decoder of its messages
//! ([`StreamMessage::decode`]).

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::Value;

use crate::api::inbound::{Inbound, InboundCall};
use crate::error::{codes, ApiError};
use crate::transport::{transport_error, Request};

pub use crate::error::codes::NOT_A_STREAM;

/// One SSE message, as sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamMessage {
    /// The last `id:` seen on the stream (ids carry over to later messages without one).
    pub id: Option<String>,
    /// The `event:` field (`message` when absent), e.g. `call_ringing`.
    pub event: String,
    /// The `data:` lines joined by newlines; JSON from KallyAI.
    pub data: String,
}

/// What a stream message means. Decoded once, here; the watcher acts on it.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// A call is being screened. The call may lack an id when the payload was damaged: the
    /// watcher then looks at the live list instead.
    CallRinging(InboundCall),
    /// Line `index` (0-based, when sent) of a live call. `content: None`: the line is named but
    /// its text is missing, so the transcript has to be read.
    TranscriptLine {
        call_id: String,
        index: Option<usize>,
        speaker: String,
        content: Option<String>,
    },
    /// `outcome: None`: the server did not say how it ended (the call itself says).
    CallEnded {
        call_id: String,
        outcome: Option<String>,
    },
    CallUpdated {
        call_id: String,
        status: String,
    },
    /// Pending work changed; `total_pending` when sent.
    NotificationsChanged {
        total_pending: Option<u64>,
    },
    CreditsChanged {
        credits_remaining: f64,
        credits_allocated: Option<f64>,
    },
    /// A kind this client does not know, or one too damaged to use.
    Unknown,
}

impl StreamMessage {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }

    /// The one reading of a message: names and spellings as the sim and reference send them
    /// (`speaker`/`role`, `content`/`text`, `status`/`outcome`, numbers as JSON or strings).
    pub fn decode(&self) -> StreamEvent {
        let data = self.json().unwrap_or(Value::Null);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let number = |v: &Value, k: &str| {
            v.get(k).and_then(|x| x.as_f64().or_else(|| x.as_str().and_then(|s| s.trim().parse().ok())))
        };
        let call_id = text(&data, "call_id").filter(|id| !id.is_empty());
        match (self.event.as_str(), call_id) {
            ("call_ringing", _) => {
                let call = data.get("call").unwrap_or(&data);
                StreamEvent::CallRinging(serde_json::from_value(call.clone()).unwrap_or_default())
            }
            ("transcript_line", Some(call_id)) => {
                let entry = data.get("entry").unwrap_or(&data);
                StreamEvent::TranscriptLine {
                    call_id,
                    index: number(&data, "index").filter(|i| *i >= 0.0).map(|i| i as usize),
                    speaker: text(entry, "speaker").or_else(|| text(entry, "role")).unwrap_or_default(),
                    content: text(entry, "content").or_else(|| text(entry, "text")),
                }
            }
            ("call_ended", Some(call_id)) => {
                StreamEvent::CallEnded { call_id, outcome: text(&data, "status").or_else(|| text(&data, "outcome")) }
            }
            ("call_updated", Some(call_id)) => match text(&data, "status") {
                Some(status) => StreamEvent::CallUpdated { call_id, status },
                None => StreamEvent::Unknown,
            },
            ("notification_changed" | "notifications_changed", _) => {
                StreamEvent::NotificationsChanged { total_pending: number(&data, "total_pending").map(|n| n as u64) }
            }
            ("credits_changed", _) => match number(&data, "credits_remaining") {
                Some(credits_remaining) => StreamEvent::CreditsChanged {
                    credits_remaining,
                    credits_allocated: number(&data, "credits_allocated"),
                },
                None => StreamEvent::Unknown,
            },
            _ => StreamEvent::Unknown,
        }
    }
}

type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, ApiError>> + Send>>;

/// An open event stream. `next()` yields messages until the server ends the stream; reconnect
/// with `last_event_id()` to resume without gaps.
pub struct EventStream {
    events: eventsource_stream::EventStream<Chunks>,
    last_event_id: Option<String>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").field("last_event_id", &self.last_event_id).finish_non_exhaustive()
    }
}

impl EventStream {
    /// `idle_timeout`: without a byte (message or heartbeat comment) for this long, the stream
    /// counts as dead. Measured on the bytes because the parser drops comments.
    pub(crate) fn new(resp: reqwest::Response, resume_from: Option<String>, idle_timeout: Duration) -> Self {
        // The parser keeps a line until it ends: a line that never ends would grow without bound,
        // so the bytes since the last line end are counted across chunks.
        let start = Some((resp, LineLength::default()));
        let chunks: Chunks = Box::pin(stream::unfold(start, move |state| async move {
            let (mut resp, mut line) = state?;
            match tokio::time::timeout(idle_timeout, resp.chunk()).await {
                Err(_) => Some((Err(quiet(idle_timeout)), None)),
                Ok(Err(e)) => Some((Err(transport_error(e)), None)),
                Ok(Ok(None)) => None,
                Ok(Ok(Some(bytes))) if !line.fits(&bytes) => Some((Err(line_too_long()), None)),
                Ok(Ok(Some(bytes))) => Some((Ok(bytes), Some((resp, line)))),
            }
        }));
        let mut events = chunks.eventsource();
        if let Some(id) = &resume_from {
            events.set_last_event_id(id.as_str());
        }
        Self { events, last_event_id: resume_from }
    }

    /// The id of the last message received (or the one resumed from).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The next message; `None` when the server closed the stream, an error when the connection
    /// failed, went quiet past the idle timeout (`timeout`) or sent what is not an event stream
    /// (`decode`). Cancel-safe: a message is never lost by dropping this future.
    pub async fn next(&mut self) -> Option<Result<StreamMessage, ApiError>> {
        let event = match self.events.next().await? {
            Ok(event) => event,
            Err(EventStreamError::Transport(e)) => return Some(Err(e)),
            Err(EventStreamError::Utf8(_)) => {
                return Some(Err(ApiError::client(codes::DECODE, "the event stream is not UTF-8")))
            }
            Err(EventStreamError::Parser(e)) => {
                return Some(Err(ApiError::client(codes::DECODE, format!("the event stream is malformed: {e:?}"))))
            }
        };
        let id = Some(event.id).filter(|id| !id.is_empty());
        if id.is_some() {
            self.last_event_id.clone_from(&id);
        }
        Some(Ok(StreamMessage { id, event: event.event, data: event.data }))
    }
}

/// The longest event-stream line read: an event is a few hundred bytes.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Bytes since the last line end, across chunks.
#[derive(Default, Clone, Copy)]
struct LineLength(usize);

impl LineLength {
    /// Counts `chunk` in; false once a line is longer than [`MAX_LINE_BYTES`].
    fn fits(&mut self, chunk: &[u8]) -> bool {
        self.0 = match chunk.iter().rposition(|b| matches!(b, b'\n' | b'\r')) {
            Some(end) => chunk.len() - end - 1,
            None => self.0 + chunk.len(),
        };
        self.0 <= MAX_LINE_BYTES
    }
}

fn line_too_long() -> ApiError {
    ApiError::client(codes::DECODE, format!("the event stream sent a line longer than {} MiB", MAX_LINE_BYTES >> 20))
}

fn quiet(idle_timeout: Duration) -> ApiError {
    ApiError::client(
        codes::TIMEOUT,
        format!("the event stream sent nothing, not even a heartbeat, for {} s", idle_timeout.as_secs()),
    )
}

/// The stream is opened from `client.inbound()`, like every other inbound request; written here,
/// beside the stream it returns, so the inbound module does not depend on this one.
impl Inbound<'_> {
    /// Opens the live event stream (sim extension; check `stream_info().enabled` first).
    /// `last_event_id` resumes after that event; `idle_timeout` is how long it may stay silent
    /// (`StreamInfo::idle_timeout`). Only a `200 text/event-stream` opens it: a disabled stream
    /// answers 503 with a `Retry-After`, and a server without one may answer its JSON log
    /// (`stream::NOT_A_STREAM`); then poll instead.
    pub async fn stream(&self, last_event_id: Option<&str>, idle_timeout: Duration) -> Result<EventStream, ApiError> {
        let req = Request::get(&["v1", "inbound", "events"])
            .accept("text/event-stream")
            .header_opt("Last-Event-ID", last_event_id);
        let resp = self.client.open_stream(&req).await?;
        Ok(EventStream::new(resp, last_event_id.map(str::to_string), idle_timeout))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_line_is_counted_across_chunks_and_ends_at_a_line_end() {
        let mut line = LineLength::default();
        assert!(line.fits(b"data: {\"a\":1}\n\n"));
        assert_eq!(line.0, 0);
        let half = vec![b'x'; MAX_LINE_BYTES / 2];
        assert!(line.fits(&half) && line.fits(&half));
        assert!(!line.fits(b"x"), "one byte over");
        let mut ended = LineLength(MAX_LINE_BYTES);
        assert!(ended.fits(b"\r\nid: 7"));
        assert_eq!(ended.0, 5);
    }

    use super::*;
    use serde_json::json;

    fn msg(event: &str, data: Value) -> StreamMessage {
        StreamMessage { id: None, event: event.into(), data: data.to_string() }
    }

    #[test]
    fn decodes_every_known_kind() {
        let ringing = msg(
            "call_ringing",
            json!({"call": {"id": "c", "caller_number": "+34600", "caller_name": "", "is_vip": true}}),
        );
        let StreamEvent::CallRinging(call) = ringing.decode() else { panic!("{:?}", ringing.decode()) };
        assert_eq!((call.id.as_deref(), call.caller_number.as_deref(), call.is_vip), (Some("c"), Some("+34600"), true));
        // A bare call (no `call` wrapper) reads the same.
        let StreamEvent::CallRinging(bare) = msg("call_ringing", json!({"id": "d"})).decode() else { panic!() };
        assert_eq!(bare.id.as_deref(), Some("d"));
        assert_eq!(
            msg("transcript_line", json!({"call_id": "c", "index": 2, "entry": {"role": "AI", "text": "Hi"}})).decode(),
            StreamEvent::TranscriptLine {
                call_id: "c".into(),
                index: Some(2),
                speaker: "AI".into(),
                content: Some("Hi".into())
            }
        );
        assert_eq!(
            msg("call_ended", json!({"call_id": "c", "status": "missed"})).decode(),
            StreamEvent::CallEnded { call_id: "c".into(), outcome: Some("missed".into()) }
        );
        assert_eq!(
            msg("call_ended", json!({"call_id": "c"})).decode(),
            StreamEvent::CallEnded { call_id: "c".into(), outcome: None }
        );
        assert_eq!(
            msg("call_updated", json!({"call_id": "c", "status": "taken_over"})).decode(),
            StreamEvent::CallUpdated { call_id: "c".into(), status: "taken_over".into() }
        );
        assert_eq!(
            msg("notification_changed", json!({"total_pending": "4"})).decode(),
            StreamEvent::NotificationsChanged { total_pending: Some(4) }
        );
        assert_eq!(
            msg("credits_changed", json!({"credits_remaining": "12.5", "credits_allocated": 600})).decode(),
            StreamEvent::CreditsChanged { credits_remaining: 12.5, credits_allocated: Some(600.0) }
        );
    }

    #[test]
    fn damaged_or_unknown_messages_decode_as_unknown_or_empty() {
        assert_eq!(msg("something_new", json!({})).decode(), StreamEvent::Unknown);
        assert_eq!(msg("call_ended", json!({})).decode(), StreamEvent::Unknown);
        assert_eq!(msg("transcript_line", json!({"call_id": ""})).decode(), StreamEvent::Unknown);
        assert_eq!(msg("credits_changed", json!({"credits_allocated": 1})).decode(), StreamEvent::Unknown);
        let garbage = StreamMessage { id: None, event: "call_ringing".into(), data: "{not json".into() };
        assert_eq!(garbage.decode(), StreamEvent::CallRinging(InboundCall::default()));
    }
}
