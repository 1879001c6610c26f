//! What the box shows after an ask: the assistant's answer, as the server wrote it and formatted
//! (`markdown::format`). Plain data, carried by `Event::AskSent`; it is read from the API's
//! `Reply` in `api/coordination.rs`.

use serde::{Deserialize, Serialize};

use crate::markdown::{self, Formatted};

/// The assistant's answer, as the UI needs it. `text` is the server's text verbatim: it is
/// never HTML, so the UI must insert it as text (no markup processing happens here either).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AskReply {
    /// `response` ?? `message`.
    pub text: String,
    /// `text` as allowed elements (see `markdown`); empty when made without `with_text`.
    #[serde(default)]
    pub formatted: Formatted,
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

impl AskReply {
    /// A reply saying `text`, formatted.
    pub fn with_text(text: String) -> Self {
        Self { formatted: markdown::format(&text), text, ..Self::default() }
    }
}
