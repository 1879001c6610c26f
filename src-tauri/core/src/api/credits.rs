//! `/v1/credits/*`: balance, history, costs, breakdown, plans (reference §3.12).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Client, Fetched};
use crate::error::ApiError;
use crate::lenient::{self, Credits};
use crate::transport::Request;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Balance {
    pub credits_remaining: Credits,
    pub credits_used: Credits,
    pub credits_allocated: Credits,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub plan_type: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub period_start: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub period_end: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreditEntry {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    pub credits: Credits,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub timestamp: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub goal_id: Option<String>,
}

/// `{entries: [...]}` (or `items`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawHistory")]
pub struct CreditHistory {
    pub entries: Vec<CreditEntry>,
    pub total: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawHistory {
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    entries: Vec<CreditEntry>,
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    items: Vec<CreditEntry>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    total: Option<u64>,
}

impl From<RawHistory> for CreditHistory {
    fn from(r: RawHistory) -> Self {
        let entries = if r.entries.is_empty() { r.items } else { r.entries };
        Self { entries, total: r.total }
    }
}

/// `{costs: {call: {base, per_minute}, search: {per_query}, ...}}`: action -> price parts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Costs {
    #[serde(deserialize_with = "number_table")]
    pub costs: BTreeMap<String, BTreeMap<String, Credits>>,
}

/// Keeps the numeric leaves of a two-level table and ignores anything else.
fn number_table<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, BTreeMap<String, Credits>>, D::Error> {
    let mut out = BTreeMap::new();
    if let Value::Object(outer) = Value::deserialize(d)? {
        for (action, parts) in outer {
            let mut row = BTreeMap::new();
            match parts {
                Value::Object(inner) => {
                    for (k, v) in inner {
                        if let Ok(c) = serde_json::from_value::<Credits>(v) {
                            row.insert(k, c);
                        }
                    }
                }
                other => {
                    if let Ok(c) = serde_json::from_value::<Credits>(other) {
                        row.insert("base".to_string(), c);
                    }
                }
            }
            out.insert(action, row);
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BreakdownItem {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub action_type: Option<String>,
    pub credits_total: Credits,
    #[serde(deserialize_with = "lenient::u64_or_zero")]
    pub transaction_count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Breakdown {
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    pub items: Vec<BreakdownItem>,
    pub total_spent: Credits,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub period_start: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub period_end: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Plan {
    /// The plan key (`starter`, `pro`, ...), filled from the map key when absent.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    pub credits_allocated: Option<Credits>,
    pub price_monthly: Option<Credits>,
    /// A string upstream (`"0.15"`); read as a number.
    pub overage_rate: Option<Credits>,
}

/// `{plans: {starter: {...}, ...}}` or `{plans: [{id, ...}]}`; ordered as received for lists,
/// by key for maps.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Plans {
    pub plans: Vec<Plan>,
}

impl<'de> Deserialize<'de> for Plans {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let plans = match v.get("plans").cloned().unwrap_or(Value::Null) {
            Value::Object(map) => map
                .into_iter()
                .filter_map(|(key, v)| {
                    let mut p: Plan = serde_json::from_value(v).ok()?;
                    p.id.get_or_insert(key);
                    Some(p)
                })
                .collect(),
            list @ Value::Array(_) => lenient::vec_skip_bad(list).map_err(serde::de::Error::custom)?,
            _ => Vec::new(),
        };
        Ok(Plans { plans })
    }
}

/// `client.credits()`.
pub struct CreditsApi<'c> {
    client: &'c Client,
}

impl Client {
    pub fn credits(&self) -> CreditsApi<'_> {
        CreditsApi { client: self }
    }
}

impl CreditsApi<'_> {
    pub async fn balance(&self) -> Result<Balance, ApiError> {
        self.client.json(Request::get(&["v1", "credits", "balance"])).await
    }

    pub async fn balance_if_changed(&self, etag: Option<&str>) -> Result<Fetched<Balance>, ApiError> {
        self.client.conditional(Request::get(&["v1", "credits", "balance"]).if_none_match(etag)).await
    }

    pub async fn history(&self, limit: Option<u32>) -> Result<CreditHistory, ApiError> {
        self.client.json(Request::get(&["v1", "credits", "history"]).query_opt("limit", limit)).await
    }

    /// Public: works signed out.
    pub async fn costs(&self) -> Result<Costs, ApiError> {
        self.client.json(Request::get(&["v1", "credits", "costs"]).public()).await
    }

    pub async fn breakdown(&self) -> Result<Breakdown, ApiError> {
        self.client.json(Request::get(&["v1", "credits", "breakdown"])).await
    }

    /// Public: works signed out.
    pub async fn plans(&self) -> Result<Plans, ApiError> {
        self.client.json(Request::get(&["v1", "credits", "plans"]).public()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn balance_numbers_or_strings() {
        let b: Balance = serde_json::from_value(json!({
            "credits_remaining": "458.5", "credits_used": 142, "credits_allocated": 600, "plan_type": "pro"
        }))
        .unwrap();
        assert_eq!(b.credits_remaining, Credits(458.5));
        assert_eq!(b.credits_allocated.value(), 600.0);
        assert_eq!(b.period_end, None);
    }

    #[test]
    fn plans_map_or_list_and_string_rates() {
        let p: Plans = serde_json::from_value(json!({"plans": {
            "pro": {"name": "Pro", "credits_allocated": 600, "price_monthly": 49, "overage_rate": "0.15"},
            "starter": {"name": "Starter", "credits_allocated": 200, "price_monthly": 19, "overage_rate": "0.2"}
        }}))
        .unwrap();
        assert_eq!(p.plans.len(), 2);
        let pro = p.plans.iter().find(|x| x.id.as_deref() == Some("pro")).unwrap();
        assert_eq!(pro.overage_rate, Some(Credits(0.15)));
        let p: Plans = serde_json::from_value(json!({"plans": [{"id": "power", "price_monthly": "99"}]})).unwrap();
        assert_eq!(p.plans[0].price_monthly, Some(Credits(99.0)));
    }

    #[test]
    fn costs_keep_numeric_leaves() {
        let c: Costs = serde_json::from_value(json!({"costs": {
            "call": {"base": 1, "per_minute": "0.5", "note": "x"}, "search": {"per_query": 0.5}, "flat": 2
        }}))
        .unwrap();
        assert_eq!(c.costs["call"].len(), 2);
        assert_eq!(c.costs["call"]["per_minute"], Credits(0.5));
        assert_eq!(c.costs["flat"]["base"], Credits(2.0));
    }
}
