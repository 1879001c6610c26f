//! Subscription, usage statistics and the billing portal (reference §3.13).

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::ApiError;
use crate::lenient;
use crate::transport::Request;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PendingChange {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub new_plan: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub effective_date: Option<String>,
}

/// `GET /v1/subscriptions/status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionStatus {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub plan_type: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub current_period_start: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub current_period_end: Option<String>,
    pub pending_change: Option<PendingChange>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionPlan {
    #[serde(rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub period: Option<String>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub minutes_included: Option<f64>,
}

/// `GET /v1/users/me/subscription` (the legacy view the CLIs use).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserSubscription {
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub has_active_subscription: bool,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub provider: Option<String>,
    pub plan: Option<SubscriptionPlan>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub expires_at: Option<String>,
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub auto_renew: bool,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub management_url: Option<String>,
}

/// `GET /v1/users/me/statistics` (legacy minutes-based usage).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub plan_type: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub subscription_status: Option<String>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub minutes_allocated: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub minutes_used: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub minutes_remaining: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub calls_allocated: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub calls_used: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub calls_remaining: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub usage_percentage: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub period_start: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub period_end: Option<String>,
}

/// `GET /v1/stripe/billing-portal`: `url` ?? `portal_url`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawPortal")]
pub struct BillingPortal {
    pub url: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPortal {
    #[serde(deserialize_with = "lenient::opt_string")]
    url: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    portal_url: Option<String>,
}

impl From<RawPortal> for BillingPortal {
    fn from(r: RawPortal) -> Self {
        Self { url: r.url.filter(|u| !u.is_empty()).or(r.portal_url).unwrap_or_default() }
    }
}

/// `client.subscription()`.
pub struct Subscription<'c> {
    client: &'c Client,
}

impl Client {
    pub fn subscription(&self) -> Subscription<'_> {
        Subscription { client: self }
    }
}

impl Subscription<'_> {
    pub async fn status(&self) -> Result<SubscriptionStatus, ApiError> {
        self.client.json(Request::get(&["v1", "subscriptions", "status"])).await
    }

    pub async fn me(&self) -> Result<UserSubscription, ApiError> {
        self.client.json(Request::get(&["v1", "users", "me", "subscription"])).await
    }

    pub async fn statistics(&self) -> Result<Statistics, ApiError> {
        self.client.json(Request::get(&["v1", "users", "me", "statistics"])).await
    }

    /// The Stripe portal link to open in the system browser. An answer without a URL is a
    /// decode error, since there would be nothing to open.
    pub async fn billing_portal(&self) -> Result<BillingPortal, ApiError> {
        let portal: BillingPortal = self.client.json(Request::get(&["v1", "stripe", "billing-portal"])).await?;
        if portal.url.is_empty() {
            return Err(ApiError::client(crate::error::codes::DECODE, "the billing portal answer has no url"));
        }
        Ok(portal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn portal_url_either_key() {
        let p: BillingPortal = serde_json::from_value(json!({"portal_url": "https://b/x"})).unwrap();
        assert_eq!(p.url, "https://b/x");
        let p: BillingPortal = serde_json::from_value(json!({"url": "https://a", "portal_url": "https://b"})).unwrap();
        assert_eq!(p.url, "https://a");
    }

    #[test]
    fn subscription_shapes() {
        let s: SubscriptionStatus =
            serde_json::from_value(json!({"plan_type": "pro", "status": "active", "pending_change": null})).unwrap();
        assert!(s.pending_change.is_none());
        let u: UserSubscription = serde_json::from_value(
            json!({"has_active_subscription": true, "plan": {"type": "personal", "minutes_included": "100"}}),
        )
        .unwrap();
        assert_eq!(u.plan.unwrap().minutes_included, Some(100.0));
        let st: Statistics = serde_json::from_value(json!({"usage_percentage": "23.7", "minutes_used": 10})).unwrap();
        assert_eq!(st.usage_percentage, Some(23.7));
    }
}
