//! `/v1/coordination/*`: asking the assistant, conversations, goals (reference §3.1).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ask::AskReply;
use crate::client::{Client, Fetched};
use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::lenient::{self, open_enum, Credits};
use crate::transport::Request;

open_enum!(
    /// Goal and step states; the sources list more than one set, so unknown values are kept.
    GoalStatus {
        Active => "active",
        Pending => "pending",
        InProgress => "in_progress",
        NeedsInput => "needs_input",
        Completed => "completed",
        Cancelled => "cancelled",
        Archived => "archived",
        Failed => "failed",
    }
);

/// The assistant's answer to `POST /v1/coordination/message`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawReply")]
pub struct Reply {
    /// `response` (LR) ?? `message` (SR).
    pub response: String,
    pub conversation_id: Option<String>,
    pub goal_id: Option<String>,
    pub message_id: Option<String>,
    pub intent: Option<String>,
    pub actions_taken: Vec<String>,
    pub suggestions: Vec<String>,
    pub credits_used: Option<f64>,
    pub goal_completed: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawReply {
    #[serde(deserialize_with = "lenient::opt_string")]
    response: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    message: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    conversation_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    goal_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    message_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    intent: Option<String>,
    #[serde(deserialize_with = "lenient::string_list")]
    actions_taken: Vec<String>,
    #[serde(deserialize_with = "lenient::string_list")]
    suggestions: Vec<String>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    credits_used: Option<f64>,
    #[serde(deserialize_with = "lenient::bool_or_false")]
    goal_completed: bool,
}

impl From<RawReply> for Reply {
    fn from(r: RawReply) -> Self {
        Self {
            response: r.response.filter(|s| !s.is_empty()).or(r.message).unwrap_or_default(),
            conversation_id: r.conversation_id,
            goal_id: r.goal_id,
            message_id: r.message_id,
            intent: r.intent,
            actions_taken: r.actions_taken,
            suggestions: r.suggestions,
            credits_used: r.credits_used,
            goal_completed: r.goal_completed,
        }
    }
}

/// A conversation as listed or created; `id` comes from `id` ?? `conversation_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawConversation")]
pub struct Conversation {
    pub id: String,
    pub title: Option<String>,
    pub created_at: Option<String>,
    pub message_count: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConversation {
    #[serde(deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    conversation_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    title: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    created_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    message_count: Option<u64>,
}

impl From<RawConversation> for Conversation {
    fn from(r: RawConversation) -> Self {
        Self {
            id: r.conversation_id.or(r.id).unwrap_or_default(),
            title: r.title,
            created_at: r.created_at,
            message_count: r.message_count,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConversationList {
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    pub conversations: Vec<Conversation>,
}

/// One message of a conversation's history (shape undocumented; read tolerantly).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawHistoryMessage")]
pub struct HistoryMessage {
    pub id: Option<String>,
    /// `role` ?? `sender` ?? `speaker` (user / assistant).
    pub role: String,
    /// `content` ?? `message` ?? `text`.
    pub content: String,
    pub created_at: Option<String>,
    pub goal_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawHistoryMessage {
    #[serde(deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    role: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    sender: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    speaker: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    content: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    message: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    text: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    created_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    timestamp: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    goal_id: Option<String>,
}

impl From<RawHistoryMessage> for HistoryMessage {
    fn from(r: RawHistoryMessage) -> Self {
        Self {
            id: r.id,
            role: r.role.or(r.sender).or(r.speaker).unwrap_or_default(),
            content: r.content.or(r.message).or(r.text).unwrap_or_default(),
            created_at: r.created_at.or(r.timestamp),
            goal_id: r.goal_id,
        }
    }
}

/// `GET /v1/coordination/history`: `messages` ?? `history` ?? `items` ?? a bare list.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct History {
    pub conversation_id: Option<String>,
    pub messages: Vec<HistoryMessage>,
}

impl<'de> Deserialize<'de> for History {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let list = match &v {
            Value::Array(_) => v.clone(),
            _ => ["messages", "history", "items"]
                .iter()
                .find_map(|k| v.get(*k).filter(|x| x.is_array()).cloned())
                .unwrap_or(Value::Null),
        };
        let messages = lenient::vec_skip_bad(list).map_err(serde::de::Error::custom)?;
        let conversation_id = v.get("conversation_id").and_then(Value::as_str).map(str::to_string);
        Ok(History { conversation_id, messages })
    }
}

/// A goal as listed, or in full from `GET /v1/coordination/goals/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Goal {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    pub status: GoalStatus,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub created_at: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub updated_at: Option<String>,
    pub credits_used: Option<Credits>,
    pub credits_estimated: Option<Credits>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub parent_goal_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub sub_goal_count: Option<u64>,
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    pub steps: Vec<GoalStep>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoalStep {
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub step: Option<u64>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    pub status: GoalStatus,
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub requires_approval: bool,
}

/// `{goals, total}`; older answers use `items`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawGoalList")]
pub struct GoalList {
    pub goals: Vec<Goal>,
    pub total: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawGoalList {
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    goals: Vec<Goal>,
    #[serde(deserialize_with = "lenient::vec_skip_bad")]
    items: Vec<Goal>,
    #[serde(deserialize_with = "lenient::opt_u64")]
    total: Option<u64>,
}

impl From<RawGoalList> for GoalList {
    fn from(r: RawGoalList) -> Self {
        let goals = if r.goals.is_empty() { r.items } else { r.goals };
        Self { goals, total: r.total }
    }
}

/// Filters for `GET /v1/coordination/goals`.
#[derive(Clone, Debug, Default)]
pub struct GoalQuery {
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// The goal actions that take no body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalAction {
    ApproveStep,
    AcceptOutcome,
    ContinueNegotiating,
    Cancel,
}

impl GoalAction {
    fn path(self) -> &'static str {
        match self {
            GoalAction::ApproveStep => "approve-step",
            GoalAction::AcceptOutcome => "accept-outcome",
            GoalAction::ContinueNegotiating => "continue-negotiating",
            GoalAction::Cancel => "cancel",
        }
    }
}

/// `client.coordination()`.
pub struct Coordination<'c> {
    client: &'c Client,
}

impl Client {
    pub fn coordination(&self) -> Coordination<'_> {
        Coordination { client: self }
    }
}

impl Coordination<'_> {
    /// Asks the assistant. A fresh `Idempotency-Key` is used for this attempt and its retries.
    pub async fn message(&self, text: &str, conversation_id: Option<&str>) -> Result<Reply, ApiError> {
        self.message_with_key(text, conversation_id, IdempotencyKey::new()).await
    }

    /// Asks with a caller-kept key (the outbox persists keys so a resend after restart is
    /// recognised by the server as the same ask).
    pub async fn message_with_key(
        &self,
        text: &str,
        conversation_id: Option<&str>,
        key: IdempotencyKey,
    ) -> Result<Reply, ApiError> {
        let mut body = json!({ "message": text });
        if let Some(id) = conversation_id {
            body["conversation_id"] = json!(id);
        }
        let req = Request::post(&["v1", "coordination", "message"]).json(body).idempotent(key);
        self.client.json(req).await
    }

    /// `POST /v1/coordination/conversations` (no body): a new conversation's id.
    pub async fn create_conversation(&self) -> Result<Conversation, ApiError> {
        let conv: Conversation = self.client.json(Request::post(&["v1", "coordination", "conversations"])).await?;
        if conv.id.is_empty() {
            return Err(ApiError::client(crate::error::codes::DECODE, "the new conversation has no id"));
        }
        Ok(conv)
    }

    pub async fn conversations(&self) -> Result<ConversationList, ApiError> {
        self.client.json(Request::get(&["v1", "coordination", "conversations"])).await
    }

    pub async fn history(&self, conversation_id: Option<&str>, limit: Option<u32>) -> Result<History, ApiError> {
        let req = Request::get(&["v1", "coordination", "history"])
            .query_opt("conversation_id", conversation_id)
            .query_opt("limit", limit);
        self.client.json(req).await
    }

    pub async fn goals(&self, query: &GoalQuery) -> Result<GoalList, ApiError> {
        self.client.json(goals_request(query)).await
    }

    /// Conditional variant for polling: send the last `ETag`, get `NotModified` if unchanged.
    pub async fn goals_if_changed(&self, query: &GoalQuery, etag: Option<&str>) -> Result<Fetched<GoalList>, ApiError> {
        self.client.conditional(goals_request(query).if_none_match(etag)).await
    }

    pub async fn goal(&self, goal_id: &str) -> Result<Goal, ApiError> {
        self.client.json(Request::get(&["v1", "coordination", "goals", goal_id])).await
    }

    /// Runs a goal action; answers with the updated goal (fields default when the server's
    /// answer is not a goal).
    pub async fn goal_action(&self, goal_id: &str, action: GoalAction) -> Result<Goal, ApiError> {
        self.client.json(Request::post(&["v1", "coordination", "goals", goal_id, action.path()])).await
    }

    pub async fn approve_step(&self, goal_id: &str) -> Result<Goal, ApiError> {
        self.goal_action(goal_id, GoalAction::ApproveStep).await
    }
    pub async fn accept_outcome(&self, goal_id: &str) -> Result<Goal, ApiError> {
        self.goal_action(goal_id, GoalAction::AcceptOutcome).await
    }
    pub async fn continue_negotiating(&self, goal_id: &str) -> Result<Goal, ApiError> {
        self.goal_action(goal_id, GoalAction::ContinueNegotiating).await
    }
    pub async fn cancel_goal(&self, goal_id: &str) -> Result<Goal, ApiError> {
        self.goal_action(goal_id, GoalAction::Cancel).await
    }
}

fn goals_request(q: &GoalQuery) -> Request {
    Request::get(&["v1", "coordination", "goals"])
        .query_opt("status", q.status.as_deref())
        .query_opt("limit", q.limit)
        .query_opt("offset", q.offset)
}

/// What the box shows of a reply.
impl From<Reply> for AskReply {
    fn from(r: Reply) -> Self {
        Self {
            conversation_id: r.conversation_id.filter(|c| !c.is_empty()),
            goal_id: r.goal_id.filter(|g| !g.is_empty()),
            goal_completed: r.goal_completed,
            suggestions: r.suggestions,
            credits_used: r.credits_used,
            message_id: r.message_id.filter(|m| !m.is_empty()),
            ..AskReply::with_text(r.response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_kept_verbatim() {
        let raw =
            serde_json::json!({"message": "<script>alert(1)</script> & <b>", "credits_used": "0.5", "goal_id": ""});
        let reply: AskReply = serde_json::from_value::<Reply>(raw).unwrap().into();
        assert_eq!(reply.text, "<script>alert(1)</script> & <b>");
        assert_eq!(reply.credits_used, Some(0.5));
        assert_eq!(reply.goal_id, None);
    }

    #[test]
    fn reply_reads_response_or_message() {
        let r: Reply =
            serde_json::from_value(json!({"message": "hi", "credits_used": "0.5", "suggestions": "x"})).unwrap();
        assert_eq!((r.response.as_str(), r.credits_used, r.suggestions.len()), ("hi", Some(0.5), 1));
        let r: Reply =
            serde_json::from_value(json!({"response": "a", "message": "b", "goal_completed": false, "new": 1}))
                .unwrap();
        assert_eq!(r.response, "a");
        let r: Reply = serde_json::from_value(json!({})).unwrap();
        assert_eq!(r.response, "");
    }

    #[test]
    fn conversation_id_or_id() {
        let c: Conversation = serde_json::from_value(json!({"conversation_id": "c1"})).unwrap();
        assert_eq!(c.id, "c1");
        let c: Conversation =
            serde_json::from_value(json!({"id": "c2", "conversation_id": "c2", "title": "t"})).unwrap();
        assert_eq!(c.id, "c2");
    }

    #[test]
    fn goals_or_items_and_unknown_status() {
        let l: GoalList =
            serde_json::from_value(json!({"items": [{"id": "g", "status": "snoozed", "credits_used": "2"}]})).unwrap();
        assert_eq!(l.goals.len(), 1);
        assert_eq!(l.goals[0].status, GoalStatus::Other("snoozed".into()));
        assert_eq!(l.goals[0].credits_used, Some(Credits(2.0)));
        let l: GoalList =
            serde_json::from_value(json!({"goals": [{"id": "g", "status": "needs_input"}], "total": 1})).unwrap();
        assert_eq!((l.goals[0].status.clone(), l.total), (GoalStatus::NeedsInput, Some(1)));
    }

    #[test]
    fn history_in_any_container() {
        for v in [
            json!([{"role": "user", "content": "a"}]),
            json!({"messages": [{"sender": "user", "message": "a"}]}),
            json!({"history": [{"speaker": "user", "text": "a"}]}),
            json!({"items": [{"role": "user", "content": "a"}]}),
        ] {
            let h: History = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(h.messages.len(), 1, "{v}");
            assert_eq!((h.messages[0].role.as_str(), h.messages[0].content.as_str()), ("user", "a"));
        }
    }
}
