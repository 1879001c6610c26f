//! Goal cost control (reference §3.11): what a task would cost before doing it, the three
//! refusals a goal's budget can cause (§1.4), and the two requests that let a refused goal go on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::ApiError;
use crate::lenient::Credits;
pub use crate::refusal::{BudgetRefusal, BudgetRefusalKind};
use crate::transport::Request;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Value")]
pub struct Estimate {
    pub estimated_credits: Credits,
    /// Action -> credits, e.g. `{search: 0.5, call: 1.0}` (a list of `{action, credits}` is also read).
    pub breakdown: BTreeMap<String, Credits>,
    /// A label (`high`) or a number, kept as text.
    pub confidence: Option<String>,
}

impl From<Value> for Estimate {
    fn from(v: Value) -> Self {
        let credits = |v: Option<&Value>| v.and_then(|x| serde_json::from_value::<Credits>(x.clone()).ok());
        let mut breakdown = BTreeMap::new();
        match v.get("breakdown") {
            Some(Value::Object(m)) => {
                for (k, x) in m {
                    if let Some(c) = credits(Some(x)) {
                        breakdown.insert(k.clone(), c);
                    }
                }
            }
            Some(Value::Array(items)) => {
                for item in items {
                    if let (Some(name), Some(c)) =
                        (item.get("action").and_then(Value::as_str), credits(item.get("credits")))
                    {
                        breakdown.insert(name.to_string(), c);
                    }
                }
            }
            _ => {}
        }
        let confidence = match v.get("confidence") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Self { estimated_credits: credits(v.get("estimated_credits")).unwrap_or_default(), breakdown, confidence }
    }
}

/// `client.budget()`.
pub struct Budget<'c> {
    client: &'c Client,
}

impl Client {
    pub fn budget(&self) -> Budget<'_> {
        Budget { client: self }
    }
}

impl Budget<'_> {
    /// `kind` is one of call, email, search, booking, ride, food, errand. A read-only question,
    /// but a POST without a key, so it is not retried.
    pub async fn estimate(&self, kind: &str, description: &str) -> Result<Estimate, ApiError> {
        let req = Request::post(&["v1", "goals", "estimate"]).json(json!({ "type": kind, "description": description }));
        self.client.json(req).await
    }

    /// `POST /v1/goals/{id}/approve-budget`: lets a goal waiting for budget approval, or one
    /// over its budget, go on. Its answer is undocumented, so only success counts.
    pub async fn approve(&self, goal_id: &str) -> Result<(), ApiError> {
        self.client.json::<Value>(Request::post(&["v1", "goals", goal_id, "approve-budget"])).await.map(drop)
    }

    /// `POST /v1/goals/{id}/acknowledge-soft-cap`: lets a goal at its soft cap continue.
    pub async fn acknowledge_soft_cap(&self, goal_id: &str) -> Result<(), ApiError> {
        self.client.json::<Value>(Request::post(&["v1", "goals", goal_id, "acknowledge-soft-cap"])).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_map_or_list() {
        let e: Estimate = serde_json::from_value(
            json!({"estimated_credits": "1.5", "breakdown": {"search": 0.5, "call": 1}, "confidence": "high"}),
        )
        .unwrap();
        assert_eq!(e.estimated_credits, Credits(1.5));
        assert_eq!(e.breakdown["call"], Credits(1.0));
        assert_eq!(e.confidence.as_deref(), Some("high"));
        let e: Estimate = serde_json::from_value(
            json!({"estimated_credits": 2, "breakdown": [{"action": "call", "credits": "2"}], "confidence": 0.8}),
        )
        .unwrap();
        assert_eq!(e.breakdown["call"], Credits(2.0));
        assert_eq!(e.confidence.as_deref(), Some("0.8"));
    }
}
