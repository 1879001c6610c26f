//! Published costs and plans (reference §3.12). The reference names the keys but not every
//! amount; the amounts here are the sim's choice and are listed in docs/sim.md.

use serde_json::{json, Value};

pub const CALL_BASE: f64 = 1.0;
pub const CALL_PER_MINUTE: f64 = 0.5;
pub const SEARCH_PER_QUERY: f64 = 0.5;
pub const EMAIL_PER_EMAIL: f64 = 0.2;
pub const BOOKING_PER_BOOKING: f64 = 1.0;
pub const BILL_PER_ANALYSIS: f64 = 1.0;
pub const RIDE_PER_REQUEST: f64 = 0.5;
pub const FOOD_PER_ORDER: f64 = 0.5;
pub const ERRAND_PER_ERRAND: f64 = 1.0;

pub fn costs_json() -> Value {
    json!({"costs": {
        "call": {"base": CALL_BASE, "per_minute": CALL_PER_MINUTE},
        "search": {"per_query": SEARCH_PER_QUERY},
        "email_send": {"per_email": EMAIL_PER_EMAIL},
        "booking": {"per_booking": BOOKING_PER_BOOKING},
        "bill_analysis": {"per_analysis": BILL_PER_ANALYSIS},
        "ride": {"per_request": RIDE_PER_REQUEST},
        "food": {"per_order": FOOD_PER_ORDER},
        "errand": {"per_errand": ERRAND_PER_ERRAND},
    }})
}

/// (key, name, credits, monthly price in USD).
pub const PLANS: [(&str, &str, f64, f64); 4] = [
    ("starter", "Starter", 200.0, 19.0),
    ("pro", "Pro", 600.0, 49.0),
    ("power", "Power", 1500.0, 99.0),
    ("business", "Business", 4500.0, 249.0),
];

pub fn plans_json() -> Value {
    let mut plans = serde_json::Map::new();
    for (key, name, credits, price) in PLANS {
        plans.insert(
            key.into(),
            json!({"name": name, "credits_allocated": credits, "price_monthly": price, "overage_rate": "0.15"}),
        );
    }
    json!({"plans": plans})
}

/// Estimated cost of one kind of task (`POST /v1/goals/estimate`), with its breakdown.
pub fn estimate(kind: &str) -> Option<(f64, Value)> {
    let call = CALL_BASE + 2.0 * CALL_PER_MINUTE;
    let (total, breakdown) = match kind {
        "call" => (call, json!({"call": call})),
        "email" => (EMAIL_PER_EMAIL, json!({"email_send": EMAIL_PER_EMAIL})),
        "search" => (SEARCH_PER_QUERY, json!({"search": SEARCH_PER_QUERY})),
        "booking" => (
            SEARCH_PER_QUERY + call + BOOKING_PER_BOOKING,
            json!({"search": SEARCH_PER_QUERY, "call": call, "booking": BOOKING_PER_BOOKING}),
        ),
        "ride" => (RIDE_PER_REQUEST, json!({"ride": RIDE_PER_REQUEST})),
        "food" => (FOOD_PER_ORDER, json!({"food": FOOD_PER_ORDER})),
        "errand" => (ERRAND_PER_ERRAND, json!({"errand": ERRAND_PER_ERRAND})),
        _ => return None,
    };
    Some((total, breakdown))
}
