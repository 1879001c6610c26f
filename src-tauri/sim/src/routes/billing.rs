//! Billing (reference §3.13, Stripe endpoints): the customer portal link and public plan data.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::User;
use crate::pricing::plans_json;
use crate::state::SharedSim;

/// A placeholder portal; the sim never talks to Stripe.
pub const PORTAL_URL: &str = "https://billing.stripe.com/p/session/sim_portal";

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/stripe/billing-portal", get(billing_portal))
        .route("/v1/stripe/plans", get(|| async { Json(plans_json()) }))
}

/// Both spellings of reference §4 row 3: `url` (OR, read by the CLIs) and `portal_url` (SR).
async fn billing_portal(User(_u): User) -> Json<Value> {
    Json(json!({"url": PORTAL_URL, "portal_url": PORTAL_URL}))
}
