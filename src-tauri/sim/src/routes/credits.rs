//! Credits (reference §3.12): balance (with ETag), history, costs, breakdown, plans.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{conditional_json, int_param, Params};
use crate::auth::User;
use crate::clock::iso;
use crate::error::ApiResult;
use crate::pricing::{costs_json, plans_json};
use crate::state::{round2, SharedSim};

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/credits/balance", get(balance))
        .route("/v1/credits/history", get(history))
        .route("/v1/credits/costs", get(|| async { Json(costs_json()) }))
        .route("/v1/credits/breakdown", get(breakdown))
        .route("/v1/credits/plans", get(|| async { Json(plans_json()) }))
}

async fn balance(State(sim): State<SharedSim>, User(_u): User, headers: HeaderMap) -> Response {
    let (body, production) = {
        let st = sim.lock();
        (st.credits.to_json(), st.production())
    };
    conditional_json(production, &headers, body)
}

async fn history(State(sim): State<SharedSim>, User(_u): User, Query(q): Query<Params>) -> ApiResult<Json<Value>> {
    let limit = int_param(&q, "limit", 50, 1, 500)?;
    let offset = int_param(&q, "offset", 0, 0, i64::MAX)?;
    let st = sim.lock();
    let entries: Vec<Value> = st
        .credit_history
        .iter()
        .rev()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|e| {
            json!({"id": e.id.to_string(), "type": e.kind, "description": e.description, "credits": e.credits,
                        "timestamp": iso(e.at), "created_at": iso(e.at), "goal_id": e.goal_id.map(|g| g.to_string())})
        })
        .collect();
    Ok(Json(json!({"entries": entries.clone(), "items": entries, "total": st.credit_history.len()})))
}

async fn breakdown(State(sim): State<SharedSim>, User(_u): User) -> Json<Value> {
    let st = sim.lock();
    let mut rows: Vec<(String, f64, usize)> = Vec::new();
    for e in &st.credit_history {
        match rows.iter_mut().find(|(k, _, _)| *k == e.kind) {
            Some(row) => {
                row.1 += e.credits;
                row.2 += 1;
            }
            None => rows.push((e.kind.clone(), e.credits, 1)),
        }
    }
    let total: f64 = rows.iter().map(|r| r.1).sum();
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(k, c, n)| json!({"action_type": k, "credits_total": round2(c), "transaction_count": n}))
        .collect();
    Json(json!({"items": items, "total_spent": round2(total),
                "period_start": iso(st.credits.period_start), "period_end": iso(st.credits.period_end)}))
}
