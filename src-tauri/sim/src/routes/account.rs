//! Subscription status and the legacy user endpoints (reference §3.13). Legacy "minutes" mirror
//! credits one to one so the official CLI's `--usage` and the credits widget agree.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::User;
use crate::clock::iso;
use crate::pricing::PLANS;
use crate::state::{round2, SharedSim};

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/subscriptions/status", get(status))
        .route("/v1/users/me/subscription", get(subscription))
        .route("/v1/users/me/statistics", get(statistics))
}

async fn status(State(sim): State<SharedSim>, User(_u): User) -> Json<Value> {
    let st = sim.lock();
    let c = &st.credits;
    Json(json!({"plan_type": c.plan_type, "status": "active", "current_period_start": iso(c.period_start),
                "current_period_end": iso(c.period_end), "pending_change": null}))
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
