//! The one error a command answers with: `{code, message}` a window can show as it is, plus the
//! settings field it is about when it is about one. Core's errors convert into it, keeping the
//! server's code (e.g. `quota_exceeded`) and core's one-sentence message.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CommandError {
    code: String,
    message: String,
    /// The settings field a refused change is about (the window shows the message next to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

impl CommandError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), field: None }
    }

    /// A refused settings change: which field, and why in one sentence.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self { code: "invalid_setting".into(), message: message.into(), field: Some(field) }
    }
}

impl From<kallyai_core::ApiError> for CommandError {
    fn from(error: kallyai_core::ApiError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl From<kallyai_core::ask::OutboxError> for CommandError {
    fn from(error: kallyai_core::ask::OutboxError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl From<kallyai_core::signin::SignInError> for CommandError {
    fn from(error: kallyai_core::signin::SignInError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_code_and_message_and_a_field_only_when_there_is_one() {
        let plain = serde_json::to_value(CommandError::new("bad_link", "That link is not a web address.")).unwrap();
        assert_eq!(plain, serde_json::json!({"code": "bad_link", "message": "That link is not a web address."}));
        let refused = serde_json::to_value(CommandError::field("hotkey", "Taken.")).unwrap();
        assert_eq!(refused["field"], "hotkey");
        assert_eq!(refused["message"], "Taken.");
    }
}
