//! The unified inbox (reference §3.6): the list, one message in full, its thread, mark-read.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{bool_param, int_param, page, Params};
use crate::auth::User;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::state::{InboxMessage, SharedSim};

/// The `channel` values of `GET /v1/messages/inbox`.
pub const CHANNELS: [&str; 4] = ["email", "sms", "call", "chat"];

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/messages/inbox", get(inbox))
        .route("/v1/messages/inbox/{id}", get(message))
        .route("/v1/messages/conversation/{id}", get(conversation))
        .route("/v1/messages/mark-read", post(mark_read))
}

/// `?channel`, `?unread=true`, `?limit`, `?offset`: received messages, newest first.
async fn inbox(State(sim): State<SharedSim>, User(_u): User, Query(q): Query<Params>) -> ApiResult<Json<Value>> {
    let limit = int_param(&q, "limit", 50, 1, 200)?;
    let offset = int_param(&q, "offset", 0, 0, i64::MAX)?;
    let channel = q.get("channel").map(|c| c.trim()).filter(|c| !c.is_empty());
    if let Some(channel) = channel {
        if !CHANNELS.contains(&channel) {
            return Err(ApiError::validation(format!("`channel` must be one of {}.", CHANNELS.join(", ")))
                .detail("field", "channel"));
        }
    }
    let unread_only = bool_param(&q, "unread");
    let st = sim.lock();
    let mut found: Vec<&InboxMessage> = st
        .inbox
        .iter()
        .filter(|m| !m.outgoing && (!unread_only || m.unread) && channel.is_none_or(|c| m.channel == c))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.received_at));
    let all: Vec<Value> = found.iter().map(|m| m.list_json()).collect();
    let items = page(&all, limit, offset);
    Ok(Json(json!({"messages": items.clone(), "items": items, "total": all.len()})))
}

/// One message in full, a received one or one the user sent in a thread.
async fn message(State(sim): State<SharedSim>, User(_u): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    Uuid::parse_str(&id)
        .ok()
        .and_then(|mid| st.inbox.iter().find(|m| m.id == mid))
        .map(|m| Json(m.full_json()))
        .ok_or_else(|| ApiError::not_found("message_not_found", "No message with this id."))
}

/// A thread, both directions, oldest first.
async fn conversation(
    State(sim): State<SharedSim>,
    User(_u): User,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> ApiResult<Json<Value>> {
    let limit = int_param(&q, "limit", 100, 1, 200)?;
    let offset = int_param(&q, "offset", 0, 0, i64::MAX)?;
    let st = sim.lock();
    let thread = Uuid::parse_str(&id).ok();
    let mut found: Vec<&InboxMessage> = st.inbox.iter().filter(|m| Some(m.conversation_id) == thread).collect();
    if found.is_empty() {
        return Err(ApiError::not_found("conversation_not_found", "No conversation with this id."));
    }
    found.sort_by_key(|m| m.received_at);
    let all: Vec<Value> = found.iter().map(|m| m.full_json()).collect();
    let items = page(&all, limit, offset);
    Ok(Json(json!({"conversation_id": id, "messages": items.clone(), "items": items, "total": all.len()})))
}

#[derive(Deserialize)]
struct MarkRead {
    message_ids: Vec<String>,
}

async fn mark_read(State(sim): State<SharedSim>, User(_u): User, JsonBody(req): JsonBody<MarkRead>) -> Json<Value> {
    let now = sim.now();
    let mut st = sim.lock();
    let mut marked = 0;
    for m in st.inbox.iter_mut().filter(|m| m.unread && req.message_ids.contains(&m.id.to_string())) {
        m.unread = false;
        marked += 1;
    }
    if marked > 0 {
        st.notifications_changed(now);
    }
    Json(json!({"success": true, "marked": marked}))
}
