//! Subscription status and the legacy user endpoints (reference §3.13). Legacy "minutes" mirror
//! credits one to one so the official CLI's `--usage` and the credits widget agree.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::User;
use crate::clock::iso;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::pricing::PLANS;
use crate::state::{round2, SharedSim, State as World};

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/subscriptions/status", get(status))
        .route("/v1/users/me", get(me))
        .route("/v1/users/me/subscription", get(subscription))
        .route("/v1/users/me/statistics", get(statistics))
        .route("/v1/subscriptions/change-plan", post(change_plan))
        .route("/v1/subscriptions/pending-change", delete(cancel_pending_change))
}

fn pending_json(st: &World) -> Value {
    match &st.pending_plan_change {
        Some((plan, at)) => json!({"new_plan": plan, "effective_date": iso(*at)}),
        None => Value::Null,
    }
}

/// Both request spellings of reference §4 row 4: `new_plan` (+ `annual`) and `target_plan`.
#[derive(Deserialize)]
struct ChangePlan {
    #[serde(default)]
    new_plan: Option<String>,
    #[serde(default)]
    target_plan: Option<String>,
    #[serde(default)]
    annual: Option<bool>,
}

const CHANGES_PER_HOUR: usize = 3;

async fn change_plan(
    State(sim): State<SharedSim>,
    User(_u): User,
    JsonBody(b): JsonBody<ChangePlan>,
) -> ApiResult<Json<Value>> {
    let wanted = b.new_plan.or(b.target_plan).unwrap_or_default();
    let Some(&(key, _, credits, _)) = PLANS.iter().find(|p| p.0 == wanted) else {
        return Err(
            ApiError::validation("`new_plan` must be starter, pro, power or business.").detail("field", "new_plan")
        );
    };
    let now = sim.now();
    let mut st = sim.lock();
    st.plan_change_calls.retain(|t| now - t < 3_600_000);
    if st.plan_change_calls.len() >= CHANGES_PER_HOUR {
        let retry = (st.plan_change_calls[0] + 3_600_000 - now).max(1000) / 1000;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "The plan can be changed 3 times per hour.",
        )
        .detail("retry_after_secs", retry)
        .header(header::RETRY_AFTER, &retry.to_string()));
    }
    if st.pending_plan_change.is_some() {
        return Err(ApiError::bad_request("pending_change_exists", "Cancel the pending plan change first."));
    }
    st.plan_change_calls.push(now);
    let current = PLANS.iter().find(|p| p.0 == st.credits.plan_type).map_or(0.0, |p| p.2);
    let change_type = if credits > current {
        // Upgrades apply at once; the extra credits are added to the balance.
        st.credits.remaining += credits - st.credits.allocated.min(credits);
        st.credits.allocated = credits;
        st.credits.plan_type = key.to_string();
        st.credits_changed(now);
        "upgrade"
    } else if credits < current {
        st.pending_plan_change = Some((key.to_string(), st.credits.period_end));
        "downgrade_scheduled"
    } else {
        "refresh"
    };
    let c = &st.credits;
    Ok(Json(json!({"success": true, "change_type": change_type, "new_plan": key, "annual": b.annual.unwrap_or(false),
                   "bonus_minutes": 0, "new_period_start": iso(c.period_start), "new_period_end": iso(c.period_end),
                   "pending_change": pending_json(&st)})))
}

async fn cancel_pending_change(State(sim): State<SharedSim>, User(_u): User) -> ApiResult<Json<Value>> {
    let mut st = sim.lock();
    if st.pending_plan_change.take().is_none() {
        return Err(ApiError::bad_request("no_pending_change", "There is no pending plan change."));
    }
    Ok(Json(json!({"success": true, "message": "The pending plan change was cancelled."})))
}

async fn status(State(sim): State<SharedSim>, User(_u): User) -> Json<Value> {
    let st = sim.lock();
    let c = &st.credits;
    Json(json!({"plan_type": c.plan_type, "status": "active", "current_period_start": iso(c.period_start),
                "current_period_end": iso(c.period_end), "pending_change": pending_json(&st)}))
}

async fn subscription(State(sim): State<SharedSim>, User(_u): User) -> Json<Value> {
    let st = sim.lock();
    let c = &st.credits;
    Json(json!({
        "has_active_subscription": true, "provider": "stripe",
        "plan": {"type": c.plan_type, "name": PLANS.iter().find(|p| p.0 == c.plan_type).map_or("Custom", |p| p.1),
                 "period": "monthly", "minutes_included": round2(c.allocated), "credits_included": round2(c.allocated)},
        "status": "active", "expires_at": iso(c.period_end), "auto_renew": true,
        "management_url": super::billing::PORTAL_URL,
    }))
}

/// Who is signed in (extension: no source documents a profile endpoint; see docs/sim.md).
async fn me(State(sim): State<SharedSim>, User(user): User) -> Json<Value> {
    let st = sim.lock();
    let email = format!("{}@example.com", st.user_name.to_lowercase().replace(' ', "."));
    Json(json!({"id": user.to_string(), "name": st.user_name, "email": email}))
}

async fn statistics(State(sim): State<SharedSim>, User(user): User) -> Json<Value> {
    let st = sim.lock();
    let c = &st.credits;
    let calls_used = st.calls.iter().filter(|x| x.owner == user).count();
    let calls_allocated: usize = 100;
    let pct = if c.allocated > 0.0 { round2(c.used() / c.allocated * 100.0) } else { 0.0 };
    Json(json!({
        "plan_type": c.plan_type, "subscription_status": "active",
        "minutes_allocated": round2(c.allocated), "minutes_used": c.used(), "minutes_remaining": round2(c.remaining),
        "calls_allocated": calls_allocated, "calls_used": calls_used,
        "calls_remaining": calls_allocated.saturating_sub(calls_used),
        "usage_percentage": pct, "period_start": iso(c.period_start), "period_end": iso(c.period_end),
    }))
}
