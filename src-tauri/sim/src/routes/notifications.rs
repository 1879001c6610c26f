//! `GET /v1/notifications/pending` (reference §3.15): what needs the user's attention, in three
//! groups. Items leave the list where they are handled: email approve/cancel (`routes::actions`),
//! mark-read (`routes::messages`), goal actions and answers (`routes::coordination`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::conditional_json;
use crate::auth::User;
use crate::budget_refusal;
use crate::clock::iso;
use crate::state::{round2, Awaiting, Goal, InboxMessage, SharedSim, State as World, DEMO_USER};

pub fn router() -> Router<SharedSim> {
    Router::new().route("/v1/notifications/pending", get(pending))
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

/// Received messages not read yet, newest first.
fn unread(st: &World) -> Vec<&InboxMessage> {
    let mut found: Vec<&InboxMessage> = st.inbox.iter().filter(|m| m.unread && !m.outgoing).collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.received_at));
    found
}

/// (actions, goals, inbox, total) counts; `total_pending` is their sum.
pub fn pending_counts(st: &World) -> (usize, usize, usize, usize) {
    let a = st.emails.iter().filter(|e| e.status == "pending_approval").count();
    let g = attention_goals(st).len();
    let i = unread(st).len();
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
                Awaiting::StepApproval => format!("Approve the next step: {}", g.current_step_description()),
                Awaiting::Outcome => g.outcome.clone().unwrap_or_else(|| "Accept the outcome?".into()),
                Awaiting::Question => g.question.clone().unwrap_or_else(|| format!("{} needs an answer", g.title)),
                Awaiting::Nothing => format!("Escalated: {}", g.title),
            };
            json!({"id": g.id.to_string(), "type": "goal", "status": g.status, "title": g.title,
                   "summary": summary, "awaiting": g.awaiting.as_json(), "question": g.question,
                   "conversation_id": g.conversation_id.map(|c| c.to_string()),
                   "credits_estimated": round2(g.credits_estimated), "created_at": iso(g.updated_at)})
        })
        .collect();
    let inbox: Vec<Value> = unread(st)
        .into_iter()
        .map(|m| json!({"id": m.id.to_string(), "type": "message", "channel": m.channel, "from": m.from,
                        "subject": m.subject, "preview": m.preview, "summary": m.preview, "created_at": iso(m.received_at),
                        "conversation_id": m.conversation_id.to_string()}))
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
