//! What KallyAI does for the user (reference §3.5): email drafts waiting for approval, sending
//! or cancelling one, and the action log with undo.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::error::ApiError;
use crate::lenient;
use crate::transport::Request;

/// An email KallyAI drafted and queued for the user's approval. `body` only where the server
/// gives it (the documented outbox lists `to`, `subject`, `status`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailDraft {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub to: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub cc: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub subject: Option<String>,
    #[serde(alias = "content", alias = "text", deserialize_with = "lenient::opt_text")]
    pub body: Option<String>,
    /// pending_approval, sent, cancelled, ... (open string).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub created_at: Option<String>,
}

/// What the user decides on a draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftDecision {
    /// `POST /v1/actions/email/{id}/approve`: KallyAI sends it.
    Send,
    /// `POST /v1/actions/email/{id}/cancel`.
    Cancel,
}

/// One entry of the action log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggedAction {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// calendar, booking, bill, ride, food, errand, email (open string).
    #[serde(rename = "type", alias = "kind", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    #[serde(alias = "summary", deserialize_with = "lenient::opt_text")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub created_at: Option<String>,
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub undoable: bool,
}

/// `client.actions()`.
pub struct Actions<'c> {
    client: &'c Client,
}

impl Client {
    pub fn actions(&self) -> Actions<'_> {
        Actions { client: self }
    }
}

impl Actions<'_> {
    /// `GET /v1/actions/email/outbox`: every queued email, whatever its status.
    pub async fn email_outbox(&self) -> Result<Vec<EmailDraft>, ApiError> {
        let v: Value = self.client.json(Request::get(&["v1", "actions", "email", "outbox"])).await?;
        Ok(lenient::list_under(&v, "emails"))
    }

    /// Sends or cancels a draft. A POST without a key, so the client does not retry it: a
    /// second approve of a sent draft is a 409 at worst, but nothing is resent blindly.
    pub async fn decide_draft(&self, email_id: &str, decision: DraftDecision) -> Result<(), ApiError> {
        let action = match decision {
            DraftDecision::Send => "approve",
            DraftDecision::Cancel => "cancel",
        };
        self.client.json::<Value>(Request::post(&["v1", "actions", "email", email_id, action])).await.map(drop)
    }

    /// `GET /v1/actions/log`, newest first, of one `kind` when given.
    pub async fn log(&self, kind: Option<&str>, limit: u32, offset: u32) -> Result<Vec<LoggedAction>, ApiError> {
        let req = Request::get(&["v1", "actions", "log"])
            .query_opt("type", kind)
            .query("limit", limit)
            .query("offset", offset);
        let v: Value = self.client.json(req).await?;
        Ok(lenient::list_under(&v, "actions"))
    }

    /// `POST /v1/actions/{id}/undo`; 409 `action_not_undoable` when it cannot be.
    pub async fn undo(&self, action_id: &str) -> Result<(), ApiError> {
        self.client.json::<Value>(Request::post(&["v1", "actions", action_id, "undo"])).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drafts_and_log_entries_read_loosely() {
        let drafts: Vec<EmailDraft> = lenient::list_under(
            &json!({"emails": [{"id": "e1", "to": "ana@example.com", "subject": "Heater", "text": "Hi Ana"}]}),
            "emails",
        );
        assert_eq!(drafts[0].body.as_deref(), Some("Hi Ana"));
        let log: Vec<LoggedAction> = lenient::list_under(
            &json!({"items": [{"id": 3, "type": "calendar", "summary": "Added", "undoable": "true"}]}),
            "actions",
        );
        assert_eq!((log[0].id.as_deref(), log[0].undoable), (Some("3"), true));
        assert_eq!(log[0].description.as_deref(), Some("Added"));
    }
}
