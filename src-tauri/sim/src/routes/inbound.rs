//! Inbound calls taken by the AI receptionist (reference §3.3), and the live event stream
//! (EXTENSION: `GET /v1/inbound/events` as Server-Sent Events with `Last-Event-ID` resume).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{bool_param, conditional_json, date_param, int_param, page, Params};
use crate::auth::User;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::inbound_calls;
use crate::state::{Event, InboundCall, SharedSim, State as World};

pub const EVENT_TYPES: [&str; 5] =
    ["call_ringing", "transcript_line", "call_ended", "notification_changed", "credits_changed"];

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/inbound/calls", get(list))
        .route("/v1/inbound/calls/summary", get(summary))
        .route("/v1/inbound/calls/{id}", get(get_one))
        .route("/v1/inbound/calls/{id}/recording", get(recording))
        .route("/v1/inbound/calls/{id}/transcript", get(transcript))
        .route("/v1/inbound/calls/{id}/takeover", post(takeover))
        .route("/v1/inbound/calls/{id}/reject", post(reject))
        .route("/v1/inbound/calls/{id}/transfer", post(transfer))
        .route("/v1/inbound/events", get(events))
        .route("/v1/inbound/stream/info", get(stream_info))
}

async fn list(
    State(sim): State<SharedSim>,
    User(user): User,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> ApiResult<Response> {
    let limit = int_param(&q, "limit", 20, 1, 100)?;
    let offset = int_param(&q, "offset", 0, 0, i64::MAX)?;
    let from = date_param(&q, &["date_from", "from"])?;
    let to = date_param(&q, &["date_to", "to"])?;
    let vip_only = bool_param(&q, "vip_only");
    let status = q.get("status").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let now = sim.now();
    let st = sim.lock();
    let calls: Vec<Value> = st
        .inbound
        .iter()
        .filter(|c| c.owner == user)
        .filter(|c| status.as_deref().is_none_or(|s| s.split(',').any(|s| s.trim() == c.status)))
        .filter(|c| !vip_only || c.is_vip)
        .filter(|c| from.is_none_or(|f| c.created_at >= f))
        .filter(|c| to.is_none_or(|t| c.created_at <= t))
        .map(|c| c.to_json(now))
        .collect();
    let items = page(&calls, limit, offset);
    Ok(conditional_json(
        st.production(),
        &headers,
        json!({"calls": items.clone(), "items": items, "total": calls.len()}),
    ))
}

/// Totals for `inbound summary` (field names undocumented; these are the sim's choice).
async fn summary(State(sim): State<SharedSim>, User(user): User) -> Json<Value> {
    let now = sim.now();
    let st = sim.lock();
    let mine: Vec<&InboundCall> = st.inbound.iter().filter(|c| c.owner == user).collect();
    let count = |s: &str| mine.iter().filter(|c| c.status == s).count();
    let ended: Vec<i64> = mine.iter().filter(|c| !c.is_live()).map(|c| c.duration_seconds(now)).collect();
    let average = if ended.is_empty() { 0.0 } else { ended.iter().sum::<i64>() as f64 / ended.len() as f64 };
    Json(
        json!({"total": mine.len(), "active": count("active"), "completed": count("completed"), "missed": count("missed"),
                "rejected": count("rejected"), "taken_over": count("taken_over"), "transferred": count("transferred"),
                "vip": mine.iter().filter(|c| c.is_vip).count(), "average_duration_seconds": (average * 10.0).round() / 10.0}),
    )
}

async fn recording(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let now = sim.now();
    let st = sim.lock();
    let call = find(&st, user, &id)?;
    if call.is_live() || call.script.is_empty() {
        return Err(ApiError::not_found("recording_not_found", "This call has no recording (yet)."));
    }
    Ok(Json(json!({"url": format!("https://recordings.kallyai.example/inbound/{id}.mp3"),
                   "duration_seconds": call.duration_seconds(now), "format": "mp3"})))
}

fn find<'a>(st: &'a World, user: Uuid, id: &str) -> ApiResult<&'a InboundCall> {
    Uuid::parse_str(id)
        .ok()
        .and_then(|cid| st.inbound.iter().find(|c| c.id == cid && c.owner == user))
        .ok_or_else(|| ApiError::not_found("call_not_found", "No inbound call with this id."))
}

async fn get_one(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let now = sim.now();
    Ok(Json(find(&sim.lock(), user, &id)?.to_json(now)))
}

async fn transcript(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let call = find(&st, user, &id)?;
    if call.script.is_empty() {
        return Err(ApiError::not_found("transcript_not_found", "This call has no transcript."));
    }
    let entries: Vec<Value> = (0..call.shown).map(|i| call.line(i).to_json()).collect();
    Ok(Json(json!({"call_id": id, "status": call.status, "live": call.is_live(), "entries": entries})))
}

async fn takeover(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let now = sim.now();
    Ok(Json(inbound_calls::takeover(&mut sim.lock(), user, &id, now)?))
}

#[derive(Deserialize)]
struct RejectBody {
    #[serde(default)]
    reason: Option<String>,
}

async fn reject(
    State(sim): State<SharedSim>,
    User(user): User,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RejectBody>,
) -> ApiResult<Json<Value>> {
    let now = sim.now();
    Ok(Json(inbound_calls::reject(&mut sim.lock(), user, &id, b.reason, now)?))
}

#[derive(Deserialize)]
struct TransferBody {
    #[serde(default, alias = "to")]
    target_number: Option<String>,
}

async fn transfer(
    State(sim): State<SharedSim>,
    User(user): User,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<TransferBody>,
) -> ApiResult<Json<Value>> {
    let target = b.target_number.unwrap_or_default();
    let digits = target.strip_prefix('+').unwrap_or("");
    if !(2..=15).contains(&digits.len()) || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::validation("`target_number` must be an E.164 number like +34911222333.")
            .detail("field", "target_number"));
    }
    let now = sim.now();
    Ok(Json(inbound_calls::transfer(&mut sim.lock(), user, &id, target, now)?))
}

fn wants_sse(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/event-stream"))
}

fn last_event_id(headers: &HeaderMap, q: &Params) -> u64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(q.get("last_event_id").map(String::as_str))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

async fn events(
    State(sim): State<SharedSim>,
    User(_user): User,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> ApiResult<Response> {
    // Production documents only the JSON activity log here, whatever the client accepts.
    if wants_sse(&headers) && !sim.production() && sim.lock().stream_sse {
        if !sim.lock().stream_enabled {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "stream_disabled",
                "The live event stream is turned off; poll instead.",
            )
            .header(header::RETRY_AFTER, "30"));
        }
        return Ok(sse(sim, last_event_id(&headers, &q)).into_response());
    }
    let limit = int_param(&q, "limit", 100, 1, 1000)?;
    let from = date_param(&q, &["date_from", "from"])?;
    let to = date_param(&q, &["date_to", "to"])?;
    let after = last_event_id(&headers, &q).max(int_param(&q, "after", 0, 0, i64::MAX)? as u64);
    let kind = q.get("type").cloned();
    let st = sim.lock();
    let matching: Vec<Value> = st
        .events
        .iter()
        .filter(|e| e.seq > after)
        .filter(|e| from.is_none_or(|f| e.at >= f) && to.is_none_or(|t| e.at <= t))
        .filter(|e| kind.as_deref().is_none_or(|k| k == e.kind))
        .map(Event::to_json)
        .collect();
    let total = matching.len();
    let events: Vec<Value> = matching.into_iter().skip(total.saturating_sub(limit as usize)).collect();
    Ok(Json(json!({"events": events.clone(), "items": events, "total": total,
                   "last_event_id": (st.next_event_seq - 1).to_string()}))
    .into_response())
}

/// Replays what the client missed after `after`, then follows live events. Ends when the stream
/// is switched off or the server shuts down.
fn sse(sim: SharedSim, after: u64) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let (rx, backlog, heartbeat) = {
        let st = sim.lock();
        let rx = st.events_tx.subscribe();
        let backlog: Vec<Event> = st.events.iter().filter(|e| e.seq > after).cloned().collect();
        (rx, backlog, st.stream_heartbeat_secs)
    };
    let last = backlog.last().map_or(after, |e| e.seq);
    struct Cursor {
        sim: SharedSim,
        rx: broadcast::Receiver<Event>,
        backlog: std::vec::IntoIter<Event>,
        last: u64,
        shutdown: tokio::sync::watch::Receiver<bool>,
    }
    let shutdown = sim.shutdown.clone();
    let cursor = Cursor { sim, rx, backlog: backlog.into_iter(), last, shutdown };
    let stream = stream::unfold(cursor, |mut c| async move {
        if let Some(ev) = c.backlog.next() {
            return Some((Ok(to_sse(&ev)), c));
        }
        loop {
            if *c.shutdown.borrow() || !c.sim.lock().stream_serves() {
                return None;
            }
            let next = tokio::select! {
                r = c.rx.recv() => r,
                _ = c.shutdown.changed() => return None,
            };
            match next {
                Ok(ev) if ev.seq == 0 => continue,
                Ok(ev) if ev.seq > c.last => {
                    c.last = ev.seq;
                    return Some((Ok(to_sse(&ev)), c));
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Too slow: refill from the log so nothing is skipped.
                    let missed: Vec<Event> = c.sim.lock().events.iter().filter(|e| e.seq > c.last).cloned().collect();
                    c.backlog = missed.into_iter();
                    if let Some(ev) = c.backlog.next() {
                        c.last = ev.seq;
                        return Some((Ok(to_sse(&ev)), c));
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(heartbeat)))
}

fn to_sse(ev: &Event) -> SseEvent {
    SseEvent::default().id(ev.seq.to_string()).event(ev.kind).data(ev.to_json().to_string())
}

async fn stream_info(State(sim): State<SharedSim>, User(_user): User, headers: HeaderMap) -> Json<Value> {
    let st = sim.lock();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    Json(json!({
        "enabled": st.stream_enabled,
        "transport": "sse",
        "url": format!("http://{host}/v1/inbound/events"),
        "path": "/v1/inbound/events",
        "accept": "text/event-stream",
        "event_types": EVENT_TYPES,
        "resume": "Last-Event-ID",
        "heartbeat_secs": st.stream_heartbeat_secs,
        "last_event_id": (st.next_event_seq - 1).to_string(),
        "extension": true,
    }))
}
