//! Budget (reference §3.11): estimates and per-goal cost control under `/v1/goals/…`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::User;
use crate::budget_refusal::{self, Unblock};
use crate::clock::iso;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::pricing::estimate as price;
use crate::state::{round2, SharedSim};

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/goals/estimate", post(estimate))
        .route("/v1/goals/{id}/approve-budget", post(approve_budget))
        .route("/v1/goals/{id}/cost-breakdown", get(cost_breakdown))
        .route("/v1/goals/{id}/acknowledge-soft-cap", post(acknowledge_soft_cap))
}

#[derive(Deserialize)]
struct EstimateRequest {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    description: String,
}

async fn estimate(User(_u): User, JsonBody(req): JsonBody<EstimateRequest>) -> ApiResult<Json<Value>> {
    let (total, breakdown) = price(&req.kind).ok_or_else(|| {
        ApiError::validation("`type` must be one of call, email, search, booking, ride, food, errand.")
            .detail("field", "type")
    })?;
    let confidence = if req.description.trim().len() >= 20 { "high" } else { "medium" };
    Ok(Json(json!({"estimated_credits": round2(total), "breakdown": breakdown, "confidence": confidence})))
}

fn goal_exists(sim: &SharedSim, user: Uuid, id: &str) -> ApiResult<()> {
    let st = sim.lock();
    Uuid::parse_str(id)
        .ok()
        .filter(|gid| st.goals.iter().any(|g| g.id == *gid && g.owner == user))
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("goal_not_found", "No goal with this id."))
}

async fn approve_budget(
    State(sim): State<SharedSim>,
    User(user): User,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let now = sim.now();
    budget_refusal::unblock(&mut sim.lock(), user, &id, Unblock::ApproveBudget, now)?;
    Ok(Json(json!({"success": true, "goal_id": id, "budget_approved": true})))
}

async fn acknowledge_soft_cap(
    State(sim): State<SharedSim>,
    User(user): User,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let now = sim.now();
    budget_refusal::unblock(&mut sim.lock(), user, &id, Unblock::AcknowledgeSoftCap, now)?;
    Ok(Json(json!({"success": true, "goal_id": id, "soft_cap_acknowledged": true})))
}

async fn cost_breakdown(
    State(sim): State<SharedSim>,
    User(user): User,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    goal_exists(&sim, user, &id)?;
    let st = sim.lock();
    let g = st
        .goals
        .iter()
        .find(|g| g.id.to_string() == id)
        .ok_or_else(|| ApiError::not_found("goal_not_found", "No goal with this id."))?;
    let items: Vec<Value> =
        g.cost_items.iter().map(|(a, c, at)| json!({"action": a, "credits": c, "timestamp": iso(*at)})).collect();
    Ok(Json(json!({"goal_id": id, "total_credits": round2(g.credits_used), "items": items})))
}
