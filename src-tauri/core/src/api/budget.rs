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

/// What a goal has cost so far (`GET /v1/goals/{id}/cost-breakdown`): the total and one item per
/// charge. Read leniently: `items` or `breakdown` (a list, or an `{action: credits}` map), the
/// total summed from the items when the server leaves it out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Value")]
pub struct CostBreakdown {
    pub goal_id: Option<String>,
    pub total_credits: Credits,
    pub items: Vec<CostItem>,
}

/// One charge of a goal: what was done (`search`, `call`, ...), what it cost, when.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostItem {
    pub action: String,
    pub credits: Credits,
    pub timestamp: Option<String>,
}

fn credits_in(v: Option<&Value>) -> Option<Credits> {
    v.and_then(|x| serde_json::from_value::<Credits>(x.clone()).ok())
}

fn text_in(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl From<Value> for CostBreakdown {
    fn from(v: Value) -> Self {
        let list = ["items", "breakdown"].iter().find_map(|k| v.get(*k).filter(|x| x.is_array() || x.is_object()));
        let items: Vec<CostItem> = match list {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| {
                    let credits = credits_in(item.get("credits")).or_else(|| credits_in(item.get("amount")))?;
                    let action = text_in(item, &["action", "action_type", "type", "description"]).unwrap_or_default();
                    let timestamp = text_in(item, &["timestamp", "created_at", "at"]);
                    Some(CostItem { action, credits, timestamp })
                })
                .collect(),
            Some(Value::Object(map)) => map
                .iter()
                .filter_map(|(action, c)| {
                    Some(CostItem { action: action.clone(), credits: credits_in(Some(c))?, timestamp: None })
                })
                .collect(),
            _ => Vec::new(),
        };
        let total = credits_in(v.get("total_credits"))
            .or_else(|| credits_in(v.get("credits_used")))
            .unwrap_or_else(|| Credits(items.iter().map(|i| i.credits.value()).sum()));
        Self { goal_id: text_in(&v, &["goal_id", "id"]), total_credits: total, items }
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

    /// `GET /v1/goals/{id}/cost-breakdown`: what the goal has cost, charge by charge.
    pub async fn cost_breakdown(&self, goal_id: &str) -> Result<CostBreakdown, ApiError> {
        self.client.json(Request::get(&["v1", "goals", goal_id, "cost-breakdown"])).await
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

    #[test]
    fn cost_breakdown_items_or_breakdown() {
        let c: CostBreakdown = serde_json::from_value(json!({"goal_id": "g1", "total_credits": "3.5", "items": [
            {"action": "search", "credits": 0.5, "timestamp": "2026-02-13T10:00:00Z"},
            {"action": "call", "credits": "3"},
            {"action": "junk"}
        ]}))
        .unwrap();
        assert_eq!((c.goal_id.as_deref(), c.total_credits), (Some("g1"), Credits(3.5)));
        assert_eq!(c.items.len(), 2, "an item without credits is skipped");
        assert_eq!(c.items[0].timestamp.as_deref(), Some("2026-02-13T10:00:00Z"));
        assert_eq!((c.items[1].action.as_str(), c.items[1].credits), ("call", Credits(3.0)));
        let c: CostBreakdown =
            serde_json::from_value(json!({"breakdown": [{"action_type": "email_send", "credits": 0.2}]})).unwrap();
        assert_eq!((c.items[0].action.as_str(), c.total_credits), ("email_send", Credits(0.2)));
        let c: CostBreakdown = serde_json::from_value(json!({"breakdown": {"call": 1, "search": "0.5"}})).unwrap();
        assert_eq!(c.total_credits, Credits(1.5));
        assert_eq!(serde_json::from_value::<CostBreakdown>(json!({})).unwrap(), CostBreakdown::default());
    }
}
