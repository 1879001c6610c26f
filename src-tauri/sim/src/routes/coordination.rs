//! Coordination (reference §3.1): the assistant conversation and its goals.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{int_param, page, Params};
use crate::assistant::{classify, plan as plan_for, Intent};
use crate::auth::User;
use crate::budget_refusal;
use crate::clock::iso;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::idempotency::{self, replayed};
use crate::state::{round2, Awaiting, ChatMessage, Conversation, Goal, SharedSim, State as World, Step};

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/coordination/message", post(message))
        .route("/v1/coordination/history", get(history))
        .route("/v1/coordination/conversations", get(list_conversations).post(create_conversation))
        .route("/v1/coordination/goals", get(list_goals))
        .route("/v1/coordination/goals/batch-archive", post(batch_archive))
        .route("/v1/coordination/goals/{id}", get(get_goal))
        .route("/v1/coordination/goals/{id}/tree", get(goal_tree))
        .route("/v1/coordination/goals/{id}/budget", get(goal_budget))
        .route("/v1/coordination/goals/{id}/{action}", post(goal_action))
}

#[derive(Deserialize)]
struct MessageRequest {
    message: String,
    #[serde(default)]
    conversation_id: Option<String>,
}

const MAX_MESSAGE_CHARS: usize = 4000;
pub const UPGRADE_URL: &str = "https://kallyai.com/pricing";

fn new_conversation(st: &mut World, user: Uuid, title: &str, now: i64) -> Uuid {
    let id = Uuid::new_v4();
    st.conversations.push(Conversation {
        id,
        owner: user,
        title: title.to_string(),
        created_at: now,
        updated_at: now,
        messages: Vec::new(),
    });
    id
}

async fn message(
    State(sim): State<SharedSim>,
    User(user): User,
    headers: HeaderMap,
    JsonBody(req): JsonBody<MessageRequest>,
) -> ApiResult<Response> {
    let key = idempotency::key(&sim, &headers)?;
    let text = req.message.trim();
    if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::validation(format!("`message` must be 1 to {MAX_MESSAGE_CHARS} characters."))
            .detail("field", "message"));
    }
    let now = sim.now();
    let mut st = sim.lock();
    if let Some(key) = &key {
        if let Some((status, body)) = st.idempotent_answer("message", key, now) {
            return Ok(replayed(status, body));
        }
    }
    let conversation_id = match req.conversation_id.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => Uuid::parse_str(raw)
            .ok()
            .filter(|id| st.conversations.iter().any(|c| c.id == *id && c.owner == user))
            .ok_or_else(|| ApiError::not_found("conversation_not_found", "No conversation with this id."))?,
        None => {
            let title: String = text.chars().take(48).collect();
            new_conversation(&mut st, user, &title, now)
        }
    };
    // A message in the conversation of a goal that asked a question answers it.
    if let Some(goal) = crate::goals::asking_in(&st, user, conversation_id) {
        let body = answer(&mut st, goal, conversation_id, text, now);
        if let Some(key) = key {
            st.remember_answer("message", key, 200, body.clone(), now);
        }
        return Ok(Json(body).into_response());
    }
    let intent = classify(text);
    let mut plan = plan_for(intent, text);
    let estimate: f64 = plan.steps.iter().map(|s| s.cost).sum();
    let remaining = st.credits.remaining;
    if remaining <= 0.0 || remaining < estimate {
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "quota_exceeded",
            "You are out of credits: top up or upgrade your plan.",
        )
        .detail("credits_remaining", round2(remaining))
        .detail("credits_required", round2(estimate))
        .detail("upgrade_url", UPGRADE_URL));
    }
    // A refusal set by the control API: the goal is created but waits, nothing is charged.
    if let Some(refusal) = st.next_refusal.take() {
        // An ask that would create no goal still gets one: a refusal is about a goal's budget.
        let goal_plan = if intent == Intent::Question { plan_for(Intent::Search, text) } else { plan };
        let intent = if intent == Intent::Question { Intent::Search } else { intent };
        let mut goal = new_goal(user, conversation_id, text, intent, goal_plan.title, goal_plan.steps, now);
        goal.status = refusal.code;
        goal.credits_estimated = round2(refusal.credits_estimated);
        let error = budget_refusal::refused(&goal);
        let goal_id = goal.id;
        st.goals.push(goal);
        if let Some(c) = st.conversations.iter_mut().find(|c| c.id == conversation_id) {
            let said = |role, content: String| ChatMessage {
                id: Uuid::new_v4(),
                role,
                content,
                at: now,
                goal_id: Some(goal_id),
            };
            c.messages.push(said("user", text.to_string()));
            c.messages.push(said("assistant", error.message.clone()));
            c.updated_at = now;
        }
        st.notifications_changed(now);
        return Err(error);
    }
    // A canned reply from the control API replaces the assistant's words (the plan stays).
    if let Some(canned) = st.next_reply.take() {
        plan.reply = canned;
    }
    let mut goal_id = None;
    let mut credits_used = 0.0;
    let mut goal_completed = false;
    if intent != Intent::Question {
        let goal = new_goal(user, conversation_id, text, intent, plan.title.clone(), plan.steps.clone(), now);
        let id = goal.id;
        st.goals.push(goal);
        crate::goals::advance_all(&mut st, now);
        if let Some(g) = st.goals.iter().find(|g| g.id == id) {
            credits_used = round2(g.credits_used);
            goal_completed = g.status == "completed";
        }
        goal_id = Some(id);
        st.notifications_changed(now);
    }
    let message_id = Uuid::new_v4();
    if let Some(c) = st.conversations.iter_mut().find(|c| c.id == conversation_id) {
        c.messages.push(ChatMessage { id: Uuid::new_v4(), role: "user", content: text.to_string(), at: now, goal_id });
        c.messages.push(ChatMessage {
            id: message_id,
            role: "assistant",
            content: plan.reply.clone(),
            at: now,
            goal_id,
        });
        c.updated_at = now;
    }
    let body = json!({
        "response": plan.reply, "message": plan.reply,
        "goal_id": goal_id.map(|g| g.to_string()),
        "conversation_id": conversation_id.to_string(),
        "message_id": message_id.to_string(),
        "intent": intent.as_str(),
        "actions_taken": plan.actions_taken,
        "triggered_actions": [],
        "suggestions": plan.suggestions,
        "credits_used": credits_used,
        "goal_completed": goal_completed,
    });
    if let Some(key) = key {
        st.remember_answer("message", key, 200, body.clone(), now);
    }
    Ok(Json(body).into_response())
}

/// Answers goal `goal`'s open question with `text`: the goal runs again, the conversation keeps
/// the answer and the assistant's reply, and the reply names the goal. Nothing is estimated or
/// refused: the goal was accepted when it was asked for.
fn answer(st: &mut World, goal: usize, conversation_id: Uuid, text: &str, now: i64) -> Value {
    let used_before = st.goals[goal].credits_used;
    let (question, next_step) = crate::goals::answer_question(st, goal, now);
    let canned = st.next_reply.take();
    let reply = canned.unwrap_or_else(|| crate::assistant::reply_to_answer(&question, text, next_step.as_deref()));
    let g = &st.goals[goal];
    let (goal_id, intent, goal_completed) = (g.id, g.intent, g.status == "completed");
    let credits_used = round2(g.credits_used - used_before);
    let message_id = Uuid::new_v4();
    if let Some(c) = st.conversations.iter_mut().find(|c| c.id == conversation_id) {
        let said = |id, role, content: &str| ChatMessage {
            id,
            role,
            content: content.to_string(),
            at: now,
            goal_id: Some(goal_id),
        };
        c.messages.push(said(Uuid::new_v4(), "user", text));
        c.messages.push(said(message_id, "assistant", &reply));
        c.updated_at = now;
    }
    json!({
        "response": reply, "message": reply,
        "goal_id": goal_id.to_string(),
        "conversation_id": conversation_id.to_string(),
        "message_id": message_id.to_string(),
        "intent": intent,
        "actions_taken": ["question_answered", "goal_resumed"],
        "triggered_actions": [],
        "suggestions": ["Show the goal", "Cancel the goal"],
        "credits_used": credits_used,
        "goal_completed": goal_completed,
    })
}

/// A new `active` goal of an ask, estimated at the sum of its steps' costs.
fn new_goal(
    user: Uuid,
    conversation_id: Uuid,
    text: &str,
    intent: Intent,
    title: String,
    steps: Vec<Step>,
    now: i64,
) -> Goal {
    Goal {
        id: Uuid::new_v4(),
        owner: user,
        conversation_id: Some(conversation_id),
        parent_goal_id: None,
        title,
        description: text.to_string(),
        intent: intent.as_str(),
        status: "active",
        created_at: now,
        updated_at: now,
        credits_used: 0.0,
        credits_estimated: round2(steps.iter().map(|s| s.cost).sum()),
        steps,
        current: 0,
        step_started_at: now,
        awaiting: Awaiting::Nothing,
        escalated: false,
        outcome: None,
        question: None,
        cost_items: Vec::new(),
    }
}

async fn history(State(sim): State<SharedSim>, User(user): User, Query(q): Query<Params>) -> ApiResult<Json<Value>> {
    let limit = int_param(&q, "limit", 50, 1, 200)?;
    let st = sim.lock();
    let wanted = match q.get("conversation_id").filter(|c| !c.is_empty()) {
        Some(raw) => Some(
            Uuid::parse_str(raw)
                .ok()
                .filter(|id| st.conversations.iter().any(|c| c.id == *id && c.owner == user))
                .ok_or_else(|| ApiError::not_found("conversation_not_found", "No conversation with this id."))?,
        ),
        None => None,
    };
    let mut msgs: Vec<(i64, Value)> = st
        .conversations
        .iter()
        .filter(|c| c.owner == user && wanted.is_none_or(|w| w == c.id))
        .flat_map(|c| {
            c.messages.iter().map(move |m| {
                (m.at, json!({"id": m.id.to_string(), "conversation_id": c.id.to_string(), "role": m.role,
                              "content": m.content, "created_at": iso(m.at), "goal_id": m.goal_id.map(|g| g.to_string())}))
            })
        })
        .collect();
    msgs.sort_by_key(|(at, _)| *at);
    let total = msgs.len();
    // The newest `limit` messages, oldest first.
    let msgs: Vec<Value> = msgs.into_iter().skip(total.saturating_sub(limit as usize)).map(|(_, v)| v).collect();
    Ok(Json(json!({"messages": msgs.clone(), "items": msgs, "total": total,
                   "conversation_id": wanted.map(|w| w.to_string())})))
}

async fn list_conversations(
    State(sim): State<SharedSim>,
    User(user): User,
    Query(q): Query<Params>,
) -> ApiResult<Json<Value>> {
    let limit = int_param(&q, "limit", 50, 1, 200)?;
    let offset = int_param(&q, "offset", 0, 0, i64::MAX)?;
    let st = sim.lock();
    let mut convs: Vec<&Conversation> = st.conversations.iter().filter(|c| c.owner == user).collect();
    convs.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
    let all: Vec<Value> = convs.iter().map(|c| c.summary_json()).collect();
    let items = page(&all, limit, offset);
    Ok(Json(json!({"conversations": items.clone(), "items": items, "total": all.len()})))
}

async fn create_conversation(State(sim): State<SharedSim>, User(user): User) -> Json<Value> {
    let now = sim.now();
    let mut st = sim.lock();
    let id = new_conversation(&mut st, user, "New conversation", now);
    let conv = st.conversations.iter().find(|c| c.id == id).map(|c| c.summary_json()).unwrap_or_default();
    Json(conv)
}

pub fn goal_matches_status(goal: &Goal, status: Option<&str>) -> bool {
    match status {
        None | Some("") | Some("all") => true,
        // "active" is every goal still in play, whatever step it is at.
        Some("active") => !goal.is_terminal(),
        Some(s) => s.split(',').any(|s| s.trim() == goal.status),
    }
}

async fn list_goals(State(sim): State<SharedSim>, User(user): User, Query(q): Query<Params>) -> ApiResult<Json<Value>> {
    let limit = int_param(&q, "limit", 20, 1, 100)?;
    let offset = int_param(&q, "offset", 0, 0, i64::MAX)?;
    let st = sim.lock();
    let mut goals: Vec<&Goal> = st
        .goals
        .iter()
        .filter(|g| g.owner == user && goal_matches_status(g, q.get("status").map(String::as_str)))
        .collect();
    goals.sort_by_key(|g| std::cmp::Reverse(g.updated_at));
    let all: Vec<Value> = goals.iter().map(|g| g.summary_json(st.sub_goal_count(g.id))).collect();
    let items = page(&all, limit, offset);
    Ok(Json(json!({"goals": items.clone(), "items": items, "total": all.len()})))
}

fn find_goal<'a>(st: &'a World, user: Uuid, id: &str) -> ApiResult<&'a Goal> {
    Uuid::parse_str(id)
        .ok()
        .and_then(|gid| st.goals.iter().find(|g| g.id == gid && g.owner == user))
        .ok_or_else(|| ApiError::not_found("goal_not_found", "No goal with this id."))
}

async fn get_goal(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let g = find_goal(&st, user, &id)?;
    Ok(Json(g.full_json(st.sub_goal_count(g.id))))
}

async fn goal_tree(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let g = find_goal(&st, user, &id)?;
    let mut v = g.full_json(st.sub_goal_count(g.id));
    let subs: Vec<Value> = st.goals.iter().filter(|s| s.parent_goal_id == Some(g.id)).map(|s| s.full_json(0)).collect();
    v["sub_goals"] = Value::Array(subs);
    Ok(Json(v))
}

pub fn budget_json(g: &Goal) -> Value {
    let mut by_action: Vec<(String, f64)> = Vec::new();
    for s in &g.steps {
        match by_action.iter_mut().find(|(a, _)| a == s.cost_kind) {
            Some((_, c)) => *c += s.cost,
            None => by_action.push((s.cost_kind.to_string(), s.cost)),
        }
    }
    let breakdown: Vec<Value> =
        by_action.into_iter().map(|(a, c)| json!({"action": a, "credits": round2(c)})).collect();
    json!({"goal_id": g.id.to_string(), "credits_estimated": round2(g.credits_estimated), "credits_used": round2(g.credits_used),
           "credits_remaining": round2((g.credits_estimated - g.credits_used).max(0.0)), "breakdown": breakdown})
}

async fn goal_budget(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    Ok(Json(budget_json(find_goal(&st, user, &id)?)))
}

async fn goal_action(
    State(sim): State<SharedSim>,
    User(user): User,
    Path((id, action)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let action = match action.as_str() {
        "cascade-cancel" => "cancel",
        "approve-step" | "accept-outcome" | "continue-negotiating" | "continue" | "cancel" | "escalate" | "archive" => {
            action.as_str()
        }
        _ => return Err(ApiError::not_found("not_found", "There is no such goal action.")),
    };
    let now = sim.now();
    let mut st = sim.lock();
    let idx = crate::goals::act(&mut st, user, &id, action, now)?;
    let g = &st.goals[idx];
    Ok(Json(g.full_json(st.sub_goal_count(g.id))))
}

#[derive(Deserialize)]
struct BatchArchive {
    goal_ids: Vec<String>,
}

async fn batch_archive(
    State(sim): State<SharedSim>,
    User(user): User,
    JsonBody(req): JsonBody<BatchArchive>,
) -> Json<Value> {
    let now = sim.now();
    let mut st = sim.lock();
    let (mut archived, mut failed) = (Vec::new(), Vec::new());
    for id in req.goal_ids {
        match crate::goals::act(&mut st, user, &id, "archive", now) {
            Ok(_) => archived.push(id),
            Err(e) => failed.push(json!({"goal_id": id, "code": e.code})),
        }
    }
    Json(json!({"success": failed.is_empty(), "archived": archived, "failed": failed}))
}
