//! Goal cost control (reference §3.11): what a task would cost before doing it, the three
//! refusals a goal's budget can cause (§1.4), and the two requests that let a refused goal go on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::ApiError;
use crate::lenient::Credits;
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

/// Which budget refusal the server answered; serialized as the server's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BudgetRefusalKind {
    /// The goal's estimate must be approved before KallyAI spends anything on it.
    #[serde(rename = "budget_approval_required")]
    ApprovalRequired,
    /// The goal reached its soft cap; acknowledging the cap lets it continue.
    #[serde(rename = "soft_cap_reached")]
    SoftCapReached,
    /// The goal spent its budget; approving more lets it continue.
    #[serde(rename = "budget_exceeded")]
    Exceeded,
}

impl BudgetRefusalKind {
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "budget_approval_required" => Some(Self::ApprovalRequired),
            "soft_cap_reached" => Some(Self::SoftCapReached),
            "budget_exceeded" => Some(Self::Exceeded),
            _ => None,
        }
    }
}

/// A goal stopped by its budget, not by the account's credits: the user can let it go on.
/// Read tolerantly from the error answer (see [`BudgetRefusal::read`]); every field but the kind
/// may be missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetRefusal {
    pub kind: BudgetRefusalKind,
    pub goal_id: Option<String>,
    pub goal_title: Option<String>,
    pub credits_estimated: Option<f64>,
    pub credits_used: Option<f64>,
}

impl BudgetRefusal {
    /// Reads the refusal from an error body whose code is `code`: each field from
    /// `error.details`, else the `error` object, else the top level (the flat envelope).
    pub(crate) fn read(code: &str, body: &Value) -> Option<Self> {
        let kind = BudgetRefusalKind::from_code(code)?;
        let error = body.get("error").filter(|e| e.is_object());
        let places: Vec<&Value> =
            [error.and_then(|e| e.get("details")), error, Some(body)].into_iter().flatten().collect();
        let text = |key: &str| {
            places.iter().filter_map(|p| p.get(key)).find_map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let credits = |key: &str| {
            places
                .iter()
                .filter_map(|p| p.get(key))
                .find_map(|v| serde_json::from_value::<Credits>(v.clone()).ok().map(Credits::value))
        };
        Some(Self {
            kind,
            goal_id: text("goal_id"),
            goal_title: text("goal_title"),
            credits_estimated: credits("credits_estimated").or_else(|| credits("estimated_credits")),
            credits_used: credits("credits_used"),
        })
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

    #[test]
    fn refusal_fields_come_from_details_then_the_error_then_the_top_level() {
        let body = json!({"error": {"code": "budget_approval_required", "message": "m",
            "details": {"goal_id": "g-1", "credits_estimated": "12", "credits_used": 0, "goal_title": " Lisbon "}}});
        let r = BudgetRefusal::read("budget_approval_required", &body).unwrap();
        assert_eq!(r.kind, BudgetRefusalKind::ApprovalRequired);
        assert_eq!(r.goal_id.as_deref(), Some("g-1"));
        assert_eq!(r.goal_title.as_deref(), Some("Lisbon"));
        assert_eq!((r.credits_estimated, r.credits_used), (Some(12.0), Some(0.0)));
        // The flat envelope, a numeric id, `estimated_credits`, no title.
        let body = json!({"error": "soft_cap_reached", "goal_id": 42, "estimated_credits": 3.5});
        let r = BudgetRefusal::read("soft_cap_reached", &body).unwrap();
        assert_eq!((r.kind, r.goal_id.as_deref()), (BudgetRefusalKind::SoftCapReached, Some("42")));
        assert_eq!((r.credits_estimated, r.credits_used, r.goal_title), (Some(3.5), None, None));
        // Fields on the error object itself; null details and junk values are skipped.
        let body =
            json!({"error": {"code": "budget_exceeded", "details": null, "goal_id": "g", "credits_used": "lots"}});
        let r = BudgetRefusal::read("budget_exceeded", &body).unwrap();
        assert_eq!((r.goal_id.as_deref(), r.credits_used), (Some("g"), None));
        assert!(BudgetRefusal::read("quota_exceeded", &body).is_none());
        assert_eq!(serde_json::to_value(r.kind).unwrap(), json!("budget_exceeded"));
    }
}
