//! `GET /v1/notifications/pending` (reference §3.15).

use serde::{Deserialize, Serialize};

use crate::client::{Client, Fetched};
use crate::error::ApiError;
use crate::lenient;
use crate::transport::Request;

/// One pending item; `id` is the dedupe key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationItem {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub channel: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub summary: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub preview: Option<String>,
}

impl NotificationItem {
    /// The text to show: `summary` ?? `preview`.
    pub fn text(&self) -> Option<&str> {
        self.summary.as_deref().or(self.preview.as_deref())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationGroup {
    #[serde(deserialize_with = "lenient::u64_or_zero")]
    pub count: u64,
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    pub items: Vec<NotificationItem>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActiveGoal {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub summary: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub current_step_description: Option<String>,
}

/// Aggregated pending work: email approvals (`actions`), goals needing input, unread inbox,
/// and (sim extension) live inbound calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PendingNotifications {
    pub actions: NotificationGroup,
    pub goals: NotificationGroup,
    pub inbox: NotificationGroup,
    pub inbound: Option<NotificationGroup>,
    #[serde(deserialize_with = "lenient::u64_or_zero")]
    pub total_pending: u64,
    pub active_goal: Option<ActiveGoal>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub generated_at: Option<String>,
}

impl PendingNotifications {
    /// Every item of every group, for deduping by id.
    pub fn items(&self) -> impl Iterator<Item = &NotificationItem> {
        [&self.actions, &self.goals, &self.inbox].into_iter().chain(self.inbound.as_ref()).flat_map(|g| g.items.iter())
    }
}

/// `client.notifications()`.
pub struct Notifications<'c> {
    client: &'c Client,
}

impl Client {
    pub fn notifications(&self) -> Notifications<'_> {
        Notifications { client: self }
    }
}

impl Notifications<'_> {
    pub async fn pending(&self) -> Result<PendingNotifications, ApiError> {
        self.client.json(Request::get(&["v1", "notifications", "pending"])).await
    }

    pub async fn pending_if_changed(&self, etag: Option<&str>) -> Result<Fetched<PendingNotifications>, ApiError> {
        self.client.conditional(Request::get(&["v1", "notifications", "pending"]).if_none_match(etag)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pending_parses_groups_and_null_goal() {
        let p: PendingNotifications = serde_json::from_value(json!({
            "actions": {"count": 1, "items": [{"id": "a", "type": "email_approval", "summary": "Draft"}]},
            "goals": {"count": "1", "items": [{"id": "g", "status": "needs_input", "summary": "Which?"}]},
            "inbox": {"count": 1, "items": [{"id": "m", "channel": "email", "preview": "Confirmed"}]},
            "total_pending": 3, "active_goal": null, "generated_at": "2026-02-13T15:30:00Z"
        }))
        .unwrap();
        assert_eq!(p.total_pending, 3);
        assert_eq!(p.goals.count, 1);
        assert!(p.active_goal.is_none());
        let texts: Vec<_> = p.items().filter_map(NotificationItem::text).collect();
        assert_eq!(texts, vec!["Draft", "Which?", "Confirmed"]);
        assert_eq!(p.actions.items[0].kind.as_deref(), Some("email_approval"));
    }
}
