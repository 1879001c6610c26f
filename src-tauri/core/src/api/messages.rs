//! The unified inbox (reference §3.6): messages KallyAI received for the user (email, SMS, call
//! notes, chat), one message in full, its thread, and marking messages read.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::ApiError;
use crate::lenient;
use crate::transport::Request;

/// A message as the inbox lists it or as `GET /v1/messages/inbox/{id}` gives it (then with
/// `body`). Every field but `id` may be missing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub from: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub to: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub subject: Option<String>,
    /// email, sms, call, chat (open string).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub channel: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub preview: Option<String>,
    /// The whole text (only in the full message; `content` or `text` in some answers).
    #[serde(alias = "content", alias = "text", deserialize_with = "lenient::opt_text")]
    pub body: Option<String>,
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub unread: bool,
    #[serde(alias = "created_at", deserialize_with = "lenient::opt_string")]
    pub received_at: Option<String>,
    /// The thread this message belongs to (`GET /v1/messages/conversation/{id}`).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub conversation_id: Option<String>,
    /// `outgoing` for what the user (or KallyAI for them) sent in a thread.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub direction: Option<String>,
}

impl Message {
    /// The text to show in full: `body` ?? `preview`.
    pub fn text(&self) -> Option<&str> {
        self.body.as_deref().or(self.preview.as_deref())
    }
}

/// `client.messages()`.
pub struct Messages<'c> {
    client: &'c Client,
}

impl Client {
    pub fn messages(&self) -> Messages<'_> {
        Messages { client: self }
    }
}

impl Messages<'_> {
    /// `GET /v1/messages/inbox`, only the unread ones when `unread_only`.
    pub async fn inbox(&self, unread_only: bool, limit: Option<u32>) -> Result<Vec<Message>, ApiError> {
        let req = Request::get(&["v1", "messages", "inbox"])
            .query_opt("unread", unread_only.then_some("true"))
            .query_opt("limit", limit);
        let v: Value = self.client.json(req).await?;
        Ok(lenient::list_under(&v, "messages"))
    }

    /// `GET /v1/messages/inbox/{id}`: the message in full (some answers wrap it in `message`).
    pub async fn message(&self, message_id: &str) -> Result<Message, ApiError> {
        let v: Value = self.client.json(Request::get(&["v1", "messages", "inbox", message_id])).await?;
        let inner = v.get("message").filter(|m| m.is_object()).unwrap_or(&v);
        serde_json::from_value(inner.clone())
            .map_err(|e| ApiError::client(crate::error::codes::DECODE, format!("unexpected message: {e}")))
    }

    /// `GET /v1/messages/conversation/{id}`: the thread, oldest first as the server orders it.
    pub async fn thread(&self, conversation_id: &str) -> Result<Vec<Message>, ApiError> {
        let v: Value = self.client.json(Request::get(&["v1", "messages", "conversation", conversation_id])).await?;
        Ok(lenient::list_under(&v, "messages"))
    }

    /// `POST /v1/messages/mark-read`. Marking read twice is harmless, so it may be retried.
    pub async fn mark_read(&self, message_ids: &[&str]) -> Result<(), ApiError> {
        let req = Request::post(&["v1", "messages", "mark-read"]).json(json!({ "message_ids": message_ids }));
        self.client.json::<Value>(req).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reads_every_spelling() {
        let m: Message = serde_json::from_value(json!({
            "id": 7, "from": "Clínica", "channel": "sms", "content": "Hola", "unread": "true",
            "created_at": "2026-12-04T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(m.id.as_deref(), Some("7"));
        assert_eq!(m.text(), Some("Hola"));
        assert!(m.unread);
        assert_eq!(m.received_at.as_deref(), Some("2026-12-04T10:00:00Z"));
    }

    #[test]
    fn lists_come_under_messages_or_items() {
        let under = |v: Value| lenient::list_under::<Message>(&v, "messages").len();
        assert_eq!(under(json!({"messages": [{"id": "a"}], "items": [{"id": "a"}]})), 1);
        assert_eq!(under(json!({"items": [{"id": "a"}, {"id": "b"}]})), 2);
        assert_eq!(under(json!([{"id": "a"}])), 1);
        assert_eq!(under(json!({"messages": null})), 0);
    }
}
