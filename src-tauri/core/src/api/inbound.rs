//! `/v1/inbound/*`: calls the AI receptionist screens for the user (reference §3.3).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::calls::Transcript;
use crate::client::{Client, Fetched};
use crate::error::ApiError;
use crate::lenient::{self, open_enum};
use crate::transport::Request;

open_enum!(
    /// Where an inbound call is in its life.
    InboundStatus {
        Active => "active",
        Ringing => "ringing",
        TakenOver => "taken_over",
        Transferred => "transferred",
        Completed => "completed",
        Missed => "missed",
        Rejected => "rejected",
    }
);

impl InboundStatus {
    /// The AI is still on the line: the user can take over, reject or transfer.
    pub fn is_live(&self) -> bool {
        matches!(self, InboundStatus::Active | InboundStatus::Ringing)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionItem {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
}

/// An inbound call (list item or detail).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InboundCall {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub caller_number: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub caller_name: Option<String>,
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub is_vip: bool,
    pub status: InboundStatus,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub created_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub ended_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub duration_seconds: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub summary: Option<String>,
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    pub action_items: Vec<ActionItem>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub phone_number_id: Option<String>,
}

/// `{calls, total}` (or `items`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawInboundList")]
pub struct InboundCallList {
    pub calls: Vec<InboundCall>,
    pub total: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawInboundList {
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    calls: Vec<InboundCall>,
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    items: Vec<InboundCall>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    total: Option<u64>,
}

impl From<RawInboundList> for InboundCallList {
    fn from(r: RawInboundList) -> Self {
        let calls = if r.calls.is_empty() { r.items } else { r.calls };
        Self { calls, total: r.total }
    }
}

/// Filters for `GET /v1/inbound/calls`.
#[derive(Clone, Debug, Default)]
pub struct InboundQuery {
    /// active, completed, missed, rejected.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    pub vip_only: bool,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
}

impl InboundQuery {
    /// The live calls, as the watcher polls them (reference §6).
    pub fn active() -> Self {
        Self { status: Some("active".into()), limit: Some(20), ..Default::default() }
    }
}

/// The answer to takeover / reject / transfer. Undocumented upstream: any 2xx is success, and
/// the fields are filled when the server says more.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallActionResult {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub call_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub target_number: Option<String>,
}

/// One entry of the inbound activity log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Map<String, Value>")]
pub struct InboundEvent {
    pub id: Option<String>,
    /// `type` ?? `event` ?? `kind`.
    pub kind: String,
    pub call_id: Option<String>,
    /// `at` ?? `created_at` ?? `timestamp`.
    pub at: Option<String>,
    /// `data` when present, else the whole entry.
    pub data: Value,
}

impl From<Map<String, Value>> for InboundEvent {
    fn from(m: Map<String, Value>) -> Self {
        let text = |keys: &[&str]| {
            keys.iter().find_map(|k| match m.get(*k) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
        };
        let data = m.get("data").cloned().unwrap_or_else(|| Value::Object(m.clone()));
        let call_id = text(&["call_id"]).or_else(|| data.get("call_id").and_then(Value::as_str).map(str::to_string));
        Self {
            id: text(&["id", "seq"]),
            kind: text(&["type", "event", "kind"]).unwrap_or_default(),
            call_id,
            at: text(&["at", "created_at", "timestamp"]),
            data,
        }
    }
}

/// `{events: [...]}` (or `items`, or a bare list).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InboundEvents {
    pub events: Vec<InboundEvent>,
}

impl<'de> Deserialize<'de> for InboundEvents {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let list = match v {
            Value::Array(_) => v,
            other => ["events", "items"]
                .iter()
                .find_map(|k| other.get(*k).filter(|x| x.is_array()).cloned())
                .unwrap_or(Value::Null),
        };
        Ok(Self { events: lenient::vec_skip_bad(list).map_err(serde::de::Error::custom)? })
    }
}

/// `GET /v1/inbound/stream/info`; undocumented upstream (production answers 404), so the raw
/// answer is kept too.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Value")]
pub struct StreamInfo {
    /// `enabled` ?? `available`.
    pub enabled: bool,
    /// `url` ?? `endpoint` ?? `path`.
    pub url: Option<String>,
    pub format: Option<String>,
    /// How often the server sends a keep-alive on an idle stream, when it says.
    pub heartbeat_secs: Option<u64>,
    /// The newest event id now: a stream opened from here replays nothing older.
    pub last_event_id: Option<String>,
    /// The kinds the stream carries, when listed.
    pub event_types: Vec<String>,
    pub raw: Value,
}

impl From<Value> for StreamInfo {
    fn from(v: Value) -> Self {
        let text = |keys: &[&str]| keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string));
        let enabled = ["enabled", "available"].iter().find_map(|k| v.get(*k).and_then(Value::as_bool)).unwrap_or(false);
        let last_event_id = match v.get("last_event_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let event_types = v
            .get("event_types")
            .and_then(Value::as_array)
            .map_or_else(Vec::new, |types| types.iter().filter_map(Value::as_str).map(str::to_string).collect());
        Self {
            enabled,
            url: text(&["url", "endpoint", "path"]),
            format: text(&["format", "transport", "content_type"]),
            heartbeat_secs: v.get("heartbeat_secs").and_then(Value::as_u64).filter(|s| *s > 0),
            last_event_id,
            event_types,
            raw: v,
        }
    }
}

impl StreamInfo {
    /// How long a stream may stay silent before it counts as dead: three missed heartbeats
    /// when the server says how often it beats, else `fallback`.
    pub fn idle_timeout(&self, fallback: Duration) -> Duration {
        self.heartbeat_secs.map_or(fallback, |s| Duration::from_secs(s.saturating_mul(3)))
    }
}

/// `client.inbound()`.
pub struct Inbound<'c> {
    pub(crate) client: &'c Client,
}

impl Client {
    pub fn inbound(&self) -> Inbound<'_> {
        Inbound { client: self }
    }
}

impl Inbound<'_> {
    pub async fn calls(&self, query: &InboundQuery) -> Result<InboundCallList, ApiError> {
        self.client.json(list_request(query)).await
    }

    /// Conditional variant for the watcher's polling.
    pub async fn calls_if_changed(
        &self,
        query: &InboundQuery,
        etag: Option<&str>,
    ) -> Result<Fetched<InboundCallList>, ApiError> {
        self.client.conditional(list_request(query).if_none_match(etag)).await
    }

    pub async fn call(&self, call_id: &str) -> Result<InboundCall, ApiError> {
        self.client.json(Request::get(&["v1", "inbound", "calls", call_id])).await
    }

    pub async fn transcript(&self, call_id: &str) -> Result<Transcript, ApiError> {
        self.client.json(Request::get(&["v1", "inbound", "calls", call_id, "transcript"])).await
    }

    /// The user picks up. Not retried: a second takeover is not the same as the first.
    pub async fn takeover(&self, call_id: &str) -> Result<CallActionResult, ApiError> {
        self.client.json(Request::post(&["v1", "inbound", "calls", call_id, "takeover"])).await
    }

    /// Ends the screening; `reason` e.g. `user_rejected`.
    pub async fn reject(&self, call_id: &str, reason: Option<&str>) -> Result<CallActionResult, ApiError> {
        let body = match reason {
            Some(r) => json!({ "reason": r }),
            None => json!({}),
        };
        self.client.json(Request::post(&["v1", "inbound", "calls", call_id, "reject"]).json(body)).await
    }

    /// Hands the call to `target_number` (E.164).
    pub async fn transfer(&self, call_id: &str, target_number: &str) -> Result<CallActionResult, ApiError> {
        let req = Request::post(&["v1", "inbound", "calls", call_id, "transfer"])
            .json(json!({ "target_number": target_number }));
        self.client.json(req).await
    }

    /// The activity log as JSON; `date_from`/`date_to` are sent in both spellings (§4 #5).
    pub async fn events(&self, date_from: Option<&str>, date_to: Option<&str>) -> Result<InboundEvents, ApiError> {
        let req = Request::get(&["v1", "inbound", "events"])
            .query_opt("date_from", date_from)
            .query_opt("from", date_from)
            .query_opt("date_to", date_to)
            .query_opt("to", date_to);
        self.client.json(req).await
    }

    pub async fn stream_info(&self) -> Result<StreamInfo, ApiError> {
        self.client.json(Request::get(&["v1", "inbound", "stream", "info"])).await
    }
}

fn list_request(q: &InboundQuery) -> Request {
    Request::get(&["v1", "inbound", "calls"])
        .query_opt("status", q.status.as_deref())
        .query_opt("limit", q.limit)
        .query_opt("offset", q.offset)
        .query_opt("vip_only", q.vip_only.then_some("true"))
        .query_opt("date_from", q.date_from.as_deref())
        .query_opt("date_to", q.date_to.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_call_parses_tolerantly() {
        let c: InboundCall = serde_json::from_value(json!({
            "id": "i1", "caller_number": "+34911222333", "caller_name": null, "is_vip": "true",
            "status": "screening", "ended_at": null, "duration_seconds": 0,
            "action_items": [{"description": "Call back", "status": "pending"}, "junk"], "extra": {}
        }))
        .unwrap();
        assert_eq!(c.status, InboundStatus::Other("screening".into()));
        assert!(c.is_vip);
        assert_eq!(c.caller_name, None);
        assert_eq!(c.action_items.len(), 1);
        let l: InboundCallList =
            serde_json::from_value(json!({"calls": [{"id": "a", "status": "active"}], "total": 1})).unwrap();
        assert!(l.calls[0].status.is_live());
    }

    #[test]
    fn events_and_stream_info() {
        let e: InboundEvents = serde_json::from_value(json!({"events": [
            {"id": 7, "type": "call_ringing", "at": "2026-01-01T00:00:00Z", "data": {"call_id": "c"}},
            {"event": "call_ended", "call_id": "d"}
        ]}))
        .unwrap();
        assert_eq!(e.events[0].id.as_deref(), Some("7"));
        assert_eq!(e.events[0].call_id.as_deref(), Some("c"));
        assert_eq!((e.events[1].kind.as_str(), e.events[1].call_id.as_deref()), ("call_ended", Some("d")));
        let s: StreamInfo =
            serde_json::from_value(json!({"available": true, "endpoint": "/v1/inbound/events"})).unwrap();
        assert!(s.enabled);
        assert_eq!(s.url.as_deref(), Some("/v1/inbound/events"));
        assert_eq!((s.heartbeat_secs, s.last_event_id.as_deref()), (None, None));
        assert_eq!(s.idle_timeout(Duration::from_secs(45)), Duration::from_secs(45));
        let s: StreamInfo = serde_json::from_value(json!({"enabled": true, "heartbeat_secs": 15,
            "last_event_id": 42, "event_types": ["call_ringing", 7]}))
        .unwrap();
        assert_eq!(s.idle_timeout(Duration::from_secs(1)), Duration::from_secs(45));
        assert_eq!((s.last_event_id.as_deref(), s.event_types), (Some("42"), vec!["call_ringing".to_string()]));
    }
}
