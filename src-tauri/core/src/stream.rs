//! The live event stream (`GET /v1/inbound/events` with `Accept: text/event-stream`, a sim
//! extension): a Server-Sent Events reader with `Last-Event-ID` resume, and the mapping of its
//! messages onto core's `Event`s.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::Value;

use crate::api::inbound::InboundCall;
use crate::error::{codes, ApiError};
use crate::events::Event;
use crate::transport::transport_error;

/// One SSE message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamMessage {
    pub id: Option<String>,
    /// The `event:` field (`message` when absent), e.g. `call_ringing`.
    pub event: String,
    /// The `data:` lines joined by newlines; JSON from KallyAI.
    pub data: String,
}

impl StreamMessage {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }

    /// The core `Event` this message means, if any (unknown kinds are skipped).
    pub fn to_event(&self) -> Option<Event> {
        let data = self.json().unwrap_or(Value::Null);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let number = |v: &Value, k: &str| {
            v.get(k).and_then(|x| x.as_f64().or_else(|| x.as_str().and_then(|s| s.trim().parse().ok())))
        };
        match self.event.as_str() {
            "call_ringing" => {
                let call: InboundCall = serde_json::from_value(data.get("call").cloned().unwrap_or(data)).ok()?;
                Some(Event::CallRinging {
                    call_id: call.id?,
                    caller_number: call.caller_number.unwrap_or_default(),
                    caller_name: call.caller_name.filter(|n| !n.is_empty()),
                    is_vip: call.is_vip,
                    summary: call.summary.filter(|s| !s.is_empty()),
                })
            }
            "call_updated" => {
                Some(Event::CallUpdated { call_id: text(&data, "call_id")?, status: text(&data, "status")? })
            }
            "call_ended" => Some(Event::CallEnded {
                call_id: text(&data, "call_id")?,
                outcome: text(&data, "status").or_else(|| text(&data, "outcome")).unwrap_or_default(),
            }),
            "transcript_line" => {
                let entry = data.get("entry").unwrap_or(&data);
                Some(Event::TranscriptLine {
                    call_id: text(&data, "call_id")?,
                    speaker: text(entry, "speaker").or_else(|| text(entry, "role")).unwrap_or_default(),
                    content: text(entry, "content").or_else(|| text(entry, "text"))?,
                })
            }
            "notification_changed" | "notifications_changed" => {
                Some(Event::NotificationsChanged { total_pending: number(&data, "total_pending")? as u64 })
            }
            "credits_changed" => Some(Event::CreditsChanged {
                credits_remaining: number(&data, "credits_remaining")?,
                credits_allocated: number(&data, "credits_allocated"),
            }),
            _ => None,
        }
    }
}

/// Incremental SSE parser (WHATWG "event stream interpretation"): feed bytes, get messages.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    last_was_cr: bool,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<StreamMessage> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'\n' if self.last_was_cr => self.last_was_cr = false,
                b'\n' | b'\r' => {
                    self.last_was_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(m) = self.end_line(&String::from_utf8_lossy(&line)) {
                        out.push(m);
                    }
                }
                _ => {
                    self.last_was_cr = false;
                    self.line.push(b);
                }
            }
        }
        out
    }

    fn end_line(&mut self, line: &str) -> Option<StreamMessage> {
        if line.is_empty() {
            let data = self.data.take();
            let event = self.event.take();
            return data.map(|data| StreamMessage {
                id: self.id.clone(),
                event: event.unwrap_or_else(|| "message".into()),
                data,
            });
        }
        if line.starts_with(':') {
            return None; // a comment: heartbeats look like this
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => match self.data.as_mut() {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

/// An open event stream. `next()` yields messages until the server ends the stream; reconnect
/// with `last_event_id()` to resume without gaps.
pub struct EventStream {
    resp: reqwest::Response,
    parser: SseParser,
    ready: VecDeque<StreamMessage>,
    last_event_id: Option<String>,
    idle_timeout: Duration,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").field("last_event_id", &self.last_event_id).finish_non_exhaustive()
    }
}

impl EventStream {
    pub(crate) fn new(resp: reqwest::Response, resume_from: Option<String>, idle_timeout: Duration) -> Self {
        Self { resp, parser: SseParser::default(), ready: VecDeque::new(), last_event_id: resume_from, idle_timeout }
    }

    /// The id of the last message received (or the one resumed from).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The next message; `None` when the server closed the stream, an error (`timeout` when
    /// not even a heartbeat arrived within the idle timeout) when the connection failed.
    pub async fn next(&mut self) -> Option<Result<StreamMessage, ApiError>> {
        loop {
            if let Some(m) = self.ready.pop_front() {
                if m.id.is_some() {
                    self.last_event_id.clone_from(&m.id);
                }
                return Some(Ok(m));
            }
            let chunk = match tokio::time::timeout(self.idle_timeout, self.resp.chunk()).await {
                Err(_) => return Some(Err(ApiError::client(codes::TIMEOUT, "the event stream went quiet"))),
                Ok(Err(e)) => return Some(Err(transport_error(e))),
                Ok(Ok(None)) => return None,
                Ok(Ok(Some(bytes))) => bytes,
            };
            self.ready.extend(self.parser.push(&chunk));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_comments_and_split_chunks() {
        let mut p = SseParser::default();
        let mut got = p.push(b": heartbeat\n\nid: 7\nevent: call_ended\ndata: {\"call_id\":");
        assert!(got.is_empty());
        got.extend(p.push(b"\"c1\",\"status\":\"missed\"}\r\n\r\ndata: a\ndata: b\n\n"));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id.as_deref(), Some("7"));
        assert_eq!(got[0].event, "call_ended");
        assert_eq!(got[0].to_event(), Some(Event::CallEnded { call_id: "c1".into(), outcome: "missed".into() }));
        // The id carries over to later messages without one; the event name does not.
        assert_eq!((got[1].id.as_deref(), got[1].event.as_str(), got[1].data.as_str()), (Some("7"), "message", "a\nb"));
    }

    #[test]
    fn maps_every_known_kind() {
        let msg = |event: &str, data: Value| StreamMessage { id: None, event: event.into(), data: data.to_string() };
        let ringing = msg(
            "call_ringing",
            serde_json::json!({"call": {"id": "c", "caller_number": "+34600", "caller_name": "", "is_vip": true}}),
        );
        assert_eq!(
            ringing.to_event(),
            Some(Event::CallRinging {
                call_id: "c".into(),
                caller_number: "+34600".into(),
                caller_name: None,
                is_vip: true,
                summary: None
            })
        );
        let line =
            msg("transcript_line", serde_json::json!({"call_id": "c", "entry": {"speaker": "AI", "content": "Hi"}}));
        assert_eq!(
            line.to_event(),
            Some(Event::TranscriptLine { call_id: "c".into(), speaker: "AI".into(), content: "Hi".into() })
        );
        let n = msg("notification_changed", serde_json::json!({"total_pending": 4}));
        assert_eq!(n.to_event(), Some(Event::NotificationsChanged { total_pending: 4 }));
        let c = msg("credits_changed", serde_json::json!({"credits_remaining": "12.5", "credits_allocated": 600}));
        assert_eq!(
            c.to_event(),
            Some(Event::CreditsChanged { credits_remaining: 12.5, credits_allocated: Some(600.0) })
        );
        assert_eq!(msg("something_new", serde_json::json!({})).to_event(), None);
        assert_eq!(msg("call_ended", serde_json::json!({})).to_event(), None);
    }
}
