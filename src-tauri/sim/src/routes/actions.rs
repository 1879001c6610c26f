//! Actions (reference §3.5): the email outbox (drafts waiting for approval, one draft, approve or
//! cancel) and the action log with undo.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{int_param, page, Params};
use crate::auth::User;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::state::{LoggedAction, PendingEmail, SharedSim};

/// The `type` values of `GET /v1/actions/log`.
pub const LOG_TYPES: [&str; 7] = ["calendar", "booking", "bill", "ride", "food", "errand", "email"];

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/actions/email/outbox", get(outbox))
        .route("/v1/actions/email/send", post(send))
        .route("/v1/actions/email/{id}", get(email))
        .route("/v1/actions/email/{id}/{action}", post(email_action))
        .route("/v1/actions/log", get(log))
        .route("/v1/actions/{id}/undo", post(undo))
}

async fn outbox(State(sim): State<SharedSim>, User(_u): User) -> Json<Value> {
    let st = sim.lock();
    let emails: Vec<Value> = st.emails.iter().map(|e| e.to_json()).collect();
    Json(json!({"emails": emails, "total": emails.len()}))
}

#[derive(serde::Deserialize)]
struct NewEmail {
    to: String,
    subject: String,
    body: String,
    #[serde(default)]
    cc: Option<String>,
}

/// `POST /v1/actions/email/send`: the email is queued for the user's approval, not sent.
async fn send(
    State(sim): State<SharedSim>,
    User(_u): User,
    JsonBody(req): JsonBody<NewEmail>,
) -> ApiResult<Json<Value>> {
    if req.to.trim().is_empty() || req.subject.trim().is_empty() {
        return Err(ApiError::validation("`to` and `subject` are required.").detail("field", "to"));
    }
    let now = sim.now();
    let mut st = sim.lock();
    let email = PendingEmail {
        id: Uuid::new_v4(),
        to: req.to,
        cc: req.cc.filter(|c| !c.trim().is_empty()),
        subject: req.subject,
        body: req.body,
        status: "pending_approval".into(),
        created_at: now,
    };
    let body = email.to_json();
    st.emails.push(email);
    st.notifications_changed(now);
    Ok(Json(body))
}

fn email_not_found() -> ApiError {
    ApiError::not_found("email_not_found", "No queued email with this id.")
}

async fn email(State(sim): State<SharedSim>, User(_u): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    Uuid::parse_str(&id)
        .ok()
        .and_then(|eid| st.emails.iter().find(|e| e.id == eid))
        .map(|e| Json(e.to_json()))
        .ok_or_else(email_not_found)
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
        .ok_or_else(email_not_found)?;
    if email.status != "pending_approval" {
        return Err(ApiError::conflict("email_not_pending", "This email is no longer waiting for approval."));
    }
    email.status = new_status.to_string();
    let sent = format!("Sent the email to {}: \"{}\"", email.to, email.subject);
    let body = json!({"success": true, "id": id, "status": new_status});
    if new_status == "sent" {
        st.charge(crate::pricing::EMAIL_PER_EMAIL, "email_send", "Approved email", None, now);
        // A sent email cannot be called back.
        st.log_action("email", &sent, false, now);
    }
    st.notifications_changed(now);
    Ok(Json(body))
}

async fn log(State(sim): State<SharedSim>, User(_u): User, Query(q): Query<Params>) -> ApiResult<Json<Value>> {
    let limit = int_param(&q, "limit", 20, 1, 100)?;
    let offset = int_param(&q, "offset", 0, 0, i64::MAX)?;
    let kind = q.get("type").map(|t| t.trim()).filter(|t| !t.is_empty());
    if let Some(kind) = kind {
        if !LOG_TYPES.contains(&kind) {
            return Err(ApiError::validation(format!("`type` must be one of {}.", LOG_TYPES.join(", ")))
                .detail("field", "type"));
        }
    }
    let st = sim.lock();
    let mut entries: Vec<&LoggedAction> = st.action_log.iter().filter(|a| kind.is_none_or(|k| a.kind == k)).collect();
    entries.sort_by_key(|a| std::cmp::Reverse(a.created_at));
    let all: Vec<Value> = entries.iter().map(|a| a.to_json()).collect();
    let items = page(&all, limit, offset);
    Ok(Json(json!({"actions": items.clone(), "items": items, "total": all.len()})))
}

async fn undo(State(sim): State<SharedSim>, User(_u): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let mut st = sim.lock();
    let entry = Uuid::parse_str(&id)
        .ok()
        .and_then(|aid| st.action_log.iter_mut().find(|a| a.id == aid))
        .ok_or_else(|| ApiError::not_found("action_not_found", "No action with this id."))?;
    if !entry.undoable || entry.status == "undone" {
        let message =
            if entry.status == "undone" { "This action was already undone." } else { "This action cannot be undone." };
        return Err(ApiError::conflict("action_not_undoable", message).detail("status", entry.status));
    }
    entry.status = "undone";
    entry.undoable = false;
    Ok(Json(json!({"success": true, "id": entry.id.to_string(), "status": entry.status})))
}
