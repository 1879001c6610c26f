//! `GET /v1/notifications/pending` (reference §3.15): what needs the user's attention, in three
//! groups, plus the small endpoints that make items leave the list (email approve/cancel,
//! inbox mark-read) so the list can actually change.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::conditional_json;
use crate::auth::User;
use crate::budget_refusal;
use crate::clock::iso;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::state::{round2, Goal, SharedSim, State as World, DEMO_USER};

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/notifications/pending", get(pending))
        .route("/v1/actions/email/outbox", get(outbox))
        .route("/v1/actions/email/{id}/{action}", post(email_action))
        .route("/v1/messages/inbox", get(inbox))
        .route("/v1/messages/mark-read", post(mark_read))
}

fn attention_goals(st: &World) -> Vec<&Goal> {
    let mut goals: Vec<&Goal> = st
        .goals
        .iter()
        .filter(|g| {
            g.owner == DEMO_USER
                && !g.is_terminal()
                && (g.status == "needs_input" || budget_refusal::is_budget_state(g.status) || g.escalated)
        })
        .collect();
    goals.sort_by_key(|g| std::cmp::Reverse(g.updated_at));
    goals
}

/// (actions, goals, inbox, total) counts; `total_pending` is their sum.
pub fn pending_counts(st: &World) -> (usize, usize, usize, usize) {
    let a = st.emails.iter().filter(|e| e.status == "pending_approval").count();
    let g = attention_goals(st).len();
    let i = st.inbox.iter().filter(|m| m.unread).count();
    (a, g, i, a + g + i)
}

pub fn pending_json(st: &World, now: i64) -> Value {
    let actions: Vec<Value> = st
        .emails
        .iter()
        .filter(|e| e.status == "pending_approval")
        .map(|e| {
            json!({"id": e.id.to_string(), "type": "email_approval", "status": "pending_approval",
                        "summary": format!("Email to {} \"{}\" is waiting for your approval", e.to, e.subject),
                        "created_at": iso(e.created_at)})
        })
        .collect();
    let goals: Vec<Value> = attention_goals(st)
        .into_iter()
        .map(|g| {
            let summary = match g.awaiting {
                _ if budget_refusal::is_budget_state(g.status) => budget_refusal::summary(g),
                crate::state::Awaiting::StepApproval => {
                    format!("Approve the next step: {}", g.current_step_description())
                }
                crate::state::Awaiting::Outcome => g.outcome.clone().unwrap_or_else(|| "Accept the outcome?".into()),
                crate::state::Awaiting::Nothing => format!("Escalated: {}", g.title),
            };
            json!({"id": g.id.to_string(), "type": "goal", "status": g.status, "title": g.title,
                   "summary": summary, "credits_estimated": round2(g.credits_estimated),
                   "created_at": iso(g.updated_at)})
        })
        .collect();
    let inbox: Vec<Value> = st
        .inbox
        .iter()
        .filter(|m| m.unread)
        .map(|m| json!({"id": m.id.to_string(), "type": "message", "channel": m.channel, "from": m.from,
                        "subject": m.subject, "preview": m.preview, "summary": m.preview, "created_at": iso(m.received_at)}))
        .collect();
    let live: Vec<Value> =
        st.inbound.iter().filter(|c| c.owner == DEMO_USER && c.is_live()).map(|c| c.to_json(now)).collect();
    let active_goal =
        st.goals.iter().filter(|g| g.owner == DEMO_USER && g.status == "active").max_by_key(|g| g.updated_at).map(
            |g| {
                json!({"id": g.id.to_string(), "summary": g.title, "status": "in_progress",
                        "current_step_description": g.current_step_description()})
            },
        );
    let (a, g, i, total) = pending_counts(st);
    let mut body = json!({
        "actions": {"count": a, "items": actions},
        "goals": {"count": g, "items": goals},
        "inbox": {"count": i, "items": inbox},
        "total_pending": total,
        "active_goal": active_goal,
        "generated_at": iso(st.notifications_changed_at),
    });
    // The live-calls group is an EXTENSION: production lists the three groups only.
    if !st.production() {
        body["inbound"] = json!({"count": live.len(), "items": live});
    }
    body
}

async fn pending(State(sim): State<SharedSim>, User(_u): User, headers: HeaderMap) -> Response {
    let now = sim.now();
    let (body, production) = {
        let st = sim.lock();
        (pending_json(&st, now), st.production())
    };
    conditional_json(production, &headers, body)
}

async fn outbox(State(sim): State<SharedSim>, User(_u): User) -> Json<Value> {
    let st = sim.lock();
    let emails: Vec<Value> = st
        .emails
        .iter()
        .map(|e| json!({"id": e.id.to_string(), "to": e.to, "subject": e.subject, "status": e.status, "created_at": iso(e.created_at)}))
        .collect();
    Json(json!({"emails": emails, "total": emails.len()}))
}

async fn email_action(
    State(sim): State<SharedSim>,
    User(_u): User,
    Path((id, action)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let new_status = match action.as_str() {
        "approve" => "sent",
        "cancel" => "cancelled",
        _ => return Err(ApiError::not_found("not_found", "There is no such email action.")),
    };
    let now = sim.now();
    let mut st = sim.lock();
    let email = Uuid::parse_str(&id)
        .ok()
        .and_then(|eid| st.emails.iter_mut().find(|e| e.id == eid))
        .ok_or_else(|| ApiError::not_found("email_not_found", "No queued email with this id."))?;
    if email.status != "pending_approval" {
        return Err(ApiError::conflict("email_not_pending", "This email is no longer waiting for approval."));
    }
    email.status = new_status.to_string();
    let body = json!({"success": true, "id": id, "status": new_status});
    if new_status == "sent" {
        st.charge(crate::pricing::EMAIL_PER_EMAIL, "email_send", "Approved email", None, now);
    }
    st.notifications_changed(now);
    Ok(Json(body))
}

async fn inbox(State(sim): State<SharedSim>, User(_u): User) -> Json<Value> {
    let st = sim.lock();
    let messages: Vec<Value> = st
        .inbox
        .iter()
        .map(|m| {
            json!({"id": m.id.to_string(), "from": m.from, "subject": m.subject, "channel": m.channel,
                        "preview": m.preview, "unread": m.unread, "received_at": iso(m.received_at)})
        })
        .collect();
    Json(json!({"messages": messages.clone(), "items": messages, "total": st.inbox.len()}))
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
