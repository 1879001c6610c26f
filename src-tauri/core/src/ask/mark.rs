//! Where a conversation stood just before an ask was first sent: kept with the ask in the
//! outbox file, read back by `reconcile.rs` to tell whether the ask arrived.

use serde::{Deserialize, Serialize};

/// What a conversation held just before an ask was first sent, so that a read afterwards can
/// tell "this ask arrived" from "the user asked the same words earlier in this conversation".
///
/// Why the newest message's id and not only a count: everything after that message is new,
/// whatever the conversation's length and however the server pages it, so an ask with the same
/// text after it can only be this one. A count of same-text user messages ("one more than
/// before means it arrived") works only when both reads saw the whole conversation; it is kept
/// for servers whose messages carry no ids, and for a conversation that was empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryMark {
    /// The newest message then; `None` when the conversation was empty or has no message ids.
    pub last_message_id: Option<String>,
    /// User messages with this ask's text then.
    pub same_text: u32,
    /// The read held the whole conversation (fewer messages than asked for): `same_text` is exact.
    pub complete: bool,
}

impl HistoryMark {
    /// A conversation created for this ask: nothing in it yet.
    pub(crate) fn empty() -> Self {
        Self { last_message_id: None, same_text: 0, complete: true }
    }

    /// Just after the message `id` (the last answer this app saw in the conversation).
    pub(crate) fn after(id: String) -> Self {
        Self { last_message_id: Some(id), same_text: 0, complete: false }
    }
}
