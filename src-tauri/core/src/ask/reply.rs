//! What the box shows after an ask: the assistant's answer as plain text.

use serde::{Deserialize, Serialize};

use crate::api::coordination::Reply;

/// The assistant's answer, as the UI needs it. `text` is the server's text verbatim: it is
/// never HTML, so the UI must insert it as text (no markup processing happens here either).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AskReply {
    /// `response` ?? `message`.
    pub text: String,
    pub conversation_id: Option<String>,
    /// The goal this ask created or touched, if any (the box then shows a `GoalView`).
    pub goal_id: Option<String>,
    pub goal_completed: bool,
    /// Follow-up asks the UI offers as buttons.
    pub suggestions: Vec<String>,
    /// Credits this ask used (the wire sends a number or a numeric string).
    pub credits_used: Option<f64>,
    /// The answer's id in the conversation, when the server gives one.
    #[serde(skip)]
    pub message_id: Option<String>,
}

impl From<Reply> for AskReply {
    fn from(r: Reply) -> Self {
        Self {
            text: r.response,
            conversation_id: r.conversation_id.filter(|c| !c.is_empty()),
            goal_id: r.goal_id.filter(|g| !g.is_empty()),
            goal_completed: r.goal_completed,
            suggestions: r.suggestions,
            credits_used: r.credits_used,
            message_id: r.message_id.filter(|m| !m.is_empty()),
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
}
