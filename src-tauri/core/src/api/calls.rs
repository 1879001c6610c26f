//! `/v1/calls`: outbound calls KallyAI makes for the user (reference §3.2).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::{Client, Fetched};
use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::lenient::{self, open_enum};
use crate::transport::Request;

open_enum!(
    /// Outcome of an outbound call.
    CallStatus {
        Success => "success",
        NoAnswer => "no_answer",
        Busy => "busy",
        Failed => "failed",
        Voicemail => "voicemail",
        Cancelled => "cancelled",
        Terminated => "terminated",
        InProgress => "in_progress",
        Queued => "queued",
    }
);

impl CallStatus {
    /// Whether the call is known to be still going: queued, in progress, or an unknown status
    /// whose name says so (`ringing`, `dialing`, `pending`, ...). A missing status is not.
    pub fn is_going(&self) -> bool {
        match self {
            CallStatus::InProgress | CallStatus::Queued => true,
            CallStatus::Other(s) => {
                ["progress", "queue", "ring", "dial", "pending", "initiat", "schedul"].iter().any(|w| s.contains(w))
            }
            _ => false,
        }
    }
}

/// A call as the API returns it. Fields that exist both nested (`submission.*`,
/// `metadata.*`) and top-level (MCP's `to`, `created_at`, ...) are merged here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawCall")]
pub struct Call {
    /// `call_id` ?? `id`.
    pub id: String,
    pub status: CallStatus,
    /// Number called: `to` ?? `submission.respondent_phone`.
    pub to: Option<String>,
    pub business_name: Option<String>,
    pub task_description: Option<String>,
    /// `result_summary` ?? `highlights`.
    pub result_summary: Option<String>,
    pub highlights: Option<String>,
    pub next_steps: Option<String>,
    pub duration_seconds: Option<f64>,
    pub credits_used: Option<f64>,
    /// `metadata.created_at` ?? `created_at`.
    pub created_at: Option<String>,
    pub ended_at: Option<String>,
    /// The submission echo, as sent by the server.
    pub submission: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawCall {
    #[serde(deserialize_with = "lenient::opt_string")]
    call_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    status: CallStatus,
    #[serde(deserialize_with = "lenient::opt_string")]
    to: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    business_name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    result_summary: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    highlights: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    next_steps: Option<String>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    duration_seconds: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    credits_used: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_string")]
    created_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    ended_at: Option<String>,
    metadata: Option<Value>,
    submission: Option<Value>,
}

fn str_at(v: &Option<Value>, key: &str) -> Option<String> {
    v.as_ref().and_then(|v| v.get(key)).and_then(Value::as_str).map(str::to_string)
}

impl From<RawCall> for Call {
    fn from(r: RawCall) -> Self {
        Self {
            id: r.call_id.or(r.id).unwrap_or_default(),
            status: r.status,
            to: r.to.or_else(|| str_at(&r.submission, "respondent_phone")),
            business_name: r.business_name.or_else(|| str_at(&r.submission, "business_name")),
            task_description: str_at(&r.submission, "task_description"),
            result_summary: r.result_summary.or_else(|| r.highlights.clone()),
            highlights: r.highlights,
            next_steps: r.next_steps,
            duration_seconds: r.duration_seconds,
            credits_used: r.credits_used,
            created_at: str_at(&r.metadata, "created_at").or(r.created_at),
            ended_at: str_at(&r.metadata, "ended_at").or(r.ended_at),
            submission: r.submission.filter(Value::is_object),
        }
    }
}

/// `{calls, total}` or `{items, total}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawCallList")]
pub struct CallList {
    pub calls: Vec<Call>,
    pub total: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawCallList {
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    calls: Vec<Call>,
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    items: Vec<Call>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    total: Option<u64>,
}

impl From<RawCallList> for CallList {
    fn from(r: RawCallList) -> Self {
        let calls = if r.calls.is_empty() { r.items } else { r.calls };
        Self { calls, total: r.total }
    }
}

/// One transcript line; `speaker` ?? `role`, `content` ?? `text`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawEntry")]
pub struct TranscriptEntry {
    pub speaker: String,
    pub content: String,
    pub timestamp: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawEntry {
    #[serde(deserialize_with = "lenient::opt_string")]
    speaker: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    role: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    content: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    text: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    timestamp: Option<String>,
}

impl From<RawEntry> for TranscriptEntry {
    fn from(r: RawEntry) -> Self {
        Self {
            speaker: r.speaker.or(r.role).unwrap_or_default(),
            content: r.content.or(r.text).unwrap_or_default(),
            timestamp: r.timestamp,
        }
    }
}

/// `{entries: [...]}`, `{transcript: [...]}` or a bare list (reference §4 #11).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transcript {
    pub entries: Vec<TranscriptEntry>,
}

impl<'de> Deserialize<'de> for Transcript {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let list = match v {
            Value::Array(_) => v,
            other => ["entries", "transcript", "items"]
                .iter()
                .find_map(|k| other.get(*k).filter(|x| x.is_array()).cloned())
                .unwrap_or(Value::Null),
        };
        let entries = lenient::vec_skip_bad(list).map_err(serde::de::Error::custom)?;
        Ok(Transcript { entries })
    }
}

/// What to call about (`Submission` in the reference). Optional fields are left out when unset.
/// Read back too: a call being placed is kept on disk until its outcome is known.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Submission {
    /// restaurant, clinic, hotel, general.
    pub task_category: String,
    pub task_description: String,
    /// E.164, e.g. `+34911222333`.
    pub respondent_phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_preference_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_urgent: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_instructions: Vec<String>,
}

/// The body of `POST /v1/calls`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewCall {
    pub submission: Submission,
    /// IANA zone, e.g. `Europe/Madrid`.
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// `client.calls()`.
pub struct Calls<'c> {
    client: &'c Client,
}

impl Client {
    pub fn calls(&self) -> Calls<'_> {
        Calls { client: self }
    }
}

impl Calls<'_> {
    pub async fn list(&self, limit: Option<u32>, offset: Option<u32>) -> Result<CallList, ApiError> {
        self.client.json(list_request(limit, offset)).await
    }

    /// Conditional variant for polling.
    pub async fn list_if_changed(
        &self,
        limit: Option<u32>,
        offset: Option<u32>,
        etag: Option<&str>,
    ) -> Result<Fetched<CallList>, ApiError> {
        self.client.conditional(list_request(limit, offset).if_none_match(etag)).await
    }

    pub async fn get(&self, call_id: &str) -> Result<Call, ApiError> {
        self.client.json(Request::get(&["v1", "calls", call_id])).await
    }

    pub async fn transcript(&self, call_id: &str) -> Result<Transcript, ApiError> {
        self.client.json(Request::get(&["v1", "calls", call_id, "transcript"])).await
    }

    /// Places a call (blocks until it ends). A fresh `Idempotency-Key` covers this attempt and
    /// its retries, so a retry after a dropped connection cannot place a second call.
    pub async fn create(&self, call: &NewCall) -> Result<Call, ApiError> {
        self.create_with_key(call, IdempotencyKey::new()).await
    }

    /// Places a call under a caller-kept key (for an outbox that survives restarts).
    pub async fn create_with_key(&self, call: &NewCall, key: IdempotencyKey) -> Result<Call, ApiError> {
        let body = serde_json::to_value(call).unwrap_or_else(|_| json!({}));
        self.client.json(Request::post(&["v1", "calls"]).json(body).idempotent(key)).await
    }
}

fn list_request(limit: Option<u32>, offset: Option<u32>) -> Request {
    Request::get(&["v1", "calls"]).query_opt("limit", limit).query_opt("offset", offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_top_level_call_fields() {
        let nested: Call = serde_json::from_value(json!({
            "call_id": "c1", "status": "success", "highlights": "Booked for 8pm",
            "duration_seconds": "95.5", "credits_used": 3,
            "metadata": {"created_at": "2026-02-13T10:00:00Z", "ended_at": "2026-02-13T10:02:00Z"},
            "submission": {"respondent_phone": "+34911222333", "business_name": "Nobu", "task_description": "Book"}
        }))
        .unwrap();
        assert_eq!(nested.id, "c1");
        assert_eq!(nested.to.as_deref(), Some("+34911222333"));
        assert_eq!(nested.business_name.as_deref(), Some("Nobu"));
        assert_eq!(nested.created_at.as_deref(), Some("2026-02-13T10:00:00Z"));
        assert_eq!(nested.result_summary.as_deref(), Some("Booked for 8pm"));
        assert_eq!(nested.duration_seconds, Some(95.5));
        let flat: Call = serde_json::from_value(json!({
            "id": "c2", "status": "on_hold", "to": "+1555", "business_name": "Clinic",
            "created_at": "2026-02-13T11:00:00Z", "result_summary": "Left a message", "highlights": ["a", "b"]
        }))
        .unwrap();
        assert_eq!(flat.id, "c2");
        assert_eq!(flat.status, CallStatus::Other("on_hold".into()));
        assert_eq!(flat.to.as_deref(), Some("+1555"));
        assert_eq!(flat.created_at.as_deref(), Some("2026-02-13T11:00:00Z"));
        assert_eq!(flat.result_summary.as_deref(), Some("Left a message"));
        assert_eq!(flat.highlights.as_deref(), Some("a\nb"));
    }

    #[test]
    fn calls_or_items() {
        let l: CallList = serde_json::from_value(json!({"items": [{"call_id": "a"}], "total": "1"})).unwrap();
        assert_eq!((l.calls.len(), l.total), (1, Some(1)));
        let l: CallList =
            serde_json::from_value(json!({"calls": [{"call_id": "a"}, 5], "items": [{"call_id": "a"}]})).unwrap();
        assert_eq!(l.calls.len(), 1);
    }

    #[test]
    fn transcript_forms() {
        for v in [
            json!({"entries": [{"speaker": "AI", "content": "Hola", "timestamp": "00:00:01"}]}),
            json!({"transcript": [{"role": "AI", "text": "Hola"}]}),
            json!([{"speaker": "AI", "text": "Hola"}]),
        ] {
            let t: Transcript = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(t.entries.len(), 1, "{v}");
            assert_eq!((t.entries[0].speaker.as_str(), t.entries[0].content.as_str()), ("AI", "Hola"));
        }
    }

    #[test]
    fn submission_omits_unset_fields() {
        let v = serde_json::to_value(NewCall {
            submission: Submission {
                task_category: "general".into(),
                task_description: "Ask about opening hours".into(),
                respondent_phone: "+34911222333".into(),
                ..Default::default()
            },
            timezone: "Europe/Madrid".into(),
            session_id: None,
        })
        .unwrap();
        assert_eq!(v["submission"].as_object().unwrap().len(), 3);
        assert!(v.get("session_id").is_none());
    }
}
