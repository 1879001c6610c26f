//! The three refusals a goal's budget can cause (reference §1.4), as data: what the server said
//! and what it said about the goal. Kept apart from the requests (`api/budget.rs`) so that errors and
//! events can carry a refusal without depending on the client.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lenient::Credits;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
